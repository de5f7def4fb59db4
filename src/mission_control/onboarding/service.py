"""Onboarding rules (docs/onboarding.md): a user starts an interview for a board, the
gateway-main agent asks questions and posts a draft through the agent API, the user answers and
finally confirms, which writes the goal, applies the user profile and provisions the lead.

States: ``active`` (questions and answers) → ``draft_ready`` (a draft awaits the user; an answer
sends it back to ``active``) → ``confirmed``; an open session can be ``abandoned`` or restarted.
A transition from the wrong state is a 409 with a stable code. Messages to the agent go out with
no transaction open: the session row is committed first, the gateway called, the outcome
recorded after.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from mission_control.access.service import require_agent_board, require_board
from mission_control.activity import service as activity
from mission_control.agents.models import Agent, agent_name_key
from mission_control.boards import service as boards
from mission_control.boards.models import Board
from mission_control.core import events
from mission_control.core.clock import utcnow
from mission_control.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from mission_control.core.runtime import Runtime
from mission_control.core.unit_of_work import end_transaction
from mission_control.gateways.models import Gateway
from mission_control.onboarding import dispatch, prompts, repository
from mission_control.onboarding.models import (
    OPEN_STATUSES,
    BoardOnboardingSession,
    OnboardingStatus,
)
from mission_control.onboarding.schemas import (
    LeadAgentDraft,
    OnboardingAnswer,
    OnboardingConfirm,
    OnboardingConfirmed,
    OnboardingDraft,
    OnboardingMessage,
    OnboardingQuestion,
    OnboardingRead,
)
from mission_control.organizations.service import UserContext
from mission_control.provisioning import repository as provisioning_repository
from mission_control.provisioning import service as provisioning
from mission_control.provisioning.identities import gateway_main_session_key
from mission_control.users.models import User

DEFAULT_LEAD_NAME = "Lead Agent"
PROFILE_FIELDS = ("preferred_name", "pronouns", "timezone", "notes", "context")


# -- reading ------------------------------------------------------------------------------


def to_read(row: BoardOnboardingSession) -> OnboardingRead:
    return OnboardingRead(
        id=row.id,
        board_id=row.board_id,
        status=row.status,
        session_key=row.session_key,
        messages=[OnboardingMessage.model_validate(item) for item in row.messages or []],
        draft=OnboardingDraft.model_validate(row.draft) if row.draft else None,
        created_by_user_id=row.created_by_user_id,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


async def _latest_or_404(
    session: AsyncSession, board: Board, *, lock: bool = False
) -> BoardOnboardingSession:
    row = await repository.latest(session, board.id, lock=lock)
    if row is None:
        raise NotFound(
            f"Board {board.name} has no onboarding yet; a user with write access starts one "
            f"with POST /api/v1/boards/{board.id}/onboarding.",
            code="onboarding_not_found",
        )
    return row


async def _open_or_error(
    session: AsyncSession, board: Board, *, lock: bool = True
) -> BoardOnboardingSession:
    row = await _latest_or_404(session, board, lock=lock)
    if row.status not in OPEN_STATUSES:
        raise Conflict(
            f"Board {board.name}'s last onboarding is {row.status}; start a new one with "
            f"POST /api/v1/boards/{board.id}/onboarding.",
            code="onboarding_closed",
            details={"onboarding_id": str(row.id), "status": row.status},
        )
    return row


async def get_for_user(
    session: AsyncSession, context: UserContext, board_id: uuid.UUID
) -> OnboardingRead:
    board = await require_board(session, context, board_id, write=False)
    return to_read(await _latest_or_404(session, board))


async def get_for_agent(session: AsyncSession, agent: Agent, board_id: uuid.UUID) -> OnboardingRead:
    board = await _main_agent_board(session, agent, board_id)
    return to_read(await _latest_or_404(session, board))


# -- helpers ------------------------------------------------------------------------------


def _message(role: str, kind: str, content: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": uuid.uuid4().hex,
        "role": role,
        "kind": kind,
        "content": content,
        "at": utcnow().isoformat(),
        **{key: value for key, value in extra.items() if value is not None},
    }


def _append(row: BoardOnboardingSession, entry: dict[str, Any]) -> None:
    # A new list, so the JSON column sees the change.
    row.messages = [*(row.messages or []), entry]


def _user_name(user: User) -> str:
    return (user.preferred_name or "").strip() or user.name or user.email or "the operator"


def _publish(session: AsyncSession, board: Board, row: BoardOnboardingSession, verb: str) -> None:
    events.emit(
        session,
        f"onboarding.{verb}",
        organization_id=board.organization_id,
        board_id=board.id,
        data=lambda: to_read(row).model_dump(mode="json"),
    )


def _record(
    session: AsyncSession,
    board: Board,
    row: BoardOnboardingSession,
    event_type: str,
    message: str,
    *,
    user: User | None = None,
    agent: Agent | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    activity.record(
        session,
        event_type,
        message,
        organization_id=board.organization_id,
        board_id=board.id,
        agent_id=agent.id if agent else None,
        actor_user_id=user.id if user else None,
        actor_agent_id=agent.id if agent else None,
        details={"onboarding_id": str(row.id), **(details or {})},
    )


async def _board_gateway(session: AsyncSession, board: Board) -> Gateway:
    """The board's gateway, attached and configured (docs/onboarding.md#refusals)."""
    if board.gateway_id is None:
        raise InvalidInput(
            f"Board {board.name} is not attached to a gateway; set its gateway_id first.",
            code="board_without_gateway",
        )
    gateway = await session.get(Gateway, board.gateway_id)
    if gateway is None or not gateway.url:
        raise InvalidInput(
            f"The gateway of board {board.name} is not configured (no URL); fix the gateway.",
            code="gateway_not_configured",
        )
    return gateway


async def _require_main_agent_row(session: AsyncSession, gateway: Gateway) -> None:
    main = await provisioning_repository.main_agent_of(session, gateway.id)
    if main is None or main.agent_token_hash is None:
        raise Conflict(
            f"Gateway {gateway.name} has no provisioned main agent to run the interview. "
            "Update the gateway in Mission Control (or wait for the reconciler to provision "
            "its main agent), then start onboarding again.",
            code="gateway_main_not_provisioned",
            details={"gateway_id": str(gateway.id)},
        )


def _ref(runtime: Runtime, board: Board, row: BoardOnboardingSession) -> prompts.OnboardingRef:
    return prompts.OnboardingRef(
        onboarding_id=row.id,
        board_id=board.id,
        board_name=board.name,
        base_url=runtime.settings.agent_base_url,
    )


def _trace_id(operation: str) -> str:
    return f"onboarding.{operation}:{uuid.uuid4().hex[:12]}"


# -- user actions -------------------------------------------------------------------------


async def start(
    session: AsyncSession,
    runtime: Runtime,
    context: UserContext,
    board_id: uuid.UUID,
    *,
    restart: bool = False,
) -> OnboardingRead:
    """Open a session and ask the gateway-main agent to interview the user.

    ``restart`` abandons an open session first (a stuck interview); without it an open session
    is a 409. A failed dispatch leaves the new session abandoned and answers 502.
    """
    board = await require_board(session, context, board_id, write=True)
    gateway = await _board_gateway(session, board)
    await _require_main_agent_row(session, gateway)
    previous = await repository.open_for_board(session, board.id)
    if previous is not None and not restart:
        raise Conflict(
            f"Board {board.name} already has an onboarding in progress ({previous.status}); "
            "answer it, or restart it with POST "
            f"/api/v1/boards/{board.id}/onboarding/restart if it is stuck.",
            code="onboarding_in_progress",
            details={"onboarding_id": str(previous.id), "status": previous.status},
        )
    if previous is not None:
        _close(previous, OnboardingStatus.ABANDONED, f"Restarted by {_user_name(context.user)}.")
        await session.flush()
    row = BoardOnboardingSession(
        id=uuid.uuid4(),
        board_id=board.id,
        session_key=gateway_main_session_key(gateway.id),
        status=OnboardingStatus.ACTIVE,
        messages=[],
        created_by_user_id=context.user.id,
    )
    await _insert(session, board, row)
    message = prompts.start_message(
        _ref(runtime, board, row),
        user_name=_user_name(context.user),
        restarted_from=previous.id if previous is not None else None,
    )
    # The open session is committed before the gateway call (no transaction stays open
    # across it); a concurrent start now gets the 409.
    await end_transaction(session)
    try:
        await dispatch.send(
            runtime,
            gateway,
            dispatch.Dispatch(
                operation="start",
                session_key=row.session_key,
                message=message,
                idempotency_key=f"mc-onboarding-{row.id.hex}-start",
                trace_id=_trace_id("start"),
            ),
            check_main=True,
        )
    except Exception as error:
        await _abandon_unstarted(runtime, row.id, error)
        raise
    verb = "restarted" if previous is not None else "started"
    _record(
        session,
        board,
        row,
        f"board.onboarding.{verb}",
        f"Onboarding {verb} for board {board.name}: the gateway agent is interviewing "
        f"{_user_name(context.user)}.",
        user=context.user,
        details={"restarted_from": str(previous.id)} if previous is not None else None,
    )
    _publish(session, board, row, verb)
    return to_read(row)


async def _abandon_unstarted(runtime: Runtime, onboarding_id: uuid.UUID, error: Exception) -> None:
    """Kept although the request fails: in a transaction of its own."""
    async with runtime.database.unit_of_work() as session:
        row = await session.get(BoardOnboardingSession, onboarding_id)
        if row is not None:
            _close(row, OnboardingStatus.ABANDONED, f"The interview could not start: {error}")


async def _insert(session: AsyncSession, board: Board, row: BoardOnboardingSession) -> None:
    try:
        # A savepoint: the transaction survives the unique violation of a concurrent start.
        async with session.begin_nested():
            session.add(row)
    except IntegrityError as error:
        raise Conflict(
            f"Board {board.name} already has an onboarding in progress (started a moment ago); "
            "reload it.",
            code="onboarding_in_progress",
        ) from error


def _close(row: BoardOnboardingSession, status: str, note: str) -> None:
    row.status = status
    _append(row, _message("system", "note", note))


async def answer(
    session: AsyncSession,
    runtime: Runtime,
    context: UserContext,
    board_id: uuid.UUID,
    data: OnboardingAnswer,
) -> OnboardingRead:
    """Relay the user's answer to the agent; recorded once the gateway took it."""
    board = await require_board(session, context, board_id, write=True)
    gateway = await _board_gateway(session, board)
    row = await _open_or_error(session, board)
    question = _question(row, data.question_id)
    entry = _message(
        "user", "answer", data.content, question_id=data.question_id, user_id=str(context.user.id)
    )
    message = prompts.answer_message(
        _ref(runtime, board, row),
        question=question,
        answer=data.content,
        draft=row.status == OnboardingStatus.DRAFT_READY,
    )
    onboarding_id, session_key = row.id, row.session_key
    await end_transaction(session)
    await dispatch.send(
        runtime,
        gateway,
        dispatch.Dispatch(
            operation="answer",
            session_key=session_key,
            message=message,
            idempotency_key=f"mc-onboarding-{onboarding_id.hex}-{entry['id']}",
            trace_id=_trace_id("answer"),
        ),
    )
    row = await _open_or_error(session, board)
    if row.id != onboarding_id:
        raise Conflict(
            "The onboarding was restarted while your answer was being sent; answer the new "
            "interview's questions.",
            code="onboarding_closed",
            details={"onboarding_id": str(row.id), "status": row.status},
        )
    _append(row, entry)
    row.status = OnboardingStatus.ACTIVE
    _publish(session, board, row, "answered")
    return to_read(row)


def _question(row: BoardOnboardingSession, question_id: str | None) -> str | None:
    if question_id is None:
        return None
    for item in row.messages or []:
        if item.get("id") == question_id and item.get("kind") == "question":
            return str(item.get("content"))
    raise InvalidInput(
        "question_id does not name a question of this onboarding; use an id from its messages.",
        details=[{"field": "question_id", "location": "body", "message": "unknown question"}],
    )


async def abandon(
    session: AsyncSession, context: UserContext, board_id: uuid.UUID
) -> OnboardingRead:
    board = await require_board(session, context, board_id, write=True)
    row = await _open_or_error(session, board)
    _close(row, OnboardingStatus.ABANDONED, f"Abandoned by {_user_name(context.user)}.")
    _record(
        session,
        board,
        row,
        "board.onboarding.abandoned",
        f"Onboarding abandoned for board {board.name}.",
        user=context.user,
    )
    _publish(session, board, row, "abandoned")
    return to_read(row)


async def confirm(
    session: AsyncSession, context: UserContext, board_id: uuid.UUID, data: OnboardingConfirm
) -> OnboardingConfirmed:
    """Write the goal to the board, apply the user profile to the confirming user and record
    the lead's provisioning intent, in one transaction; the reconciler provisions the lead."""
    board = await require_board(session, context, board_id, write=True)
    row = await _open_or_error(session, board)
    if row.status != OnboardingStatus.DRAFT_READY:
        raise Conflict(
            "The gateway agent has not posted a draft to confirm yet; answer its questions "
            "(or restart the onboarding if it is stuck).",
            code="onboarding_draft_missing",
            details={"onboarding_id": str(row.id), "status": row.status},
        )
    if board.gateway_id is None:
        raise InvalidInput(
            f"Board {board.name} is no longer attached to a gateway, so it cannot get a lead; "
            "set its gateway_id, then confirm again.",
            code="board_without_gateway",
        )
    draft = data.draft or OnboardingDraft.model_validate(row.draft)
    lead, created = await _ensure_lead(session, board, draft.lead_agent or LeadAgentDraft())
    _apply_goal(board, draft)
    _apply_profile(context.user, draft)
    row.draft = draft.model_dump(mode="json")
    _close(row, OnboardingStatus.CONFIRMED, f"Confirmed by {_user_name(context.user)}.")
    await session.flush()
    _record(
        session,
        board,
        row,
        "board.onboarding.confirmed",
        f"Onboarding confirmed for board {board.name}: goal written"
        + (", approvals for done turned off" if draft.fully_autonomous else "")
        + f"; lead {lead.name} {'requested' if created else 'kept'}.",
        user=context.user,
        details={"lead_agent_id": str(lead.id), "lead_created": created},
    )
    _publish(session, board, row, "confirmed")
    return OnboardingConfirmed(
        onboarding=to_read(row),
        board=boards.to_read(board),
        lead_agent_id=lead.id,
        lead_created=created,
    )


def _apply_goal(board: Board, draft: OnboardingDraft) -> None:
    board.board_type = draft.board_type
    board.objective = draft.objective
    board.success_metrics = draft.success_metrics
    board.target_date = draft.target_date
    board.goal_confirmed = True
    if draft.fully_autonomous:
        board.require_approval_for_done = False


def _apply_profile(user: User, draft: OnboardingDraft) -> None:
    if draft.user_profile is None:
        return
    for field in PROFILE_FIELDS:
        value = getattr(draft.user_profile, field)
        if value is not None:
            setattr(user, field, value)


async def _ensure_lead(
    session: AsyncSession, board: Board, wanted: LeadAgentDraft
) -> tuple[Agent, bool]:
    assert board.gateway_id is not None
    existing = await provisioning_repository.lead_of(session, board.id)
    name = wanted.name or (existing.name if existing else DEFAULT_LEAD_NAME)
    taken = await repository.board_agent_named(
        session, board.gateway_id, agent_name_key(name), except_id=existing.id if existing else None
    )
    if taken is not None:
        raise Conflict(
            f"An agent named {taken.name!r} already runs on this board's gateway; choose another "
            "lead name (send an edited draft with lead_agent.name).",
            code="agent_name_taken",
            details={"agent_id": str(taken.id)},
        )
    overrides = wanted.identity_overrides()
    lead, created = await provisioning.ensure_lead_row(
        session, board, name=name, identity_profile=overrides
    )
    if not created:
        _reidentify(lead, name, overrides)
    return lead, created


def _reidentify(lead: Agent, name: str, overrides: dict[str, str]) -> None:
    identity = {**(lead.identity_profile or provisioning.LEAD_IDENTITY), **overrides}
    if lead.name == name and identity == lead.identity_profile:
        return
    lead.name, lead.name_key = name, agent_name_key(name)
    lead.identity_profile = identity
    if lead.applied_generation >= 1:
        provisioning.request_apply(lead, "update")


# -- agent actions ------------------------------------------------------------------------


async def _main_agent_board(session: AsyncSession, agent: Agent, board_id: uuid.UUID) -> Board:
    if not agent.is_gateway_main:
        raise Forbidden(
            "Only the gateway's main agent runs onboarding interviews; board agents cannot.",
            code="gateway_main_only",
        )
    return await require_agent_board(session, agent, board_id)


async def ask(
    session: AsyncSession, agent: Agent, board_id: uuid.UUID, data: OnboardingQuestion
) -> OnboardingRead:
    board = await _main_agent_board(session, agent, board_id)
    row = await _open_or_error(session, board)
    if row.status != OnboardingStatus.ACTIVE:
        raise Conflict(
            "Your draft awaits the user's decision; wait for their answer or confirmation "
            "before asking more.",
            code="onboarding_awaiting_user",
            details={"onboarding_id": str(row.id), "status": row.status},
        )
    _append(
        row,
        _message(
            "agent",
            "question",
            data.question,
            options=list(data.options),
            allow_free_text=data.allow_free_text,
        ),
    )
    _publish(session, board, row, "question")
    return to_read(row)


async def post_draft(
    session: AsyncSession, agent: Agent, board_id: uuid.UUID, draft: OnboardingDraft
) -> OnboardingRead:
    board = await _main_agent_board(session, agent, board_id)
    row = await _open_or_error(session, board)
    row.draft = draft.model_dump(mode="json")
    row.status = OnboardingStatus.DRAFT_READY
    summary = draft.objective or f"a {draft.board_type} board"
    _append(row, _message("agent", "draft", f"Draft: {summary}"))
    await session.flush()
    _record(
        session,
        board,
        row,
        "board.onboarding.draft_ready",
        f"The gateway agent proposed a goal for board {board.name}; review and confirm it.",
        agent=agent,
    )
    _publish(session, board, row, "draft")
    return to_read(row)
