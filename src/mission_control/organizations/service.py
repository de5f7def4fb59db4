"""Organisation rules: the local owner on first access, the caller's organisation, members."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from mission_control.core.errors import Forbidden
from mission_control.organizations import repository
from mission_control.organizations.models import Organization, OrganizationMember, Role
from mission_control.users.models import User

LOCAL_OWNER_SUBJECT = "local:owner"


@dataclass(frozen=True, slots=True)
class UserContext:
    """An authenticated user acting within one organisation."""

    user: User
    organization: Organization
    member: OrganizationMember

    @property
    def is_admin(self) -> bool:
        return self.member.role in (Role.OWNER, Role.ADMIN)


async def ensure_local_owner(session: AsyncSession) -> User:
    """The local-mode operator: created with a personal organisation on first access."""
    user = await repository.user_by_subject(session, LOCAL_OWNER_SUBJECT)
    if user is not None:
        return user
    try:
        async with session.begin_nested():
            user = User(auth_subject=LOCAL_OWNER_SUBJECT, name="Local Operator")
            organization = Organization(name="Personal")
            session.add_all([user, organization])
            await session.flush()
            session.add(
                OrganizationMember(
                    organization_id=organization.id,
                    user_id=user.id,
                    role=Role.OWNER,
                    all_boards_read=True,
                    all_boards_write=True,
                )
            )
            await session.flush()
    except IntegrityError:
        # A concurrent first request created it; use theirs.
        user = await repository.user_by_subject(session, LOCAL_OWNER_SUBJECT)
        if user is None:
            raise
    return user


async def ensure_personal_organization(session: AsyncSession, user: User) -> None:
    """A user who belongs nowhere gets a personal organisation they own (first access)."""
    if await repository.memberships_of(session, user.id):
        return
    organization = Organization(name=f"{user.name or user.email or 'Personal'} (personal)"[:200])
    session.add(organization)
    await session.flush()
    session.add(
        OrganizationMember(
            organization_id=organization.id,
            user_id=user.id,
            role=Role.OWNER,
            all_boards_read=True,
            all_boards_write=True,
        )
    )
    await session.flush()


async def user_context(
    session: AsyncSession, user: User, organization_id: uuid.UUID | None
) -> UserContext:
    """The organisation the user acts in: the one asked for, else their oldest membership."""
    memberships = await repository.memberships_of(session, user.id)
    if organization_id is not None:
        memberships = [m for m in memberships if m.organization_id == organization_id]
    if not memberships:
        raise Forbidden(
            "You are not a member of this organisation."
            if organization_id is not None
            else "You are not a member of any organisation; ask an admin for an invite."
        )
    member = memberships[0]
    organization = await repository.organization(session, member.organization_id)
    if organization is None:
        raise Forbidden("Your organisation no longer exists.")
    return UserContext(user=user, organization=organization, member=member)


async def list_members(
    session: AsyncSession, context: UserContext, *, limit: int, offset: int
) -> tuple[list[tuple[OrganizationMember, User]], int]:
    return await repository.members_with_users(
        session, context.organization.id, limit=limit, offset=offset
    )
