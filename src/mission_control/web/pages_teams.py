"""Teams pages: organisations (list, switch, create, rename, delete), members (role, flags,
board grants, remove), invites (invite, list, revoke, accept) and board groups."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Response
from pydantic import ValidationError

from mission_control.boards import groups
from mission_control.boards import repository as boards_repository
from mission_control.boards.group_schemas import BoardGroupCreate, BoardGroupUpdate
from mission_control.boards.models import Board
from mission_control.core.errors import DomainError
from mission_control.organizations import invites, management, repository
from mission_control.organizations.models import Role
from mission_control.organizations.schemas import BoardGrant, InviteCreate, MemberUpdate
from mission_control.web.formdata import Form
from mission_control.web.rendering import render
from mission_control.web.routing import (
    ConsoleRoute,
    Tx,
    Web,
    WebDep,
    error_message,
    parse_uuid,
)
from mission_control.web.sessions import ORGANIZATION_COOKIE

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)
ROLES = [role.value for role in Role]


async def _boards(tx: Tx) -> list[Board]:
    rows, _ = await boards_repository.page(
        tx.session,
        tx.viewer.context.organization.id,
        board_ids=None,
        gateway_id=None,
        board_group_id=None,
        limit=500,
        offset=0,
    )
    return sorted(rows, key=lambda board: board.name.lower())


def _grants(form: Form, boards: list[Board]) -> list[BoardGrant]:
    chosen = []
    for board in boards:
        write = form.has(f"write:{board.id}")
        if write or form.has(f"read:{board.id}"):
            chosen.append(BoardGrant(board_id=board.id, can_read=True, can_write=write))
    return chosen


async def _team_page(
    web: Web, tx: Tx, *, status_code: int = 200, errors: dict[str, str] | None = None, **extra: Any
) -> Response:
    context = tx.viewer.context
    extra.setdefault("created_invite", None)
    organizations = await management.list_mine(tx.session, context.user, context.organization.id)
    members: list[Any] = []
    pending: list[Any] = []
    boards: list[Board] = []
    if context.is_admin:
        rows, _ = await repository.members_with_users(
            tx.session, context.organization.id, limit=500, offset=0
        )
        members = [await management.member_detail(tx.session, m, u) for m, u in rows]
        items, _ = await invites.list_invites(tx.session, context, limit=200, offset=0)
        pending = [invites.to_read(item) for item in items]
        boards = await _boards(tx)
    return render(
        web.request,
        "team.html",
        status_code=status_code,
        title="Team",
        nav="team",
        viewer=tx.viewer,
        organizations=organizations,
        members=members,
        invites=pending,
        boards=boards,
        member_grants={
            member.id: {str(g.board_id): g for g in member.board_grants} for member in members
        },
        roles=ROLES,
        errors=errors or {},
        **extra,
    )


@router.get("/team")
async def team(web: WebDep) -> Response:
    async with web.read() as tx:
        return await _team_page(web, tx)


async def _failed(web: Web, key: str, error: DomainError | ValidationError) -> Response:
    async with web.read() as tx:
        status = error.status if isinstance(error, DomainError) else 422
        return await _team_page(web, tx, status_code=status, errors={key: error_message(error)})


@router.post("/team/switch")
async def switch_organization(web: WebDep) -> Response:
    form = await web.form()
    async with web.write():
        pass
    response = web.redirect("/")
    organization_id = parse_uuid(form.get("organization_id"))
    if organization_id is not None:
        response.set_cookie(
            ORGANIZATION_COOKIE, str(organization_id), httponly=True, samesite="lax", path="/"
        )
    return response


@router.post("/team/organizations")
async def create_organization(web: WebDep) -> Response:
    form = await web.form()
    name = form.get("name").strip()
    if not name:
        return await _failed(
            web, "create", DomainError("Give the organisation a name.", code="validation_error")
        )
    async with web.write() as tx:
        organization, _ = await management.create_organization(
            tx.session, tx.viewer.context.user, name
        )
    response = web.redirect("/team")
    response.set_cookie(
        ORGANIZATION_COOKIE, str(organization.id), httponly=True, samesite="lax", path="/"
    )
    return response


@router.post("/team/rename")
async def rename_organization(web: WebDep) -> Response:
    form = await web.form()
    try:
        async with web.write() as tx:
            name = form.get("name").strip()
            if not name:
                raise DomainError("Give the organisation a name.", code="validation_error")
            await management.rename_organization(tx.session, tx.viewer.context, name)
    except DomainError as error:
        return await _failed(web, "rename", error)
    return web.redirect("/team")


@router.post("/team/delete")
async def delete_organization(web: WebDep) -> Response:
    try:
        async with web.write() as tx:
            await management.delete_organization(tx.session, tx.viewer.context)
    except DomainError as error:
        return await _failed(web, "delete", error)
    response = web.redirect("/")
    response.delete_cookie(ORGANIZATION_COOKIE, path="/")
    return response


@router.post("/team/members/{member_id}")
async def update_member(member_id: uuid.UUID, web: WebDep) -> Response:
    form = await web.form()
    key = f"member:{member_id}"
    try:
        async with web.write() as tx:
            update = MemberUpdate(
                role=Role(form.get("role")) if form.get("role") in ROLES else None,
                all_boards_read=form.has("all_boards_read"),
                all_boards_write=form.has("all_boards_write"),
            )
            await management.update_member(tx.session, tx.viewer.context, member_id, update)
            grants = _grants(form, await _boards(tx))
            await management.replace_grants(tx.session, tx.viewer.context, member_id, grants)
    except (DomainError, ValidationError) as error:
        return await _failed(web, key, error)
    return web.redirect("/team")


@router.post("/team/members/{member_id}/remove")
async def remove_member(member_id: uuid.UUID, web: WebDep) -> Response:
    try:
        async with web.write() as tx:
            await management.remove_member(tx.session, tx.viewer.context, member_id)
    except DomainError as error:
        return await _failed(web, f"member:{member_id}", error)
    return web.redirect("/team")


@router.post("/team/invites")
async def create_invite(web: WebDep) -> Response:
    form = await web.form()
    try:
        async with web.write() as tx:
            data = InviteCreate(
                email=form.get("email"),
                role=Role(form.get("role")) if form.get("role") in ROLES else Role.MEMBER,
                all_boards_read=form.has("all_boards_read"),
                all_boards_write=form.has("all_boards_write"),
                board_grants=_grants(form, await _boards(tx)),
            )
            created = await invites.create_invite(
                tx.session, tx.viewer.context, data, web.runtime.settings
            )
    except (DomainError, ValidationError) as error:
        return await _failed(web, "invite", error)
    # Shown once: rendered in this answer, never stored in a form or a redirect.
    async with web.read() as tx:
        return await _team_page(web, tx, created_invite=created)


@router.post("/team/invites/{invite_id}/revoke")
async def revoke_invite(invite_id: uuid.UUID, web: WebDep) -> Response:
    try:
        async with web.write() as tx:
            await invites.revoke_invite(tx.session, tx.viewer.context, invite_id)
    except DomainError as error:
        return await _failed(web, "invites", error)
    return web.redirect("/team")


@router.get("/invites/accept")
async def accept_form(web: WebDep, token: str = "") -> Response:
    async with web.read() as tx:
        return render(
            web.request,
            "invite_accept.html",
            title="Accept invite",
            nav="team",
            viewer=tx.viewer,
            token=token,
        )


@router.post("/invites/accept")
async def accept(web: WebDep) -> Response:
    form = await web.form()
    try:
        async with web.write() as tx:
            joined = await invites.accept_invite(
                tx.session, tx.viewer.context.user, form.get("token")
            )
    except DomainError as error:
        async with web.read() as tx:
            return render(
                web.request,
                "invite_accept.html",
                status_code=error.status,
                title="Accept invite",
                nav="team",
                viewer=tx.viewer,
                token=form.get("token"),
                errors={"token": error.message},
            )
    # The console switches to the organisation just joined.
    response = web.redirect("/boards")
    response.set_cookie(
        ORGANIZATION_COOKIE, str(joined.organization.id), httponly=True, samesite="lax", path="/"
    )
    return response


# -- board groups ------------------------------------------------------------------------------


async def _groups_page(
    web: Web, tx: Tx, *, status_code: int = 200, errors: dict[str, str] | None = None
) -> Response:
    items, _ = await groups.list_groups(tx.session, tx.viewer.context, limit=200, offset=0)
    boards = await _boards(tx)
    names = {board.id: board.name for board in boards}
    return render(
        web.request,
        "board_groups.html",
        status_code=status_code,
        title="Board groups",
        nav="groups",
        viewer=tx.viewer,
        groups=items,
        boards=boards,
        board_names=names,
        errors=errors or {},
    )


@router.get("/board-groups")
async def board_groups(web: WebDep) -> Response:
    async with web.read() as tx:
        return await _groups_page(web, tx)


async def _group_failed(web: Web, key: str, error: DomainError | ValidationError) -> Response:
    async with web.read() as tx:
        status = error.status if isinstance(error, DomainError) else 422
        return await _groups_page(web, tx, status_code=status, errors={key: error_message(error)})


@router.post("/board-groups")
async def create_group(web: WebDep) -> Response:
    form = await web.form()
    try:
        async with web.write() as tx:
            await groups.create_group(
                tx.session,
                tx.viewer.context,
                BoardGroupCreate(
                    name=form.get("name"), description=form.get("description") or None
                ),
            )
    except (DomainError, ValidationError) as error:
        return await _group_failed(web, "create", error)
    return web.redirect("/board-groups")


@router.post("/board-groups/{group_id}")
async def update_group(group_id: uuid.UUID, web: WebDep) -> Response:
    form = await web.form()
    try:
        async with web.write() as tx:
            await groups.update_group(
                tx.session, tx.viewer.context, group_id, BoardGroupUpdate(name=form.get("name"))
            )
    except (DomainError, ValidationError) as error:
        return await _group_failed(web, f"group:{group_id}", error)
    return web.redirect("/board-groups")


@router.post("/board-groups/{group_id}/delete")
async def delete_group(group_id: uuid.UUID, web: WebDep) -> Response:
    try:
        async with web.write() as tx:
            await groups.delete_group(tx.session, tx.viewer.context, group_id)
    except DomainError as error:
        return await _group_failed(web, f"group:{group_id}", error)
    return web.redirect("/board-groups")


@router.post("/board-groups/{group_id}/boards")
async def move_board(group_id: uuid.UUID, web: WebDep) -> Response:
    form = await web.form()
    board_id = parse_uuid(form.get("board_id"))
    try:
        async with web.write() as tx:
            if board_id is None:
                raise DomainError("Choose a board.", code="validation_error")
            await groups.move_board(
                tx.session,
                tx.viewer.context,
                group_id,
                board_id,
                into=form.get("action") != "remove",
            )
    except DomainError as error:
        return await _group_failed(web, f"group:{group_id}", error)
    return web.redirect("/board-groups")
