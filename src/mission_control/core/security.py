"""Secrets: agent token minting and slow hashing, and encryption of stored gateway secrets."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

AGENT_TOKEN_PREFIX = "mca"
USER_TOKEN_PREFIX = "mcu"
PBKDF2_ITERATIONS = 200_000
_SALT_BYTES = 16
_SECRET_BYTES = 32
_TOKEN_ID_BYTES = 8


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True, slots=True)
class MintedToken:
    """A fresh agent token: ``raw`` is shown once; ``token_id`` and ``hash`` are stored."""

    raw: str
    token_id: str
    hash: str


def hash_secret(secret: str, *, iterations: int = PBKDF2_ITERATIONS) -> str:
    salt = secrets.token_bytes(_SALT_BYTES)
    digest = hashlib.pbkdf2_hmac("sha256", secret.encode("utf-8"), salt, iterations)
    return f"pbkdf2_sha256${iterations}${_b64(salt)}${_b64(digest)}"


def verify_secret(secret: str, stored: str) -> bool:
    try:
        algorithm, iterations_text, salt_text, digest_text = stored.split("$")
        iterations = int(iterations_text)
        salt, expected = _unb64(salt_text), _unb64(digest_text)
    except ValueError:
        return False
    if algorithm != "pbkdf2_sha256" or iterations != PBKDF2_ITERATIONS:
        return False
    actual = hashlib.pbkdf2_hmac("sha256", secret.encode("utf-8"), salt, iterations)
    return hmac.compare_digest(actual, expected)


def mint_token(prefix: str = AGENT_TOKEN_PREFIX) -> MintedToken:
    """``<prefix>_<token id>_<secret>``: the id is a public lookup key; the token is hashed."""
    token_id = secrets.token_hex(_TOKEN_ID_BYTES)
    raw = f"{prefix}_{token_id}_{_b64(secrets.token_bytes(_SECRET_BYTES))}"
    return MintedToken(raw=raw, token_id=token_id, hash=hash_secret(raw))


async def mint_token_in_thread(prefix: str = AGENT_TOKEN_PREFIX) -> MintedToken:
    """``mint_token`` for async code: PBKDF2 takes tens of milliseconds of CPU, so it runs in a
    worker thread and the event loop keeps serving."""
    return await asyncio.to_thread(mint_token, prefix)


async def verify_secret_in_thread(secret: str, stored: str) -> bool:
    """``verify_secret`` for async code, in a worker thread (see ``mint_token_in_thread``)."""
    return await asyncio.to_thread(verify_secret, secret, stored)


def token_id_of(raw: str, prefix: str = AGENT_TOKEN_PREFIX) -> str | None:
    """The public id inside a token, or None when the text is not one of our tokens."""
    parts = raw.split("_", 2)
    if len(parts) != 3 or parts[0] != prefix:
        return None
    token_id = parts[1]
    if len(token_id) != 2 * _TOKEN_ID_BYTES or not all(c in "0123456789abcdef" for c in token_id):
        return None
    return token_id


class SecretBoxError(RuntimeError):
    """A stored secret cannot be decrypted (the installation's secret key changed)."""


class SecretBox:
    """Encrypts secrets at rest (gateway tokens, webhook secrets) with the installation key."""

    def __init__(self, key: str) -> None:
        self._fernet = Fernet(key.encode("ascii"))

    @classmethod
    def from_key_file(cls, path: Path) -> SecretBox:
        """Load the key, creating it (mode 0600) on first run."""
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            key = Fernet.generate_key()
            path.touch(mode=0o600)
            path.write_bytes(key)
        return cls(path.read_text(encoding="ascii").strip())

    def encrypt(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode("utf-8")).decode("ascii")

    def decrypt(self, ciphertext: str) -> str:
        try:
            return self._fernet.decrypt(ciphertext.encode("ascii")).decode("utf-8")
        except InvalidToken as error:
            raise SecretBoxError(
                "A stored secret cannot be decrypted: the secret key (MC_SECRET_KEY or "
                "secret.key in the data directory) is not the one it was saved with. "
                "Restore that key or enter the secret again."
            ) from error


class VerifiedTokenCache:
    """Remembers tokens that passed the slow hash check, so each is paid for once per process.

    Entries are keyed by the stored hash, so rotating a token (a new hash) invalidates them.
    Only an HMAC of the token under a per-process random key is held, never the token.
    """

    def __init__(self, max_entries: int = 50_000) -> None:
        self._key = secrets.token_bytes(32)
        self._entries: dict[str, bytes] = {}
        self._max_entries = max_entries

    def _digest(self, raw: str) -> bytes:
        return hmac.new(self._key, raw.encode("utf-8"), hashlib.sha256).digest()

    async def verify(self, raw: str, stored_hash: str) -> bool:
        known = self._entries.get(stored_hash)
        if known is not None:
            return hmac.compare_digest(known, self._digest(raw))
        if not await verify_secret_in_thread(raw, stored_hash):
            return False
        if len(self._entries) >= self._max_entries:
            self._entries.pop(next(iter(self._entries)))
        self._entries[stored_hash] = self._digest(raw)
        return True
