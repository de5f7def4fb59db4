"""Request authentication: the operator bearer token, user API tokens, OIDC JWTs and agent
tokens (FastAPI dependencies). It sits above the domains it reads, so `core` stays domain-free."""

from __future__ import annotations

import hmac
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from mission_control.agents import repository as agents
from mission_control.agents.models import Agent
from mission_control.core.clock import utcnow
from mission_control.core.errors import Forbidden, InvalidInput, Unauthorized
from mission_control.core.runtime import Runtime
from mission_control.core.security import AGENT_TOKEN_PREFIX, USER_TOKEN_PREFIX, token_id_of
from mission_control.oidc.service import user_for_claims
from mission_control.organizations import repository as organizations
from mission_control.organizations.service import (
    UserContext,
    ensure_local_owner,
    ensure_personal_organization,
    user_context,
)
from mission_control.users.models import User

AGENT_TOKEN_HEADER = "x-agent-token"
ORGANIZATION_HEADER = "x-organization-id"


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


async def db_session(runtime: RuntimeDep) -> AsyncIterator[AsyncSession]:
    """One transaction per request: committed when the endpoint succeeds, else rolled back."""
    async with runtime.database.unit_of_work() as session:
        yield session


SessionDep = Annotated[AsyncSession, Depends(db_session, scope="function")]


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


def _organization_id(request: Request) -> uuid.UUID | None:
    raw = request.headers.get(ORGANIZATION_HEADER)
    if raw is None:
        return None
    try:
        return uuid.UUID(raw)
    except ValueError as error:
        raise InvalidInput(
            f"The {ORGANIZATION_HEADER} header must be an organisation id (UUID).",
            details=[{"field": ORGANIZATION_HEADER, "location": "header", "message": "not a UUID"}],
        ) from error


async def current_account(request: Request, session: SessionDep, runtime: RuntimeDep) -> User:
    """The signed-in user, whatever organisations they belong to (none is fine here)."""
    token = _bearer(request)
    if token is None:
        raise Unauthorized("Send the operator token as 'Authorization: Bearer <token>'.")
    if token_id_of(token, AGENT_TOKEN_PREFIX) is not None:
        raise Forbidden("This endpoint is for operators; agents use the /api/v1/agent/ endpoints.")
    user_token_id = token_id_of(token, USER_TOKEN_PREFIX)
    if user_token_id is not None:
        user = await _user_for_token(session, runtime, user_token_id, token)
    elif runtime.oidc is not None and _looks_like_jwt(token):
        user = await user_for_claims(session, await runtime.oidc.verify(token))
        request.state.oidc_user = True
    elif runtime.settings.local_enabled and hmac.compare_digest(
        token.encode("utf-8"), runtime.operator_token.encode("utf-8")
    ):
        user = await ensure_local_owner(session)
    else:
        raise Unauthorized(
            "The operator token is not valid."
            if runtime.settings.local_enabled
            else "Send a JWT from the identity provider or a personal API token."
        )
    return user


def _looks_like_jwt(token: str) -> bool:
    return token.count(".") == 2 and token.startswith("eyJ")


AccountDep = Annotated[User, Depends(current_account)]


def requested_organization_id(request: Request) -> uuid.UUID | None:
    """The organisation asked for in X-Organization-Id, or None for the default one."""
    return _organization_id(request)


async def current_user(request: Request, session: SessionDep, runtime: RuntimeDep) -> UserContext:
    """The signed-in user acting in one organisation: the one X-Organization-Id names, else
    their oldest membership."""
    user = await current_account(request, session, runtime)
    organization_id = _organization_id(request)
    if organization_id is None and getattr(request.state, "oidc_user", False):
        # First access through the identity provider creates a personal organisation.
        await ensure_personal_organization(session, user)
    return await user_context(session, user, organization_id)


async def _user_for_token(session: AsyncSession, runtime: Runtime, token_id: str, raw: str) -> User:
    stored = await organizations.user_token(session, token_id)
    if (
        stored is None
        or stored.revoked_at is not None
        or not await runtime.token_cache.verify(raw, stored.token_hash)
    ):
        raise Unauthorized("The API token is not valid (revoked or mistyped).")
    now = utcnow()
    if stored.last_used_at is None or now - stored.last_used_at > timedelta(minutes=1):
        stored.last_used_at = now
    user = await session.get(User, stored.user_id)
    if user is None:
        raise Unauthorized("The API token's user no longer exists.")
    return user


UserDep = Annotated[UserContext, Depends(current_user)]


def _agent_token(request: Request) -> str | None:
    header = request.headers.get(AGENT_TOKEN_HEADER)
    if header and header.strip():
        return header.strip()
    return _bearer(request)


async def current_agent(request: Request, session: SessionDep, runtime: RuntimeDep) -> Agent:
    token = _agent_token(request)
    if token is None:
        raise Unauthorized(
            "Send the agent token in 'X-Agent-Token: <token>' or 'Authorization: Bearer <token>'."
        )
    token_id = token_id_of(token)
    agent = await agents.by_token_id(session, token_id) if token_id else None
    if (
        agent is None
        or agent.agent_token_hash is None
        or not await runtime.token_cache.verify(token, agent.agent_token_hash)
    ):
        raise Unauthorized(
            "The agent token is not valid (it may have been rotated); use the token in your "
            "workspace files."
        )
    await _note_seen(session, agent, runtime.settings.agent_last_seen_interval_seconds)
    return agent


async def _note_seen(session: AsyncSession, agent: Agent, interval_seconds: float) -> None:
    now = utcnow()
    if agent.last_seen_at is not None and now - agent.last_seen_at < timedelta(
        seconds=interval_seconds
    ):
        return
    await agents.touch_last_seen(
        session, agent.id, now, older_than=now - timedelta(seconds=interval_seconds)
    )
    # Already written by the UPDATE above; keep the ORM from writing it again.
    set_committed_value(agent, "last_seen_at", now)


AgentDep = Annotated[Agent, Depends(current_agent)]


async def current_caller(
    request: Request, session: SessionDep, runtime: RuntimeDep
) -> UserContext | Agent:
    """For routes both operators and agents call. User credentials, when present, decide
    (docs/agents.md#who-is-the-caller): a bearer token that is not in the agent format makes the
    caller a user, even beside an X-Agent-Token. Otherwise an agent token (X-Agent-Token, or a
    bearer token in the agent format) makes the caller that agent; no credentials at all is a
    401."""
    header = request.headers.get(AGENT_TOKEN_HEADER)
    bearer = _bearer(request)
    agent_bearer = bearer is not None and token_id_of(bearer, AGENT_TOKEN_PREFIX) is not None
    user_bearer = bearer is not None and not agent_bearer
    if not user_bearer and ((header and header.strip()) or agent_bearer):
        return await current_agent(request, session, runtime)
    return await current_user(request, session, runtime)


CallerDep = Annotated[UserContext | Agent, Depends(current_caller)]
