"""Agent pages: the list (status, kind, board, gateway, heartbeat cadence, governor step;
filterable; live), create an agent for a board (worker or lead) and watch it come online,
the detail page (status and why, activity, workspace files read only, sessions) and its
actions: wake, nudge, edit, provision again, delete."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Response
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from mission_control.access.service import require_admin, require_board
from mission_control.activity import service as activity
from mission_control.activity.repository import ActivityFilters
from mission_control.agents import console_actions, lifecycle
from mission_control.agents.models import Agent
from mission_control.agents.schemas import AgentCreate, AgentRead, AgentUpdate
from mission_control.boards import service as boards
from mission_control.core.errors import DomainError, InvalidInput
from mission_control.gateway.session_keys import agent_id_of
from mission_control.gateways import repository as gateways
from mission_control.gateways import sessions
from mission_control.gateways.schemas import GatewaySessionRead
from mission_control.provisioning import service as provisioning
from mission_control.web.formdata import Form
from mission_control.web.rendering import render
from mission_control.web.routing import (
    ConsoleRoute,
    Tx,
    Web,
    WebDep,
    error_message,
    parse_uuid,
)

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)
LIST_LIMIT = 500
ACTIVITY_LIMIT = 30
STREAM = "/live/events?topics=agents,activity"


def kind_of(agent: AgentRead) -> str:
    if agent.is_gateway_main:
        return "gateway main"
    return "lead" if agent.is_board_lead else "worker"


def governor_step(row: Agent | None) -> str:
    """The governor's current rung for the agent, in words."""
    if row is None or not row.auto_heartbeat_enabled:
        return "off (own cadence)"
    if row.auto_heartbeat_off:
        return f"step {row.auto_heartbeat_step}: heartbeat paused"
    every = row.auto_heartbeat_every or "policy default"
    return f"step {row.auto_heartbeat_step}: every {every}"


async def _names(tx: Tx) -> tuple[dict[uuid.UUID, str], dict[uuid.UUID, str]]:
    context = tx.viewer.context
    visible, _ = await boards.list_boards(
        tx.session, context, gateway_id=None, board_group_id=None, limit=500, offset=0
    )
    gateway_rows, _ = await gateways.page(tx.session, context.organization.id, limit=500, offset=0)
    return {b.id: b.name for b in visible}, {g.id: g.name for g in gateway_rows}


@router.get("/agents")
async def agent_list(
    web: WebDep,
    board_id: str | None = None,
    gateway_id: str | None = None,
    status: str | None = None,
    kind: str | None = None,
) -> Response:
    async with web.read() as tx:
        board = parse_uuid(board_id) if board_id else None
        gateway = parse_uuid(gateway_id) if gateway_id else None
        items, _ = await lifecycle.list_agents(
            tx.session,
            tx.viewer.context,
            board_id=board,
            gateway_id=gateway,
            limit=LIST_LIMIT,
            offset=0,
        )
        if status:
            items = [agent for agent in items if agent.status == status]
        if kind:
            items = [agent for agent in items if kind_of(agent) == kind]
        board_names, gateway_names = await _names(tx)
        rows = [(agent, governor_step(await tx.session.get(Agent, agent.id))) for agent in items]
        return render(
            web.request,
            "agents/list.html",
            title="Agents",
            nav="agents",
            viewer=tx.viewer,
            live_stream=STREAM,
            rows=rows,
            board_names=board_names,
            gateway_names=gateway_names,
            filters={
                "board_id": board,
                "gateway_id": gateway,
                "status": status or "",
                "kind": kind or "",
            },
            kind_of=kind_of,
        )


async def _new_form(
    web: Web,
    *,
    board_id: str | None,
    errors: dict[str, str] | None = None,
    form: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    async with web.read() as tx:
        require_admin(tx.viewer.context)
        board_names, _ = await _names(tx)
        return render(
            web.request,
            "agents/new.html",
            status_code=status_code,
            title="Create an agent",
            nav="agents",
            viewer=tx.viewer,
            board_names=board_names,
            selected=parse_uuid(board_id) if board_id else None,
            errors=errors or {},
            form=form or {},
        )


@router.get("/agents/new")
async def new_agent(web: WebDep, board_id: str | None = None) -> Response:
    return await _new_form(web, board_id=board_id)


def _heartbeat(form: Form) -> dict[str, Any] | None:
    every = form.get("heartbeat_every").strip()
    return {"every": every} if every else None


def _profile(form: Form) -> dict[str, Any] | None:
    role = form.get("role").strip()
    return {"role": role} if role else None


@router.post("/agents")
async def create(web: WebDep) -> Response:
    form = await web.form()
    board_id = parse_uuid(form.get("board_id"))
    try:
        if board_id is None:
            raise InvalidInput("Choose a board.", code="board_id_required")
        if form.get("kind") == "lead":
            async with web.write() as tx:
                require_admin(tx.viewer.context)
                await require_board(tx.session, tx.viewer.context, board_id, write=True)
            agent_id, _ = await provisioning.ensure_board_lead(web.runtime, board_id)
        else:
            data = AgentCreate(
                board_id=board_id,
                name=form.get("name"),
                heartbeat_config=_heartbeat(form),
                identity_profile=_profile(form),
            )
            async with web.write() as tx:
                created = await lifecycle.create_agent(
                    tx.session, web.runtime, tx.viewer.context, data
                )
            agent_id = created.id
    except (DomainError, ValidationError) as error:
        return await _new_form(
            web,
            board_id=form.get("board_id"),
            errors={"create": error_message(error)},
            form=form.as_dict(),
            status_code=422,
        )
    return web.redirect(f"/agents/{agent_id}")


async def _agent_sessions(
    session: AsyncSession, web: Web, tx: Tx, agent: AgentRead
) -> tuple[list[GatewaySessionRead], str]:
    """The agent's gateway sessions, or why they cannot be listed."""
    try:
        scope = await sessions.resolve(
            session, tx.viewer.context, board_id=None, gateway_id=agent.gateway_id, admin=True
        )
        items, _ = await sessions.list_sessions(session, web.runtime, scope)
    except DomainError as error:
        return [], error.message
    own = agent_id_of(agent.openclaw_session_id)
    return [item for item in items if own is not None and item.agent_id == own], ""


async def _detail(
    web: Web,
    agent_id: uuid.UUID,
    *,
    errors: dict[str, str] | None = None,
    notice: str = "",
    status_code: int = 200,
) -> Response:
    async with web.read() as tx:
        context = tx.viewer.context
        agent = await lifecycle.get_agent(tx.session, context, agent_id)
        row = await tx.session.get(Agent, agent_id)
        assert row is not None
        facts = {
            "wake_attempts": row.wake_attempts,
            "last_wake_sent_at": row.last_wake_sent_at,
            "checkin_deadline_at": row.checkin_deadline_at,
            "governor": governor_step(row),
            "deleting": row.delete_requested_at is not None,
        }
        events, _ = await activity.list_for_user(
            tx.session,
            context,
            ActivityFilters(agent_id=agent_id),
            limit=ACTIVITY_LIMIT,
            offset=0,
        )
        board_names, gateway_names = await _names(tx)
        viewer = tx.viewer
        files: list[console_actions.WorkspaceFile] = []
        files_error = ""
        session_items: list[GatewaySessionRead] = []
        sessions_error = ""
        # A live refresh swaps only the status and activity regions: skip the gateway calls.
        refresh = web.request.headers.get("x-console-refresh") == "1"
        if context.is_admin and not refresh:
            try:
                files = await console_actions.workspace_files(
                    tx.session, web.runtime, context, agent_id
                )
            except DomainError as error:
                files_error = error.message
            session_items, sessions_error = await _agent_sessions(tx.session, web, tx, agent)
    return render(
        web.request,
        "agents/detail.html",
        status_code=status_code,
        title=f"Agent {agent.name}",
        nav="agents",
        viewer=viewer,
        live_stream=STREAM,
        agent=agent,
        facts=facts,
        events=events,
        board_names=board_names,
        gateway_names=gateway_names,
        files=files,
        files_error=files_error,
        sessions=session_items,
        sessions_error=sessions_error,
        errors=errors or {},
        notice=notice,
        kind=kind_of(agent),
    )


@router.get("/agents/{agent_id}")
async def agent_detail(agent_id: uuid.UUID, web: WebDep) -> Response:
    return await _detail(web, agent_id)


@router.post("/agents/{agent_id}/wake")
async def wake(agent_id: uuid.UUID, web: WebDep) -> Response:
    try:
        async with web.write() as tx:
            agent = await lifecycle.get_agent(tx.session, tx.viewer.context, agent_id)
            await console_actions.send_to_agent(
                tx.session,
                web.runtime,
                tx.viewer.context,
                agent_id,
                message=console_actions.wake_text(agent.name),
                verb="wake",
            )
    except DomainError as error:
        return await _detail(
            web, agent_id, errors={"wake": error.message}, status_code=error.status
        )
    return await _detail(web, agent_id, notice="Wake sent.")


@router.post("/agents/{agent_id}/nudge")
async def nudge(agent_id: uuid.UUID, web: WebDep) -> Response:
    form = await web.form()
    message = form.get("message").strip()
    try:
        if not message:
            raise InvalidInput("Write the message to send.", code="message_required")
        async with web.write() as tx:
            await console_actions.send_to_agent(
                tx.session,
                web.runtime,
                tx.viewer.context,
                agent_id,
                message=message,
                verb="nudge",
            )
    except DomainError as error:
        return await _detail(
            web, agent_id, errors={"nudge": error.message}, status_code=error.status
        )
    return await _detail(web, agent_id, notice="Nudge sent.")


@router.post("/agents/{agent_id}/edit")
async def edit(agent_id: uuid.UUID, web: WebDep) -> Response:
    form = await web.form()
    try:
        # Only what the form changes: an untouched field is not an update.
        fields: dict[str, Any] = {"name": form.get("name")}
        if form.get("role").strip():
            fields["identity_profile"] = _profile(form)
        if form.get("heartbeat_every").strip():
            fields["heartbeat_config"] = _heartbeat(form)
        data = AgentUpdate.model_validate(fields)
        async with web.write() as tx:
            await lifecycle.update_agent(
                tx.session, web.runtime, tx.viewer.context, agent_id, data, force=False
            )
    except (DomainError, ValidationError) as error:
        status = error.status if isinstance(error, DomainError) else 422
        return await _detail(
            web, agent_id, errors={"edit": error_message(error)}, status_code=status
        )
    return web.redirect(f"/agents/{agent_id}")


@router.post("/agents/{agent_id}/reprovision")
async def reprovision(agent_id: uuid.UUID, web: WebDep) -> Response:
    try:
        async with web.write() as tx:
            await lifecycle.update_agent(
                tx.session, web.runtime, tx.viewer.context, agent_id, AgentUpdate(), force=True
            )
    except DomainError as error:
        return await _detail(
            web, agent_id, errors={"reprovision": error.message}, status_code=error.status
        )
    return await _detail(web, agent_id, notice="Provisioned again.")


@router.post("/agents/{agent_id}/delete")
async def delete(agent_id: uuid.UUID, web: WebDep) -> Response:
    try:
        async with web.write() as tx:
            agent = await lifecycle.get_agent(tx.session, tx.viewer.context, agent_id)
            gateway_id = agent.gateway_id
            await lifecycle.delete_agent(tx.session, web.runtime, tx.viewer.context, agent_id)
    except DomainError as error:
        return await _detail(
            web, agent_id, errors={"delete": error.message}, status_code=error.status
        )
    return web.redirect(f"/gateways/{gateway_id}")
