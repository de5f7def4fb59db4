"""Agent-facing onboarding endpoints: the gateway-main agent reads the interview, asks the user
questions and posts the draft (only that agent kind may call them; see the OpenAPI tags)."""

from __future__ import annotations

import uuid
from enum import Enum

from fastapi import APIRouter, status

from mission_control.auth import AgentDep, SessionDep
from mission_control.core.api import AGENT_MAIN, API_PREFIX
from mission_control.onboarding import service
from mission_control.onboarding.schemas import OnboardingDraft, OnboardingQuestion, OnboardingRead

router = APIRouter(prefix=f"{API_PREFIX}/agent/boards/{{board_id}}/onboarding")

MAIN_ONLY: list[str | Enum] = [AGENT_MAIN]


@router.get("", response_model=OnboardingRead, tags=MAIN_ONLY)
async def agent_get_onboarding(
    board_id: uuid.UUID, agent: AgentDep, session: SessionDep
) -> OnboardingRead:
    """The interview so far: your questions, the user's answers, your draft, the status."""
    return await service.get_for_agent(session, agent, board_id)


@router.post(
    "/questions",
    response_model=OnboardingRead,
    status_code=status.HTTP_201_CREATED,
    tags=MAIN_ONLY,
)
async def agent_ask_question(
    board_id: uuid.UUID, data: OnboardingQuestion, agent: AgentDep, session: SessionDep
) -> OnboardingRead:
    """Ask the user one question (with options where they help); the answer comes back to
    your session."""
    return await service.ask(session, agent, board_id, data)


@router.post("/draft", response_model=OnboardingRead, tags=MAIN_ONLY)
async def agent_post_draft(
    board_id: uuid.UUID, data: OnboardingDraft, agent: AgentDep, session: SessionDep
) -> OnboardingRead:
    """Propose the board's goal, the user's profile and the lead's identity for the user to
    confirm; posting again replaces the draft."""
    return await service.post_draft(session, agent, board_id, data)
