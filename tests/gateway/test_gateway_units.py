"""Unit tests for the pure parts of the gateway client: frames, signature, identity file, error
classification and profile derivation (from frames recorded on real gateways)."""

from __future__ import annotations

import base64
import hashlib
import json
import stat
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from mission_control import gateway as gw
from mission_control.gateway.connection import (
    ConnectionOptions,
    GatewayConnection,
    GatewayTarget,
    backoff_delay,
    ssl_context_for,
)
from mission_control.gateway.errors import classify_error
from mission_control.gateway.frames import (
    EventFrame,
    FrameError,
    RequestFrame,
    ResponseFrame,
    parse_frame,
)
from mission_control.gateway.identity import (
    DeviceIdentity,
    IdentityFileError,
    device_block,
    signature_payload,
)
from mission_control.gateway.profile import HelloError, profile_from_hello

DATA = Path(__file__).parent / "data"


def recorded(name: str) -> Any:
    return json.loads((DATA / name).read_text())


# -- frames -------------------------------------------------------------------------------


def test_parse_response_event_and_request() -> None:
    ok = parse_frame('{"type":"res","id":"1","ok":true,"payload":{"a":1}}')
    assert ok == ResponseFrame(id="1", ok=True, payload={"a": 1}, error=None)
    failed = parse_frame('{"type":"res","id":"2","ok":false,"error":{"code":"X","message":"m"}}')
    assert isinstance(failed, ResponseFrame)
    assert failed.error == {"code": "X", "message": "m"}
    event = parse_frame('{"type":"event","event":"tick","payload":{"ts":1},"seq":7}')
    assert event == EventFrame(event="tick", payload={"ts": 1}, seq=7)
    request = parse_frame('{"type":"req","id":"3","method":"health","params":{}}')
    assert request == RequestFrame(id="3", method="health", params={})


def test_response_without_error_object_still_fails() -> None:
    frame = parse_frame('{"type":"res","id":"1","ok":false}')
    assert isinstance(frame, ResponseFrame)
    assert frame.error is not None
    assert frame.error["code"] == "UNKNOWN"


@pytest.mark.parametrize(
    "text",
    [
        "not json",
        "[1,2]",
        '{"type":"nope"}',
        '{"type":"res","id":1,"ok":true}',
        '{"type":"res","id":"1"}',
        '{"type":"event"}',
        '{"type":"res","id":"1","ok":false,"error":"boom"}',
    ],
)
def test_parse_rejects_malformed_frames(text: str) -> None:
    with pytest.raises(FrameError):
        parse_frame(text)


def test_request_encoding_round_trips() -> None:
    frame = RequestFrame(id="abc", method="agents.files.set", params={"content": "é"})
    assert json.loads(frame.encode()) == {
        "type": "req",
        "id": "abc",
        "method": "agents.files.set",
        "params": {"content": "é"},
    }
    assert parse_frame(frame.encode()) == frame


# -- device identity and signature ------------------------------------------------------


def fixed_identity() -> DeviceIdentity:
    return DeviceIdentity(Ed25519PrivateKey.from_private_bytes(bytes(range(32))))


def test_signature_payload_is_the_v3_string() -> None:
    payload = signature_payload(
        device_id="dev",
        client_id="gateway-client",
        client_mode="backend",
        role="operator",
        scopes=["operator.read", "operator.write"],
        signed_at=1737264000000,
        token="tok",
        nonce="n-1",
        platform="Linux",
        device_family=None,
    )
    assert payload == (
        "v3|dev|gateway-client|backend|operator|operator.read,operator.write|1737264000000|tok|n-1"
        "|linux|"
    )
    no_token = signature_payload(
        device_id="d",
        client_id="c",
        client_mode="m",
        role="r",
        scopes=[],
        signed_at=1,
        token=None,
        nonce="n",
        platform="linux",
        device_family="Server",
    )
    assert no_token == "v3|d|c|m|r||1||n|linux|server"


def test_device_block_is_verifiable_with_the_published_key() -> None:
    identity = fixed_identity()
    block = device_block(
        identity,
        client_id="gateway-client",
        client_mode="backend",
        role="operator",
        scopes=["operator.read"],
        token="tok",
        nonce="nonce-1",
        signed_at=42,
        platform="linux",
    )
    raw_key = base64.urlsafe_b64decode(block["publicKey"] + "=" * (-len(block["publicKey"]) % 4))
    assert len(raw_key) == 32
    assert block["id"] == hashlib.sha256(raw_key).hexdigest()
    assert "=" not in block["signature"]
    assert "=" not in block["publicKey"]
    assert block["signedAt"] == 42
    assert block["nonce"] == "nonce-1"
    signature = base64.urlsafe_b64decode(block["signature"] + "=" * (-len(block["signature"]) % 4))
    expected = (
        "v3|" + block["id"] + "|gateway-client|backend|operator|operator.read|42|tok|nonce-1|linux|"
    )
    Ed25519PublicKey.from_public_bytes(raw_key).verify(signature, expected.encode())


def test_identity_file_is_created_once_with_mode_0600(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "device.pem"
    first = DeviceIdentity.load_or_create(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    again = DeviceIdentity.load_or_create(path)
    assert again.device_id == first.device_id
    assert len(first.device_id) == 64


def test_identity_file_permissions_are_tightened(tmp_path: Path) -> None:
    path = tmp_path / "device.pem"
    DeviceIdentity.load_or_create(path)
    path.chmod(0o644)
    DeviceIdentity.load_or_create(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_identity_file_with_garbage_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "device.pem"
    path.write_text("not a key")
    path.chmod(0o600)
    with pytest.raises(IdentityFileError):
        DeviceIdentity.load_or_create(path)


# -- error classification ---------------------------------------------------------------


@pytest.mark.parametrize(
    "case", recorded("error_frames.json")["cases"], ids=lambda case: case["from"]
)
def test_recorded_errors_are_classified(case: dict[str, Any]) -> None:
    error = classify_error(case["error"], method="m")
    assert type(error).__name__ == case["expect"]
    assert error.code == case["error"]["code"]
    assert error.method == "m"


def test_auth_failure_tells_the_operator_to_check_the_token() -> None:
    case = recorded("error_frames.json")["cases"][0]
    error = classify_error(case["error"])
    assert isinstance(error, gw.GatewayAuthFailed)
    assert "Check the gateway token" in str(error)
    assert error.retryable is False


def test_bad_device_signature_is_not_blamed_on_the_token() -> None:
    error = classify_error(
        {
            "code": "INVALID_REQUEST",
            "message": "device signature expired",
            "details": {
                "code": "DEVICE_AUTH_SIGNATURE_EXPIRED",
                "reason": "device-signature-stale",
            },
        }
    )
    assert isinstance(error, gw.GatewayAuthFailed)
    assert "clocks" in str(error)
    assert "token itself was not the problem" in str(error)


def test_pairing_required_names_the_commands_to_run() -> None:
    # Shape emitted by openclaw 2026.9.6 for a remote device that is not approved yet.
    error = classify_error(
        {
            "code": "NOT_PAIRED",
            "message": "pairing required: device is not approved yet",
            "details": {
                "code": "PAIRING_REQUIRED",
                "reason": "not-paired",
                "requestId": "req-123",
                "deviceId": "abc",
                "requestedRole": "operator",
            },
        },
        device_id="abc",
    )
    assert isinstance(error, gw.GatewayPairingRequired)
    assert error.request_id == "req-123"
    assert error.approve_commands == ("openclaw devices list", "openclaw devices approve req-123")
    assert "openclaw devices approve req-123" in str(error)
    assert "device abc" in str(error)


def test_rate_limit_honours_retry_after() -> None:
    error = classify_error(
        {
            "code": "UNAVAILABLE",
            "message": "rate limit exceeded for config.patch; retry after 12s",
            "retryable": True,
            "retryAfterMs": 12000,
        }
    )
    assert isinstance(error, gw.GatewayRateLimited)
    assert error.retry_after == 12.0
    assert error.retryable is True


def test_startup_unavailable_is_not_a_rate_limit() -> None:
    error = classify_error(
        {
            "code": "UNAVAILABLE",
            "message": "gateway starting",
            "retryable": True,
            "retryAfterMs": 500,
            "details": {"reason": "startup-sidecars"},
        }
    )
    assert type(error) is gw.GatewayNotReady
    assert error.retry_after == 0.5


def test_structured_code_wins_over_message_text() -> None:
    error = classify_error(
        {
            "code": "INVALID_REQUEST",
            "message": "agent not found",
            "details": {"code": "AUTH_RATE_LIMITED"},
        }
    )
    assert isinstance(error, gw.GatewayRateLimited)


def test_unknown_codes_stay_generic_gateway_errors() -> None:
    error = classify_error({"code": "SOMETHING_NEW", "message": "new failure"})
    assert type(error) is gw.GatewayError
    assert error.code == "SOMETHING_NEW"


# -- profile ----------------------------------------------------------------------------


def test_profile_of_current_gateway() -> None:
    hello = recorded("hello_2026.9.6.json")["hello"]["payload"]
    profile = profile_from_hello(hello)
    assert profile.server_version == "2026.9.6"
    assert profile.protocol == 4
    assert profile.config_shape == "agents.entries"
    assert profile.workspace_files == {
        "AGENTS.md",
        "SOUL.md",
        "IDENTITY.md",
        "USER.md",
        "BOOTSTRAP.md",
        "MEMORY.md",
    }
    assert profile.file_hashes
    assert not profile.files_delete
    assert not profile.create_requires_workspace
    assert profile.child_session == "sessions.create"
    assert profile.child_session_options == {"cwd", "agentRuntime", "idempotencyKey"}
    assert profile.heartbeat_off == {"every": "0m"}
    assert profile.max_payload == 26214400
    assert profile.tick_interval_ms == 30000
    assert profile.main_session_key == "agent:main:main"
    assert "profile-binding-v1" in profile.capabilities
    assert profile.has_scope("operator.write")


def test_profile_of_legacy_gateway() -> None:
    hello = recorded("hello_2026.5.7.json")["hello"]["payload"]
    profile = profile_from_hello(hello)
    assert profile.server_version == "2026.5.7"
    assert profile.protocol == 3
    assert profile.config_shape == "agents.list"
    assert {"TOOLS.md", "HEARTBEAT.md"} <= profile.workspace_files
    assert "BOOT.md" not in profile.workspace_files
    assert not profile.file_hashes
    assert profile.create_requires_workspace
    assert profile.capabilities == frozenset()
    # It serves sessions.create, whose schema refuses cwd, agentRuntime and idempotencyKey.
    assert profile.child_session == "sessions.create"
    assert profile.child_session_options == frozenset()


def test_profile_without_delete_and_create_methods() -> None:
    hello = recorded("hello_2026.9.6.json")["hello"]["payload"]
    methods = [m for m in hello["features"]["methods"] if m != "sessions.create"]
    changed = {
        **hello,
        "features": {**hello["features"], "methods": [*methods, "agents.files.delete"]},
    }
    profile = profile_from_hello(changed)
    assert profile.files_delete
    assert profile.child_session == "spawnedBy"


def test_profile_needs_the_core_hello_fields() -> None:
    hello = recorded("hello_2026.9.6.json")["hello"]["payload"]
    with pytest.raises(HelloError):
        profile_from_hello({k: v for k, v in hello.items() if k != "policy"})
    with pytest.raises(HelloError):
        profile_from_hello({**hello, "protocol": "4"})


# -- connection helpers -----------------------------------------------------------------


def test_backoff_is_jittered_and_capped() -> None:
    delays = [backoff_delay(attempt, 0.25, 10.0) for attempt in range(40) for _ in range(20)]
    assert all(0.0 <= delay <= 10.0 for delay in delays)
    assert max(backoff_delay(0, 0.25, 10.0) for _ in range(50)) <= 0.25
    assert len({round(d, 6) for d in delays}) > 100


def test_tls_context_only_for_wss_and_self_signed_only_when_allowed(tmp_path: Path) -> None:
    plain = GatewayTarget(url="ws://127.0.0.1:1", token="t", identity_path=tmp_path / "k")
    assert ssl_context_for(plain) is None
    strict = GatewayTarget(url="wss://gw.example:443", token="t", identity_path=tmp_path / "k")
    strict_context = ssl_context_for(strict)
    assert strict_context is not None
    assert strict_context.check_hostname
    relaxed = GatewayTarget(
        url="wss://gw.example:443", token="t", identity_path=tmp_path / "k", allow_self_signed=True
    )
    relaxed_context = ssl_context_for(relaxed)
    assert relaxed_context is not None
    assert not relaxed_context.check_hostname


@pytest.mark.parametrize("url", ["ws://127.0.0.1:99999", "ws://127.0.0.1:abc"])
async def test_invalid_url_is_an_unreachable_gateway_not_a_value_error(
    url: str, tmp_path: Path
) -> None:
    target = GatewayTarget(url=url, token="t", identity_path=tmp_path / "k")
    connection = GatewayConnection(target, ConnectionOptions(connect_timeout=2.0))
    with pytest.raises(gw.GatewayUnreachable, match="URL is invalid"):
        await connection.connect()
    await connection.close()


def test_target_repr_hides_the_token(tmp_path: Path) -> None:
    target = GatewayTarget(url="ws://x", token="secret-token", identity_path=tmp_path / "k")
    assert "secret-token" not in repr(target)
