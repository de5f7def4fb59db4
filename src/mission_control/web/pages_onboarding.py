"""Board onboarding in the browser: start it from the board page, the gateway agent's
questions as they arrive (live), answer with an option or free text, review the draft,
confirm, then follow the lead being provisioned."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response
from pydantic import ValidationError

from mission_control.core.errors import DomainError, NotFound
from mission_control.onboarding import service as onboarding
from mission_control.onboarding.schemas import (
    OnboardingAnswer,
    OnboardingConfirm,
    OnboardingMessage,
    OnboardingRead,
)
from mission_control.web.rendering import render
from mission_control.web.routing import ConsoleRoute, Web, WebDep, error_message, readable_board

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)


def open_question(run: OnboardingRead | None) -> OnboardingMessage | None:
    """The agent's latest question when nothing has answered it yet."""
    if run is None or run.status != "active":
        return None
    for message in reversed(run.messages):
        if message.kind == "answer":
            return None
        if message.kind == "question":
            return message
    return None


async def _page(
    web: Web,
    board_id: uuid.UUID,
    *,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    async with web.read() as tx:
        board = await readable_board(tx.session, tx.viewer, board_id)
        try:
            run: OnboardingRead | None = await onboarding.get_for_user(
                tx.session, tx.viewer.context, board.id
            )
        except NotFound:
            run = None
        return render(
            web.request,
            "onboarding/page.html",
            status_code=status_code,
            title=f"Onboarding · {board.name}",
            nav="boards",
            viewer=tx.viewer,
            live_stream=f"/live/events?board_id={board.id}&topics=onboarding,agents",
            board=board,
            run=run,
            question=open_question(run),
            errors=errors or {},
        )


@router.get("/boards/{board_id}/onboarding")
async def onboarding_page(board_id: uuid.UUID, web: WebDep) -> Response:
    return await _page(web, board_id)


@router.post("/boards/{board_id}/onboarding/start")
async def start(board_id: uuid.UUID, web: WebDep) -> Response:
    form = await web.form()
    try:
        async with web.write() as tx:
            await readable_board(tx.session, tx.viewer, board_id)
            await onboarding.start(
                tx.session,
                web.runtime,
                tx.viewer.context,
                board_id,
                restart=form.has("restart"),
            )
    except DomainError as error:
        return await _page(web, board_id, errors={"start": error.message}, status_code=error.status)
    return web.redirect(f"/boards/{board_id}/onboarding")


@router.post("/boards/{board_id}/onboarding/answer")
async def answer(board_id: uuid.UUID, web: WebDep) -> Response:
    form = await web.form()
    content = form.get("choice") or form.get("content")
    try:
        data = OnboardingAnswer(content=content, question_id=form.get("question_id") or None)
        async with web.write() as tx:
            await readable_board(tx.session, tx.viewer, board_id)
            await onboarding.answer(tx.session, web.runtime, tx.viewer.context, board_id, data)
    except (DomainError, ValidationError) as error:
        status = error.status if isinstance(error, DomainError) else 422
        return await _page(
            web, board_id, errors={"answer": error_message(error)}, status_code=status
        )
    return web.redirect(f"/boards/{board_id}/onboarding")


@router.post("/boards/{board_id}/onboarding/confirm")
async def confirm(board_id: uuid.UUID, web: WebDep) -> Response:
    try:
        async with web.write() as tx:
            await readable_board(tx.session, tx.viewer, board_id)
            done = await onboarding.confirm(
                tx.session, tx.viewer.context, board_id, OnboardingConfirm()
            )
    except DomainError as error:
        return await _page(
            web, board_id, errors={"confirm": error.message}, status_code=error.status
        )
    return web.redirect(f"/agents/{done.lead_agent_id}")
