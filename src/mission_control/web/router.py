"""Every console page router, in one list: a new page module adds its router here."""

from __future__ import annotations

from fastapi import APIRouter

from mission_control.web import (
    auth_pages,
    live,
    pages_account,
    pages_activity,
    pages_agents,
    pages_approvals,
    pages_board_settings,
    pages_boards,
    pages_dashboard,
    pages_gateways,
    pages_onboarding,
    pages_runs,
    pages_tasks,
    pages_teams,
)

router = APIRouter(include_in_schema=False)
for page_router in (
    auth_pages.router,
    live.router,
    pages_dashboard.router,
    pages_boards.router,
    pages_tasks.router,
    pages_runs.router,
    pages_approvals.router,
    pages_activity.router,
    pages_teams.router,
    pages_gateways.router,
    pages_agents.router,
    pages_onboarding.router,
    pages_board_settings.router,
    pages_account.router,
):
    router.include_router(page_router)
