"""The organisation's task vocabulary: tags and custom field definitions, and which fields a
board's tasks carry."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from mission_control.access.service import require_admin
from mission_control.activity import service as activity
from mission_control.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from mission_control.core.text import slugify
from mission_control.organizations.service import UserContext
from mission_control.tasks import repository
from mission_control.tasks.actors import Actor, Caller, resolve_actor
from mission_control.tasks.custom_fields import FieldValueError, check_regex, normalise
from mission_control.tasks.models import BoardCustomField, CustomFieldDefinition, Tag
from mission_control.tasks.schemas import (
    BoardFieldBind,
    BoardFieldRead,
    CustomFieldCreate,
    CustomFieldRead,
    TagCreate,
)

# Tags


async def list_tags(
    session: AsyncSession, organization_id: uuid.UUID, *, limit: int, offset: int
) -> tuple[list[Tag], int]:
    return await repository.tags_page(session, organization_id, limit=limit, offset=offset)


async def agent_tags(
    session: AsyncSession, caller: Caller, board_id: uuid.UUID, *, limit: int, offset: int
) -> tuple[list[Tag], int]:
    actor = await resolve_actor(session, caller, board_id, write=False)
    return await list_tags(session, actor.organization_id, limit=limit, offset=offset)


async def create_tag(session: AsyncSession, context: UserContext, data: TagCreate) -> Tag:
    org_id = context.organization.id
    slug = data.slug or slugify(data.name)
    if not slug:
        raise InvalidInput(
            "The tag name has no letters or digits to make a slug from; give a slug.",
            details=[{"field": "slug", "location": "body", "message": "required for this name"}],
        )
    if await repository.tag_by_slug(session, org_id, slug) is not None:
        raise Conflict(
            f"A tag with slug {slug!r} already exists.", code="tag_exists", details={"slug": slug}
        )
    tag = Tag(
        organization_id=org_id,
        name=data.name,
        slug=slug,
        color=data.color,
        description=data.description,
    )
    session.add(tag)
    await session.flush()
    activity.record(
        session,
        "tag.created",
        f"Tag {tag.name} created.",
        organization_id=org_id,
        actor_user_id=context.user.id,
        details={"tag_id": str(tag.id)},
    )
    return tag


async def delete_tag(session: AsyncSession, context: UserContext, tag_id: uuid.UUID) -> None:
    require_admin(context)
    tag = await repository.tag_in_org(session, context.organization.id, tag_id)
    if tag is None:
        raise NotFound("Tag not found.")
    await session.delete(tag)
    await session.flush()


# Custom field definitions


def _invalid_definition(field: str, message: str) -> InvalidInput:
    return InvalidInput(
        f"{field} {message}.",
        details=[{"field": field, "location": "body", "message": message}],
    )


async def list_definitions(
    session: AsyncSession, context: UserContext, *, limit: int, offset: int
) -> tuple[list[CustomFieldDefinition], int]:
    return await repository.definitions_page(
        session, context.organization.id, limit=limit, offset=offset
    )


async def create_definition(
    session: AsyncSession, context: UserContext, data: CustomFieldCreate
) -> CustomFieldDefinition:
    require_admin(context)
    org_id = context.organization.id
    try:
        check_regex(data.validation_regex, data.field_type)
    except FieldValueError as error:
        raise _invalid_definition("validation_regex", str(error)) from error
    default = None
    if data.default_value is not None:
        try:
            default = normalise(data.field_type, data.validation_regex, data.default_value)
        except FieldValueError as error:
            raise _invalid_definition("default_value", str(error)) from error
    if await repository.definition_key_taken(session, org_id, data.key):
        raise Conflict(
            f"A custom field with key {data.key!r} already exists.",
            code="custom_field_exists",
            details={"key": data.key},
        )
    definition = CustomFieldDefinition(
        organization_id=org_id,
        key=data.key,
        label=data.label,
        field_type=data.field_type,
        description=data.description,
        validation_regex=data.validation_regex,
        required=data.required,
        default_value=default,
    )
    session.add(definition)
    await session.flush()
    activity.record(
        session,
        "custom_field.created",
        f"Custom field {definition.key} ({definition.field_type}) created.",
        organization_id=org_id,
        actor_user_id=context.user.id,
        details={"definition_id": str(definition.id)},
    )
    return definition


async def _definition(
    session: AsyncSession, organization_id: uuid.UUID, definition_id: uuid.UUID
) -> CustomFieldDefinition:
    definition = await repository.definition_in_org(session, organization_id, definition_id)
    if definition is None:
        raise NotFound("Custom field not found.")
    return definition


async def delete_definition(
    session: AsyncSession, context: UserContext, definition_id: uuid.UUID
) -> None:
    require_admin(context)
    await session.delete(await _definition(session, context.organization.id, definition_id))
    await session.flush()


def _require_user(actor: Actor) -> None:
    if actor.kind != "user":
        raise Forbidden("Only users choose a board's custom fields.", code="user_only")


def _bound(definition: CustomFieldDefinition, binding: BoardCustomField) -> BoardFieldRead:
    required = binding.required if binding.required is not None else definition.required
    return BoardFieldRead(
        definition=CustomFieldRead.model_validate(definition),
        board_id=binding.board_id,
        required=required,
    )


async def board_fields(
    session: AsyncSession, caller: Caller, board_id: uuid.UUID
) -> list[BoardFieldRead]:
    await resolve_actor(session, caller, board_id, write=False)
    return [_bound(d, b) for d, b in await repository.board_fields(session, board_id)]


async def bind_field(
    session: AsyncSession,
    caller: Caller,
    board_id: uuid.UUID,
    definition_id: uuid.UUID,
    data: BoardFieldBind,
) -> BoardFieldRead:
    actor = await resolve_actor(session, caller, board_id, write=True)
    _require_user(actor)
    definition = await _definition(session, actor.organization_id, definition_id)
    binding = await repository.binding(session, board_id, definition_id)
    if binding is None:
        binding = BoardCustomField(board_id=board_id, definition_id=definition_id)
        session.add(binding)
    binding.required = data.required
    await session.flush()
    return _bound(definition, binding)


async def unbind_field(
    session: AsyncSession, caller: Caller, board_id: uuid.UUID, definition_id: uuid.UUID
) -> None:
    _require_user(await resolve_actor(session, caller, board_id, write=True))
    binding = await repository.binding(session, board_id, definition_id)
    if binding is None:
        raise NotFound("This custom field is not bound to the board.")
    await session.delete(binding)
    await session.flush()
