"""FastAPI app factory and lifespan: wires settings, database, secrets and routers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from mission_control import __version__
from mission_control.activity.router import agent_router as activity_agent_router
from mission_control.activity.router import router as activity_router
from mission_control.agents.agent_router import router as agent_api_router
from mission_control.agents.events import register_stream_hooks
from mission_control.agents.metrics import refresh_fleet_metrics
from mission_control.agents.router import router as agents_router
from mission_control.approvals.agent_router import router as approvals_agent_router
from mission_control.approvals.router import router as approvals_router
from mission_control.auth import RuntimeDep
from mission_control.boards.group_router import router as board_groups_router
from mission_control.boards.router import router as boards_router
from mission_control.coordination.router import router as coordination_router
from mission_control.core import migrations
from mission_control.core.api import API_PREFIX
from mission_control.core.db import Database
from mission_control.core.events import running_bus
from mission_control.core.http_errors import error_body, install_error_handlers
from mission_control.core.logging import configure_logging, get_logger
from mission_control.core.middleware import RequestContextMiddleware
from mission_control.core.oidc import IssuerConfig, OidcVerifier
from mission_control.core.openapi import install_docs
from mission_control.core.request_guard import install_request_guard
from mission_control.core.runtime import Runtime
from mission_control.core.security import SecretBox
from mission_control.gateways.failures import gateway_failure
from mission_control.gateways.router import router as gateways_router
from mission_control.governor.service import running_governor
from mission_control.memory.router import agent_router as memory_agent_router
from mission_control.memory.router import router as memory_router
from mission_control.notifications.delivery import running_notifier
from mission_control.onboarding.agent_router import router as onboarding_agent_router
from mission_control.onboarding.router import router as onboarding_router
from mission_control.organizations.router import invites_router
from mission_control.organizations.router import router as organizations_router
from mission_control.provisioning.reconciler import running_reconciler
from mission_control.provisioning.sync_jobs import SYNC_RUNNERS
from mission_control.runs.agent_router import router as runs_agent_router
from mission_control.runs.executor import running_runs
from mission_control.runs.router import router as runs_router
from mission_control.settings import Settings
from mission_control.streams.router import agent_router as streams_agent_router
from mission_control.streams.router import router as streams_router
from mission_control.tasks.agent_router import router as tasks_agent_router
from mission_control.tasks.router import router as tasks_router
from mission_control.users.router import router as users_router
from mission_control.web import mount_console
from mission_control.webhooks.router import public_router as webhooks_public_router
from mission_control.webhooks.router import router as webhooks_router

log = get_logger("mission_control.app")


def build_runtime(settings: Settings, database: Database | None = None) -> Runtime:
    """Everything the app needs, validated up front so a bad setting fails at start-up."""
    register_stream_hooks()
    # Without local auth there is no operator token: it is refused, so it is not required.
    operator_token = settings.operator_token() if settings.local_enabled else ""
    if settings.secret_key is not None:
        secrets = SecretBox(settings.secret_key.get_secret_value())
    else:
        secrets = SecretBox.from_key_file(settings.data_dir / "secret.key")
    return Runtime(
        settings=settings,
        database=database or Database(settings.resolved_database_url, echo=settings.db_echo),
        secrets=secrets,
        operator_token=operator_token,
        oidc=_oidc_verifier(settings),
    )


def _oidc_verifier(settings: Settings) -> OidcVerifier | None:
    if not settings.oidc_enabled:
        return None
    issuer, audience = settings.require_oidc()
    return OidcVerifier(
        IssuerConfig(
            issuer=issuer,
            audience=audience,
            leeway_seconds=settings.oidc_leeway_seconds,
            jwks_cache_seconds=settings.oidc_jwks_cache_seconds,
            jwks_min_refetch_seconds=settings.oidc_jwks_min_refetch_seconds,
        )
    )


def _ops_router() -> APIRouter:
    router = APIRouter(tags=["operations"])

    @router.get("/healthz")
    async def healthz() -> dict[str, str]:
        """Liveness: the process answers."""
        return {"status": "ok", "version": __version__}

    @router.get("/readyz", response_model=None)
    async def readyz(runtime: RuntimeDep) -> Any:
        """Readiness: the database answers and its schema is current."""
        try:
            await runtime.database.ping()
            current = await migrations.current_revision(runtime.database.engine)
        except Exception as error:  # any failure means "not ready"; say why
            log.warning("readiness_failed", error=str(error))
            return JSONResponse(
                error_body("not_ready", f"Database unreachable: {error.__class__.__name__}."),
                status_code=503,
            )
        head = migrations.head_revision()
        if current != head:
            return JSONResponse(
                error_body(
                    "not_ready",
                    f"Database schema is at {current or 'nothing'}, code expects {head}; "
                    "run `missionctl db upgrade`.",
                ),
                status_code=503,
            )
        return {"status": "ready", "database": runtime.database.dialect, "schema": current}

    @router.get("/metrics", response_class=PlainTextResponse)
    async def metrics(runtime: RuntimeDep) -> Response:
        """Prometheus metrics."""
        await refresh_fleet_metrics(runtime)
        return Response(generate_latest(runtime.registry), media_type=CONTENT_TYPE_LATEST)

    return router


def create_app(settings: Settings | None = None, *, runtime: Runtime | None = None) -> FastAPI:
    if runtime is None:
        runtime = build_runtime(settings or Settings())
    configure_logging(runtime.settings.log_level, runtime.settings.log_format)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        log.info("startup", version=__version__, database=runtime.database.dialect)
        try:
            async with (
                running_bus(runtime.database),
                running_notifier(runtime),
                running_reconciler(runtime),
                running_governor(runtime),
                running_runs(runtime),
            ):
                yield
        finally:
            # Syncs cut short keep their rows; another process (or the next start) takes
            # them over once their lease lapses.
            await runtime.part(SYNC_RUNNERS).close()
            await runtime.gateway_pool.close()
            await runtime.database.dispose()
            log.info("shutdown")

    app = FastAPI(
        title="Mission Control",
        version=__version__,
        lifespan=lifespan,
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=None,
        redoc_url=None,
    )
    app.state.runtime = runtime
    install_docs(app)
    install_error_handlers(app, gateway_failure)
    install_request_guard(app, max_body_bytes=runtime.settings.max_body_bytes)
    app.add_middleware(RequestContextMiddleware, metrics=runtime.http_metrics)
    app.include_router(_ops_router())
    for router in (
        organizations_router,
        invites_router,
        users_router,
        gateways_router,
        boards_router,
        board_groups_router,
        agent_api_router,
        agents_router,
        tasks_router,
        tasks_agent_router,
        approvals_router,
        approvals_agent_router,
        memory_router,
        memory_agent_router,
        activity_router,
        activity_agent_router,
        streams_router,
        streams_agent_router,
        webhooks_router,
        webhooks_public_router,
        coordination_router,
        onboarding_router,
        onboarding_agent_router,
        runs_router,
        runs_agent_router,
    ):
        app.include_router(router)
    mount_console(app)
    return app
