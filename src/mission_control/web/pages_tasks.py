"""Tasks: create on the board page, move (buttons, drag and drop), assign, edit, and the
task detail page (thread, dependencies both ways, tags, fields, approvals, runs with their
log, activity). Starting and cancelling runs: pages_runs."""

from __future__ import annotations

import json
import uuid
from typing import Any

from fastapi import APIRouter, Response
from pydantic import ValidationError

from mission_control.activity import service as activity
from mission_control.activity.repository import ActivityFilters
from mission_control.approvals import service as approvals
from mission_control.core.errors import DomainError
from mission_control.runs import service as runs
from mission_control.runs.models import ACTIVE_STATUSES
from mission_control.runs.schemas import RunLogRead
from mission_control.tasks import catalog
from mission_control.tasks import service as tasks
from mission_control.tasks.actors import user_caller
from mission_control.tasks.repository import TaskFilter
from mission_control.tasks.schemas import BoardFieldRead, TaskCreate, TaskUpdate
from mission_control.web import forms
from mission_control.web.formdata import Form
from mission_control.web.pages_boards import COLUMNS, board_error, board_view
from mission_control.web.rendering import render
from mission_control.web.routing import (
    ConsoleRoute,
    Tx,
    Web,
    WebDep,
    error_message,
    readable_board,
)

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)
TASK = "/boards/{board_id}/tasks/{task_id}"
RUNS_SHOWN = 20


def field_value(raw: str, field_type: str) -> Any:
    """A custom field's form text as the JSON value the API takes; text that does not parse
    is passed on as is, so the API's validation names the problem."""
    text = raw.strip()
    try:
        if field_type == "integer":
            return int(text)
        if field_type == "boolean":
            return text.lower() in ("true", "on", "1", "yes")
        if field_type == "json":
            return json.loads(text)
    except ValueError:
        return text
    return text


def custom_fields(form: Form, fields: list[BoardFieldRead]) -> dict[str, Any]:
    types = {item.definition.key: item.definition.field_type for item in fields}
    values = {}
    for key, raw in forms.custom_field_values(form).items():
        values[key] = field_value(raw, types.get(key, "text"))
    return values


def _task_values(form: Form, fields: list[BoardFieldRead]) -> dict[str, Any]:
    values: dict[str, Any] = {
        "title": form.get("title").strip(),
        "description": forms.text_or_none(form, "description"),
        "priority": form.get("priority") or "medium",
        "due_at": forms.date_or_none(form, "due_at"),
        "assigned_agent_id": forms.uuid_or_none(form, "assigned_agent_id"),
        "depends_on_task_ids": forms.uuid_list(form, "depends_on"),
        "tag_ids": forms.uuid_list(form, "tag_ids"),
        "custom_fields": custom_fields(form, fields),
    }
    return values


@router.post("/boards/{board_id}/tasks")
async def create_task(board_id: uuid.UUID, web: WebDep) -> Response:
    form = await web.form()
    try:
        async with web.write() as tx:
            board = await readable_board(tx.session, tx.viewer, board_id)
            caller = user_caller(tx.viewer.context)
            fields = await catalog.board_fields(tx.session, caller, board.id)
            await tasks.create_task(
                tx.session, caller, board.id, TaskCreate(**_task_values(form, fields))
            )
    except (DomainError, ValidationError) as error:
        return await board_error(web, board_id, "new-task", error, form)
    return web.redirect(f"/boards/{board_id}")


async def _update(
    web: Web, board_id: uuid.UUID, task_id: uuid.UUID, values: dict[str, Any]
) -> None:
    async with web.write() as tx:
        board = await readable_board(tx.session, tx.viewer, board_id)
        await tasks.update_task(
            tx.session, user_caller(tx.viewer.context), board.id, task_id, TaskUpdate(**values)
        )


def _back(form: Form, board_id: uuid.UUID, task_id: uuid.UUID) -> str:
    """Where a task form returns: the task page when it was sent from there, else the board."""
    if form.get("from") == "task":
        return f"/boards/{board_id}/tasks/{task_id}"
    return f"/boards/{board_id}"


async def _task_error(
    web: Web,
    form: Form,
    board_id: uuid.UUID,
    task_id: uuid.UUID,
    key: str,
    error: DomainError | ValidationError,
    *,
    sent: Form | None = None,
) -> Response:
    if form.get("from") == "task":
        async with web.read() as tx:
            status = error.status if isinstance(error, DomainError) else 422
            return await render_task(
                web,
                tx,
                board_id,
                task_id,
                errors={key: error_message(error)},
                status_code=status,
                form=sent,
            )
    return await board_error(web, board_id, key, error)


@router.post(TASK + "/move")
async def move_task(board_id: uuid.UUID, task_id: uuid.UUID, web: WebDep) -> Response:
    form = await web.form()
    values: dict[str, Any] = {"status": form.get("status")}
    comment = forms.text_or_none(form, "comment")
    if comment is not None:
        values["comment"] = comment
    try:
        await _update(web, board_id, task_id, values)
    except (DomainError, ValidationError) as error:
        return await _task_error(web, form, board_id, task_id, f"task:{task_id}", error)
    return web.redirect(_back(form, board_id, task_id))


@router.post(TASK + "/assign")
async def assign_task(board_id: uuid.UUID, task_id: uuid.UUID, web: WebDep) -> Response:
    form = await web.form()
    try:
        agent_id = forms.uuid_or_none(form, "assigned_agent_id")
        await _update(web, board_id, task_id, {"assigned_agent_id": agent_id})
    except (DomainError, ValidationError) as error:
        return await _task_error(web, form, board_id, task_id, f"task:{task_id}", error)
    return web.redirect(_back(form, board_id, task_id))


@router.post(TASK + "/edit")
async def edit_task(board_id: uuid.UUID, task_id: uuid.UUID, web: WebDep) -> Response:
    form = await web.form()
    try:
        async with web.read() as tx:
            caller = user_caller(tx.viewer.context)
            await readable_board(tx.session, tx.viewer, board_id)
            fields = await catalog.board_fields(tx.session, caller, board_id)
        values = _task_values(form, fields)
        values.pop("assigned_agent_id")
        await _update(web, board_id, task_id, values)
    except (DomainError, ValidationError) as error:
        form_with_origin = Form({"from": ["task"]})
        return await _task_error(web, form_with_origin, board_id, task_id, "edit", error, sent=form)
    return web.redirect(f"/boards/{board_id}/tasks/{task_id}")


@router.post(TASK + "/comments")
async def comment_task(board_id: uuid.UUID, task_id: uuid.UUID, web: WebDep) -> Response:
    form = await web.form()
    try:
        async with web.write() as tx:
            board = await readable_board(tx.session, tx.viewer, board_id)
            message = form.get("message").strip()
            if not message:
                raise DomainError("Write a comment first.", code="validation_error")
            await tasks.add_comment(
                tx.session, user_caller(tx.viewer.context), board.id, task_id, message
            )
    except (DomainError, ValidationError) as error:
        form_with_origin = Form({"from": ["task"]})
        return await _task_error(web, form_with_origin, board_id, task_id, "comment", error)
    return web.redirect(f"/boards/{board_id}/tasks/{task_id}#comments")


async def render_task(
    web: Web,
    tx: Tx,
    board_id: uuid.UUID,
    task_id: uuid.UUID,
    *,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
    form: Form | None = None,
    run_form: Form | None = None,
) -> Response:
    view = await board_view(tx, board_id)
    caller = user_caller(tx.viewer.context)
    task = await tasks.get_task(tx.session, caller, board_id, task_id)
    comments, _ = await tasks.list_comments(
        tx.session, caller, board_id, task_id, limit=200, offset=0
    )
    linked, _ = await approvals.list_approvals(
        tx.session, caller, board_id, status=None, task_id=task_id, limit=100, offset=0
    )
    events, _ = await activity.list_for_user(
        tx.session,
        tx.viewer.context,
        ActivityFilters(board_id=board_id, task_id=task_id),
        limit=50,
        offset=0,
    )
    dependents, _ = await tasks.list_tasks(
        tx.session, caller, board_id, TaskFilter(), limit=5000, offset=0
    )
    task_runs, runs_total = await runs.list_runs(
        tx.session, caller, board_id, task_id, limit=RUNS_SHOWN, offset=0
    )
    run_logs: dict[uuid.UUID, list[RunLogRead]] = {}
    for run in task_runs:
        run_logs[run.id] = await runs.run_log(
            tx.session, caller, board_id, task_id, run.id, after_seq=0, limit=runs.LOG_PAGE
        )
    return render(
        web.request,
        "task.html",
        status_code=status_code,
        title=task.title,
        nav="boards",
        viewer=tx.viewer,
        live_stream=f"/live/events?board_id={board_id}",
        view=view,
        board=view.board,
        task=task,
        comments=comments,
        approvals=linked,
        events=events,
        board_names={view.board.id: view.board.name},
        dependents=[item for item in dependents if task.id in item.depends_on_task_ids],
        columns=COLUMNS,
        runs=task_runs,
        runs_total=runs_total,
        run_logs=run_logs,
        run_usage=await runs.task_usage(tx.session, caller, board_id, task_id),
        active_run_statuses=ACTIVE_STATUSES,
        errors=errors or {},
        form=form or Form({}),
        run_form=run_form or Form({}),
        # One key per rendered start form: a double submit starts one run.
        run_key=uuid.uuid4().hex,
    )


@router.get(TASK)
async def task_page(board_id: uuid.UUID, task_id: uuid.UUID, web: WebDep) -> Response:
    async with web.read() as tx:
        return await render_task(web, tx, board_id, task_id)
