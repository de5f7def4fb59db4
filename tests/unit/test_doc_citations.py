"""The rules live in docs/: no source cites the outside specification by section any more, and
every ``docs/<page>.md#<anchor>`` citation names a page and a heading that exist."""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
SCANNED = ("src", "tests", "bench")
TEXT_SUFFIXES = frozenset({".py", ".j2", ".md", ".html", ".js", ".css", ".toml", ".txt", ".sh"})
THIS_FILE = Path(__file__).resolve()

# "SPEC 6.2", "SPEC §2" and the bare "§11.8" all point at the specification outside the repo.
SPEC_CITATION = re.compile(r"\bSPEC\s*§?\s*\d|§\s*\d")
DOC_CITATION = re.compile(r"(?<![\w./-])docs/([\w./-]+?\.md)(?:#([\w-]+))?")
PAGE_LINK = re.compile(r"\]\(#([\w-]+)\)")
HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$")
FENCE = re.compile(r"^\s*(```|~~~)")
MARKDOWN_LINK = re.compile(r"\[([^\]]*)\]\([^)]*\)")


def github_anchor(heading: str) -> str:
    """The anchor GitHub gives a heading: link text kept, lowercased, punctuation dropped
    (letters, digits, ``_``, ``-`` and spaces stay), spaces become ``-``."""
    text = MARKDOWN_LINK.sub(r"\1", heading).strip().lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def headings(markdown: str) -> Iterator[str]:
    fenced = False
    for line in markdown.splitlines():
        if FENCE.match(line):
            fenced = not fenced
        elif not fenced and (match := HEADING.match(line)):
            yield match.group(1)


@cache
def anchors(page: Path) -> frozenset[str]:
    """Every anchor of a page; a repeated heading gets ``-1``, ``-2``, ... as on GitHub."""
    seen: dict[str, int] = {}
    found: set[str] = set()
    for heading in headings(page.read_text(encoding="utf-8")):
        anchor = github_anchor(heading)
        count = seen.get(anchor, 0)
        seen[anchor] = count + 1
        found.add(anchor if count == 0 else f"{anchor}-{count}")
    return frozenset(found)


def broken_citations(text: str, docs: Path = DOCS) -> list[str]:
    """The ``docs/...`` citations in ``text`` whose page or heading anchor does not exist."""
    broken = []
    for match in DOC_CITATION.finditer(text):
        page, anchor = docs / match.group(1), match.group(2)
        if not page.is_file() or (anchor is not None and anchor not in anchors(page)):
            broken.append(match.group(0))
    return broken


def source_files() -> Iterator[Path]:
    for folder in SCANNED:
        for path in sorted((ROOT / folder).rglob("*")):
            if path.suffix in TEXT_SUFFIXES and path.is_file() and path.resolve() != THIS_FILE:
                yield path


def doc_files() -> list[Path]:
    return [ROOT / "README.md", *sorted(DOCS.glob("*.md"))]


def lines_of(paths: list[Path]) -> Iterator[tuple[str, str]]:
    for path in paths:
        text = path.read_text(encoding="utf-8", errors="replace")
        for number, line in enumerate(text.splitlines(), start=1):
            yield f"{path.relative_to(ROOT)}:{number}", line


def test_no_spec_section_citation_is_left() -> None:
    left = [
        f"{where}: {line.strip()}"
        for where, line in lines_of([*source_files(), *doc_files()])
        if SPEC_CITATION.search(line)
    ]
    assert left == []


def test_every_docs_citation_names_an_existing_page_and_heading() -> None:
    broken = [
        f"{where}: {citation}"
        for where, line in lines_of([*source_files(), *doc_files()])
        for citation in broken_citations(line)
    ]
    assert broken == []


def test_links_within_a_docs_page_name_its_own_headings() -> None:
    broken = [
        f"{page.relative_to(ROOT)}: #{anchor}"
        for page in doc_files()
        for anchor in PAGE_LINK.findall(page.read_text(encoding="utf-8"))
        if anchor not in anchors(page)
    ]
    assert broken == []


def test_a_wrong_page_or_heading_is_reported() -> None:
    text = (
        "see docs/agents.md#computed-status and docs/agents.md, "
        "not docs/agents.md#no-such-heading nor docs/no-such-page.md"
    )
    assert broken_citations(text) == ["docs/agents.md#no-such-heading", "docs/no-such-page.md"]


def test_anchors_follow_github() -> None:
    assert github_anchor("Capacity: max_agents") == "capacity-max_agents"
    assert github_anchor("BOOTSTRAP.md on update") == "bootstrapmd-on-update"
    assert github_anchor("What happens on the gateway (2026.9.6)") == (
        "what-happens-on-the-gateway-202696"
    )
    assert github_anchor("A local gateway to try things: `missionctl dev-gateway`") == (
        "a-local-gateway-to-try-things-missionctl-dev-gateway"
    )
    assert github_anchor("See [the routes](#routes) here") == "see-the-routes-here"


def test_a_spec_citation_is_recognised() -> None:
    assert SPEC_CITATION.search("computed status (SPEC 6.2)")
    assert SPEC_CITATION.search("identities (SPEC §2)")
    assert SPEC_CITATION.search("tokens are stored first (§11.8)")
    assert not SPEC_CITATION.search("the SPECIAL case 6 of docs/agents.md#routes")
