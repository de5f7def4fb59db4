"""Imports every domain's tables so the metadata (and Alembic) sees the whole schema."""

from mission_control.activity.models import ActivityEvent
from mission_control.agents.models import Agent
from mission_control.approvals.models import Approval, ApprovalTaskLink
from mission_control.boards.models import Board, BoardGroup
from mission_control.core.db import Base
from mission_control.core.events import StreamEvent
from mission_control.gateways.models import Gateway
from mission_control.memory.models import BoardGroupMemory, BoardMemory
from mission_control.notifications.models import Notification
from mission_control.onboarding.models import BoardOnboardingSession
from mission_control.organizations.models import (
    BoardAccessGrant,
    Organization,
    OrganizationInvite,
    OrganizationMember,
)
from mission_control.provisioning.models import TemplateSync
from mission_control.runs.models import BoardRunPolicy, TaskRun, TaskRunLogEntry
from mission_control.tasks.models import (
    BoardCustomField,
    CustomFieldDefinition,
    Tag,
    Task,
    TaskComment,
    TaskCustomFieldValue,
    TaskDependency,
    TaskTag,
)
from mission_control.users.models import User, UserToken
from mission_control.web.models import ConsoleSession
from mission_control.webhooks.models import BoardWebhook, BoardWebhookPayload

__all__ = [
    "ActivityEvent",
    "Agent",
    "Approval",
    "ApprovalTaskLink",
    "Base",
    "Board",
    "BoardAccessGrant",
    "BoardCustomField",
    "BoardGroup",
    "BoardGroupMemory",
    "BoardMemory",
    "BoardOnboardingSession",
    "BoardRunPolicy",
    "BoardWebhook",
    "BoardWebhookPayload",
    "ConsoleSession",
    "CustomFieldDefinition",
    "Gateway",
    "Notification",
    "Organization",
    "OrganizationInvite",
    "OrganizationMember",
    "StreamEvent",
    "Tag",
    "Task",
    "TaskComment",
    "TaskCustomFieldValue",
    "TaskDependency",
    "TaskRun",
    "TaskRunLogEntry",
    "TaskTag",
    "TemplateSync",
    "User",
    "UserToken",
]
