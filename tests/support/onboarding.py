"""Onboarding rows for tests: a board's session put straight into a given state."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import delete

from mission_control.core.clock import utcnow
from mission_control.core.db import Database
from mission_control.onboarding.models import BoardOnboardingSession
from mission_control.provisioning.identities import gateway_main_session_key

DRAFT: dict[str, Any] = {
    "board_type": "goal",
    "objective": "Launch the beta to 500 users",
    "success_metrics": {"beta_users": 500},
    "target_date": "2027-03-31T09:00:00+02:00",
    "fully_autonomous": True,
    "user_profile": {
        "preferred_name": "Ana",
        "pronouns": "she/her",
        "timezone": "Europe/Madrid",
        "notes": "Short daily summaries",
        "context": "Product manager",
    },
    "lead_agent": {"name": "Beta Lead", "role": "Release Coordinator", "emoji": ":rocket:"},
}

QUESTION_ID = "q1"


async def seed(
    database: Database,
    board_id: uuid.UUID,
    gateway_id: uuid.UUID,
    status: str | None = "active",
    *,
    draft: dict[str, Any] | None = None,
) -> uuid.UUID | None:
    """Replaces the board's onboarding sessions with one in ``status`` that holds a question
    (id ``q1``) and, for ``draft_ready``, ``draft`` (default ``DRAFT``); None leaves none."""
    question = {
        "id": QUESTION_ID,
        "role": "agent",
        "kind": "question",
        "content": "What should the board achieve?",
        "options": ["Launch", "Grow"],
        "at": utcnow().isoformat(),
    }
    async with database.unit_of_work() as session:
        await session.execute(
            delete(BoardOnboardingSession).where(BoardOnboardingSession.board_id == board_id)
        )
        if status is None:
            return None
        row = BoardOnboardingSession(
            board_id=board_id,
            session_key=gateway_main_session_key(gateway_id),
            status=status,
            messages=[question],
            draft=(draft or DRAFT) if status == "draft_ready" else None,
        )
        session.add(row)
        await session.flush()
        return row.id
