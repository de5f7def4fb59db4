"""``missionctl``'s everyday commands against a running server's HTTP API: the fleet's status,
boards, agents, tasks, approvals, gateways and personal API tokens. Every command takes
``--url``/``--token`` (env MC_URL / MC_TOKEN), prints a table or ``--json``, and exits non-zero
with the server's message when something fails."""

from __future__ import annotations

import functools
import time
from collections import Counter
from collections.abc import Callable
from typing import Annotated, Any, ParamSpec, TypeVar

import typer

from mission_control.cli_api.client import (
    Api,
    CliError,
    JsonOption,
    TokenOption,
    UrlOption,
    emit,
    fail,
)

API = "/api/v1"
P = ParamSpec("P")
R = TypeVar("R")

boards_app = typer.Typer(help="Boards of your organisation.", no_args_is_help=True)
agents_app = typer.Typer(help="Agents: list and show.", no_args_is_help=True)
tasks_app = typer.Typer(help="Tasks of a board.", no_args_is_help=True)
approvals_app = typer.Typer(
    help="Approvals: list pending ones, approve or reject.", no_args_is_help=True
)
gateways_app = typer.Typer(
    help="Registered gateways over the API: list, connection status, template sync.",
    no_args_is_help=True,
)
tokens_app = typer.Typer(help="Your personal API tokens (mcu_...).", no_args_is_help=True)

SYNC_RUNNING = ("queued", "running")
SYNC_POLL_SECONDS = 0.5

BoardOption = Annotated[str | None, typer.Option("--board", help="Only this board (id).")]


def reported(command: Callable[P, R]) -> Callable[P, R]:
    """A failed call ends the command with its message and exit code, never a traceback."""

    @functools.wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except CliError as error:
            fail(error.message, error.code)

    return wrapper


# -- status ---------------------------------------------------------------------------------


def fleet_status(api: Api) -> dict[str, Any]:
    """Gateways with their connection state, agents by status, pending approvals."""
    gateways = []
    for gateway in api.pages(f"{API}/gateways"):
        state = api.get(f"{API}/gateways/{gateway['id']}/status")
        error = state.get("error") or {}
        gateways.append(
            {
                "id": gateway["id"],
                "name": gateway["name"],
                "url": gateway["url"],
                "connected": bool(state.get("connected")),
                "server_version": state.get("server_version"),
                "problem": error.get("message"),
            }
        )
    agents = list(api.pages(f"{API}/agents"))
    boards = list(api.pages(f"{API}/boards"))
    pending = 0
    for board in boards:
        page = api.get(f"{API}/boards/{board['id']}/approvals", status="pending", limit=1)
        pending += int(page.get("total", 0))
    return {
        "gateways": gateways,
        "agents_total": len(agents),
        "agents_by_status": dict(sorted(Counter(a["status"] for a in agents).items())),
        "boards": len(boards),
        "pending_approvals": pending,
    }


def status(url: UrlOption = None, token: TokenOption = None, as_json: JsonOption = False) -> None:
    """The fleet at a glance: each gateway's connection, agents by status, pending approvals.
    Exits 1 when a gateway is not connected."""
    try:
        report = fleet_status(Api.from_options(url, token))
    except CliError as error:
        fail(error.message, error.code)
    if as_json:
        emit(report, True)
    else:
        typer.echo("Gateways:")
        for gateway in report["gateways"]:
            state = "connected" if gateway["connected"] else f"NOT connected: {gateway['problem']}"
            typer.echo(f"  {gateway['name']} ({gateway['url']}): {state}")
        if not report["gateways"]:
            typer.echo("  (none registered)")
        by_status = ", ".join(f"{k} {v}" for k, v in report["agents_by_status"].items())
        typer.echo(f"Agents: {report['agents_total']}" + (f" ({by_status})" if by_status else ""))
        typer.echo(f"Boards: {report['boards']}")
        typer.echo(f"Pending approvals: {report['pending_approvals']}")
    if any(not g["connected"] for g in report["gateways"]):
        raise typer.Exit(1)


# -- boards, agents, tasks ------------------------------------------------------------------


@boards_app.command("list")
@reported
def boards_list(
    url: UrlOption = None, token: TokenOption = None, as_json: JsonOption = False
) -> None:
    """Every board you may read."""
    rows = list(Api.from_options(url, token).pages(f"{API}/boards"))
    emit(rows, as_json, ["id", "name", "slug", "gateway_id", "board_type"])


@agents_app.command("list")
@reported
def agents_list(
    board: BoardOption = None,
    gateway: Annotated[str | None, typer.Option("--gateway", help="Only this gateway.")] = None,
    agent_status: Annotated[
        str | None, typer.Option("--status", help="Only agents with this status.")
    ] = None,
    url: UrlOption = None,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """Agents you may see, with their computed status (offline after missed heartbeats)."""
    api = Api.from_options(url, token)
    rows = list(api.pages(f"{API}/agents", board_id=board, gateway_id=gateway))
    if agent_status:
        rows = [row for row in rows if row["status"] == agent_status]
    emit(rows, as_json, ["id", "name", "status", "board_id", "is_board_lead", "last_seen_at"])


@agents_app.command("show")
@reported
def agents_show(
    agent_id: Annotated[str, typer.Argument(help="The agent's id.")],
    url: UrlOption = None,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """One agent: status, heartbeat, provisioning state and its last provisioning error."""
    emit(Api.from_options(url, token).get(f"{API}/agents/{agent_id}"), as_json)


@tasks_app.command("list")
@reported
def tasks_list(
    board: Annotated[str, typer.Option("--board", help="The board (id).")],
    task_status: Annotated[
        str | None, typer.Option("--status", help="inbox, in_progress, review, done...")
    ] = None,
    url: UrlOption = None,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """Tasks of a board."""
    api = Api.from_options(url, token)
    rows = list(api.pages(f"{API}/boards/{board}/tasks", status=task_status))
    emit(rows, as_json, ["id", "title", "status", "priority", "assigned_agent_id"])


# -- approvals ------------------------------------------------------------------------------


def _boards(api: Api, board: str | None) -> list[str]:
    return [board] if board else [b["id"] for b in api.pages(f"{API}/boards")]


@approvals_app.command("list")
@reported
def approvals_list(
    board: BoardOption = None,
    approval_status: Annotated[
        str, typer.Option("--status", help="pending, approved or rejected.")
    ] = "pending",
    url: UrlOption = None,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """Approvals (default: the pending ones) on one board or on every board you may read."""
    api = Api.from_options(url, token)
    rows = [
        row
        for board_id in _boards(api, board)
        for row in api.pages(f"{API}/boards/{board_id}/approvals", status=approval_status)
    ]
    emit(rows, as_json, ["id", "board_id", "action_type", "status", "confidence", "agent_id"])


def _find_approval(api: Api, approval_id: str, board: str | None) -> dict[str, Any]:
    for board_id in _boards(api, board):
        try:
            found: dict[str, Any] = api.get(f"{API}/boards/{board_id}/approvals/{approval_id}")
        except CliError as error:
            if error.status == 404:
                continue
            raise
        return found
    raise CliError(f"Approval {approval_id} not found on any board you may read.")


def _resolve(
    approval_id: str, decision: str, note: str | None, board: str | None, api: Api
) -> dict[str, Any]:
    approval = _find_approval(api, approval_id, board)
    body = {"status": decision, "note": note}
    resolved: dict[str, Any] = api.post(
        f"{API}/boards/{approval['board_id']}/approvals/{approval_id}/resolve", body
    )
    return resolved


NoteOption = Annotated[str | None, typer.Option("--note", help="Why (kept with the decision).")]
ApprovalArg = Annotated[str, typer.Argument(help="The approval's id.")]


@approvals_app.command("approve")
@reported
def approvals_approve(
    approval_id: ApprovalArg,
    note: NoteOption = None,
    board: BoardOption = None,
    url: UrlOption = None,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """Approve a pending approval (needs write access to its board)."""
    emit(_resolve(approval_id, "approved", note, board, Api.from_options(url, token)), as_json)


@approvals_app.command("reject")
@reported
def approvals_reject(
    approval_id: ApprovalArg,
    note: NoteOption = None,
    board: BoardOption = None,
    url: UrlOption = None,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """Reject a pending approval (needs write access to its board)."""
    emit(_resolve(approval_id, "rejected", note, board, Api.from_options(url, token)), as_json)


# -- gateways -------------------------------------------------------------------------------


@gateways_app.command("list")
@reported
def gateways_list(
    url: UrlOption = None, token: TokenOption = None, as_json: JsonOption = False
) -> None:
    """Registered gateways (org admins)."""
    rows = list(Api.from_options(url, token).pages(f"{API}/gateways"))
    emit(rows, as_json, ["id", "name", "url", "workspace_root"])


@gateways_app.command("status")
@reported
def gateways_status(
    gateway_id: Annotated[str, typer.Argument(help="The gateway's id.")],
    url: UrlOption = None,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """Connect to a gateway and report version, pairing, agents and sessions; exits 1 when it
    is not connected (the error says what to check)."""
    report = Api.from_options(url, token).get(f"{API}/gateways/{gateway_id}/status")
    if as_json:
        emit(report, True)
    else:
        summary = {
            key: report.get(key)
            for key in ("gateway_url", "connected", "server_version", "agents_count")
        }
        summary["pairing"] = (report.get("pairing") or {}).get("state")
        if report.get("error"):
            summary["error"] = report["error"].get("message")
        emit(summary, False)
    if not report.get("connected"):
        raise typer.Exit(1)


@gateways_app.command("sync")
@reported
def gateways_sync(
    gateway_id: Annotated[str, typer.Argument(help="The gateway's id.")],
    include_main: Annotated[bool, typer.Option(help="Also sync the gateway agent.")] = True,
    reset_sessions: Annotated[bool, typer.Option(help="Reset the agents' sessions.")] = False,
    rotate_tokens: Annotated[bool, typer.Option(help="Give every agent a new token.")] = False,
    force_bootstrap: Annotated[bool, typer.Option(help="Rewrite BOOTSTRAP.md.")] = False,
    board: BoardOption = None,
    url: UrlOption = None,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """Re-render and re-write every agent's workspace on a gateway, through the server; prints
    the report and exits 1 when it lists errors."""
    api = Api.from_options(url, token)
    report = api.post(
        f"{API}/gateways/{gateway_id}/templates/sync",
        None,
        include_main=include_main,
        reset_sessions=reset_sessions,
        rotate_tokens=rotate_tokens,
        force_bootstrap=force_bootstrap,
        board_id=board,
        wait=False,
    )
    report = _until_sync_finished(api, gateway_id, report)
    emit(report, as_json)
    if report.get("errors"):
        raise typer.Exit(1)


def _until_sync_finished(api: Api, gateway_id: str, report: dict[str, Any]) -> dict[str, Any]:
    """Follows a sync the server is still running until it ends (docs/gateway.md)."""
    while report.get("status") in SYNC_RUNNING:
        time.sleep(SYNC_POLL_SECONDS)
        report = api.get(f"{API}/gateways/{gateway_id}/templates/syncs/{report['id']}")
    return report


# -- personal API tokens ----------------------------------------------------------------------


@tokens_app.command("list")
@reported
def tokens_list(
    url: UrlOption = None, token: TokenOption = None, as_json: JsonOption = False
) -> None:
    """Your personal API tokens (never the secrets)."""
    rows = Api.from_options(url, token).get(f"{API}/users/me/tokens")
    emit(rows, as_json, ["id", "name", "created_at", "last_used_at"])


@tokens_app.command("create")
@reported
def tokens_create(
    name: Annotated[str, typer.Argument(help="What the token is for.")],
    url: UrlOption = None,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """Create a personal API token; the secret is printed once, keep it now."""
    created = Api.from_options(url, token).post(f"{API}/users/me/tokens", {"name": name})
    emit(created, as_json)


@tokens_app.command("revoke")
@reported
def tokens_revoke(
    token_id: Annotated[str, typer.Argument(help="The token's id (from `tokens list`).")],
    url: UrlOption = None,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """Revoke a personal API token; it stops working at once."""
    Api.from_options(url, token).request("DELETE", f"{API}/users/me/tokens/{token_id}")
    emit({"revoked": token_id}, as_json)


def register(app: typer.Typer) -> None:
    """Adds the API commands to ``missionctl``."""
    app.command("status")(status)
    app.add_typer(boards_app, name="boards")
    app.add_typer(agents_app, name="agents")
    app.add_typer(tasks_app, name="tasks")
    app.add_typer(approvals_app, name="approvals")
    app.add_typer(gateways_app, name="gateways")
    app.add_typer(tokens_app, name="tokens")
