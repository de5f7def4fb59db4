"""Sign-in and sign-out: the pasted token becomes an HttpOnly, SameSite session cookie."""

from __future__ import annotations

import json
from dataclasses import asdict

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse

from mission_control.core.errors import DomainError, NotFound
from mission_control.oidc import flow
from mission_control.oidc import service as oidc_users
from mission_control.organizations.service import ensure_personal_organization
from mission_control.web import sessions
from mission_control.web.rendering import render
from mission_control.web.routing import CSRF_FIELD, ConsoleRoute, CsrfRefused, Web, WebDep
from mission_control.web.sessions import PRESESSION_COOKIE, SESSION_COOKIE, SESSION_LIFETIME

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)


def _safe_next(raw: str | None) -> str:
    """Only a path of this site: never another host (an open redirect)."""
    if not raw or not raw.startswith("/") or raw.startswith("//") or "\\" in raw:
        return "/"
    return raw


def _set_cookie(request: Request, response: Response, name: str, value: str, age: int) -> None:
    response.set_cookie(
        name,
        value,
        max_age=age,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path="/",
    )


def _sign_in_page(
    request: Request, *, next_path: str, error: str = "", status_code: int = 200
) -> Response:
    presession = request.cookies.get(PRESESSION_COOKIE) or sessions.new_presession_secret()
    response = render(
        request,
        "sign_in.html",
        status_code=status_code,
        title="Sign in",
        csrf_token=presession,
        next_path=next_path,
        errors={"token": error} if error else {},
        oidc_enabled=request.app.state.runtime.oidc is not None,
    )
    _set_cookie(request, response, PRESESSION_COOKIE, presession, 3600)
    return response


@router.get("/sign-in")
async def sign_in_form(request: Request, next: str | None = None) -> Response:
    return _sign_in_page(request, next_path=_safe_next(next))


@router.post("/sign-in")
async def sign_in(web: WebDep) -> Response:
    form = await web.form()
    request = web.request
    next_path = _safe_next(form.get("next"))
    presession = request.cookies.get(PRESESSION_COOKIE, "")
    if not presession or not sessions.tokens_match(form.get(CSRF_FIELD), presession):
        raise CsrfRefused
    try:
        async with web.runtime.database.unit_of_work() as session:
            secret = await sessions.sign_in(session, web.runtime, form.get("token"))
    except DomainError as error:
        return _sign_in_page(
            request, next_path=next_path, error=error.message, status_code=error.status
        )
    response = RedirectResponse(next_path, status_code=303)
    _set_cookie(request, response, SESSION_COOKIE, secret, int(SESSION_LIFETIME.total_seconds()))
    response.delete_cookie(PRESESSION_COOKIE, path="/")
    return response


@router.post("/sign-out")
async def sign_out(web: WebDep) -> Response:
    async with web.write():
        pass
    async with web.runtime.database.unit_of_work() as session:
        await sessions.sign_out(session, web.cookie)
    response = RedirectResponse("/sign-in", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


# -- single sign-on (OIDC authorization code with PKCE) ---------------------------------------

OIDC_COOKIE = "mc_oidc"
OIDC_CALLBACK = "/sign-in/oidc/callback"


def _oidc_client(web: Web) -> flow.Client:
    settings = web.runtime.settings
    secret = settings.oidc_client_secret
    return flow.Client(
        client_id=settings.oidc_client_id or settings.oidc_audience or "",
        client_secret=secret.get_secret_value() if secret else None,
        redirect_uri=f"{settings.agent_base_url}{OIDC_CALLBACK}",
        scopes=settings.oidc_scopes,
    )


@router.get("/sign-in/oidc")
async def oidc_start(web: WebDep, next: str | None = None) -> Response:
    """Sends the browser to the identity provider; the state, nonce and PKCE verifier wait
    in an HttpOnly cookie (10 minutes) for the browser to come back."""
    verifier = web.runtime.oidc
    if verifier is None:
        raise NotFound("Single sign-on is not configured (MC_AUTH_MODE).")
    pending = flow.new_sign_in(_safe_next(next))
    url = await flow.authorization_url(verifier, _oidc_client(web), pending)
    response = RedirectResponse(url, status_code=303)
    _set_cookie(web.request, response, OIDC_COOKIE, json.dumps(asdict(pending)), 600)
    return response


def _pending(raw: str | None) -> flow.PendingSignIn | None:
    try:
        data = json.loads(raw or "")
        return flow.PendingSignIn(
            **{k: str(data[k]) for k in ("state", "nonce", "code_verifier", "return_to")}
        )
    except (ValueError, KeyError, TypeError):
        return None


@router.get(OIDC_CALLBACK)
async def oidc_callback(web: WebDep, code: str = "", state: str = "", error: str = "") -> Response:
    request = web.request
    verifier = web.runtime.oidc
    if verifier is None:
        raise NotFound("Single sign-on is not configured (MC_AUTH_MODE).")
    pending = _pending(request.cookies.get(OIDC_COOKIE))
    if error or not code or pending is None or not sessions.tokens_match(state, pending.state):
        reason = error or "the sign-in was not started here or took too long"
        return _sign_in_page(
            request,
            next_path="/",
            error=f"Single sign-on failed ({reason}); try again.",
            status_code=401,
        )
    try:
        _, claims = await flow.finish_sign_in(verifier, _oidc_client(web), pending, code)
        async with web.runtime.database.unit_of_work() as session:
            user = await oidc_users.user_for_claims(session, claims)
            await ensure_personal_organization(session, user)
            secret = await sessions.open_session(session, user)
    except DomainError as failure:
        return _sign_in_page(
            request, next_path=pending.return_to, error=failure.message, status_code=failure.status
        )
    response = RedirectResponse(_safe_next(pending.return_to), status_code=303)
    _set_cookie(request, response, SESSION_COOKIE, secret, int(SESSION_LIFETIME.total_seconds()))
    response.delete_cookie(OIDC_COOKIE, path="/")
    return response
