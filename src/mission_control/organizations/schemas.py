"""Organisation and member response models."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel

from mission_control.organizations.models import Role


class OrganizationRead(BaseModel):
    id: uuid.UUID
    name: str
    role: Role
    created_at: datetime


class MemberRead(BaseModel):
    id: uuid.UUID
    user_id: uuid.UUID
    email: str | None
    name: str | None
    role: Role
    all_boards_read: bool
    all_boards_write: bool
    created_at: datetime
