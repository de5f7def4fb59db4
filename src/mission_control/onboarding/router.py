"""HTTP endpoints for users: start, follow, answer, confirm, restart or abandon a board's
onboarding interview (read access to follow it, write access for everything else)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, status

from mission_control.auth import RuntimeDep, SessionDep, UserDep
from mission_control.core.api import API_PREFIX
from mission_control.onboarding import service
from mission_control.onboarding.schemas import (
    OnboardingAnswer,
    OnboardingConfirm,
    OnboardingConfirmed,
    OnboardingRead,
)

router = APIRouter(prefix=f"{API_PREFIX}/boards/{{board_id}}/onboarding", tags=["onboarding"])


@router.get("", response_model=OnboardingRead)
async def get_onboarding(
    board_id: uuid.UUID, context: UserDep, session: SessionDep
) -> OnboardingRead:
    """The board's latest onboarding: its questions, answers, draft and status."""
    return await service.get_for_user(session, context, board_id)


@router.post("", response_model=OnboardingRead, status_code=status.HTTP_201_CREATED)
async def start_onboarding(
    board_id: uuid.UUID, context: UserDep, session: SessionDep, runtime: RuntimeDep
) -> OnboardingRead:
    """Ask the gateway's main agent to interview you about the board's goal."""
    return await service.start(session, runtime, context, board_id)


@router.post("/restart", response_model=OnboardingRead, status_code=status.HTTP_201_CREATED)
async def restart_onboarding(
    board_id: uuid.UUID, context: UserDep, session: SessionDep, runtime: RuntimeDep
) -> OnboardingRead:
    """Abandon a stuck interview (if one is open) and start a new one."""
    return await service.start(session, runtime, context, board_id, restart=True)


@router.post("/answers", response_model=OnboardingRead)
async def answer_onboarding(
    board_id: uuid.UUID,
    data: OnboardingAnswer,
    context: UserDep,
    session: SessionDep,
    runtime: RuntimeDep,
) -> OnboardingRead:
    """Answer the agent's question (or comment on its draft); relayed to the agent."""
    return await service.answer(session, runtime, context, board_id, data)


@router.post("/confirm", response_model=OnboardingConfirmed)
async def confirm_onboarding(
    board_id: uuid.UUID,
    context: UserDep,
    session: SessionDep,
    data: OnboardingConfirm | None = None,
) -> OnboardingConfirmed:
    """Accept the draft (or an edited one): writes the goal, applies your profile and requests
    the board lead."""
    return await service.confirm(session, context, board_id, data or OnboardingConfirm())


@router.post("/abandon", response_model=OnboardingRead)
async def abandon_onboarding(
    board_id: uuid.UUID, context: UserDep, session: SessionDep
) -> OnboardingRead:
    """Close the open interview without changing the board."""
    return await service.abandon(session, context, board_id)
