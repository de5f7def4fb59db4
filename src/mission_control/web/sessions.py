"""Console sessions: a pasted token exchanged for a session cookie, resolved on each request,
revoked on sign-out; and the CSRF token bound to each session.

Why server-side rows and not a self-contained signed cookie: sign-out must end the session at
once (a signed cookie stays valid until it expires unless a revocation list is kept, which is
a table anyway), revoking the personal API token used to sign in must end its sessions too,
and the installation needs no extra signing key. The cookie carries 32 random bytes; the table
keeps only their SHA-256 digest (a high-entropy secret needs no slow hash).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from mission_control.core.clock import utcnow
from mission_control.core.errors import Forbidden, Unauthorized
from mission_control.core.runtime import Runtime
from mission_control.core.security import AGENT_TOKEN_PREFIX, USER_TOKEN_PREFIX, token_id_of
from mission_control.organizations import repository as organizations
from mission_control.organizations.service import UserContext, ensure_local_owner, user_context
from mission_control.users.models import User, UserToken
from mission_control.web.models import ConsoleSession

SESSION_COOKIE = "mc_session"
# The organisation the console acts in (teams: the organisation switch); not a credential.
ORGANIZATION_COOKIE = "mc_org"
PRESESSION_COOKIE = "mc_csrf"
SESSION_LIFETIME = timedelta(hours=12)
_SECRET_BYTES = 32


@dataclass(frozen=True, slots=True)
class Viewer:
    """The signed-in person on this request: their organisation context and session."""

    context: UserContext
    session_id: uuid.UUID
    csrf_token: str

    @property
    def name(self) -> str:
        user = self.context.user
        return user.preferred_name or user.name or user.email or "Operator"


def _digest(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def csrf_token_for(cookie_secret: str) -> str:
    """The session's CSRF token: derived from the cookie secret, so nothing more is stored and
    a page from another origin (which cannot read the HttpOnly cookie) cannot compute it."""
    return hmac.new(cookie_secret.encode("utf-8"), b"mc-console-csrf", hashlib.sha256).hexdigest()


def new_presession_secret() -> str:
    return secrets.token_urlsafe(_SECRET_BYTES)


def tokens_match(given: str | None, expected: str) -> bool:
    return bool(given) and hmac.compare_digest(str(given).encode(), expected.encode())


async def _user_for_token(
    session: AsyncSession, runtime: Runtime, raw: str
) -> tuple[User, UserToken | None]:
    """The same checks as the API's bearer authentication (auth.py)."""
    if token_id_of(raw, AGENT_TOKEN_PREFIX) is not None:
        raise Forbidden("Agent tokens cannot sign in to the console; paste an operator token.")
    token_id = token_id_of(raw, USER_TOKEN_PREFIX)
    if token_id is not None:
        stored = await organizations.user_token(session, token_id)
        if (
            stored is None
            or stored.revoked_at is not None
            or not await runtime.token_cache.verify(raw, stored.token_hash)
        ):
            raise Unauthorized("The API token is not valid (revoked or mistyped).")
        user = await session.get(User, stored.user_id)
        if user is None:
            raise Unauthorized("The API token's user no longer exists.")
        stored.last_used_at = utcnow()
        return user, stored
    if hmac.compare_digest(raw.encode("utf-8"), runtime.operator_token.encode("utf-8")):
        return await ensure_local_owner(session), None
    raise Unauthorized("The operator token is not valid.")


async def sign_in(session: AsyncSession, runtime: Runtime, raw_token: str) -> str:
    """Checks the pasted token and opens a console session; returns the cookie secret."""
    raw = raw_token.strip()
    if not raw:
        raise Unauthorized("Paste the operator token or a personal API token.")
    user, token = await _user_for_token(session, runtime, raw)
    return await open_session(session, user, token)


async def open_session(session: AsyncSession, user: User, token: UserToken | None = None) -> str:
    """A console session for an authenticated user (pasted token or single sign-on)."""
    await user_context(session, user, None)  # refuses a user of no organisation
    secret = secrets.token_urlsafe(_SECRET_BYTES)
    now = utcnow()
    session.add(
        ConsoleSession(
            secret_hash=_digest(secret),
            user_id=user.id,
            user_token_id=token.id if token is not None else None,
            created_at=now,
            expires_at=now + SESSION_LIFETIME,
        )
    )
    await session.flush()
    return secret


async def resolve(
    session: AsyncSession, cookie_secret: str | None, organization_id: uuid.UUID | None = None
) -> Viewer | None:
    """The viewer of a session cookie, or None when it is missing, expired or revoked.
    ``organization_id`` (the console's organisation switch) is used while the user is a
    member of it; otherwise the oldest membership, as in the API."""
    if not cookie_secret:
        return None
    row = (
        await session.execute(
            select(ConsoleSession).where(ConsoleSession.secret_hash == _digest(cookie_secret))
        )
    ).scalar_one_or_none()
    if row is None or row.revoked_at is not None or row.expires_at <= utcnow():
        return None
    if row.user_token_id is not None:
        token = await session.get(UserToken, row.user_token_id)
        if token is None or token.revoked_at is not None:
            return None
    user = await session.get(User, row.user_id)
    if user is None:
        return None
    try:
        context = await user_context(session, user, organization_id)
    except Forbidden:
        try:
            context = await user_context(session, user, None)
        except Forbidden:
            return None
    return Viewer(context=context, session_id=row.id, csrf_token=csrf_token_for(cookie_secret))


async def sign_out(session: AsyncSession, cookie_secret: str | None) -> None:
    """Revokes the session of this cookie (nothing to do without one)."""
    if not cookie_secret:
        return
    row = (
        await session.execute(
            select(ConsoleSession).where(ConsoleSession.secret_hash == _digest(cookie_secret))
        )
    ).scalar_one_or_none()
    if row is not None and row.revoked_at is None:
        row.revoked_at = utcnow()
