"""The HTTP side of ``missionctl``'s everyday commands: where the server is, which token to send,
and one request helper that turns every failure into a clear message (never a traceback)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, NoReturn

import httpx
import typer

DEFAULT_URL = "http://127.0.0.1:8000"
TOKEN_FILE = "operator-token"
PAGE_LIMIT = 200

UrlOption = Annotated[
    str | None,
    typer.Option(
        "--url",
        envvar="MC_URL",
        help="Mission Control's address [env MC_URL; default http://127.0.0.1:8000].",
        show_default=False,
    ),
]
TokenOption = Annotated[
    str | None,
    typer.Option(
        "--token",
        envvar="MC_TOKEN",
        help="Operator or personal API token [env MC_TOKEN; default: MC_AUTH_TOKEN, then the "
        "data directory's operator-token file].",
        show_default=False,
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


class CliError(Exception):
    """A command failed; the message says what to do. Exit code 1 (2: usage or setup)."""

    def __init__(
        self,
        message: str,
        code: int = 1,
        *,
        status: int | None = None,
        error_code: str | None = None,
        details: Any = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        # The server's answer, when there was one: HTTP status and our error body's fields.
        self.status = status
        self.error_code = error_code
        self.details = details


def fail(message: str, code: int = 1) -> NoReturn:
    typer.secho(message, fg=typer.colors.RED, err=True)
    raise typer.Exit(code)


def resolve_token(token: str | None) -> str:
    """--token / MC_TOKEN, else MC_AUTH_TOKEN, else <data dir>/operator-token."""
    if token and token.strip():
        return token.strip()
    env = os.environ.get("MC_AUTH_TOKEN", "").strip()
    if env:
        return env
    from mission_control.settings import Settings

    try:
        data_dir = Settings().data_dir
    except ValueError as error:
        raise CliError(f"Invalid settings: {error}", 2) from error
    path = Path(data_dir) / TOKEN_FILE
    if path.is_file():
        return path.read_text(encoding="utf-8").strip()
    raise CliError(
        f"No token: pass --token or set MC_TOKEN (no operator-token file in {data_dir}; "
        "MC_DATA_DIR selects the data directory the server uses).",
        2,
    )


@dataclass
class Api:
    """One Mission Control server, called with one token."""

    url: str
    token: str = field(repr=False)
    timeout: float = 60.0

    @classmethod
    def from_options(cls, url: str | None, token: str | None) -> Api:
        return cls(url=(url or DEFAULT_URL).rstrip("/"), token=resolve_token(token))

    def request(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        params: dict[str, Any] | None = None,
    ) -> Any:
        """The decoded JSON answer (None for 204); CliError with the server's message else."""
        clean = {k: v for k, v in (params or {}).items() if v is not None}
        try:
            response = httpx.request(
                method,
                f"{self.url}{path}",
                json=body,
                params=clean,
                headers={"Authorization": f"Bearer {self.token}"},
                timeout=self.timeout,
            )
        except httpx.HTTPError as error:
            raise CliError(
                f"Cannot reach Mission Control at {self.url} ({error.__class__.__name__}: "
                f"{error}). Is it running? Start it with `scripts/serve.sh` or pass --url."
            ) from error
        if response.status_code == 204:
            return None
        try:
            payload = response.json()
        except ValueError:
            payload = None
        if response.is_success:
            return payload
        body = payload.get("error") if isinstance(payload, dict) else None
        fields: dict[str, Any] = body if isinstance(body, dict) else {}
        raise CliError(
            _error_message(response.status_code, payload, response.text),
            status=response.status_code,
            error_code=fields.get("code"),
            details=fields.get("details"),
        )

    def get(self, path: str, **params: Any) -> Any:
        return self.request("GET", path, params=params)

    def post(self, path: str, body: Any = None, **params: Any) -> Any:
        return self.request("POST", path, body=body, params=params)

    def pages(self, path: str, **params: Any) -> Iterator[dict[str, Any]]:
        """Every item of a paged list endpoint."""
        offset = 0
        while True:
            page = self.get(path, limit=PAGE_LIMIT, offset=offset, **params)
            items = page.get("items", []) if isinstance(page, dict) else []
            yield from items
            offset += len(items)
            if not items or offset >= int(page.get("total", 0)):
                return


def _error_message(status: int, payload: Any, text: str) -> str:
    error = payload.get("error") if isinstance(payload, dict) else None
    if isinstance(error, dict):
        message = f"HTTP {status} {error.get('code')}: {error.get('message')}"
        details = error.get("details")
        if details:
            message += f"\ndetails: {json.dumps(details, default=str)}"
    else:
        message = f"HTTP {status}: {text[:500]}"
    if status == 401:
        message += "\n(check --token / MC_TOKEN: the server refused the token)"
    return message


def emit(data: Any, as_json: bool, columns: list[str] | None = None) -> None:
    """JSON on request; otherwise a plain table of ``columns`` (a list) or key: value lines."""
    if as_json:
        typer.echo(json.dumps(data, indent=2, default=str))
        return
    if isinstance(data, list):
        typer.echo(table(data, columns or []))
        return
    if isinstance(data, dict):
        for key, value in data.items():
            shown = json.dumps(value, default=str) if isinstance(value, dict | list) else value
            typer.echo(f"{key}: {shown}")
        return
    typer.echo(str(data))


def table(rows: list[dict[str, Any]], columns: list[str]) -> str:
    if not rows:
        return "(none)"
    cells = [[_cell(row.get(column)) for column in columns] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
    lines = ["  ".join(c.upper().ljust(w) for c, w in zip(columns, widths, strict=True))]
    lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)) for r in cells]
    return "\n".join(line.rstrip() for line in lines)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)
