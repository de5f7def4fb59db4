"""Boards: the list, create and edit forms, and the board page (live kanban and chat)."""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, Response
from pydantic import ValidationError

from mission_control.access.service import board_access
from mission_control.agents import lifecycle
from mission_control.agents.schemas import AgentRead
from mission_control.approvals import service as approvals
from mission_control.approvals.schemas import ApprovalRead
from mission_control.boards import service as boards
from mission_control.boards.models import Board
from mission_control.boards.schemas import BoardCreate, BoardUpdate
from mission_control.core.errors import DomainError
from mission_control.gateways import service as gateways
from mission_control.memory import service as memory
from mission_control.memory.models import BoardMemory
from mission_control.memory.repository import MemoryFilters
from mission_control.memory.schemas import MemoryCreate
from mission_control.tasks import catalog
from mission_control.tasks import service as tasks
from mission_control.tasks.actors import user_caller
from mission_control.tasks.models import Tag
from mission_control.tasks.repository import TaskFilter
from mission_control.tasks.schemas import BoardFieldRead, TaskRead
from mission_control.web import forms, repository
from mission_control.web.rendering import render
from mission_control.web.routing import (
    ConsoleRoute,
    Form,
    Tx,
    Web,
    WebDep,
    error_message,
    readable_board,
)

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)

COLUMNS = (
    ("inbox", "Inbox"),
    ("in_progress", "In progress"),
    ("review", "Review"),
    ("done", "Done"),
)
RULES = (
    ("require_approval_for_done", "An approved approval is needed to move a task to done"),
    ("require_review_before_done", "Tasks pass through review before done"),
    ("comment_required_for_review", "A comment is required to send a task to review"),
    (
        "block_status_changes_with_pending_approval",
        "No status change while an approval of the task is pending",
    ),
    ("only_lead_can_change_status", "Only the board lead changes task status"),
)
MAX_TASKS = 5000
CHAT_LIMIT = 50


# Boards list, create, edit


@router.get("/boards")
async def board_list(web: WebDep) -> Response:
    async with web.read() as tx:
        items, total = await boards.list_boards(
            tx.session,
            tx.viewer.context,
            gateway_id=None,
            board_group_id=None,
            limit=500,
            offset=0,
        )
        ids = [board.id for board in items]
        agents = await _agents_by_board(tx, ids)
        paused = await memory.paused_board_ids(tx.session, ids)
        counts = await repository.task_counts(tx.session, ids)
        names = await _gateway_names(tx)
        return render(
            web.request,
            "boards.html",
            title="Boards",
            nav="boards",
            viewer=tx.viewer,
            live_stream="/live/events?topics=tasks,agents,memory",
            boards=items,
            total=total,
            agent_counts={board_id: len(items) for board_id, items in agents.items()},
            paused=paused,
            counts=counts,
            gateway_names=names,
            group_names=await _group_names(tx, items),
        )


async def _agents_by_board(tx: Tx, board_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[AgentRead]]:
    items, _ = await lifecycle.list_agents(
        tx.session, tx.viewer.context, board_id=None, gateway_id=None, limit=5000, offset=0
    )
    grouped: dict[uuid.UUID, list[AgentRead]] = defaultdict(list)
    for agent in items:
        if agent.board_id in board_ids:
            grouped[agent.board_id].append(agent)
    return grouped


async def _gateway_names(tx: Tx) -> dict[uuid.UUID, str]:
    if not tx.viewer.context.is_admin:
        return {}
    items, _ = await gateways.list_gateways(tx.session, tx.viewer.context, limit=100, offset=0)
    return {gateway.id: gateway.name for gateway in items}


async def _group_names(tx: Tx, items: list[Board]) -> dict[uuid.UUID, str]:
    group_ids = {board.board_group_id for board in items if board.board_group_id}
    names = {}
    for group_id in group_ids:
        group = await repository.board_group(tx.session, group_id)
        if group is not None:
            names[group.id] = group.name
    return names


def _board_values(form: Form) -> dict[str, Any]:
    """The board form's fields, as the API's BoardCreate/BoardUpdate take them."""
    values: dict[str, Any] = {
        "name": form.get("name").strip(),
        "description": forms.text_or_none(form, "description"),
        "objective": forms.text_or_none(form, "objective"),
        "success_metrics": forms.json_object_or_none(form, "success_metrics"),
        "target_date": forms.date_or_none(form, "target_date"),
        "board_type": form.get("board_type") or "goal",
        "gateway_id": forms.uuid_or_none(form, "gateway_id"),
    }
    slug = forms.text_or_none(form, "slug")
    if slug is not None:
        values["slug"] = slug
    for name, _label in RULES:
        values[name] = forms.checked(form, name)
    return values


async def _board_form(
    web: Web,
    tx: Tx,
    *,
    board: Board | None,
    form: dict[str, str] | None = None,
    error: str = "",
    status_code: int = 200,
) -> Response:
    title = f"Edit {board.name}" if board is not None else "New board"
    return render(
        web.request,
        "board_form.html",
        status_code=status_code,
        title=title,
        nav="boards",
        viewer=tx.viewer,
        board=board,
        form=form or {},
        rules=RULES,
        gateways=await _gateway_names(tx),
        errors={"board": error} if error else {},
    )


@router.get("/boards/new")
async def new_board(web: WebDep) -> Response:
    async with web.read() as tx:
        return await _board_form(web, tx, board=None)


@router.post("/boards/new")
async def create_board(web: WebDep) -> Response:
    form = await web.form()
    try:
        async with web.write() as tx:
            board = await boards.create_board(
                tx.session, tx.viewer.context, BoardCreate(**_board_values(form))
            )
            board_id = board.id
    except (DomainError, ValidationError) as error:
        async with web.read() as tx:
            status = error.status if isinstance(error, DomainError) else 422
            return await _board_form(
                web,
                tx,
                board=None,
                form=form.as_dict(),
                error=error_message(error),
                status_code=status,
            )
    return web.redirect(f"/boards/{board_id}")


@router.get("/boards/{board_id}/edit")
async def edit_board(board_id: uuid.UUID, web: WebDep) -> Response:
    async with web.read() as tx:
        board = await readable_board(tx.session, tx.viewer, board_id)
        return await _board_form(web, tx, board=board)


@router.post("/boards/{board_id}/edit")
async def update_board(board_id: uuid.UUID, web: WebDep) -> Response:
    form = await web.form()
    try:
        async with web.write() as tx:
            await readable_board(tx.session, tx.viewer, board_id)
            values = _board_values(form)
            if "slug" not in values:
                values.pop("slug", None)
            await boards.update_board(
                tx.session, tx.viewer.context, board_id, BoardUpdate(**values)
            )
    except (DomainError, ValidationError) as error:
        async with web.read() as tx:
            board = await readable_board(tx.session, tx.viewer, board_id)
            status = error.status if isinstance(error, DomainError) else 422
            return await _board_form(
                web,
                tx,
                board=board,
                form=form.as_dict(),
                error=error_message(error),
                status_code=status,
            )
    return web.redirect(f"/boards/{board_id}")


# The board page


@dataclass
class BoardView:
    """Everything the board page shows."""

    board: Board
    can_write: bool
    paused: bool
    columns: dict[str, list[TaskRead]]
    task_titles: dict[uuid.UUID, str]
    agents: list[AgentRead]
    agent_names: dict[uuid.UUID, str]
    tags: list[Tag]
    tag_names: dict[uuid.UUID, str]
    fields: list[BoardFieldRead]
    pending: dict[uuid.UUID, list[ApprovalRead]]
    chat: list[BoardMemory]
    errors: dict[str, str] = field(default_factory=dict)


async def _board_parts(tx: Tx, board: Board) -> tuple[bool, list[AgentRead], list[Tag]]:
    """Write access, the board's agents and the organisation's tags."""
    access = await board_access(tx.session, tx.viewer.context, board)
    agents, _ = await lifecycle.list_agents(
        tx.session, tx.viewer.context, board_id=board.id, gateway_id=None, limit=500, offset=0
    )
    tags, _ = await catalog.list_tags(
        tx.session, tx.viewer.context.organization.id, limit=500, offset=0
    )
    return access.write, agents, tags


def _pending_by_task(items: list[ApprovalRead]) -> dict[uuid.UUID, list[ApprovalRead]]:
    pending: dict[uuid.UUID, list[ApprovalRead]] = defaultdict(list)
    for approval in items:
        for task_id in approval.task_ids:
            pending[task_id].append(approval)
    return pending


async def board_view(tx: Tx, board_id: uuid.UUID) -> BoardView:
    board = await readable_board(tx.session, tx.viewer, board_id)
    caller = user_caller(tx.viewer.context)
    can_write, agents, tags = await _board_parts(tx, board)
    items, _ = await tasks.list_tasks(
        tx.session, caller, board.id, TaskFilter(), limit=MAX_TASKS, offset=0
    )
    columns: dict[str, list[TaskRead]] = {status: [] for status, _ in COLUMNS}
    for task in items:
        columns.setdefault(task.status, []).append(task)
    pending_items, _ = await approvals.list_approvals(
        tx.session, caller, board.id, status="pending", task_id=None, limit=500, offset=0
    )
    chat, _ = await memory.list_board_memory(
        tx.session, board, MemoryFilters(is_chat=True), limit=CHAT_LIMIT, offset=0
    )
    return BoardView(
        board=board,
        can_write=can_write,
        paused=await memory.is_paused(tx.session, board.id),
        columns=columns,
        task_titles={task.id: task.title for task in items},
        agents=agents,
        agent_names={agent.id: agent.name for agent in agents},
        tags=tags,
        tag_names={tag.id: tag.name for tag in tags},
        fields=await catalog.board_fields(tx.session, caller, board.id),
        pending=_pending_by_task(pending_items),
        chat=list(reversed(chat)),
    )


async def card_view(tx: Tx, board_id: uuid.UUID, task_id: uuid.UUID) -> tuple[BoardView, TaskRead]:
    """What one card needs, without loading the whole board (the live update of one task)."""
    board = await readable_board(tx.session, tx.viewer, board_id)
    caller = user_caller(tx.viewer.context)
    task = await tasks.get_task(tx.session, caller, board.id, task_id)
    can_write, agents, tags = await _board_parts(tx, board)
    pending_items, _ = await approvals.list_approvals(
        tx.session, caller, board.id, status="pending", task_id=task.id, limit=100, offset=0
    )
    view = BoardView(
        board=board,
        can_write=can_write,
        paused=False,
        columns={},
        task_titles=await repository.task_titles(tx.session, [board.id], task.blocked_by_task_ids),
        agents=agents,
        agent_names={agent.id: agent.name for agent in agents},
        tags=tags,
        tag_names={tag.id: tag.name for tag in tags},
        fields=[],
        pending=_pending_by_task(pending_items),
        chat=[],
    )
    return view, task


def render_board(
    web: Web,
    tx: Tx,
    view: BoardView,
    *,
    errors: dict[str, str] | None = None,
    form: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    return render(
        web.request,
        "board.html",
        status_code=status_code,
        title=view.board.name,
        nav="boards",
        viewer=tx.viewer,
        # Activity is not on the board page: its events would only cost a refresh.
        live_stream=f"/live/events?board_id={view.board.id}&topics=tasks,approvals,memory,agents",
        view=view,
        board=view.board,
        columns=COLUMNS,
        errors=errors or {},
        form=form or {},
    )


@router.get("/boards/{board_id}")
async def board_page(board_id: uuid.UUID, web: WebDep) -> Response:
    async with web.read() as tx:
        return render_board(web, tx, await board_view(tx, board_id))


@router.get("/boards/{board_id}/tasks/{task_id}/card")
async def board_card(board_id: uuid.UUID, task_id: uuid.UUID, web: WebDep) -> Response:
    """One card, for the board page's live update of a single task (404 once deleted)."""
    async with web.read() as tx:
        view, task = await card_view(tx, board_id, task_id)
        return render(
            web.request,
            "card.html",
            viewer=tx.viewer,
            view=view,
            board=view.board,
            task=task,
            columns=COLUMNS,
        )


async def board_error(
    web: Web,
    board_id: uuid.UUID,
    key: str,
    error: DomainError | ValidationError,
    form: dict[str, str] | None = None,
) -> Response:
    """The board page again, with the service's message next to the control ``key``."""
    async with web.read() as tx:
        view = await board_view(tx, board_id)
        status = error.status if isinstance(error, DomainError) else 422
        return render_board(
            web, tx, view, errors={key: error_message(error)}, form=form, status_code=status
        )


@router.post("/boards/{board_id}/chat")
async def post_chat(board_id: uuid.UUID, web: WebDep) -> Response:
    form = await web.form()
    try:
        async with web.write() as tx:
            board = await readable_board(tx.session, tx.viewer, board_id)
            board = await memory.board_for_user(tx.session, tx.viewer.context, board.id, write=True)
            await memory.create_board_memory(
                tx.session,
                board,
                memory.Author.of_user(tx.viewer.context),
                MemoryCreate(content=form.get("content").strip(), is_chat=True),
                base_url=web.runtime.settings.agent_base_url,
            )
    except (DomainError, ValidationError) as error:
        return await board_error(web, board_id, "chat", error, form.as_dict())
    return web.redirect(f"/boards/{board_id}#chat")
