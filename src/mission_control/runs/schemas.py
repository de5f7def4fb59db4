"""Request and response bodies of the runs API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

RunMode = Literal["run", "session"]
RunStatus = Literal["queued", "running", "succeeded", "failed", "timed_out", "cancelled", "lost"]
Sandbox = Literal["inherit", "require"]
MAX_TIMEOUT_SECONDS = 24 * 3600


class RunCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    mode: RunMode = "run"
    runtime: str | None = Field(
        default=None,
        max_length=200,
        description="An ACP harness agent id; omitted means the agent's own runtime.",
    )
    sandbox: Sandbox = "inherit"
    label: str | None = Field(default=None, max_length=200)
    cwd: str | None = Field(default=None, max_length=1000)
    timeout_seconds: int | None = Field(default=None, gt=0, le=MAX_TIMEOUT_SECONDS)
    idempotency_key: str | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        description="The same key for the same task returns the run it started (also the "
        "Idempotency-Key header).",
    )

    @field_validator("runtime", "label", "cwd")
    @classmethod
    def _blank_is_none(cls, value: str | None) -> str | None:
        if value is None:
            return None
        return value.strip() or None

    @field_validator("cwd")
    @classmethod
    def _absolute(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith("/"):
            raise ValueError("cwd must be an absolute path on the gateway host")
        return value


class RunRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    board_id: uuid.UUID
    task_id: uuid.UUID
    agent_id: uuid.UUID | None
    mode: RunMode
    runtime: str | None
    sandbox: Sandbox
    label: str | None
    cwd: str | None
    timeout_seconds: int
    status: RunStatus
    request_key: str | None
    child_session_key: str | None
    gateway_run_id: str | None
    final_reply: str | None
    error_code: str | None
    error: str | None
    input_tokens: int | None
    output_tokens: int | None
    total_tokens: int | None
    cost_usd: float | None
    log_count: int
    requested_by_user_id: uuid.UUID | None
    requested_by_agent_id: uuid.UUID | None
    created_at: datetime
    started_at: datetime | None
    ended_at: datetime | None
    cancel_requested_at: datetime | None


class RunLogRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    seq: int
    kind: str
    text: str
    data: dict[str, object] | None
    created_at: datetime


class RunUsage(BaseModel):
    """Usage of every run of a task, summed (runs without figures count as zero)."""

    runs: int
    input_tokens: int
    output_tokens: int
    total_tokens: int
    cost_usd: float


class RunPolicyRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    enabled: bool = True
    allowed_runtimes: list[str] = Field(default_factory=list)
    sandbox_available: bool = False
    keep_sessions: bool = False
    delete_finished_sessions: bool = True
    paused_agent_ids: list[uuid.UUID] = Field(default_factory=list)
    max_runs_per_agent: int = 1
    max_runs_per_board: int = 4
    default_timeout_seconds: int = 600


class RunPolicyUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    enabled: bool | None = None
    allowed_runtimes: list[str] | None = Field(default=None, max_length=50)
    sandbox_available: bool | None = Field(
        default=None,
        description="The board's agents run sandboxed, so `sandbox: require` can be met.",
    )
    keep_sessions: bool | None = Field(
        default=None, description="Runs in `session` mode may keep their child session open."
    )
    delete_finished_sessions: bool | None = None
    paused_agent_ids: list[uuid.UUID] | None = Field(default=None, max_length=500)
    max_runs_per_agent: int | None = Field(default=None, gt=0, le=100)
    max_runs_per_board: int | None = Field(default=None, gt=0, le=1000)
    default_timeout_seconds: int | None = Field(default=None, gt=0, le=MAX_TIMEOUT_SECONDS)
