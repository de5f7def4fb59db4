"""Managing organisations and their members: create, rename, delete when empty; roles, the
all-boards flags and per-board grants, with the last-owner rules."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from mission_control.access.service import require_admin
from mission_control.activity import service as activity
from mission_control.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from mission_control.organizations import repository
from mission_control.organizations.models import (
    BoardAccessGrant,
    Organization,
    OrganizationMember,
    Role,
)
from mission_control.organizations.schemas import (
    BoardGrant,
    MemberDetail,
    MemberUpdate,
    OrganizationListItem,
)
from mission_control.organizations.service import UserContext
from mission_control.users.models import User


def _require_owner(context: UserContext, doing: str) -> None:
    if context.member.role != Role.OWNER:
        raise Forbidden(f"Only organisation owners may {doing}.")


# -- organisations -----------------------------------------------------------------------------


async def list_mine(
    session: AsyncSession, user: User, active_id: uuid.UUID | None
) -> list[OrganizationListItem]:
    """Every organisation the user belongs to; ``active_id`` is the one requests act in."""
    rows = await repository.organizations_of(session, user.id)
    if active_id is None and rows:
        active_id = rows[0][1].id
    return [
        OrganizationListItem(
            id=org.id,
            name=org.name,
            role=member.role,
            created_at=org.created_at,
            active=org.id == active_id,
        )
        for member, org in rows
    ]


async def create_organization(
    session: AsyncSession, user: User, name: str
) -> tuple[Organization, OrganizationMember]:
    """A new organisation with the caller as its owner (who sees every board)."""
    organization = Organization(name=name.strip() or name)
    session.add(organization)
    await session.flush()
    member = OrganizationMember(
        organization_id=organization.id,
        user_id=user.id,
        role=Role.OWNER,
        all_boards_read=True,
        all_boards_write=True,
    )
    session.add(member)
    await session.flush()
    activity.record(
        session,
        "organization.created",
        f"Organisation {organization.name} created.",
        organization_id=organization.id,
        actor_user_id=user.id,
    )
    return organization, member


async def rename_organization(
    session: AsyncSession, context: UserContext, name: str
) -> Organization:
    require_admin(context)
    organization = context.organization
    before = organization.name
    organization.name = name.strip() or name
    await session.flush()
    activity.record(
        session,
        "organization.renamed",
        f"Organisation {before} renamed to {organization.name}.",
        organization_id=organization.id,
        actor_user_id=context.user.id,
        details={"before": before, "after": organization.name},
    )
    return organization


async def delete_organization(session: AsyncSession, context: UserContext) -> None:
    """Only an owner, and only once no board, group, gateway or other member is left."""
    _require_owner(context, "delete the organisation")
    organization = context.organization
    contents = await repository.contents_count(session, organization.id)
    contents["other_members"] = await repository.count_members(session, organization.id) - 1
    left = {name: count for name, count in contents.items() if count}
    if left:
        listed = ", ".join(f"{count} {name.replace('_', ' ')}" for name, count in left.items())
        raise Conflict(
            f"Organisation {organization.name} is not empty ({listed}); remove them first.",
            code="organization_not_empty",
            details=left,
        )
    await session.delete(organization)
    await session.flush()


# -- members -----------------------------------------------------------------------------------


async def _member(
    session: AsyncSession, context: UserContext, member_id: uuid.UUID
) -> tuple[OrganizationMember, User]:
    found = await repository.member_in_organization(session, context.organization.id, member_id)
    if found is None:
        raise NotFound("Member not found.")
    return found


async def member_detail(
    session: AsyncSession, member: OrganizationMember, user: User
) -> MemberDetail:
    grants = await repository.grants_of(session, member.id)
    return MemberDetail(
        id=member.id,
        user_id=user.id,
        email=user.email,
        name=user.name,
        role=member.role,
        all_boards_read=member.all_boards_read,
        all_boards_write=member.all_boards_write,
        created_at=member.created_at,
        board_grants=sorted(
            (BoardGrant.model_validate(grant) for grant in grants), key=lambda g: str(g.board_id)
        ),
    )


async def get_member(
    session: AsyncSession, context: UserContext, member_id: uuid.UUID
) -> MemberDetail:
    """Admins see every member's grants; a member sees their own."""
    if member_id != context.member.id:
        require_admin(context)
    member, user = await _member(session, context, member_id)
    return await member_detail(session, member, user)


async def _check_last_owner(session: AsyncSession, member: OrganizationMember, doing: str) -> None:
    if (
        member.role == Role.OWNER
        and await repository.count_owners(session, member.organization_id) <= 1
    ):
        raise Conflict(
            f"This is the organisation's last owner; make another member an owner before {doing}.",
            code="last_owner",
        )


async def update_member(
    session: AsyncSession, context: UserContext, member_id: uuid.UUID, data: MemberUpdate
) -> MemberDetail:
    require_admin(context)
    member, user = await _member(session, context, member_id)
    changes = data.model_dump(exclude_unset=True, exclude_none=True)
    new_role = changes.get("role")
    if new_role is not None and new_role != member.role:
        if Role.OWNER in (new_role, member.role):
            _require_owner(context, "make or unmake owners")
        if member.role == Role.OWNER:
            await _check_last_owner(session, member, "demoting it")
    for field, value in changes.items():
        setattr(member, field, value)
    await session.flush()
    activity.record(
        session,
        "organization.member.updated",
        f"Member {user.email or user.name or user.id} updated ({', '.join(sorted(changes))}).",
        organization_id=context.organization.id,
        actor_user_id=context.user.id,
        details={"member_id": str(member.id), **{k: str(v) for k, v in changes.items()}},
    )
    return await member_detail(session, member, user)


async def remove_member(session: AsyncSession, context: UserContext, member_id: uuid.UUID) -> None:
    """Admins remove members (owners only by an owner); anyone may leave (their own id)."""
    leaving = member_id == context.member.id
    if not leaving:
        require_admin(context)
    member, user = await _member(session, context, member_id)
    if member.role == Role.OWNER and not leaving:
        _require_owner(context, "remove an owner")
    await _check_last_owner(session, member, "leaving" if leaving else "removing it")
    await repository.replace_grants(session, member.id, [])
    await session.delete(member)
    await session.flush()
    who = user.email or user.name or str(user.id)
    activity.record(
        session,
        "organization.member.left" if leaving else "organization.member.removed",
        f"{who} left the organisation." if leaving else f"Member {who} removed.",
        organization_id=context.organization.id,
        actor_user_id=context.user.id,
        details={"member_id": str(member.id), "user_id": str(user.id)},
    )


async def check_boards(
    session: AsyncSession, organization_id: uuid.UUID, grants: list[BoardGrant], field: str
) -> None:
    wanted = [grant.board_id for grant in grants]
    known = await repository.board_ids_in(session, organization_id, wanted)
    unknown = [board_id for board_id in wanted if board_id not in known]
    if unknown:
        raise InvalidInput(
            f"{field} names boards that are not in this organisation.",
            details=[
                {
                    "field": f"{field}.{wanted.index(board_id)}.board_id",
                    "location": "body",
                    "message": "unknown board",
                }
                for board_id in unknown
            ],
        )


async def apply_grants(
    session: AsyncSession, member: OrganizationMember, grants: list[BoardGrant]
) -> None:
    await repository.replace_grants(
        session,
        member.id,
        [
            BoardAccessGrant(
                member_id=member.id,
                board_id=grant.board_id,
                can_read=grant.can_read or grant.can_write,
                can_write=grant.can_write,
            )
            for grant in grants
        ],
    )


async def replace_grants(
    session: AsyncSession, context: UserContext, member_id: uuid.UUID, grants: list[BoardGrant]
) -> MemberDetail:
    require_admin(context)
    member, user = await _member(session, context, member_id)
    await check_boards(session, context.organization.id, grants, "board_grants")
    await apply_grants(session, member, grants)
    activity.record(
        session,
        "organization.member.grants_replaced",
        f"Board grants of {user.email or user.name or user.id} set ({len(grants)} board(s)).",
        organization_id=context.organization.id,
        actor_user_id=context.user.id,
        details={"member_id": str(member.id), "boards": len(grants)},
    )
    return await member_detail(session, member, user)
