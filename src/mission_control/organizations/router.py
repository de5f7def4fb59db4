"""HTTP endpoints for the caller's organisation and its members."""

from __future__ import annotations

from fastapi import APIRouter

from mission_control.core.api import API_PREFIX
from mission_control.core.auth import SessionDep, UserDep
from mission_control.core.pagination import Page, PageDep
from mission_control.organizations import service
from mission_control.organizations.schemas import MemberRead, OrganizationRead

router = APIRouter(prefix=f"{API_PREFIX}/organizations", tags=["organizations"])


@router.get("/me", response_model=OrganizationRead)
async def my_organization(context: UserDep) -> OrganizationRead:
    return OrganizationRead(
        id=context.organization.id,
        name=context.organization.name,
        role=context.member.role,
        created_at=context.organization.created_at,
    )


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
