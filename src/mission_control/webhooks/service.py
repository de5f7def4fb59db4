"""Inbound webhook rules: admins manage per-board endpoints (secret encrypted, shown once);
external systems POST payloads that are verified, rate limited, stored, turned into a memory
item and a message to the target agent or the board lead."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession

from mission_control.access.service import require_admin, require_board
from mission_control.activity import service as activity
from mission_control.agents.models import Agent
from mission_control.boards.models import Board
from mission_control.core.errors import (
    DomainError,
    Gone,
    InvalidInput,
    NotFound,
    RateLimited,
    Unauthorized,
)
from mission_control.core.security import SecretBox
from mission_control.core.text import slugify
from mission_control.memory import repository as memory_repository
from mission_control.memory import service as memory
from mission_control.memory.schemas import MemoryCreate
from mission_control.notifications.service import notify_agent
from mission_control.organizations.service import UserContext
from mission_control.webhooks import repository
from mission_control.webhooks.models import BoardWebhook, BoardWebhookPayload
from mission_control.webhooks.schemas import WebhookCreate, WebhookRead, WebhookUpdate

MAX_BODY_BYTES = 1024 * 1024
SIGNATURE_HEADERS = ("x-mission-control-signature", "x-hub-signature-256")
# Headers worth keeping with a payload; signatures and credentials are not stored.
_KEPT_HEADERS = ("content-type", "user-agent", "x-request-id", "x-github-event", "x-event-type")
_PREVIEW_CHARS = 4000


class PayloadTooLarge(DomainError):
    code = "payload_too_large"
    status = 413


# -- rate limiting -----------------------------------------------------------------------------


@dataclass
class _Bucket:
    tokens: float
    updated: float


@dataclass
class TokenBuckets:
    """Per-webhook token buckets, in this process only: with several processes each enforces
    its own budget (the limit per webhook is then up to N times higher)."""

    capacity: float = 30.0
    per_second: float = 0.5
    _buckets: dict[uuid.UUID, _Bucket] = field(default_factory=dict)

    def take(self, key: uuid.UUID) -> float | None:
        """None if allowed; else the seconds until one request will be allowed again."""
        now = time.monotonic()
        bucket = self._buckets.setdefault(key, _Bucket(self.capacity, now))
        bucket.tokens = min(self.capacity, bucket.tokens + (now - bucket.updated) * self.per_second)
        bucket.updated = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return None
        return (1.0 - bucket.tokens) / self.per_second


RATE_LIMITS = TokenBuckets()


# -- administration ----------------------------------------------------------------------------


def public_url(base_url: str, webhook: BoardWebhook) -> str:
    return f"{base_url}/api/v1/webhooks/{webhook.public_id}"


def to_read(webhook: BoardWebhook, base_url: str) -> WebhookRead:
    return WebhookRead(
        id=webhook.id,
        board_id=webhook.board_id,
        name=webhook.name,
        description=webhook.description,
        public_id=webhook.public_id,
        url=public_url(base_url, webhook),
        signed=webhook.secret_ciphertext is not None,
        enabled=webhook.enabled,
        target_agent_id=webhook.target_agent_id,
        instructions=webhook.instructions,
        created_at=webhook.created_at,
        updated_at=webhook.updated_at,
    )


async def _admin_board(session: AsyncSession, context: UserContext, board_id: uuid.UUID) -> Board:
    require_admin(context)
    return await require_board(session, context, board_id, write=True)


async def _check_target(session: AsyncSession, board: Board, agent_id: uuid.UUID | None) -> None:
    if agent_id is None:
        return
    agent = await session.get(Agent, agent_id)
    if agent is None or agent.board_id != board.id:
        raise InvalidInput(
            "target_agent_id must name an agent of this board.",
            details=[{"field": "target_agent_id", "location": "body", "message": "not on board"}],
        )


async def require_webhook(
    session: AsyncSession, context: UserContext, board_id: uuid.UUID, webhook_id: uuid.UUID
) -> BoardWebhook:
    board = await _admin_board(session, context, board_id)
    webhook = await repository.on_board(session, board.id, webhook_id)
    if webhook is None:
        raise NotFound("Webhook not found.")
    return webhook


async def list_webhooks(
    session: AsyncSession, context: UserContext, board_id: uuid.UUID, *, limit: int, offset: int
) -> tuple[list[BoardWebhook], int]:
    board = await _admin_board(session, context, board_id)
    return await repository.page(session, board.id, limit=limit, offset=offset)


async def create_webhook(
    session: AsyncSession,
    context: UserContext,
    board_id: uuid.UUID,
    data: WebhookCreate,
    box: SecretBox,
) -> tuple[BoardWebhook, str | None]:
    """The webhook and its secret (None when unsigned): the only time the secret is shown."""
    board = await _admin_board(session, context, board_id)
    await _check_target(session, board, data.target_agent_id)
    secret = secrets.token_urlsafe(32) if data.signed else None
    webhook = BoardWebhook(
        board_id=board.id,
        name=data.name,
        description=data.description,
        public_id=secrets.token_urlsafe(24),
        secret_ciphertext=box.encrypt(secret) if secret else None,
        enabled=data.enabled,
        target_agent_id=data.target_agent_id,
        instructions=data.instructions,
    )
    session.add(webhook)
    await session.flush()
    _record(session, context, board, "webhook.created", f"Webhook {webhook.name} created.", webhook)
    return webhook, secret


async def update_webhook(
    session: AsyncSession,
    context: UserContext,
    board_id: uuid.UUID,
    webhook_id: uuid.UUID,
    data: WebhookUpdate,
    box: SecretBox,
) -> tuple[BoardWebhook, str | None]:
    """The webhook and, when a secret was created or rotated, the new secret."""
    webhook = await require_webhook(session, context, board_id, webhook_id)
    board = await require_board(session, context, board_id, write=True)
    changes = data.model_dump(exclude_unset=True, exclude={"signed", "rotate_secret"})
    if "target_agent_id" in changes:
        await _check_target(session, board, changes["target_agent_id"])
    for required in ("name", "enabled"):
        if required in changes and changes[required] is None:
            raise InvalidInput(
                f"{required} cannot be null; leave it out to keep it as it is.",
                details=[{"field": required, "location": "body", "message": "required"}],
            )
    for name, value in changes.items():
        setattr(webhook, name, value)
    secret = None
    if data.signed is False:
        webhook.secret_ciphertext = None
    elif data.rotate_secret or (data.signed and webhook.secret_ciphertext is None):
        secret = secrets.token_urlsafe(32)
        webhook.secret_ciphertext = box.encrypt(secret)
    await session.flush()
    fields = sorted({*changes, *(["secret"] if secret or data.signed is False else [])})
    _record(
        session,
        context,
        board,
        "webhook.updated",
        f"Webhook {webhook.name} updated ({', '.join(fields) or 'no fields'}).",
        webhook,
    )
    return webhook, secret


async def delete_webhook(
    session: AsyncSession, context: UserContext, board_id: uuid.UUID, webhook_id: uuid.UUID
) -> None:
    webhook = await require_webhook(session, context, board_id, webhook_id)
    board = await require_board(session, context, board_id, write=False)
    await session.delete(webhook)
    _record(session, context, board, "webhook.deleted", f"Webhook {webhook.name} deleted.", webhook)
    await session.flush()


async def list_payloads(
    session: AsyncSession,
    context: UserContext,
    board_id: uuid.UUID,
    webhook_id: uuid.UUID,
    *,
    limit: int,
    offset: int,
) -> tuple[list[BoardWebhookPayload], int]:
    webhook = await require_webhook(session, context, board_id, webhook_id)
    return await repository.payloads_page(session, webhook.id, limit=limit, offset=offset)


def _record(
    session: AsyncSession,
    context: UserContext,
    board: Board,
    event_type: str,
    message: str,
    webhook: BoardWebhook,
) -> None:
    activity.record(
        session,
        event_type,
        message,
        organization_id=board.organization_id,
        board_id=board.id,
        actor_user_id=context.user.id,
        details={"webhook_id": str(webhook.id)},
    )


# -- receiving ---------------------------------------------------------------------------------


def signature_of(secret: str, body: bytes) -> str:
    """The header value a sender puts in X-Mission-Control-Signature."""
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def _verify(webhook: BoardWebhook, box: SecretBox, body: bytes, headers: Mapping[str, str]) -> bool:
    """True when signed correctly; raises Unauthorized for a missing or wrong signature."""
    assert webhook.secret_ciphertext is not None
    given = next((headers[name] for name in SIGNATURE_HEADERS if name in headers), None)
    if not given:
        raise Unauthorized(
            "This webhook requires a signature: send X-Mission-Control-Signature: "
            "sha256=<hex HMAC-SHA256 of the raw body with the webhook secret>.",
            code="signature_missing",
        )
    expected = signature_of(box.decrypt(webhook.secret_ciphertext), body)
    if not hmac.compare_digest(given.strip().lower().encode(), expected.encode()):
        raise Unauthorized(
            "The webhook signature does not match the body; sign the raw body with "
            "HMAC-SHA256 and the webhook secret.",
            code="signature_invalid",
        )
    return True


async def _receiver(session: AsyncSession, webhook: BoardWebhook, board: Board) -> Agent | None:
    if webhook.target_agent_id is not None:
        target = await session.get(Agent, webhook.target_agent_id)
        if target is not None and target.board_id == board.id:
            return target
    agents = await memory_repository.agents_on_boards(session, [board.id])
    return next((agent for agent in agents if agent.is_board_lead), None)


async def receive(
    session: AsyncSession,
    public_id: str,
    body: bytes,
    headers: Mapping[str, str],
    *,
    box: SecretBox,
    limits: TokenBuckets,
    base_url: str,
) -> BoardWebhookPayload:
    """Accept one payload (headers lower-cased): 404 unknown, 410 disabled, 429 over the
    rate limit, 401 bad signature; then store it, record it as board memory and tell the
    target agent (or the lead) to act."""
    webhook = await repository.by_public_id(session, public_id)
    if webhook is None:
        raise NotFound("No webhook at this address.")
    if not webhook.enabled:
        raise Gone("This webhook is disabled.", code="webhook_disabled")
    retry_after = limits.take(webhook.id)
    if retry_after is not None:
        raise RateLimited(
            "Too many payloads for this webhook; retry later.",
            details={"retry_after_seconds": max(1, round(retry_after + 0.5))},
        )
    signed = _verify(webhook, box, body, headers) if webhook.secret_ciphertext else None
    board = await session.get(Board, webhook.board_id)
    if board is None:
        raise NotFound("No webhook at this address.")
    text = body.decode("utf-8", errors="replace")
    payload = BoardWebhookPayload(
        id=uuid.uuid4(),
        webhook_id=webhook.id,
        board_id=board.id,
        content_type=headers.get("content-type"),
        headers={name: headers[name] for name in _KEPT_HEADERS if name in headers},
        body=text,
        signature_valid=signed,
    )
    session.add(payload)
    preview = text[:_PREVIEW_CHARS] + ("\n[truncated]" if len(text) > _PREVIEW_CHARS else "")
    item = await memory.record_board_memory(
        session,
        board,
        memory.Author(),
        MemoryCreate(
            content=f"Webhook {webhook.name} received a payload ({payload.id}):\n\n{preview}",
            tags=["webhook", f"webhook:{slugify(webhook.name) or webhook.public_id}"],
            source="webhook",
        ),
    )
    payload.memory_id = item.id
    await _tell_agent(session, webhook, board, payload, preview, base_url)
    return payload


async def _tell_agent(
    session: AsyncSession,
    webhook: BoardWebhook,
    board: Board,
    payload: BoardWebhookPayload,
    preview: str,
    base_url: str,
) -> None:
    receiver = await _receiver(session, webhook, board)
    details = {"webhook_id": str(webhook.id), "payload_id": str(payload.id)}
    if receiver is None:
        payload.delivery_error = "No target agent and the board has no lead to tell."
        activity.record(
            session,
            "webhook.received",
            f"Webhook {webhook.name} received a payload; no agent to tell (no target, no lead).",
            organization_id=board.organization_id,
            board_id=board.id,
            details=details,
        )
        return
    instructions = webhook.instructions or "Act on it as your board's work requires."
    await notify_agent(
        session,
        agent=receiver,
        kind="webhook",
        message=(
            f"External data arrived through webhook {webhook.name} on board {board.name} "
            f"(payload {payload.id}, stored in board memory).\n\n{instructions}\n\n"
            f"Payload:\n{preview}\n\nRecord what you did as board memory: POST {base_url}"
            f"/api/v1/agent/boards/{board.id}/memory."
        ),
        organization_id=board.organization_id,
        board_id=board.id,
    )
    activity.record(
        session,
        "webhook.received",
        f"Webhook {webhook.name} received a payload; {receiver.name} was told to act.",
        organization_id=board.organization_id,
        board_id=board.id,
        agent_id=receiver.id,
        details=details,
    )
