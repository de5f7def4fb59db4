"""Effects of a unit of work: registered on its session while it runs (apply, deliver, wake),
run once it committed, each in its own sessions, and dropped when it rolls back."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncSession

Effect = Callable[[], Awaitable[None]]

_EFFECTS = "mission_control.after_commit"
_ENDED = "mission_control.transaction_ended"


def after_commit(session: AsyncSession, effect: Effect) -> None:
    """Run ``effect`` once the unit of work owning ``session`` committed; never when it rolls
    back. An effect that raises fails the request (its commit stands): it reports its own
    outcome, recorded in its own transaction."""
    effects: list[Effect] = session.info.setdefault(_EFFECTS, [])
    effects.append(effect)


def take_effects(session: AsyncSession) -> list[Effect]:
    """The effects registered so far, handed over once (the caller runs them)."""
    effects: list[Effect] = session.info.pop(_EFFECTS, [])
    return effects


def discard_effects(session: AsyncSession) -> None:
    session.info.pop(_EFFECTS, None)
    session.info.pop(_ENDED, None)


async def run_effects(effects: list[Effect]) -> None:
    """In registration order; the first one that raises stops the rest."""
    for effect in effects:
        await effect()


async def end_transaction(session: AsyncSession) -> None:
    """The unit of work's commit, brought forward: for a flow whose answer is a gateway call's
    result, which must run with no transaction open (house rule 2). Commits what the request
    did so far and runs its effects; the unit of work then commits only what is written after
    (the call's recorded outcome)."""
    await session.commit()
    session.info[_ENDED] = True
    await run_effects(take_effects(session))


def needs_commit(session: AsyncSession) -> bool:
    """False when the transaction was ended early and nothing was done since."""
    if not session.info.get(_ENDED):
        return True
    return session.in_transaction() or bool(session.new or session.dirty or session.deleted)
