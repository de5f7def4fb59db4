"""My account: personal API tokens (create, shown once; list; revoke). Revoking the token a
console session was opened with ends that session too (sessions.resolve checks it)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response
from pydantic import ValidationError

from mission_control.core.errors import DomainError
from mission_control.users import service as users
from mission_control.users.schemas import TokenCreate
from mission_control.web.rendering import render
from mission_control.web.routing import ConsoleRoute, Web, WebDep, error_message

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)


async def _page(
    web: Web,
    *,
    created: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    async with web.read() as tx:
        tokens = await users.list_tokens(tx.session, tx.viewer.context)
        return render(
            web.request,
            "account/page.html",
            status_code=status_code,
            title="My account",
            nav="account",
            viewer=tx.viewer,
            tokens=[token for token in tokens if token.revoked_at is None],
            created=created,
            errors=errors or {},
        )


@router.get("/account")
async def account(web: WebDep) -> Response:
    return await _page(web)


@router.post("/account/tokens")
async def create_token(web: WebDep) -> Response:
    form = await web.form()
    try:
        data = TokenCreate(name=form.get("name").strip())
        async with web.write() as tx:
            token, raw = await users.create_token(tx.session, tx.viewer.context, data.name)
            created = {"id": str(token.id), "name": token.name, "token": raw}
    except (DomainError, ValidationError) as error:
        return await _page(web, errors={"token": error_message(error)}, status_code=422)
    # The only answer that carries the token: it is stored hashed.
    return await _page(web, created=created)


@router.post("/account/tokens/{token_id}/revoke")
async def revoke_token(token_id: uuid.UUID, web: WebDep) -> Response:
    try:
        async with web.write() as tx:
            await users.revoke_token(tx.session, tx.viewer.context, token_id)
    except DomainError as error:
        return await _page(web, errors={"token": error.message}, status_code=error.status)
    return web.redirect("/account")
