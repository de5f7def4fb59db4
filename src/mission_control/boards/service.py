"""Board rules: who may create, change and delete boards, and what a valid board is."""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from mission_control.access.service import readable_board_ids, require_admin, require_board
from mission_control.activity import service as activity
from mission_control.agents import repository as agents
from mission_control.boards import repository
from mission_control.boards.models import Board
from mission_control.boards.schemas import (
    BoardCreate,
    BoardRead,
    BoardUpdate,
    HeartbeatPolicy,
    HeartbeatPolicyUpdate,
)
from mission_control.core.errors import Conflict, InvalidInput
from mission_control.core.text import slugify
from mission_control.gateways import repository as gateways
from mission_control.organizations.service import UserContext
from mission_control.provisioning import service as provisioning
from mission_control.provisioning.context import board_variables

_POLICY_COLUMNS = {
    "enabled": "governor_enabled",
    "active_every": "governor_active_every",
    "ladder": "governor_ladder",
    "lead_cap": "governor_lead_cap",
    "activity_trigger": "governor_activity_trigger",
    "active_window_minutes": "governor_active_window_minutes",
}


def policy_of(board: Board) -> HeartbeatPolicy:
    # Not re-validated: a policy stored before a bound tightened must still read (the next
    # PATCH names the field to fix).
    return HeartbeatPolicy.model_construct(
        **{field: getattr(board, column) for field, column in _POLICY_COLUMNS.items()}
    )


def to_read(board: Board) -> BoardRead:
    fields = {
        name: getattr(board, name) for name in BoardRead.model_fields if name != "heartbeat_policy"
    }
    return BoardRead(**fields, heartbeat_policy=policy_of(board))


def _apply_policy(board: Board, policy: HeartbeatPolicy) -> None:
    for field, column in _POLICY_COLUMNS.items():
        setattr(board, column, getattr(policy, field))


def _invalid_reference(field: str) -> InvalidInput:
    return InvalidInput(
        f"{field} does not name a {field.removesuffix('_id').replace('_', ' ')} "
        "of your organisation.",
        details=[{"field": field, "location": "body", "message": "unknown id"}],
    )


async def _check_references(
    session: AsyncSession, context: UserContext, values: dict[str, Any]
) -> None:
    org_id = context.organization.id
    gateway_id = values.get("gateway_id")
    if (
        gateway_id is not None
        and await gateways.in_organization(session, org_id, gateway_id) is None
    ):
        raise _invalid_reference("gateway_id")
    group_id = values.get("board_group_id")
    if (
        group_id is not None
        and await repository.group_in_organization(session, org_id, group_id) is None
    ):
        raise _invalid_reference("board_group_id")


async def _check_slug_free(
    session: AsyncSession, context: UserContext, slug: str, except_id: uuid.UUID | None = None
) -> None:
    if await repository.slug_taken(session, context.organization.id, slug, except_id=except_id):
        raise Conflict(
            f"A board with slug {slug!r} already exists in this organisation; choose another slug.",
            code="board_slug_taken",
            details={"slug": slug},
        )


async def list_boards(
    session: AsyncSession,
    context: UserContext,
    *,
    gateway_id: uuid.UUID | None,
    board_group_id: uuid.UUID | None,
    limit: int,
    offset: int,
) -> tuple[list[Board], int]:
    visible = await readable_board_ids(session, context)
    return await repository.page(
        session,
        context.organization.id,
        board_ids=visible,
        gateway_id=gateway_id,
        board_group_id=board_group_id,
        limit=limit,
        offset=offset,
    )


async def get_board(session: AsyncSession, context: UserContext, board_id: uuid.UUID) -> Board:
    return await require_board(session, context, board_id, write=False)


async def create_board(session: AsyncSession, context: UserContext, data: BoardCreate) -> Board:
    require_admin(context)
    slug = data.slug or slugify(data.name)
    if not slug:
        raise InvalidInput(
            "The board name has no letters or digits to make a slug from; give a slug.",
            details=[{"field": "slug", "location": "body", "message": "required for this name"}],
        )
    values = data.model_dump(exclude={"heartbeat_policy", "slug"})
    await _check_references(session, context, values)
    await _check_slug_free(session, context, slug)
    board = Board(organization_id=context.organization.id, slug=slug, **values)
    _apply_policy(board, data.heartbeat_policy or HeartbeatPolicy())
    session.add(board)
    await session.flush()
    activity.record(
        session,
        "board.created",
        f"Board {board.name} created.",
        organization_id=context.organization.id,
        board_id=board.id,
        actor_user_id=context.user.id,
    )
    return board


async def update_board(
    session: AsyncSession, context: UserContext, board_id: uuid.UUID, data: BoardUpdate
) -> Board:
    board = await require_board(session, context, board_id, write=True)
    changes = data.model_dump(exclude_unset=True, exclude={"heartbeat_policy"})
    await _check_references(session, context, changes)
    if "slug" in changes and changes["slug"] != board.slug:
        await _check_slug_free(session, context, changes["slug"], except_id=board.id)
    if "gateway_id" in changes and changes["gateway_id"] != board.gateway_id:
        await _check_no_agents(session, board, "moving it to another gateway")
    rendered = board_variables(board)
    for field, value in changes.items():
        setattr(board, field, value)
    fields = sorted(changes)
    if data.heartbeat_policy is not None:
        _apply_policy(board, data.heartbeat_policy)
        fields.append("heartbeat_policy")
    await session.flush()
    # The board's name, goal and rules are written into its agents' workspaces: when they
    # change, the agents get fresh workspace files (the reconciler applies them, no wake).
    refreshing = 0
    if board.gateway_id is not None and board_variables(board) != rendered:
        refreshing = await provisioning.request_refresh(
            session, board.gateway_id, board_id=board.id
        )
    activity.record(
        session,
        "board.updated",
        f"Board {board.name} updated ({', '.join(fields) or 'no fields'})"
        + (f"; {refreshing} agent workspace(s) to refresh." if refreshing else "."),
        organization_id=context.organization.id,
        board_id=board.id,
        actor_user_id=context.user.id,
        details={"fields": fields, "agents_refreshing": refreshing},
    )
    return board


async def _check_no_agents(session: AsyncSession, board: Board, doing: str) -> None:
    agent_count = await agents.count_on_board(session, board.id)
    if agent_count:
        raise Conflict(
            f"Board {board.name} still has {agent_count} agent(s) whose workspaces live on its "
            f"gateway; delete them before {doing}, then create them again.",
            code="board_has_agents",
            details={"agents": agent_count},
        )


async def delete_board(session: AsyncSession, context: UserContext, board_id: uuid.UUID) -> None:
    require_admin(context)
    board = await require_board(session, context, board_id, write=True)
    await _check_no_agents(session, board, "deleting the board")
    await session.delete(board)
    activity.record(
        session,
        "board.deleted",
        f"Board {board.name} deleted.",
        organization_id=context.organization.id,
        actor_user_id=context.user.id,
        details={"board_id": str(board.id)},
    )
    await session.flush()


async def get_heartbeat_policy(
    session: AsyncSession, context: UserContext, board_id: uuid.UUID
) -> HeartbeatPolicy:
    board = await require_board(session, context, board_id, write=False)
    return policy_of(board)


async def update_heartbeat_policy(
    session: AsyncSession, context: UserContext, board_id: uuid.UUID, data: HeartbeatPolicyUpdate
) -> HeartbeatPolicy:
    """Merges the given fields into the board's policy; the governor applies it next tick."""
    board = await require_board(session, context, board_id, write=True)
    changes = data.model_dump(exclude_unset=True)
    try:
        policy = HeartbeatPolicy.model_validate({**policy_of(board).model_dump(), **changes})
    except ValidationError as error:
        details = [
            {
                "field": ".".join(str(part) for part in item["loc"]),
                "location": "body",
                "message": item["msg"],
            }
            for item in error.errors()
        ]
        raise InvalidInput(
            "The heartbeat policy is invalid: "
            + "; ".join(f"{d['field']}: {d['message']}" for d in details),
            details=details,
        ) from error
    _apply_policy(board, policy)
    await session.flush()
    activity.record(
        session,
        "board.heartbeat_policy.updated",
        f"Heartbeat policy of board {board.name} updated "
        f"({', '.join(sorted(changes)) or 'no fields'}).",
        organization_id=context.organization.id,
        board_id=board.id,
        actor_user_id=context.user.id,
        details={"fields": sorted(changes), "policy": policy.model_dump()},
    )
    return policy
