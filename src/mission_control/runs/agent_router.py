"""Agent-facing run endpoints (``/agent/boards/{board_id}/tasks/{task_id}/runs``): the task's
assigned worker and the board lead start runs; agents reach only their own board."""

from __future__ import annotations

import uuid
from enum import Enum

from fastapi import APIRouter, Response, status

from mission_control.auth import AgentDep, RuntimeDep, SessionDep
from mission_control.core.api import AGENT_KINDS, API_PREFIX, BOARD_AGENT_KINDS
from mission_control.core.pagination import Page, PageDep
from mission_control.runs import service
from mission_control.runs.router import RUN, RUNS, AfterSeq, IdempotencyKey, LogLimit, start
from mission_control.runs.schemas import RunCreate, RunLogRead, RunRead
from mission_control.tasks.actors import agent_caller

router = APIRouter(prefix=f"{API_PREFIX}/agent")
EVERY_KIND: list[str | Enum] = [*AGENT_KINDS]
BOARD_AGENTS: list[str | Enum] = [*BOARD_AGENT_KINDS]


@router.post(RUNS, response_model=RunRead, status_code=status.HTTP_202_ACCEPTED, tags=BOARD_AGENTS)
async def agent_start_run(
    board_id: uuid.UUID,
    task_id: uuid.UUID,
    data: RunCreate,
    agent: AgentDep,
    session: SessionDep,
    runtime: RuntimeDep,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> RunRead:
    """Run a task in an isolated child session: the assigned worker for its own task, or the
    board lead for any task of the board."""
    caller = agent_caller(agent)
    return await start(runtime, session, caller, board_id, task_id, data, idempotency_key, response)


@router.get(RUNS, response_model=Page[RunRead], tags=EVERY_KIND)
async def agent_list_runs(
    board_id: uuid.UUID, task_id: uuid.UUID, agent: AgentDep, session: SessionDep, page: PageDep
) -> Page[RunRead]:
    items, total = await service.list_runs(
        session, agent_caller(agent), board_id, task_id, limit=page.limit, offset=page.offset
    )
    return Page(items=items, total=total, limit=page.limit, offset=page.offset)


@router.get(RUN, response_model=RunRead, tags=EVERY_KIND)
async def agent_get_run(
    board_id: uuid.UUID, task_id: uuid.UUID, run_id: uuid.UUID, agent: AgentDep, session: SessionDep
) -> RunRead:
    return await service.get_run(session, agent_caller(agent), board_id, task_id, run_id)


@router.get(RUN + "/log", response_model=list[RunLogRead], tags=EVERY_KIND)
async def agent_run_log(
    board_id: uuid.UUID,
    task_id: uuid.UUID,
    run_id: uuid.UUID,
    agent: AgentDep,
    session: SessionDep,
    after_seq: AfterSeq = 0,
    limit: LogLimit = 500,
) -> list[RunLogRead]:
    caller = agent_caller(agent)
    return await service.run_log(
        session, caller, board_id, task_id, run_id, after_seq=after_seq, limit=limit
    )


@router.post(
    RUN + "/cancel", response_model=RunRead, status_code=status.HTTP_202_ACCEPTED, tags=BOARD_AGENTS
)
async def agent_cancel_run(
    board_id: uuid.UUID, task_id: uuid.UUID, run_id: uuid.UUID, agent: AgentDep, session: SessionDep
) -> RunRead:
    run = await service.request_cancel(session, agent_caller(agent), board_id, task_id, run_id)
    return RunRead.model_validate(run)
