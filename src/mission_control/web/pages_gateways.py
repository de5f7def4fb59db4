"""Gateway pages (org admins): the list with each gateway's live connection status, register
and edit with the connection check, what to do when it does not connect (unreachable, token
refused, device pairing, unsupported version), the detail page with its agents and sessions,
a session's history and a message box, template sync with its report, and delete."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from fastapi import APIRouter, Response
from pydantic import SecretStr, ValidationError

from mission_control.access.service import require_admin
from mission_control.agents import lifecycle
from mission_control.agents import repository as agents_repository
from mission_control.core.errors import DomainError
from mission_control.gateway.session_keys import agent_id_of
from mission_control.gateways import service, sessions, syncs
from mission_control.gateways.models import Gateway
from mission_control.gateways.schemas import (
    GatewayCreate,
    GatewayStatusRead,
    GatewayUpdate,
    SessionMessage,
)
from mission_control.gateways.status import gateway_status
from mission_control.provisioning.sync import SyncOptions
from mission_control.web.formdata import Form
from mission_control.web.rendering import render
from mission_control.web.routing import ConsoleRoute, Web, WebDep, error_message

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)
# Status pages poll themselves: a gateway the operator fixes turns connected on its own.
STATUS_POLL_SECONDS = 3
HISTORY_LIMIT = 200

# What the operator does about each failure code (the message itself comes from the gateway
# failure mapping, gateways/failures.py).
WHAT_TO_DO = {
    "gateway_unreachable": "Start the gateway or correct its URL below; this page turns "
    "connected by itself once it answers.",
    "gateway_auth_failed": "Put the gateway's token (gateway.auth.token in its openclaw.json, "
    "or OPENCLAW_GATEWAY_TOKEN) in the token field below and save.",
    "gateway_pairing_required": "Approve Mission Control's device on the gateway host with "
    "the commands below; this page turns connected by itself once it is approved.",
    "gateway_missing_scope": "Approve the device's scope upgrade on the gateway host with the "
    "commands below.",
    "gateway_protocol_mismatch": "This gateway speaks a protocol version Mission Control does "
    "not support: upgrade OpenClaw on the gateway host (see docs/gateway.md for the supported "
    "releases).",
    "gateway_timeout": "The gateway is slow to answer: check its load and logs.",
    "gateway_busy": "The gateway asked Mission Control to slow down; the page retries.",
}


def connection_state(status: GatewayStatusRead) -> str:
    """One word for the badge: connected, unreachable, token_refused, pairing_required,
    unsupported_version, or error."""
    if status.connected and status.error is None:
        return "connected"
    code = status.error.code if status.error else ""
    return {
        "gateway_unreachable": "unreachable",
        "gateway_auth_failed": "token_refused",
        "gateway_pairing_required": "pairing_required",
        "gateway_missing_scope": "pairing_required",
        "gateway_protocol_mismatch": "unsupported_version",
    }.get(code, "connected" if status.connected else "error")


STATE_LABELS = {
    "connected": "Connected",
    "unreachable": "Unreachable",
    "token_refused": "Token refused",
    "pairing_required": "Needs device pairing",
    "unsupported_version": "Unsupported version",
    "error": "Error",
}


def _view(status: GatewayStatusRead) -> dict[str, Any]:
    state = connection_state(status)
    code = status.error.code if status.error else ""
    return {
        "status": status,
        "state": state,
        "label": STATE_LABELS[state],
        "todo": WHAT_TO_DO.get(code, ""),
    }


async def _statuses(web: Web, gateways: list[Gateway]) -> list[GatewayStatusRead]:
    return list(await asyncio.gather(*(gateway_status(web.runtime, g) for g in gateways)))


@router.get("/gateways")
async def gateway_list(web: WebDep) -> Response:
    return await _list_page(web)


async def _list_page(web: Web, *, warning: str | None = None) -> Response:
    async with web.read() as tx:
        items, _ = await service.list_gateways(tx.session, tx.viewer.context, limit=500, offset=0)
        viewer = tx.viewer
    statuses = await _statuses(web, items)
    return render(
        web.request,
        "gateways/list.html",
        title="Gateways",
        nav="gateways",
        viewer=viewer,
        poll_seconds=STATUS_POLL_SECONDS,
        rows=[(g, _view(s)) for g, s in zip(items, statuses, strict=True)],
        warning=warning,
    )


@router.get("/gateways/new")
async def new_gateway(web: WebDep) -> Response:
    async with web.read() as tx:
        require_admin(tx.viewer.context)
        return render(
            web.request,
            "gateways/form.html",
            title="Register a gateway",
            nav="gateways",
            viewer=tx.viewer,
            gateway=None,
        )


def _create_data(form: Form) -> GatewayCreate:
    token = form.get("token")
    return GatewayCreate(
        name=form.get("name"),
        url=form.get("url"),
        token=SecretStr(token) if token else None,
        workspace_root=form.get("workspace_root"),
        allow_insecure_tls=form.has("allow_insecure_tls"),
        disable_device_pairing=form.has("disable_device_pairing"),
    )


@router.post("/gateways")
async def register(web: WebDep) -> Response:
    form = await web.form()
    try:
        async with web.write() as tx:
            view = await service.register_gateway(
                tx.session, web.runtime, tx.viewer.context, _create_data(form)
            )
    except (DomainError, ValidationError) as error:
        async with web.read() as tx:
            return render(
                web.request,
                "gateways/form.html",
                status_code=422,
                title="Register a gateway",
                nav="gateways",
                viewer=tx.viewer,
                gateway=None,
                form=form.as_dict(),
                errors={"gateway": error_message(error)},
            )
    return web.redirect(f"/gateways/{view.id}")


def _update_data(form: Form) -> GatewayUpdate:
    fields: dict[str, Any] = {
        "name": form.get("name"),
        "url": form.get("url"),
        "workspace_root": form.get("workspace_root"),
        "allow_insecure_tls": form.has("allow_insecure_tls"),
        "disable_device_pairing": form.has("disable_device_pairing"),
    }
    if form.has("remove_token"):
        fields["token"] = None
    elif form.get("token"):
        fields["token"] = SecretStr(form.get("token"))
    return GatewayUpdate(**fields)


async def _detail(
    web: Web,
    gateway_id: uuid.UUID,
    *,
    errors: dict[str, str] | None = None,
    report: Any = None,
    status_code: int = 200,
    form: dict[str, str] | None = None,
) -> Response:
    async with web.read() as tx:
        gateway = await service.get_gateway(tx.session, tx.viewer.context, gateway_id)
        mc_agents, _ = await lifecycle.list_agents(
            tx.session,
            tx.viewer.context,
            board_id=None,
            gateway_id=gateway.id,
            limit=500,
            offset=0,
        )
        board_agents = await agents_repository.count_board_agents_on_gateway(tx.session, gateway.id)
        viewer = tx.viewer
    status = await gateway_status(web.runtime, gateway)
    names = {agent.openclaw_session_id: agent.name for agent in mc_agents}
    return render(
        web.request,
        "gateways/detail.html",
        status_code=status_code,
        title=f"Gateway {gateway.name}",
        nav="gateways",
        viewer=viewer,
        gateway=gateway,
        view=_view(status),
        mc_agents=mc_agents,
        board_agents=board_agents,
        session_names=names,
        poll_seconds=STATUS_POLL_SECONDS,
        report=report,
        errors=errors or {},
        form=form or {},
        agent_of=agent_id_of,
    )


@router.get("/gateways/{gateway_id}")
async def gateway_detail(gateway_id: uuid.UUID, web: WebDep) -> Response:
    return await _detail(web, gateway_id)


@router.post("/gateways/{gateway_id}/edit")
async def edit(gateway_id: uuid.UUID, web: WebDep) -> Response:
    form = await web.form()
    try:
        async with web.write() as tx:
            await service.change_gateway(
                tx.session, web.runtime, tx.viewer.context, gateway_id, _update_data(form)
            )
    except (DomainError, ValidationError) as error:
        return await _detail(
            web,
            gateway_id,
            errors={"edit": error_message(error)},
            status_code=422,
            form=form.as_dict(),
        )
    return web.redirect(f"/gateways/{gateway_id}")


@router.post("/gateways/{gateway_id}/sync")
async def sync(gateway_id: uuid.UUID, web: WebDep) -> Response:
    form = await web.form()
    options = SyncOptions(
        include_main=form.has("include_main"),
        reset_sessions=form.has("reset_sessions"),
        rotate_tokens=form.has("rotate_tokens"),
        force_bootstrap=form.has("force_bootstrap"),
    )
    try:
        async with web.write() as tx:
            report = await syncs.sync_gateway_templates(
                tx.session, web.runtime, tx.viewer.context, gateway_id, options
            )
    except DomainError as error:
        return await _detail(
            web, gateway_id, errors={"sync": error.message}, status_code=error.status
        )
    return await _detail(web, gateway_id, report=syncs.report_read(report))


@router.post("/gateways/{gateway_id}/delete")
async def delete(gateway_id: uuid.UUID, web: WebDep) -> Response:
    try:
        async with web.write() as tx:
            deleted = await service.delete_gateway(
                tx.session, web.runtime, tx.viewer.context, gateway_id
            )
    except DomainError as error:
        return await _detail(
            web, gateway_id, errors={"delete": error.message}, status_code=error.status
        )
    if deleted.warning:  # removed here, but not on the gateway: say what is left to do there
        return await _list_page(web, warning=f"Gateway deleted. {deleted.warning}")
    return web.redirect("/gateways")


# -- sessions -------------------------------------------------------------------------------


async def _session_page(
    web: Web,
    gateway_id: uuid.UUID,
    key: str,
    *,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
    sent: bool = False,
) -> Response:
    async with web.read() as tx:
        scope = await sessions.resolve(
            tx.session, tx.viewer.context, board_id=None, gateway_id=gateway_id, admin=True
        )
        viewer = tx.viewer
        gateway = scope.gateway
        history = await sessions.session_history(tx.session, web.runtime, scope, key, HISTORY_LIMIT)
    return render(
        web.request,
        "gateways/session.html",
        status_code=status_code,
        title=f"Session {key}",
        nav="gateways",
        viewer=viewer,
        gateway=gateway,
        key=key,
        history=history,
        errors=errors or {},
        sent=sent,
    )


@router.get("/gateways/{gateway_id}/sessions/{key:path}/history")
async def session_history(gateway_id: uuid.UUID, key: str, web: WebDep) -> Response:
    return await _session_page(web, gateway_id, key)


@router.post("/gateways/{gateway_id}/sessions/{key:path}/message")
async def send_message(gateway_id: uuid.UUID, key: str, web: WebDep) -> Response:
    form = await web.form()
    try:
        async with web.write() as tx:
            scope = await sessions.resolve(
                tx.session,
                tx.viewer.context,
                board_id=None,
                gateway_id=gateway_id,
                admin=False,
                write=True,
            )
            await sessions.send_message(
                tx.session,
                web.runtime,
                scope,
                key,
                SessionMessage(content=form.get("content")).content,
            )
    except (DomainError, ValidationError) as error:
        return await _session_page(
            web, gateway_id, key, errors={"message": error_message(error)}, status_code=422
        )
    return await _session_page(web, gateway_id, key, sent=True)
