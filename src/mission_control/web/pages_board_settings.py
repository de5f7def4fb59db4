"""Board settings: its rules, the heartbeat policy the governor follows (ladder, lead cap,
on/off) and its webhooks (create with the URL and secret shown once, disable, recent
deliveries). Same access rules as the API: board write for rules and policy, org admins for
webhooks."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response
from pydantic import ValidationError

from mission_control.boards import service as boards
from mission_control.boards.schemas import BoardUpdate, HeartbeatPolicyUpdate
from mission_control.core.errors import DomainError, Forbidden
from mission_control.web.pages_boards import RULES
from mission_control.web.rendering import render
from mission_control.web.routing import ConsoleRoute, Web, WebDep, error_message, readable_board
from mission_control.webhooks import service as webhooks
from mission_control.webhooks.models import BoardWebhookPayload
from mission_control.webhooks.schemas import WebhookCreate, WebhookRead, WebhookUpdate

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)
DELIVERIES_SHOWN = 5


async def _page(
    web: Web,
    board_id: uuid.UUID,
    *,
    errors: dict[str, str] | None = None,
    created: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    async with web.read() as tx:
        board = await readable_board(tx.session, tx.viewer, board_id)
        context = tx.viewer.context
        policy = await boards.get_heartbeat_policy(tx.session, context, board.id)
        hooks: list[tuple[WebhookRead, list[BoardWebhookPayload]]] = []
        hooks_error = ""
        try:
            rows, _ = await webhooks.list_webhooks(
                tx.session, context, board.id, limit=100, offset=0
            )
            for row in rows:
                deliveries, _ = await webhooks.list_payloads(
                    tx.session, context, board.id, row.id, limit=DELIVERIES_SHOWN, offset=0
                )
                hooks.append(
                    (webhooks.to_read(row, web.runtime.settings.agent_base_url), deliveries)
                )
        except Forbidden as error:
            hooks_error = error.message
        return render(
            web.request,
            "settings/board.html",
            status_code=status_code,
            title=f"Settings · {board.name}",
            nav="boards",
            viewer=tx.viewer,
            board=board,
            rules=RULES,
            policy=policy,
            hooks=hooks,
            hooks_error=hooks_error,
            errors=errors or {},
            created=created,
        )


@router.get("/boards/{board_id}/settings")
async def settings_page(board_id: uuid.UUID, web: WebDep) -> Response:
    return await _page(web, board_id)


@router.post("/boards/{board_id}/settings/rules")
async def save_rules(board_id: uuid.UUID, web: WebDep) -> Response:
    form = await web.form()
    try:
        fields: dict[str, object] = {name: form.has(name) for name, _ in RULES}
        if form.get("max_agents").strip():
            fields["max_agents"] = form.get("max_agents").strip()
        data = BoardUpdate.model_validate(fields)
        async with web.write() as tx:
            await readable_board(tx.session, tx.viewer, board_id)
            await boards.update_board(tx.session, tx.viewer.context, board_id, data)
    except (DomainError, ValidationError) as error:
        return await _page(web, board_id, errors={"rules": error_message(error)}, status_code=422)
    return web.redirect(f"/boards/{board_id}/settings")


@router.post("/boards/{board_id}/settings/heartbeat")
async def save_policy(board_id: uuid.UUID, web: WebDep) -> Response:
    form = await web.form()
    try:
        ladder = [step.strip() for step in form.get("ladder").split(",") if step.strip()]
        data = HeartbeatPolicyUpdate(
            enabled=form.has("enabled"),
            active_every=form.get("active_every").strip(),
            ladder=ladder,
            lead_cap=form.get("lead_cap").strip(),
        )
        async with web.write() as tx:
            await readable_board(tx.session, tx.viewer, board_id)
            await boards.update_heartbeat_policy(tx.session, tx.viewer.context, board_id, data)
    except (DomainError, ValidationError) as error:
        return await _page(web, board_id, errors={"policy": error_message(error)}, status_code=422)
    return web.redirect(f"/boards/{board_id}/settings")


@router.post("/boards/{board_id}/settings/webhooks")
async def create_webhook(board_id: uuid.UUID, web: WebDep) -> Response:
    form = await web.form()
    try:
        data = WebhookCreate(
            name=form.get("name").strip(),
            description=form.get("description").strip() or None,
            signed=form.has("signed"),
            instructions=form.get("instructions").strip() or None,
        )
        async with web.write() as tx:
            await readable_board(tx.session, tx.viewer, board_id)
            hook, secret = await webhooks.create_webhook(
                tx.session, tx.viewer.context, board_id, data, web.runtime.secrets
            )
            shown = {
                "id": str(hook.id),
                "url": webhooks.public_url(web.runtime.settings.agent_base_url, hook),
                "secret": secret or "",
            }
    except (DomainError, ValidationError) as error:
        return await _page(web, board_id, errors={"webhook": error_message(error)}, status_code=422)
    # Shown on this answer only: the secret is stored encrypted and never displayed again.
    return await _page(web, board_id, created=shown)


@router.post("/boards/{board_id}/settings/webhooks/{webhook_id}/enabled")
async def toggle_webhook(board_id: uuid.UUID, webhook_id: uuid.UUID, web: WebDep) -> Response:
    form = await web.form()
    try:
        async with web.write() as tx:
            await readable_board(tx.session, tx.viewer, board_id)
            await webhooks.update_webhook(
                tx.session,
                tx.viewer.context,
                board_id,
                webhook_id,
                WebhookUpdate(enabled=form.get("enabled") == "true"),
                web.runtime.secrets,
            )
    except DomainError as error:
        return await _page(
            web, board_id, errors={f"webhook:{webhook_id}": error.message}, status_code=error.status
        )
    return web.redirect(f"/boards/{board_id}/settings")
