"""HTTP endpoints for organisations (mine, create, rename, delete), members and grants.

The active organisation is the one a request names in ``X-Organization-Id``; without it,
the caller's oldest membership. ``/organizations/me`` is always the active one.
"""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request, status

from mission_control.auth import (
    AccountDep,
    RuntimeDep,
    SessionDep,
    UserDep,
    requested_organization_id,
)
from mission_control.core.api import API_PREFIX
from mission_control.core.pagination import Page, PageDep
from mission_control.organizations import invites, management, service
from mission_control.organizations.schemas import (
    GrantsReplace,
    InviteAccept,
    InviteAccepted,
    InviteCreate,
    InviteCreated,
    InviteRead,
    MemberDetail,
    MemberRead,
    MemberUpdate,
    OrganizationCreate,
    OrganizationListItem,
    OrganizationRead,
    OrganizationUpdate,
)
from mission_control.organizations.service import UserContext

router = APIRouter(prefix=f"{API_PREFIX}/organizations", tags=["organizations"])
invites_router = APIRouter(prefix=f"{API_PREFIX}/invites", tags=["organizations"])


def _read(context: UserContext) -> OrganizationRead:
    return OrganizationRead(
        id=context.organization.id,
        name=context.organization.name,
        role=context.member.role,
        created_at=context.organization.created_at,
    )


@router.get("", response_model=list[OrganizationListItem])
async def list_my_organizations(
    request: Request, user: AccountDep, session: SessionDep
) -> list[OrganizationListItem]:
    """Every organisation you belong to; ``active`` marks the one this request acts in."""
    return await management.list_mine(session, user, requested_organization_id(request))


@router.post("", response_model=OrganizationRead, status_code=status.HTTP_201_CREATED)
async def create_organization(
    data: OrganizationCreate, user: AccountDep, session: SessionDep
) -> OrganizationRead:
    """A new organisation with you as its owner; send its id in X-Organization-Id to use it."""
    organization, member = await management.create_organization(session, user, data.name)
    return _read(UserContext(user=user, organization=organization, member=member))


@router.get("/me", response_model=OrganizationRead)
async def my_organization(context: UserDep) -> OrganizationRead:
    return _read(context)


@router.patch("/me", response_model=OrganizationRead)
async def rename_organization(
    data: OrganizationUpdate, context: UserDep, session: SessionDep
) -> OrganizationRead:
    """Rename the active organisation (owners and admins)."""
    await management.rename_organization(session, context, data.name)
    return _read(context)


@router.delete("/me", status_code=status.HTTP_204_NO_CONTENT)
async def delete_organization(context: UserDep, session: SessionDep) -> None:
    """Delete the active organisation: owners only, once it has no boards, board groups,
    gateways or other members (409 organization_not_empty lists what is left)."""
    await management.delete_organization(session, context)


@router.get("/me/members", response_model=Page[MemberRead])
async def list_members(context: UserDep, session: SessionDep, page: PageDep) -> Page[MemberRead]:
    rows, total = await service.list_members(session, context, limit=page.limit, offset=page.offset)
    items = [
        MemberRead(
            id=member.id,
            user_id=user.id,
            email=user.email,
            name=user.name,
            role=member.role,
            all_boards_read=member.all_boards_read,
            all_boards_write=member.all_boards_write,
            created_at=member.created_at,
        )
        for member, user in rows
    ]
    return Page(items=items, total=total, limit=page.limit, offset=page.offset)


@router.get("/me/members/{member_id}", response_model=MemberDetail)
async def get_member(member_id: uuid.UUID, context: UserDep, session: SessionDep) -> MemberDetail:
    """A member with their board grants (admins; a member may read their own)."""
    return await management.get_member(session, context, member_id)


@router.patch("/me/members/{member_id}", response_model=MemberDetail)
async def update_member(
    member_id: uuid.UUID, data: MemberUpdate, context: UserDep, session: SessionDep
) -> MemberDetail:
    """Change role or all-boards flags (admins; owners for anything touching the owner role;
    the last owner cannot be demoted: 409 last_owner)."""
    return await management.update_member(session, context, member_id, data)


@router.delete("/me/members/{member_id}", status_code=status.HTTP_204_NO_CONTENT)
async def remove_member(member_id: uuid.UUID, context: UserDep, session: SessionDep) -> None:
    """Remove a member (admins; owners only by an owner), or leave with your own member id.
    The last owner can do neither (409 last_owner)."""
    await management.remove_member(session, context, member_id)


@router.put("/me/members/{member_id}/grants", response_model=MemberDetail)
async def replace_grants(
    member_id: uuid.UUID, data: GrantsReplace, context: UserDep, session: SessionDep
) -> MemberDetail:
    """Set the member's per-board read/write grants (the whole list; admins)."""
    return await management.replace_grants(session, context, member_id, data.board_grants)


@router.post("/me/invites", response_model=InviteCreated, status_code=status.HTTP_201_CREATED)
async def create_invite(
    data: InviteCreate, context: UserDep, session: SessionDep, runtime: RuntimeDep
) -> InviteCreated:
    """Invite an email address with a role, all-boards flags and board grants (admins; owners
    to invite owners). With MC_SMTP_HOST set the link is mailed; otherwise (or when mailing
    fails) the token and link are in this answer, the only time they are shown."""
    created = await invites.create_invite(session, context, data, runtime.settings)
    return InviteCreated(
        **invites.to_read(created.invite).model_dump(),
        delivery=created.delivery,
        delivery_error=created.delivery_error,
        token=created.token,
        accept_url=created.accept_url,
    )


@router.get("/me/invites", response_model=Page[InviteRead])
async def list_invites(context: UserDep, session: SessionDep, page: PageDep) -> Page[InviteRead]:
    """Invites of the active organisation, newest first, with their status (admins)."""
    items, total = await invites.list_invites(
        session, context, limit=page.limit, offset=page.offset
    )
    return Page(
        items=[invites.to_read(item) for item in items],
        total=total,
        limit=page.limit,
        offset=page.offset,
    )


@router.delete("/me/invites/{invite_id}", status_code=status.HTTP_204_NO_CONTENT)
async def revoke_invite(invite_id: uuid.UUID, context: UserDep, session: SessionDep) -> None:
    """Revoke a pending invite so its link no longer works (admins)."""
    await invites.revoke_invite(session, context, invite_id)


@invites_router.post("/accept", response_model=InviteAccepted)
async def accept_invite(
    data: InviteAccept, user: AccountDep, session: SessionDep
) -> InviteAccepted:
    """Join the invite's organisation with its role and grants, as the signed-in user.
    Unknown token: 404; revoked, used or expired: 410 (invite_revoked, invite_used,
    invite_expired); an invite for another email address: 403 invite_email_mismatch."""
    return await invites.accept_invite(session, user, data.token)
