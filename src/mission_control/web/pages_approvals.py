"""The approvals queue: pending approvals of every board the viewer may read; approve or
reject with a comment; live."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response
from pydantic import ValidationError

from mission_control.access.service import readable_board_ids
from mission_control.approvals import service as approvals
from mission_control.approvals.schemas import ApprovalResolve
from mission_control.boards import service as boards
from mission_control.core.errors import DomainError
from mission_control.tasks.actors import user_caller
from mission_control.web import forms, repository
from mission_control.web.rendering import render
from mission_control.web.routing import (
    ConsoleRoute,
    Web,
    WebDep,
    error_message,
    parse_uuid,
    readable_board,
)

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)
QUEUE_LIMIT = 200


async def render_queue(
    web: Web,
    board_filter: str | None,
    *,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    async with web.read() as tx:
        context = tx.viewer.context
        board_id = parse_uuid(board_filter) if board_filter else None
        if board_filter and board_id is None:
            raise DomainError("Board not found.", code="not_found")
        visible, _ = await boards.list_boards(
            tx.session, context, gateway_id=None, board_group_id=None, limit=500, offset=0
        )
        if board_id is not None:
            await readable_board(tx.session, tx.viewer, board_id)
            scope: set[uuid.UUID] | None = {board_id}
        else:
            scope = await readable_board_ids(tx.session, context)
        rows, total = await repository.pending_approvals(
            tx.session, context.organization.id, scope, limit=QUEUE_LIMIT
        )
        items = await approvals.read_approvals(tx.session, rows)
        task_ids = {task_id for item in items for task_id in item.task_ids}
        titles = await repository.task_titles(
            tx.session, {item.board_id for item in items}, task_ids
        )
        stream = "/live/events?topics=approvals,tasks"
        if board_id is not None:
            stream += f"&board_id={board_id}"
        return render(
            web.request,
            "approvals.html",
            status_code=status_code,
            title="Approvals",
            nav="approvals",
            viewer=tx.viewer,
            live_stream=stream,
            approvals=items,
            total=total,
            board_names={board.id: board.name for board in visible},
            board_filter=board_id,
            task_titles=titles,
            errors=errors or {},
            orphan_errors=[
                message
                for key, message in (errors or {}).items()
                if key not in {f"approval:{item.id}" for item in items}
            ],
        )


@router.get("/approvals")
async def approvals_queue(web: WebDep, board_id: str | None = None) -> Response:
    return await render_queue(web, board_id)


@router.post("/boards/{board_id}/approvals/{approval_id}/resolve")
async def resolve(board_id: uuid.UUID, approval_id: uuid.UUID, web: WebDep) -> Response:
    form = await web.form()
    back = form.get("board_filter")
    try:
        async with web.write() as tx:
            board = await readable_board(tx.session, tx.viewer, board_id)
            await approvals.resolve_approval(
                tx.session,
                user_caller(tx.viewer.context),
                board.id,
                approval_id,
                ApprovalResolve(
                    status=form.get("decision"),
                    note=forms.text_or_none(form, "note"),
                ),
            )
    except (DomainError, ValidationError) as error:
        status = error.status if isinstance(error, DomainError) else 422
        return await render_queue(
            web,
            back or None,
            errors={f"approval:{approval_id}": error_message(error)},
            status_code=status,
        )
    return web.redirect(f"/approvals?board_id={back}" if back else "/approvals")
