"""Role soul lookup (docs/provisioning.md#role-souls): selection rules, sitemap parsing, real
HTTP and folder sources, and the best-effort contract (an unreachable directory means no soul,
quickly, never an error)."""

from __future__ import annotations

import socket
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from mission_control.agents.models import Agent
from mission_control.boards.models import Board
from mission_control.gateways.models import Gateway
from mission_control.provisioning import service
from mission_control.provisioning.plan import GatewayCapabilities, plan_agent
from mission_control.provisioning.role_souls import (
    MAX_MARKDOWN_CHARS,
    NO_SOUL,
    RoleSoulDirectory,
    SoulRef,
    parse_sitemap,
    select_reference,
)


def _refs(*paths: str) -> list[SoulRef]:
    refs = []
    for path in paths:
        handle, slug = path.split("/")
        refs.append(SoulRef(handle, slug, f"https://souls.test/souls/{path}"))
    return refs


def _picked(role: str, refs: list[SoulRef]) -> str | None:
    ref = select_reference(role, refs)
    return None if ref is None else f"{ref.handle}/{ref.slug}"


def test_exact_slug_wins_over_prefix_and_contains() -> None:
    refs = _refs(
        "alice/backend-engineer-pro", "bob/backend-engineer", "carl/senior-backend-engineer"
    )
    assert _picked("Backend Engineer", refs) == "bob/backend-engineer"


def test_prefix_then_contains_pick_the_shortest_slug_in_directory_order() -> None:
    refs = _refs("a/writer-technical-docs", "b/writer-docs", "c/writer-apis")
    assert _picked("Writer", refs) == "b/writer-docs"  # "b" and "c" tie at 11; b comes first
    contains = _refs("a/senior-qa-lead", "b/qa-tester-x", "c/the-qa")
    # "qa-tester-x" is a prefix match and wins before "contains" is considered.
    assert _picked("QA", contains) == "b/qa-tester-x"
    assert _picked("Tester", _refs("a/senior-tester", "b/lead-tester-x")) == "a/senior-tester"


def test_token_score_needs_two_tokens_and_two_hits() -> None:
    refs = _refs("x/platform-data-eng", "y/data-engineer")
    assert _picked("Data Platform Engineer", refs) == "y/data-engineer"
    assert _picked("Quantum", refs) is None
    assert _picked("Data Scientist", _refs("x/platform-data-eng")) is None  # one hit only
    assert _picked("   ", refs) is None


def test_sitemap_keeps_only_soul_pages() -> None:
    xml = """<?xml version="1.0"?><urlset>
      <url><loc>https://d.test/souls/ana/backend-engineer</loc></url>
      <url><loc> https://d.test/souls/bo/qa/ </loc></url>
      <url><loc>https://d.test/about</loc></url>
      <url><loc>https://d.test/souls/only-handle</loc></url></urlset>"""
    refs = parse_sitemap(xml)
    assert [(r.handle, r.slug) for r in refs] == [("ana", "backend-engineer"), ("bo", "qa")]
    assert refs[0].page_url == "https://d.test/souls/ana/backend-engineer"


class _Directory(BaseHTTPRequestHandler):
    souls: dict[str, str] = {}
    hits: list[str] = []

    def do_GET(self) -> None:
        self.hits.append(self.path)
        if self.path == "/sitemap.xml":
            locs = "".join(
                f"<url><loc>http://{self.headers['Host']}/souls/{key}</loc></url>"
                for key in self.souls
            )
            self._answer(200, f"<urlset>{locs}</urlset>")
            return
        key = self.path.removeprefix("/api/souls/").removesuffix(".md")
        if self.path.startswith("/api/souls/") and key in self.souls:
            self._answer(200, self.souls[key])
            return
        self._answer(404, "not found")

    def _answer(self, status: int, body: str) -> None:
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        return


@pytest.fixture
def directory_url() -> Iterator[str]:
    _Directory.souls = {
        "ana/backend-engineer": "  # Backend engineer\nYou love boring, reliable code.  ",
        "bo/technical-writer": "x" * (MAX_MARKDOWN_CHARS + 500),
        "cy/empty-role": "   ",
    }
    _Directory.hits = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Directory)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


async def test_http_directory_lookup_trims_truncates_and_caches(directory_url: str) -> None:
    directory = RoleSoulDirectory(directory_url)
    soul = await directory.lookup("Backend Engineer")
    assert soul.markdown == "# Backend engineer\nYou love boring, reliable code."
    assert soul.source_url == f"{directory_url}/souls/ana/backend-engineer"
    long = await directory.lookup("Technical Writer")
    assert long.markdown.startswith("x" * 100)
    assert len(long.markdown) < MAX_MARKDOWN_CHARS + 100
    assert long.markdown.endswith("shortened to fit the workspace.)")
    assert await directory.lookup("Empty Role") == NO_SOUL
    assert await directory.lookup("Astronaut") == NO_SOUL
    assert _Directory.hits.count("/sitemap.xml") == 1  # the list is fetched once per hour


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_unreachable_directory_means_no_soul_and_is_not_asked_again() -> None:
    directory = RoleSoulDirectory(f"http://127.0.0.1:{_closed_port()}", timeout_seconds=2)
    assert await directory.lookup("Backend Engineer") == NO_SOUL
    started = time.monotonic()
    for _ in range(20):
        assert await directory.lookup("Backend Engineer") == NO_SOUL
    assert time.monotonic() - started < 0.5


async def test_folder_source_and_disabled_source(tmp_path: Path) -> None:
    (tmp_path / "ana").mkdir()
    (tmp_path / "ana" / "data-engineer.md").write_text("Pipelines first.", encoding="utf-8")
    soul = await RoleSoulDirectory(str(tmp_path)).lookup("Data Platform Engineer")
    assert soul.markdown == "Pipelines first."
    assert soul.source_url == (tmp_path / "ana" / "data-engineer.md").as_uri()
    assert (await RoleSoulDirectory(tmp_path.as_uri()).lookup("data engineer")).markdown
    disabled = RoleSoulDirectory(None)
    assert not disabled.enabled
    assert await disabled.lookup("Data Engineer") == NO_SOUL


def _loaded(tmp_path: Path, *, lead: bool) -> service.Loaded:
    gw = Gateway(
        id=uuid.uuid4(), organization_id=uuid.uuid4(), name="g", url="ws://x", workspace_root="/w"
    )
    board = Board(
        id=uuid.uuid4(),
        organization_id=gw.organization_id,
        gateway_id=gw.id,
        name="B",
        slug="b",
        board_type="goal",
        goal_confirmed=False,
        require_approval_for_done=False,
        require_review_before_done=False,
        comment_required_for_review=False,
        block_status_changes_with_pending_approval=False,
        only_lead_can_change_status=False,
        max_agents=3,
    )
    agent = Agent(
        id=uuid.uuid4(),
        gateway_id=gw.id,
        board_id=board.id,
        name="Ada",
        name_key="ada",
        is_board_lead=lead,
        auto_heartbeat_enabled=True,
        auto_heartbeat_off=False,
        identity_profile={"role": "Data Engineer"},
    )
    return service.Loaded(agent=agent, board=board, gateway=gw, user=None)


@pytest.mark.parametrize("lead", [False, True])
async def test_workers_get_the_soul_in_soul_md_and_leads_never_look(
    tmp_path: Path, lead: bool
) -> None:
    (tmp_path / "ana").mkdir()
    (tmp_path / "ana" / "data-engineer.md").write_text("Pipelines first.", encoding="utf-8")
    loaded = _loaded(tmp_path, lead=lead)
    await service.attach_role_soul(RoleSoulDirectory(str(tmp_path)), loaded)
    caps = GatewayCapabilities(workspace_files=frozenset({"AGENTS.md", "SOUL.md", "IDENTITY.md"}))
    soul_md = plan_agent(
        loaded.render_inputs("http://mc", "mca_x"), caps, action="provision"
    ).files["SOUL.md"]
    assert ("Pipelines first." in soul_md) is (not lead)
    assert (loaded.role_soul == NO_SOUL) is lead
