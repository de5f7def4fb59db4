"""Invites: an admin invites an email address with a role and board grants; the one-time,
expiring token (hashed at rest, shown once or mailed) lets a signed-in user accept them."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from mission_control.access.service import require_admin
from mission_control.activity import service as activity
from mission_control.core.clock import utcnow
from mission_control.core.errors import Conflict, Forbidden, Gone, NotFound
from mission_control.core.security import (
    mint_token_in_thread,
    token_id_of,
    verify_secret_in_thread,
)
from mission_control.organizations import mail, repository
from mission_control.organizations.management import apply_grants, check_boards, member_detail
from mission_control.organizations.models import (
    Organization,
    OrganizationInvite,
    OrganizationMember,
    Role,
)
from mission_control.organizations.schemas import (
    BoardGrant,
    InviteAccepted,
    InviteCreate,
    InviteRead,
    OrganizationRead,
)
from mission_control.organizations.service import UserContext
from mission_control.settings import Settings
from mission_control.users.models import User

INVITE_TOKEN_PREFIX = "mci"
ACCEPT_PATH = "/invites/accept"


@dataclass(frozen=True, slots=True)
class CreatedInvite:
    invite: OrganizationInvite
    delivery: str
    delivery_error: str | None
    token: str | None
    accept_url: str | None


def status_of(invite: OrganizationInvite, now: datetime | None = None) -> str:
    if invite.revoked_at is not None:
        return "revoked"
    if invite.accepted_at is not None:
        return "accepted"
    if invite.expires_at <= (now or utcnow()):
        return "expired"
    return "pending"


def to_read(invite: OrganizationInvite) -> InviteRead:
    return InviteRead(
        id=invite.id,
        email=invite.email,
        role=invite.role,
        all_boards_read=invite.all_boards_read,
        all_boards_write=invite.all_boards_write,
        board_grants=[BoardGrant.model_validate(g) for g in invite.board_grants],
        status=status_of(invite),
        expires_at=invite.expires_at,
        accepted_at=invite.accepted_at,
        revoked_at=invite.revoked_at,
        created_at=invite.created_at,
    )


def accept_url(settings: Settings, token: str) -> str:
    return f"{settings.agent_base_url}{ACCEPT_PATH}?token={token}"


def _letter(
    organization: Organization, inviter: User, email: str, url: str, hours: int
) -> mail.Letter:
    who = inviter.preferred_name or inviter.name or inviter.email or "An administrator"
    return mail.Letter(
        to=email,
        subject=f"You are invited to {organization.name} on Mission Control",
        body=(
            f"{who} invited you to the organisation {organization.name} on Mission Control.\n\n"
            f"Sign in and accept the invite here (valid for {hours} hours, usable once):\n"
            f"{url}\n\nIf you did not expect this, ignore this message.\n"
        ),
    )


async def create_invite(
    session: AsyncSession, context: UserContext, data: InviteCreate, settings: Settings
) -> CreatedInvite:
    require_admin(context)
    if data.role == Role.OWNER and context.member.role != Role.OWNER:
        raise Forbidden("Only organisation owners may invite owners.")
    organization = context.organization
    await check_boards(session, organization.id, data.board_grants, "board_grants")
    if await repository.member_with_email(session, organization.id, data.email) is not None:
        raise Conflict(
            f"{data.email} is already a member of {organization.name}.",
            code="already_member",
        )
    hours = data.expires_in_hours or settings.invite_ttl_hours
    minted = await mint_token_in_thread(INVITE_TOKEN_PREFIX)
    url = accept_url(settings, minted.raw)
    delivery, error = "shown", None
    if mail.mail_configured(settings):
        # Mailed before the row is written, so no database lock waits on the SMTP server.
        try:
            await mail.send(settings, _letter(organization, context.user, data.email, url, hours))
            delivery = "email"
        except mail.MailError as failure:
            delivery, error = (
                "failed",
                f"The invite could not be mailed ({failure}); pass on the link.",
            )
    invite = OrganizationInvite(
        organization_id=organization.id,
        email=data.email,
        role=data.role,
        all_boards_read=data.all_boards_read,
        all_boards_write=data.all_boards_write,
        board_grants=[g.model_dump(mode="json") for g in data.board_grants],
        token_id=minted.token_id,
        token_hash=minted.hash,
        invited_by_user_id=context.user.id,
        expires_at=utcnow() + timedelta(hours=hours),
    )
    session.add(invite)
    await session.flush()
    activity.record(
        session,
        "organization.invite.created",
        f"{data.email} invited as {data.role.value} ({delivery}).",
        organization_id=organization.id,
        actor_user_id=context.user.id,
        details={"invite_id": str(invite.id), "delivery": delivery},
    )
    shown = delivery != "email"
    return CreatedInvite(
        invite=invite,
        delivery=delivery,
        delivery_error=error,
        token=minted.raw if shown else None,
        accept_url=url if shown else None,
    )


async def list_invites(
    session: AsyncSession, context: UserContext, *, limit: int, offset: int
) -> tuple[list[OrganizationInvite], int]:
    require_admin(context)
    return await repository.invites_page(
        session, context.organization.id, limit=limit, offset=offset
    )


async def revoke_invite(session: AsyncSession, context: UserContext, invite_id: uuid.UUID) -> None:
    require_admin(context)
    invite = await repository.invite_in_organization(session, context.organization.id, invite_id)
    if invite is None:
        raise NotFound("Invite not found.")
    if invite.accepted_at is not None:
        raise Conflict(
            "The invite was already accepted; remove the member instead.", code="invite_used"
        )
    if invite.revoked_at is not None:
        return
    invite.revoked_at = utcnow()
    await session.flush()
    activity.record(
        session,
        "organization.invite.revoked",
        f"Invite of {invite.email} revoked.",
        organization_id=context.organization.id,
        actor_user_id=context.user.id,
        details={"invite_id": str(invite.id)},
    )


async def _invite_for(session: AsyncSession, raw: str) -> OrganizationInvite:
    token_id = token_id_of(raw.strip(), INVITE_TOKEN_PREFIX)
    invite = await repository.invite_by_token_id(session, token_id) if token_id else None
    if invite is None or not await verify_secret_in_thread(raw.strip(), invite.token_hash):
        raise NotFound("Invite not found: the link is mistyped or was never issued.")
    return invite


def _refuse_unusable(invite: OrganizationInvite) -> None:
    state = status_of(invite)
    if state == "revoked":
        raise Gone("This invite was revoked; ask an admin for a new one.", code="invite_revoked")
    if state == "accepted":
        raise Gone("This invite was already used; invites work once.", code="invite_used")
    if state == "expired":
        raise Gone("This invite has expired; ask an admin for a new one.", code="invite_expired")


async def accept_invite(session: AsyncSession, user: User, raw: str) -> InviteAccepted:
    """Applies the invite's role, all-boards flags and board grants to the signed-in user."""
    invite = await _invite_for(session, raw)
    _refuse_unusable(invite)
    if user.email is not None and user.email.lower() != invite.email.lower():
        raise Forbidden(
            f"This invite is for {invite.email}; you are signed in as {user.email}.",
            code="invite_email_mismatch",
        )
    organization = await repository.organization(session, invite.organization_id)
    if organization is None:
        raise NotFound("Invite not found: its organisation no longer exists.")
    if await repository.membership(session, organization.id, user.id) is not None:
        raise Conflict(f"You are already a member of {organization.name}.", code="already_member")
    if not await repository.claim_invite(session, invite.id, user.id, utcnow()):
        await session.refresh(invite)
        _refuse_unusable(invite)
        raise Gone("This invite was already used; invites work once.", code="invite_used")
    member = OrganizationMember(
        organization_id=organization.id,
        user_id=user.id,
        role=invite.role,
        all_boards_read=invite.all_boards_read,
        all_boards_write=invite.all_boards_write,
    )
    session.add(member)
    await session.flush()
    grants = [BoardGrant.model_validate(g) for g in invite.board_grants]
    # Boards deleted since the invite was written are skipped.
    still_there = await repository.board_ids_in(
        session, organization.id, [g.board_id for g in grants]
    )
    await apply_grants(session, member, [g for g in grants if g.board_id in still_there])
    activity.record(
        session,
        "organization.invite.accepted",
        f"{user.email or invite.email} joined as {invite.role.value}.",
        organization_id=organization.id,
        actor_user_id=user.id,
        details={"invite_id": str(invite.id), "member_id": str(member.id)},
    )
    return InviteAccepted(
        organization=OrganizationRead(
            id=organization.id,
            name=organization.name,
            role=member.role,
            created_at=organization.created_at,
        ),
        member=await member_detail(session, member, user),
    )
