"""Agent stream events: every committed change to an agent row (any flow: API, provisioning,
reconciler, check-in) becomes one ``agent.created|updated|deleted`` event on the event bus.

Hooked into the ORM (``register_stream_hooks``, called once by the app factory's
``build_runtime``) so no flow can forget to announce a change. Changes are noted at each
flush and emitted once, at commit, with the row as the API shows it (the data is
``{"agent": AgentRead}``, docs/agents.md#live-updates). Bulk UPDATE statements bypass the ORM
and are not announced (the throttled ``last_seen_at`` touch on each agent request is one of
them, on purpose).
"""

from __future__ import annotations

import uuid
from typing import Any, Literal

from sqlalchemy import event, select
from sqlalchemy.orm import Session, SessionTransaction

from mission_control.agents.models import Agent
from mission_control.agents.schemas import agent_read
from mission_control.core import events
from mission_control.core.clock import utcnow
from mission_control.gateways.models import Gateway

Change = Literal["created", "updated", "deleted"]
_NOTED_KEY = "mc_changed_agents"
KIND_PREFIX = "agent."


class _Noted:
    __slots__ = ("board_id", "change", "gateway_id", "snapshot")

    def __init__(self, change: Change, agent: Agent, snapshot: dict[str, Any] | None) -> None:
        self.change: Change = change
        self.board_id = agent.board_id
        self.gateway_id = agent.gateway_id
        self.snapshot = snapshot


def _snapshot(agent: Agent) -> dict[str, Any]:
    return agent_read(agent, utcnow()).model_dump(mode="json")


def _note_agent_changes(session: Session, _context: object) -> None:
    noted: dict[uuid.UUID, _Noted] | None = None
    for obj in session.new:
        if isinstance(obj, Agent):
            noted = noted if noted is not None else session.info.setdefault(_NOTED_KEY, {})
            noted[obj.id] = _Noted("created", obj, None)
    for obj in session.dirty:
        if isinstance(obj, Agent) and session.is_modified(obj, include_collections=False):
            noted = noted if noted is not None else session.info.setdefault(_NOTED_KEY, {})
            if obj.id not in noted:
                noted[obj.id] = _Noted("updated", obj, None)
            else:
                noted[obj.id].board_id = obj.board_id
    for obj in session.deleted:
        if isinstance(obj, Agent):
            noted = noted if noted is not None else session.info.setdefault(_NOTED_KEY, {})
            gone = _snapshot(obj)
            gone["status"] = "deleted"
            noted[obj.id] = _Noted("deleted", obj, gone)


def _has_agent_changes(session: Session) -> bool:
    if session.info.get(_NOTED_KEY):
        return True
    pending = (*session.new, *session.deleted, *session.dirty)
    return any(isinstance(obj, Agent) for obj in pending)


def _emit_agent_changes(session: Session) -> None:
    if not _has_agent_changes(session):
        return
    session.flush()
    noted: dict[uuid.UUID, _Noted] = session.info.pop(_NOTED_KEY, {})
    if not noted:
        return
    gateway_ids = {item.gateway_id for item in noted.values()}
    rows = session.execute(
        select(Gateway.id, Gateway.organization_id).where(Gateway.id.in_(gateway_ids))
    )
    organizations: dict[uuid.UUID, uuid.UUID] = {row[0]: row[1] for row in rows}
    now = utcnow()
    for agent_id, item in noted.items():
        organization_id = organizations.get(item.gateway_id)
        if organization_id is None:
            continue
        data = item.snapshot
        if data is None:
            agent = session.get(Agent, agent_id)
            if agent is None:
                continue
            data = agent_read(agent, now).model_dump(mode="json")
        events.emit(
            session,
            f"{KIND_PREFIX}{item.change}",
            organization_id=organization_id,
            board_id=item.board_id,
            agent_id=agent_id,
            data={"agent": data, "change": item.change},
        )


def _forget_agent_changes(session: Session, previous_transaction: SessionTransaction) -> None:
    if not previous_transaction.nested:
        session.info.pop(_NOTED_KEY, None)


def register_stream_hooks() -> None:
    """Announce agent changes from every ORM session in this process; a second call does
    nothing."""
    if event.contains(Session, "after_flush", _note_agent_changes):
        return
    event.listen(Session, "after_flush", _note_agent_changes)
    # Inserted first so the events exist before core.events writes the pending ones at commit.
    event.listen(Session, "before_commit", _emit_agent_changes, insert=True)
    event.listen(Session, "after_soft_rollback", _forget_agent_changes)
