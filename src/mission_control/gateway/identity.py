"""Mission Control's Ed25519 device identity and the v3 connect signature the gateway verifies."""

from __future__ import annotations

import base64
import hashlib
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

IDENTITY_FILE_MODE = 0o600


class IdentityFileError(RuntimeError):
    """The device identity file exists but cannot be used."""


def b64url(data: bytes) -> str:
    """Base64url without padding, as the gateway expects for keys and signatures."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


@dataclass(frozen=True)
class DeviceIdentity:
    private_key: Ed25519PrivateKey

    @property
    def public_key_raw(self) -> bytes:
        return self.private_key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )

    @property
    def device_id(self) -> str:
        return hashlib.sha256(self.public_key_raw).hexdigest()

    @property
    def public_key(self) -> str:
        return b64url(self.public_key_raw)

    def sign(self, payload: str) -> str:
        return b64url(self.private_key.sign(payload.encode("utf-8")))

    @classmethod
    def generate(cls) -> DeviceIdentity:
        return cls(Ed25519PrivateKey.generate())

    @classmethod
    def load_or_create(cls, path: Path) -> DeviceIdentity:
        """Read the identity from `path`, creating it (mode 0600) on first use."""
        if path.exists():
            return cls._load(path)
        identity = cls.generate()
        identity._write(path)
        return identity

    @classmethod
    def _load(cls, path: Path) -> DeviceIdentity:
        # A key readable by others could be copied to impersonate this installation.
        if path.stat().st_mode & 0o077:
            os.chmod(path, IDENTITY_FILE_MODE)
        try:
            key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        except ValueError as exc:
            raise IdentityFileError(f"device identity file {path} is not a PEM key") from exc
        if not isinstance(key, Ed25519PrivateKey):
            raise IdentityFileError(f"device identity file {path} does not hold an Ed25519 key")
        return cls(key)

    def _write(self, path: Path) -> None:
        pem = self.private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        # Write then rename so a crash never leaves a half-written key behind.
        fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=".device-", suffix=".tmp")
        try:
            os.fchmod(fd, IDENTITY_FILE_MODE)
            with os.fdopen(fd, "wb") as handle:
                handle.write(pem)
            os.replace(tmp_name, path)
        except BaseException:
            Path(tmp_name).unlink(missing_ok=True)
            raise


def signature_payload(
    *,
    device_id: str,
    client_id: str,
    client_mode: str,
    role: str,
    scopes: Sequence[str],
    signed_at: int,
    token: str | None,
    nonce: str,
    platform: str,
    device_family: str | None,
) -> str:
    """The exact v3 string the gateway re-builds and verifies the signature over."""
    return "|".join(
        [
            "v3",
            device_id,
            client_id,
            client_mode,
            role,
            ",".join(scopes),
            str(signed_at),
            token or "",
            nonce,
            platform.lower(),
            (device_family or "").lower(),
        ]
    )


def device_block(
    identity: DeviceIdentity,
    *,
    client_id: str,
    client_mode: str,
    role: str,
    scopes: Sequence[str],
    token: str | None,
    nonce: str,
    signed_at: int,
    platform: str,
    device_family: str | None = None,
) -> dict[str, Any]:
    """The `device` object of the connect params, signed over the challenge."""
    payload = signature_payload(
        device_id=identity.device_id,
        client_id=client_id,
        client_mode=client_mode,
        role=role,
        scopes=scopes,
        signed_at=signed_at,
        token=token,
        nonce=nonce,
        platform=platform,
        device_family=device_family,
    )
    return {
        "id": identity.device_id,
        "publicKey": identity.public_key,
        "signature": identity.sign(payload),
        "signedAt": signed_at,
        "nonce": nonce,
    }
