"""Task runs from the task page: start one (mode, label, timeout) and cancel one. The runs
themselves, with their live log, are part of the task page (pages_tasks, _task_runs.html)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response
from pydantic import ValidationError

from mission_control.core.errors import DomainError, InvalidInput
from mission_control.runs import executor
from mission_control.runs import service as runs
from mission_control.runs.schemas import RunCreate
from mission_control.tasks.actors import user_caller
from mission_control.web import forms
from mission_control.web.formdata import Form
from mission_control.web.pages_tasks import TASK, render_task
from mission_control.web.routing import ConsoleRoute, Web, WebDep, error_message, readable_board

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)


def run_request(form: Form) -> RunCreate:
    """The start form as the API's request body (its validation, its messages)."""
    raw_timeout = form.get("timeout_seconds").strip()
    timeout: int | None = None
    if raw_timeout:
        # ASCII digits only: int() would also take Arabic-Indic or full-width digits (issue 11).
        if not (raw_timeout.isascii() and raw_timeout.isdigit()):
            raise InvalidInput(
                "Timeout: a whole number of seconds.",
                details=[{"field": "timeout_seconds", "location": "body", "message": "not int"}],
            )
        timeout = int(raw_timeout)
    return RunCreate.model_validate(
        {
            "mode": form.get("mode") or "run",
            "label": forms.text_or_none(form, "label"),
            "timeout_seconds": timeout,
        }
    )


def refusal_text(error: DomainError | ValidationError) -> str:
    """The API's message, with the refusal's code so it can be looked up (docs/runs.md)."""
    message = error_message(error)
    if isinstance(error, DomainError) and error.code:
        return f"{message} ({error.code})"
    return message


async def _error_page(
    web: Web,
    board_id: uuid.UUID,
    task_id: uuid.UUID,
    error: DomainError | ValidationError,
    sent: Form | None = None,
) -> Response:
    async with web.read() as tx:
        return await render_task(
            web,
            tx,
            board_id,
            task_id,
            errors={"run": refusal_text(error)},
            status_code=error.status if isinstance(error, DomainError) else 422,
            run_form=sent,
        )


@router.post(TASK + "/runs")
async def start_run(board_id: uuid.UUID, task_id: uuid.UUID, web: WebDep) -> Response:
    form = await web.form()
    try:
        data = run_request(form)
        async with web.write() as tx:
            board = await readable_board(tx.session, tx.viewer, board_id)
            await executor.start_run(
                web.runtime,
                tx.session,
                user_caller(tx.viewer.context),
                board.id,
                task_id,
                data,
                request_key=forms.text_or_none(form, "idempotency_key"),
            )
    except (DomainError, ValidationError) as error:
        return await _error_page(web, board_id, task_id, error, sent=form)
    return web.redirect(f"/boards/{board_id}/tasks/{task_id}#runs")


@router.post(TASK + "/runs/{run_id}/cancel")
async def cancel_run(
    board_id: uuid.UUID, task_id: uuid.UUID, run_id: uuid.UUID, web: WebDep
) -> Response:
    try:
        async with web.write() as tx:
            board = await readable_board(tx.session, tx.viewer, board_id)
            await runs.request_cancel(
                tx.session, user_caller(tx.viewer.context), board.id, task_id, run_id
            )
    except DomainError as error:
        return await _error_page(web, board_id, task_id, error)
    return web.redirect(f"/boards/{board_id}/tasks/{task_id}#runs")
