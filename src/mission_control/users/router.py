"""HTTP endpoints for the caller's personal API tokens."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, status

from mission_control.auth import SessionDep, UserDep
from mission_control.core.api import API_PREFIX
from mission_control.users import service
from mission_control.users.schemas import TokenCreate, TokenCreated, TokenRead

router = APIRouter(prefix=f"{API_PREFIX}/users/me/tokens", tags=["users"])


@router.get("", response_model=list[TokenRead])
async def list_tokens(context: UserDep, session: SessionDep) -> list[TokenRead]:
    return [TokenRead.model_validate(t) for t in await service.list_tokens(session, context)]


@router.post("", response_model=TokenCreated, status_code=status.HTTP_201_CREATED)
async def create_token(data: TokenCreate, context: UserDep, session: SessionDep) -> TokenCreated:
    token, raw = await service.create_token(session, context, data.name)
    return TokenCreated(**TokenRead.model_validate(token).model_dump(), token=raw)


@router.delete("/{token_id}", status_code=status.HTTP_204_NO_CONTENT)
async def revoke_token(token_id: uuid.UUID, context: UserDep, session: SessionDep) -> None:
    await service.revoke_token(session, context, token_id)
