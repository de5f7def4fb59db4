"""Response model of the activity log."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict


class ActivityRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    event_type: str
    message: str
    actor_type: str
    actor_user_id: uuid.UUID | None
    actor_agent_id: uuid.UUID | None
    organization_id: uuid.UUID | None
    board_id: uuid.UUID | None
    agent_id: uuid.UUID | None
    task_id: uuid.UUID | None
    details: dict[str, Any] | None
    created_at: datetime
