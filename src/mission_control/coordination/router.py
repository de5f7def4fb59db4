"""Agent-facing coordination endpoints (docs/coordination.md#routes); the OpenAPI tags name the
agent kinds that may call each one."""

from __future__ import annotations

import uuid
from enum import Enum

from fastapi import APIRouter

from mission_control.auth import AgentDep, RuntimeDep, SessionDep
from mission_control.coordination import service
from mission_control.coordination.schemas import (
    AskUserRequest,
    AskUserResponse,
    BroadcastRequest,
    BroadcastResponse,
    LeadMessageRequest,
    LeadMessageResponse,
    NudgeRequest,
    OkResponse,
    SoulWrite,
)
from mission_control.core.api import AGENT_LEAD, AGENT_MAIN, API_PREFIX, BOARD_AGENT_KINDS

router = APIRouter(prefix=f"{API_PREFIX}/agent")

LEAD: list[str | Enum] = [AGENT_LEAD]
BOARD_AGENTS: list[str | Enum] = [*BOARD_AGENT_KINDS]
MAIN: list[str | Enum] = [AGENT_MAIN]
AGENT_PATH = "/boards/{board_id}/agents/{agent_id}"


@router.post(AGENT_PATH + "/nudge", response_model=OkResponse, tags=LEAD)
async def nudge_agent(
    board_id: uuid.UUID,
    agent_id: uuid.UUID,
    data: NudgeRequest,
    agent: AgentDep,
    session: SessionDep,
    runtime: RuntimeDep,
) -> OkResponse:
    """Lead: send a message into an agent's session on your board (it wakes the agent)."""
    await service.nudge(session, runtime, agent, board_id, agent_id, data.message)
    return OkResponse()


@router.get(AGENT_PATH + "/soul", response_model=str, tags=BOARD_AGENTS)
async def read_soul(
    board_id: uuid.UUID,
    agent_id: uuid.UUID,
    agent: AgentDep,
    session: SessionDep,
    runtime: RuntimeDep,
) -> str:
    """Lead: any agent's SOUL.md on your board; worker: your own. Read from the gateway."""
    return await service.read_soul(session, runtime, agent, board_id, agent_id)


@router.put(AGENT_PATH + "/soul", response_model=OkResponse, tags=LEAD)
async def write_soul(
    board_id: uuid.UUID,
    agent_id: uuid.UUID,
    data: SoulWrite,
    agent: AgentDep,
    session: SessionDep,
    runtime: RuntimeDep,
) -> OkResponse:
    """Lead: replace an agent's SOUL.md (written to the gateway first, then remembered)."""
    await service.write_soul(session, runtime, agent, board_id, agent_id, data)
    return OkResponse()


@router.post("/boards/{board_id}/gateway/main/ask-user", response_model=AskUserResponse, tags=LEAD)
async def ask_user(
    board_id: uuid.UUID,
    data: AskUserRequest,
    agent: AgentDep,
    session: SessionDep,
    runtime: RuntimeDep,
) -> AskUserResponse:
    """Lead: ask the user a question through the gateway agent; the answer arrives as a board
    memory item tagged with ``reply_tags``."""
    return await service.ask_user(session, runtime, agent, board_id, data)


@router.post(
    "/gateway/boards/{board_id}/lead/message", response_model=LeadMessageResponse, tags=MAIN
)
async def message_lead(
    board_id: uuid.UUID,
    data: LeadMessageRequest,
    agent: AgentDep,
    session: SessionDep,
    runtime: RuntimeDep,
) -> LeadMessageResponse:
    """Gateway agent: send a question or handoff to one board's lead (created if missing)."""
    return await service.message_lead(session, runtime, agent, board_id, data)


@router.post("/gateway/leads/broadcast", response_model=BroadcastResponse, tags=MAIN)
async def broadcast_to_leads(
    data: BroadcastRequest, agent: AgentDep, session: SessionDep, runtime: RuntimeDep
) -> BroadcastResponse:
    """Gateway agent: the same message to the leads of your gateway's boards (or ``board_ids``);
    each board's outcome is in ``results``."""
    return await service.broadcast(session, runtime, agent, data)
