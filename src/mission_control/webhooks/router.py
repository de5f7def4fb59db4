"""HTTP endpoints for inbound webhooks: admin management per board, and the public receiver."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request, Response, status

from mission_control.auth import RuntimeDep, SessionDep, UserDep
from mission_control.core.api import API_PREFIX
from mission_control.core.pagination import Page, PageDep
from mission_control.webhooks import service
from mission_control.webhooks.schemas import (
    WebhookAccepted,
    WebhookCreate,
    WebhookPayloadRead,
    WebhookRead,
    WebhookUpdate,
    WebhookWithSecret,
)
from mission_control.webhooks.service import MAX_BODY_BYTES, PayloadTooLarge

router = APIRouter(prefix=f"{API_PREFIX}/boards/{{board_id}}/webhooks", tags=["webhooks"])
public_router = APIRouter(prefix=f"{API_PREFIX}/webhooks", tags=["webhooks"])


def _with_secret(read: WebhookRead, secret: str | None) -> WebhookWithSecret:
    return WebhookWithSecret(**read.model_dump(), secret=secret)


@router.get("", response_model=Page[WebhookRead])
async def list_webhooks(
    board_id: uuid.UUID, context: UserDep, session: SessionDep, runtime: RuntimeDep, page: PageDep
) -> Page[WebhookRead]:
    items, total = await service.list_webhooks(
        session, context, board_id, limit=page.limit, offset=page.offset
    )
    base = runtime.settings.agent_base_url
    return Page(
        items=[service.to_read(item, base) for item in items],
        total=total,
        limit=page.limit,
        offset=page.offset,
    )


@router.post("", response_model=WebhookWithSecret, status_code=status.HTTP_201_CREATED)
async def create_webhook(
    board_id: uuid.UUID,
    body: WebhookCreate,
    context: UserDep,
    session: SessionDep,
    runtime: RuntimeDep,
) -> WebhookWithSecret:
    """Create a webhook (admins). The secret is in this answer only; store it now."""
    webhook, secret = await service.create_webhook(
        session, context, board_id, body, runtime.secrets
    )
    return _with_secret(service.to_read(webhook, runtime.settings.agent_base_url), secret)


@router.get("/{webhook_id}", response_model=WebhookRead)
async def get_webhook(
    board_id: uuid.UUID,
    webhook_id: uuid.UUID,
    context: UserDep,
    session: SessionDep,
    runtime: RuntimeDep,
) -> WebhookRead:
    webhook = await service.require_webhook(session, context, board_id, webhook_id)
    return service.to_read(webhook, runtime.settings.agent_base_url)


@router.patch("/{webhook_id}", response_model=WebhookWithSecret)
async def update_webhook(
    board_id: uuid.UUID,
    webhook_id: uuid.UUID,
    body: WebhookUpdate,
    context: UserDep,
    session: SessionDep,
    runtime: RuntimeDep,
) -> WebhookWithSecret:
    """Change a webhook; `secret` is set only when one was created or rotated."""
    webhook, secret = await service.update_webhook(
        session, context, board_id, webhook_id, body, runtime.secrets
    )
    return _with_secret(service.to_read(webhook, runtime.settings.agent_base_url), secret)


@router.delete("/{webhook_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_webhook(
    board_id: uuid.UUID, webhook_id: uuid.UUID, context: UserDep, session: SessionDep
) -> Response:
    await service.delete_webhook(session, context, board_id, webhook_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/{webhook_id}/payloads", response_model=Page[WebhookPayloadRead])
async def list_payloads(
    board_id: uuid.UUID,
    webhook_id: uuid.UUID,
    context: UserDep,
    session: SessionDep,
    page: PageDep,
) -> Page[WebhookPayloadRead]:
    items, total = await service.list_payloads(
        session, context, board_id, webhook_id, limit=page.limit, offset=page.offset
    )
    return Page(
        items=[WebhookPayloadRead.model_validate(item) for item in items],
        total=total,
        limit=page.limit,
        offset=page.offset,
    )


async def _limited_body(request: Request) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise PayloadTooLarge(f"Webhook payloads are limited to {MAX_BODY_BYTES} bytes.")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise PayloadTooLarge(f"Webhook payloads are limited to {MAX_BODY_BYTES} bytes.")
        chunks.append(chunk)
    return b"".join(chunks)


@public_router.post(
    "/{public_id}", response_model=WebhookAccepted, status_code=status.HTTP_202_ACCEPTED
)
async def receive_webhook(
    public_id: str, request: Request, session: SessionDep, runtime: RuntimeDep
) -> WebhookAccepted:
    """Public endpoint for external systems (no token). When the webhook is signed, send
    `X-Mission-Control-Signature: sha256=<hex HMAC-SHA256 of the raw body>`. At most 1 MB;
    rate limited per webhook (429 with Retry-After); 410 when disabled."""
    body = await _limited_body(request)
    payload = await service.receive(
        session,
        public_id,
        body,
        {name.lower(): value for name, value in request.headers.items()},
        box=runtime.secrets,
        limits=service.RATE_LIMITS,
        base_url=runtime.settings.agent_base_url,
    )
    return WebhookAccepted(payload_id=payload.id)
