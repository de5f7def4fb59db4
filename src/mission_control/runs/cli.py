"""`missionctl runs`: start, list, show, follow and cancel task runs through Mission Control's
HTTP API (the server drives the runs; this command only asks it)."""

from __future__ import annotations

import json
import time
from typing import Annotated, Any

import httpx
import typer

app = typer.Typer(help="Task runs (isolated child sessions of agents).", no_args_is_help=True)

TERMINAL = {"succeeded", "failed", "timed_out", "cancelled", "lost"}
UrlOption = Annotated[
    str, typer.Option("--url", envvar="MC_URL", help="Mission Control's base URL.")
]
TokenOption = Annotated[
    str,
    typer.Option(
        "--token",
        envvar="MC_TOKEN",
        help="An API token (or the operator token).",
        show_default=False,
    ),
]
Board = Annotated[str, typer.Argument(help="The board's id.")]
TaskId = Annotated[str, typer.Argument(help="The task's id.")]
RunId = Annotated[str, typer.Argument(help="The run's id.")]
DEFAULT_URL = "http://127.0.0.1:8000"


def _call(url: str, token: str, method: str, path: str, **kwargs: Any) -> Any:
    headers = {"Authorization": f"Bearer {token}", **kwargs.pop("headers", {})}
    try:
        response = httpx.request(
            method, f"{url.rstrip('/')}/api/v1{path}", headers=headers, timeout=30.0, **kwargs
        )
    except httpx.HTTPError as error:
        typer.secho(f"Cannot reach Mission Control at {url}: {error}", fg="red", err=True)
        raise typer.Exit(2) from error
    body = response.json() if response.content else None
    if response.status_code >= 400:
        problem = body.get("error", {}) if isinstance(body, dict) else {}
        typer.secho(
            f"{response.status_code} {problem.get('code', 'error')}: {problem.get('message', '')}",
            fg="red",
            err=True,
        )
        raise typer.Exit(1)
    return body


def _runs(board: str, task: str) -> str:
    return f"/boards/{board}/tasks/{task}/runs"


def _echo(value: Any) -> None:
    typer.echo(json.dumps(value, indent=2))


@app.command("start")
def start(
    board: Board,
    task: TaskId,
    token: TokenOption,
    url: UrlOption = DEFAULT_URL,
    mode: Annotated[str, typer.Option(help="run (one-shot) or session (kept open).")] = "run",
    runtime: Annotated[str | None, typer.Option(help="An ACP harness agent id.")] = None,
    label: Annotated[str | None, typer.Option()] = None,
    cwd: Annotated[str | None, typer.Option(help="Absolute working directory.")] = None,
    timeout: Annotated[int | None, typer.Option(help="Seconds before it is aborted.")] = None,
    key: Annotated[
        str | None, typer.Option(help="Idempotency key: a retry starts nothing new.")
    ] = None,
) -> None:
    """Start a run of the task in its assigned agent; prints the run."""
    body = {
        k: v
        for k, v in {
            "mode": mode,
            "runtime": runtime,
            "label": label,
            "cwd": cwd,
            "timeout_seconds": timeout,
        }.items()
        if v is not None
    }
    headers = {"Idempotency-Key": key} if key else {}
    _echo(_call(url, token, "POST", _runs(board, task), json=body, headers=headers))


@app.command("list")
def list_runs(board: Board, task: TaskId, token: TokenOption, url: UrlOption = DEFAULT_URL) -> None:
    """The task's runs, newest first, and their usage summed."""
    page = _call(url, token, "GET", _runs(board, task))
    usage = _call(url, token, "GET", _runs(board, task) + "/usage")
    _echo({"runs": page["items"], "total": page["total"], "usage": usage})


@app.command("show")
def show(
    board: Board,
    task: TaskId,
    run: RunId,
    token: TokenOption,
    url: UrlOption = DEFAULT_URL,
    log: Annotated[bool, typer.Option(help="Also print the run's log.")] = False,
) -> None:
    """One run (with `--log`, its progress entries too)."""
    result = {"run": _call(url, token, "GET", f"{_runs(board, task)}/{run}")}
    if log:
        result["log"] = _call(url, token, "GET", f"{_runs(board, task)}/{run}/log")
    _echo(result)


@app.command("watch")
def watch(
    board: Board,
    task: TaskId,
    run: RunId,
    token: TokenOption,
    url: UrlOption = DEFAULT_URL,
    interval: Annotated[float, typer.Option(help="Seconds between polls.")] = 1.0,
) -> None:
    """Print the run's log as it grows, until the run ends; exits 1 unless it succeeded."""
    seen = 0
    while True:
        entries = _call(
            url, token, "GET", f"{_runs(board, task)}/{run}/log", params={"after_seq": seen}
        )
        for entry in entries:
            typer.echo(f"[{entry['seq']}] {entry['kind']}: {entry['text']}")
            seen = entry["seq"]
        current = _call(url, token, "GET", f"{_runs(board, task)}/{run}")
        if current["status"] in TERMINAL and not entries:
            outcome = current.get("final_reply") or current.get("error") or ""
            typer.echo(f"run {current['status']}: {outcome}")
            if current["status"] != "succeeded":
                raise typer.Exit(1)
            return
        time.sleep(interval)


@app.command("cancel")
def cancel(
    board: Board, task: TaskId, run: RunId, token: TokenOption, url: UrlOption = DEFAULT_URL
) -> None:
    """Stop the run on the gateway (it ends `cancelled`)."""
    _echo(_call(url, token, "POST", f"{_runs(board, task)}/{run}/cancel"))
