"""Sign-in and sign-out: the pasted token becomes an HttpOnly, SameSite session cookie."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse

from mission_control.core.errors import DomainError
from mission_control.web import sessions
from mission_control.web.rendering import render
from mission_control.web.routing import CSRF_FIELD, ConsoleRoute, CsrfRefused, WebDep
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
