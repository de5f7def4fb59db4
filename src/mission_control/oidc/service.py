"""Users from verified OIDC claims: found by issuer and subject, created on first sign-in,
their email and name kept in step with the identity provider."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from mission_control.core.logging import get_logger
from mission_control.organizations import repository
from mission_control.users.models import User

log = get_logger("mission_control.oidc")


def subject_of(claims: dict[str, Any]) -> str:
    """The stable identity: issuer and subject (an email can change hands, these cannot)."""
    return f"oidc:{str(claims['iss']).rstrip('/')}|{claims['sub']}"[:255]


def _email(claims: dict[str, Any]) -> str | None:
    email = claims.get("email")
    # An address the provider says it has not verified is not trusted for invites.
    if not isinstance(email, str) or "@" not in email or claims.get("email_verified") is False:
        return None
    return email.strip().lower()[:320]


def _name(claims: dict[str, Any]) -> str | None:
    for key in ("name", "preferred_username", "given_name"):
        value = claims.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()[:200]
    return None


async def _email_free(session: AsyncSession, email: str | None, user: User | None) -> bool:
    if email is None:
        return False
    holder = await session.scalar(select(User).where(User.email == email))
    return holder is None or holder is user


async def user_for_claims(session: AsyncSession, claims: dict[str, Any]) -> User:
    subject = subject_of(claims)
    email, name = _email(claims), _name(claims)
    user = await repository.user_by_subject(session, subject)
    if user is not None:
        if email != user.email and await _email_free(session, email, user):
            user.email = email
        if name and name != user.name:
            user.name = name
        return user
    if email is not None and not await _email_free(session, email, None):
        log.warning("oidc_email_taken", subject=subject)
        email = None
    try:
        async with session.begin_nested():
            user = User(auth_subject=subject, email=email, name=name)
            session.add(user)
            await session.flush()
    except IntegrityError:
        # A concurrent first sign-in created the user; use that one.
        user = await repository.user_by_subject(session, subject)
        if user is None:
            raise
    log.info("oidc_user_created", user_id=str(user.id))
    return user
