"""HTTP endpoints for people: start, list, read, follow and cancel a task's runs; the board's
run policy. The agent API (agent_router) shares the handlers below."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Header, Query, Response, status
from sqlalchemy.ext.asyncio import AsyncSession

from mission_control.auth import RuntimeDep, SessionDep, UserDep
from mission_control.core.api import API_PREFIX
from mission_control.core.pagination import Page, PageDep
from mission_control.core.runtime import Runtime
from mission_control.runs import executor, service
from mission_control.runs.schemas import (
    RunCreate,
    RunLogRead,
    RunPolicyRead,
    RunPolicyUpdate,
    RunRead,
    RunUsage,
)
from mission_control.tasks.actors import Caller, user_caller

router = APIRouter(prefix=API_PREFIX, tags=["runs"])
RUNS = "/boards/{board_id}/tasks/{task_id}/runs"
RUN = RUNS + "/{run_id}"
IdempotencyKey = Annotated[
    str | None, Header(alias="Idempotency-Key", min_length=1, max_length=200)
]
AfterSeq = Annotated[int, Query(ge=0, description="Entries after this sequence number.")]
LogLimit = Annotated[int, Query(ge=1, le=500)]


async def start(
    runtime: Runtime,
    session: AsyncSession,
    caller: Caller,
    board_id: uuid.UUID,
    task_id: uuid.UUID,
    data: RunCreate,
    key: str | None,
    response: Response,
) -> RunRead:
    """202 with the queued run; 200 with the run an earlier request with the key started."""
    started = await executor.start_run(
        runtime, session, caller, board_id, task_id, data, request_key=key
    )
    if started.created:
        response.status_code = status.HTTP_202_ACCEPTED
    else:
        response.status_code = status.HTTP_200_OK
    return RunRead.model_validate(started.run)


@router.post(RUNS, response_model=RunRead, status_code=status.HTTP_202_ACCEPTED)
async def start_run(
    board_id: uuid.UUID,
    task_id: uuid.UUID,
    data: RunCreate,
    context: UserDep,
    session: SessionDep,
    runtime: RuntimeDep,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> RunRead:
    """Run the task in an isolated child session of its assigned agent (board write access).
    The checks run in order and each refusal has its own code (docs/runs.md)."""
    caller = user_caller(context)
    return await start(runtime, session, caller, board_id, task_id, data, idempotency_key, response)


@router.get(RUNS, response_model=Page[RunRead])
async def list_runs(
    board_id: uuid.UUID, task_id: uuid.UUID, context: UserDep, session: SessionDep, page: PageDep
) -> Page[RunRead]:
    items, total = await service.list_runs(
        session, user_caller(context), board_id, task_id, limit=page.limit, offset=page.offset
    )
    return Page(items=items, total=total, limit=page.limit, offset=page.offset)


@router.get(RUNS + "/usage", response_model=RunUsage)
async def task_usage(
    board_id: uuid.UUID, task_id: uuid.UUID, context: UserDep, session: SessionDep
) -> RunUsage:
    """Tokens and cost estimate of every run of the task, summed."""
    return await service.task_usage(session, user_caller(context), board_id, task_id)


@router.get(RUN, response_model=RunRead)
async def get_run(
    board_id: uuid.UUID,
    task_id: uuid.UUID,
    run_id: uuid.UUID,
    context: UserDep,
    session: SessionDep,
) -> RunRead:
    return await service.get_run(session, user_caller(context), board_id, task_id, run_id)


@router.get(RUN + "/log", response_model=list[RunLogRead])
async def run_log(
    board_id: uuid.UUID,
    task_id: uuid.UUID,
    run_id: uuid.UUID,
    context: UserDep,
    session: SessionDep,
    after_seq: AfterSeq = 0,
    limit: LogLimit = 500,
) -> list[RunLogRead]:
    """The run's progress (assistant text, tool calls, lifecycle) in order; live entries are
    also streamed (topic `runs`, kind `run.log`)."""
    caller = user_caller(context)
    return await service.run_log(
        session, caller, board_id, task_id, run_id, after_seq=after_seq, limit=limit
    )


@router.post(RUN + "/cancel", response_model=RunRead, status_code=status.HTTP_202_ACCEPTED)
async def cancel_run(
    board_id: uuid.UUID,
    task_id: uuid.UUID,
    run_id: uuid.UUID,
    context: UserDep,
    session: SessionDep,
) -> RunRead:
    """Stops the run on the gateway; it ends `cancelled` (409 when it already ended)."""
    run = await service.request_cancel(session, user_caller(context), board_id, task_id, run_id)
    return RunRead.model_validate(run)


@router.get("/boards/{board_id}/run-policy", response_model=RunPolicyRead)
async def get_policy(board_id: uuid.UUID, context: UserDep, session: SessionDep) -> RunPolicyRead:
    return await service.get_policy(session, user_caller(context), board_id)


@router.patch("/boards/{board_id}/run-policy", response_model=RunPolicyRead)
async def update_policy(
    board_id: uuid.UUID, data: RunPolicyUpdate, context: UserDep, session: SessionDep
) -> RunPolicyRead:
    """Enable or disable runs, allowed ACP runtimes, sandbox, kept sessions, paused agents,
    limits per agent and per board, the default timeout."""
    return await service.update_policy(session, user_caller(context), board_id, data)
