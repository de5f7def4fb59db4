"""Watching wakes: a wake's run outcome comes from the gateway (``agent.wait``: ``status`` ok or
error with the error text). A turn that ends in error (no model configured, the run cut short by
a config reload, a provider failure) is recorded on the agent in words and as activity, and the
agent is woken again at once with backoff (``RETRY_DELAYS``; these retries do not use up the
check-in wake attempts, which count turns that ended without a check-in); a turn that ends well
clears a wake error shown before. Never a fixed wait: the gateway says when the run ended."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from mission_control.activity import service as activity
from mission_control.agents.models import Agent
from mission_control.core.clock import utcnow
from mission_control.core.logging import get_logger
from mission_control.core.runtime import Runtime
from mission_control.gateway.client import GatewayClient
from mission_control.gateway.errors import GatewayError
from mission_control.gateways.models import Gateway
from mission_control.provisioning import executor
from mission_control.provisioning.context import agent_ref
from mission_control.provisioning.identities import MAIN_SESSION_LABEL, agent_session_key

log = get_logger("mission_control.provisioning")

WAKE_ERROR_PREFIX = "Wake turn ended in error"
RETRY_DELAYS = (1.0, 2.0, 4.0, 8.0, 15.0, 30.0)
# How long one run is waited for (the gateway's run timeout is usually shorter).
RUN_WAIT_SECONDS = 600.0


# A wake that could not be sent (the gateway went away) is sent again this soon, by the
# reconciler's overdue path, instead of at the full check-in deadline.
UNSENT_WAKE_RETRY_SECONDS = 10.0


async def record_wake_error(
    runtime: Runtime, agent_id: uuid.UUID, message: str, *, unsent: bool = False
) -> None:
    """The error on the agent (``last_provision_error``) and an ``agent.wakeup.failed`` event;
    ``unsent``: the wake never reached the gateway, so it is retried within seconds."""
    async with runtime.database.unit_of_work() as session:
        agent = await session.get(Agent, agent_id)
        if agent is None:
            return
        if unsent and agent.checkin_deadline_at is not None:
            agent.checkin_deadline_at = utcnow() + timedelta(seconds=UNSENT_WAKE_RETRY_SECONDS)
        await _note_failure(session, agent, message)


async def _note_failure(
    session: AsyncSession, agent: Agent, message: str, details: dict[str, object] | None = None
) -> None:
    """The wake failure on the agent in words, and as an ``agent.wakeup.failed`` event."""
    gateway = await session.get(Gateway, agent.gateway_id)
    agent.last_provision_error = message
    activity.record(
        session,
        "agent.wakeup.failed",
        message,
        organization_id=gateway.organization_id if gateway else None,
        board_id=agent.board_id,
        agent_id=agent.id,
        details=details,
    )


class WakeWatcher:
    """Background tasks, one per wake in flight, owned by the reconciler."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self._tasks: set[asyncio.Task[None]] = set()

    def watch(self, agent_id: uuid.UUID, client: GatewayClient, run_id: str) -> None:
        task = asyncio.create_task(self._follow(agent_id, client, run_id), name=f"wake-{run_id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def __len__(self) -> int:
        return len(self._tasks)

    async def close(self) -> None:
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _follow(self, agent_id: uuid.UUID, client: GatewayClient, run_id: str) -> None:
        retries = 0
        while True:
            try:
                result = await client.agent_wait(run_id, timeout=RUN_WAIT_SECONDS)
            except GatewayError as error:
                log.info("wake_wait_failed", agent_id=str(agent_id), error=str(error))
                return  # the check-in deadline still covers this wake
            except Exception:
                log.exception("wake_wait_crashed", agent_id=str(agent_id))
                return
            if result.status != "error":
                if result.status in {"ok", "completed", "done", "success"}:
                    await self._clear_wake_error(agent_id)
                return
            reason = result.summary or (result.error.message if result.error else "unknown error")
            delay = RETRY_DELAYS[retries] if retries < len(RETRY_DELAYS) else None
            if not await self._record_and_decide(agent_id, reason, delay):
                return
            assert delay is not None
            await asyncio.sleep(delay)
            retries += 1
            try:
                next_run = await self._rewake(agent_id, client, retries)
            except GatewayError as error:
                await record_wake_error(
                    self.runtime, agent_id, f"Waking the agent again failed: {error}"
                )
                return
            if next_run is None:
                return
            run_id = next_run

    async def _record_and_decide(
        self, agent_id: uuid.UUID, reason: str, delay: float | None
    ) -> bool:
        """Records the failed turn; True when the agent is to be woken again after ``delay``
        (None: the retries are used up)."""
        async with self.runtime.database.unit_of_work() as session:
            agent = await session.get(Agent, agent_id)
            if agent is None:
                return False
            attempts = agent.wake_attempts
            seen, sent = agent.last_seen_at, agent.last_wake_sent_at
            if seen is not None and sent is not None and seen >= sent:
                return False  # it checked in after all
            more = delay is not None and agent.delete_requested_at is None
            then = (
                f"it is woken again in {delay:g} s."
                if more
                else "the retries are used up; fix the cause (the gateway must be able to run "
                "a model for this agent), then update the agent to wake it again."
            )
            message = f"{WAKE_ERROR_PREFIX} for {agent.name}: {reason.strip()}; {then}"
            await _note_failure(
                session, agent, message, {"attempt": attempts, "reason": reason.strip()[:500]}
            )
            return more

    async def _rewake(self, agent_id: uuid.UUID, client: GatewayClient, retry: int) -> str | None:
        settings = self.runtime.settings
        async with self.runtime.database.unit_of_work() as session:
            agent = await session.get(Agent, agent_id)
            if agent is None or agent.delete_requested_at is not None:
                return None
            key = agent.openclaw_session_id or agent_session_key(agent_ref(agent))
            name, board_id, generation = agent.name, agent.board_id, agent.generation
        run_id = await executor.wake(
            client,
            session_key=key,
            label=name if board_id else MAIN_SESSION_LABEL,
            message=executor.retry_wake_message(name),
            idempotency_key=f"mc-wake-retry-{agent_id}-{generation}-{retry}",
        )
        now = utcnow()
        async with self.runtime.database.unit_of_work() as session:
            agent = await session.get(Agent, agent_id)
            if agent is not None:
                agent.last_wake_sent_at = now
                agent.checkin_deadline_at = now + timedelta(
                    seconds=settings.checkin_timeout_seconds
                )
                gateway = await session.get(Gateway, agent.gateway_id)
                activity.record(
                    session,
                    "agent.wakeup.retried",
                    f"{agent.name}'s wake turn ended in error; woken again (retry {retry}).",
                    organization_id=gateway.organization_id if gateway else None,
                    board_id=agent.board_id,
                    agent_id=agent.id,
                )
        return run_id

    async def _clear_wake_error(self, agent_id: uuid.UUID) -> None:
        async with self.runtime.database.unit_of_work() as session:
            agent = await session.get(Agent, agent_id)
            if agent is not None and (agent.last_provision_error or "").startswith(
                WAKE_ERROR_PREFIX
            ):
                agent.last_provision_error = None
