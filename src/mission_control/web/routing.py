"""The console's route class and request helpers: every page signs the viewer in from the
session cookie, runs in one transaction, checks CSRF on posts, and turns service errors into
pages that show the API's own message (never a stack trace)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import parse_qs, quote

from fastapi import Depends, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse
from fastapi.routing import APIRoute
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.exceptions import HTTPException as StarletteHTTPException

from mission_control.access.service import board_access
from mission_control.auth import get_runtime
from mission_control.boards import repository as boards
from mission_control.boards.models import Board
from mission_control.core.errors import DomainError, NotFound
from mission_control.core.logging import get_logger
from mission_control.core.runtime import Runtime
from mission_control.web import sessions
from mission_control.web.formdata import Form
from mission_control.web.rendering import render
from mission_control.web.sessions import ORGANIZATION_COOKIE, SESSION_COOKIE, Viewer

log = get_logger("mission_control.web")

MAX_FORM_BYTES = 1_000_000
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"


class SignInRequired(Exception):
    """No valid session: the page sends the browser to the sign-in form."""


class CsrfRefused(Exception):
    """A post without this session's CSRF token."""


@dataclass
class Tx:
    """What a page works with: the database session (one transaction) and the viewer."""

    session: AsyncSession
    viewer: Viewer


class Web:
    """The console request: the runtime, the viewer, the form, transactions."""

    def __init__(self, request: Request, runtime: Runtime) -> None:
        self.request = request
        self.runtime = runtime
        self._form: Form | None = None

    @property
    def cookie(self) -> str | None:
        return self.request.cookies.get(SESSION_COOKIE)

    async def form(self) -> Form:
        if self._form is None:
            body = await self.request.body()
            if len(body) > MAX_FORM_BYTES:
                raise DomainError("The form is too large.", code="payload_too_large")
            self._form = Form(parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True))
        return self._form

    @asynccontextmanager
    async def read(self) -> AsyncIterator[Tx]:
        """A transaction as the signed-in viewer (else sign-in is required)."""
        async with self.runtime.database.unit_of_work() as session:
            organization_id = parse_uuid(self.request.cookies.get(ORGANIZATION_COOKIE, ""))
            viewer = await sessions.resolve(session, self.cookie, organization_id)
            if viewer is None:
                raise SignInRequired
            yield Tx(session=session, viewer=viewer)

    @asynccontextmanager
    async def write(self) -> AsyncIterator[Tx]:
        """Like ``read``, for a post: refused unless it carries this session's CSRF token
        (the form field, or the X-CSRF-Token header for scripted posts)."""
        form = await self.form()
        async with self.read() as tx:
            given = form.get(CSRF_FIELD) or self.request.headers.get(CSRF_HEADER)
            if not sessions.tokens_match(given, tx.viewer.csrf_token):
                raise CsrfRefused
            yield tx

    def redirect(self, path: str) -> RedirectResponse:
        return RedirectResponse(path, status_code=303)


def get_web(request: Request, runtime: Annotated[Runtime, Depends(get_runtime)]) -> Web:
    return Web(request, runtime)


WebDep = Annotated[Web, Depends(get_web)]


async def readable_board(session: AsyncSession, viewer: Viewer, board_id: uuid.UUID) -> Board:
    """The board if the viewer may read it. A board without a grant leaves no trace: it is
    "not found", like another organisation's (the API says "forbidden" inside the org)."""
    board = await boards.in_organization(session, viewer.context.organization.id, board_id)
    if board is None or not (await board_access(session, viewer.context, board)).read:
        raise NotFound("Board not found.")
    return board


def parse_uuid(raw: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(raw.strip())
    except (ValueError, AttributeError):
        return None


def validation_message(error: ValidationError) -> str:
    """Pydantic errors in the API's words: "field: message; ..."."""
    parts = []
    for item in error.errors():
        location = ".".join(str(part) for part in item.get("loc", ()))
        message = str(item.get("msg", "invalid value"))
        parts.append(f"{location}: {message}" if location else message)
    return "; ".join(parts) or "Invalid input."


def error_message(error: DomainError | ValidationError) -> str:
    if isinstance(error, ValidationError):
        return validation_message(error)
    return error.message


def _sign_in_redirect(request: Request) -> Response:
    target = request.url.path
    if request.url.query:
        target += "?" + request.url.query
    if request.method != "GET":
        target = "/"  # a post cannot be replayed after signing in
    return RedirectResponse(f"/sign-in?next={quote(target, safe='')}", status_code=303)


def error_page(request: Request, status_code: int, title: str, message: str) -> Response:
    return render(
        request, "error.html", status_code=status_code, title=title, message=message, nav=""
    )


Handler = Callable[[Request], Coroutine[Any, Any, Response]]


class ConsoleRoute(APIRoute):
    """Turns the console's exceptions into pages: sign-in redirect, CSRF refusal, and a
    service error's message with its status (404, 403, 409, 422...)."""

    def get_route_handler(self) -> Handler:
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            try:
                return await handler(request)
            except SignInRequired:
                return _sign_in_redirect(request)
            except CsrfRefused:
                return error_page(
                    request,
                    403,
                    "Form refused",
                    "This form was not sent by this console session (missing or wrong CSRF "
                    "token). Reload the page and try again.",
                )
            except RequestValidationError:
                return error_page(request, 404, "Not found", "There is no such page.")
            except ValidationError as error:
                return error_page(request, 422, "Invalid input", validation_message(error))
            except DomainError as error:
                status = error.status if 400 <= error.status < 600 else 400
                title = "Not found" if status == 404 else "Cannot do that"
                return error_page(request, status, title, error.message)
            except StarletteHTTPException:
                raise
            except Exception:
                log.exception("console_page_failed", path=request.url.path)
                return error_page(
                    request,
                    500,
                    "Something went wrong",
                    "The console could not complete this request; the server log has the details.",
                )

        return handle
