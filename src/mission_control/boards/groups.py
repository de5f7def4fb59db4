"""Board group rules: admins create, rename and delete groups and move boards in and out;
everyone in the organisation sees the groups, with only the boards they may read."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from mission_control.access.service import readable_board_ids, require_admin, require_board
from mission_control.activity import service as activity
from mission_control.boards import repository
from mission_control.boards.group_schemas import BoardGroupCreate, BoardGroupRead, BoardGroupUpdate
from mission_control.boards.models import BoardGroup
from mission_control.core.errors import Conflict, InvalidInput, NotFound
from mission_control.core.text import slugify
from mission_control.organizations.service import UserContext


async def _group(session: AsyncSession, context: UserContext, group_id: uuid.UUID) -> BoardGroup:
    group = await repository.group_in_organization(session, context.organization.id, group_id)
    if group is None:
        raise NotFound("Board group not found.")
    return group


async def _check_slug_free(
    session: AsyncSession, context: UserContext, slug: str, except_id: uuid.UUID | None = None
) -> None:
    if await repository.group_slug_taken(
        session, context.organization.id, slug, except_id=except_id
    ):
        raise Conflict(
            f"A board group with slug {slug!r} already exists; choose another slug.",
            code="board_group_slug_taken",
            details={"slug": slug},
        )


async def to_reads(
    session: AsyncSession, context: UserContext, groups: list[BoardGroup]
) -> list[BoardGroupRead]:
    visible = await readable_board_ids(session, context)
    boards = await repository.board_ids_by_group(session, [group.id for group in groups])
    return [
        BoardGroupRead(
            id=group.id,
            organization_id=group.organization_id,
            name=group.name,
            slug=group.slug,
            description=group.description,
            board_ids=[b for b in boards[group.id] if visible is None or b in visible],
            created_at=group.created_at,
            updated_at=group.updated_at,
        )
        for group in groups
    ]


async def list_groups(
    session: AsyncSession, context: UserContext, *, limit: int, offset: int
) -> tuple[list[BoardGroupRead], int]:
    groups, total = await repository.groups_page(
        session, context.organization.id, limit=limit, offset=offset
    )
    return await to_reads(session, context, groups), total


async def get_group(
    session: AsyncSession, context: UserContext, group_id: uuid.UUID
) -> BoardGroupRead:
    (read,) = await to_reads(session, context, [await _group(session, context, group_id)])
    return read


async def create_group(
    session: AsyncSession, context: UserContext, data: BoardGroupCreate
) -> BoardGroupRead:
    require_admin(context)
    slug = data.slug or slugify(data.name)
    if not slug:
        raise InvalidInput(
            "The group name has no letters or digits to make a slug from; give a slug.",
            details=[{"field": "slug", "location": "body", "message": "required for this name"}],
        )
    await _check_slug_free(session, context, slug)
    group = BoardGroup(
        organization_id=context.organization.id,
        name=data.name,
        slug=slug,
        description=data.description,
    )
    session.add(group)
    await session.flush()
    _record(session, context, "board_group.created", f"Board group {group.name} created.", group)
    return await get_group(session, context, group.id)


async def update_group(
    session: AsyncSession, context: UserContext, group_id: uuid.UUID, data: BoardGroupUpdate
) -> BoardGroupRead:
    require_admin(context)
    group = await _group(session, context, group_id)
    changes = data.model_dump(exclude_unset=True)
    if "slug" in changes and changes["slug"] != group.slug:
        await _check_slug_free(session, context, changes["slug"], except_id=group.id)
    for field, value in changes.items():
        setattr(group, field, value)
    await session.flush()
    _record(
        session,
        context,
        "board_group.updated",
        f"Board group {group.name} updated ({', '.join(sorted(changes)) or 'no fields'}).",
        group,
    )
    return await get_group(session, context, group.id)


async def delete_group(session: AsyncSession, context: UserContext, group_id: uuid.UUID) -> None:
    """The group and its memory go; its boards stay, outside any group."""
    require_admin(context)
    group = await _group(session, context, group_id)
    await repository.detach_group(session, group.id)
    _record(session, context, "board_group.deleted", f"Board group {group.name} deleted.", group)
    await session.delete(group)
    await session.flush()


async def move_board(
    session: AsyncSession,
    context: UserContext,
    group_id: uuid.UUID,
    board_id: uuid.UUID,
    *,
    into: bool,
) -> BoardGroupRead:
    """Put a board into the group (from wherever it was) or take it out (admins)."""
    require_admin(context)
    group = await _group(session, context, group_id)
    board = await require_board(session, context, board_id, write=True)
    if not into and board.board_group_id != group.id:
        raise NotFound(f"Board {board.name} is not in board group {group.name}.")
    board.board_group_id = group.id if into else None
    await session.flush()
    verb = "moved into" if into else "moved out of"
    _record(
        session,
        context,
        "board_group.board_added" if into else "board_group.board_removed",
        f"Board {board.name} {verb} board group {group.name}.",
        group,
        board_id=board.id,
    )
    return await get_group(session, context, group.id)


def _record(
    session: AsyncSession,
    context: UserContext,
    event_type: str,
    message: str,
    group: BoardGroup,
    *,
    board_id: uuid.UUID | None = None,
) -> None:
    activity.record(
        session,
        event_type,
        message,
        organization_id=context.organization.id,
        board_id=board_id,
        actor_user_id=context.user.id,
        details={"board_group_id": str(group.id)},
    )
