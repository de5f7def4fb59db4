"""Role "soul" lookup for board workers (docs/provisioning.md#role-souls): best effort, never a
reason to fail.

A souls directory lists references ``<handle>/<slug>``; the worker's role picks one (exact slug,
then prefix, then contains, then a token score) and its markdown goes into the worker's SOUL.md.
The source is configurable (``MC_ROLE_SOUL_DIRECTORY``): an HTTP(S) directory with a sitemap of
``/souls/<handle>/<slug>`` pages and markdown at ``/api/souls/<handle>/<slug>.md``, or a local
folder of ``<handle>/<slug>.md`` files. Unset means no lookup. Any failure yields no soul; an
unreachable directory is not asked again for a minute, so a fleet sync never waits on it per agent.
"""

from __future__ import annotations

import asyncio
import re
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from mission_control.core.logging import get_logger
from mission_control.core.runtime import Runtime, RuntimePart
from mission_control.core.text import slugify

log = get_logger("mission_control.role_souls")

# Today's gateway truncates every bootstrap file at 20,000 characters
# (agents.defaults.bootstrapMaxChars): keep the soul well inside that with our own text.
MAX_MARKDOWN_CHARS = 16_000
TRUNCATED_NOTE = "\n\n(Role notes shortened to fit the workspace.)"
LIST_TTL_SECONDS = 3600.0
FAILURE_TTL_SECONDS = 60.0
_LOC = re.compile(r"<loc>\s*([^<\s]+)\s*</loc>", re.IGNORECASE)
_SOUL_PATH = re.compile(r"/souls/([^/?#]+)/([^/?#]+?)/?$")


@dataclass(frozen=True, slots=True)
class SoulRef:
    handle: str
    slug: str
    page_url: str


@dataclass(frozen=True, slots=True)
class RoleSoul:
    markdown: str = ""
    source_url: str = ""


NO_SOUL = RoleSoul()


def _shortest(refs: list[SoulRef]) -> SoulRef | None:
    # min() keeps the first of equal lengths: directory order breaks ties.
    return min(refs, key=lambda ref: len(ref.slug)) if refs else None


def select_reference(role: str, refs: list[SoulRef]) -> SoulRef | None:
    """The directory entry for ``role``: exact, prefix, contains, then token score
    (docs/provisioning.md#role-souls)."""
    role_slug = slugify(role.strip())
    if not role_slug:
        return None
    slugs = [ref.slug.lower() for ref in refs]
    for ref, slug in zip(refs, slugs, strict=True):
        if slug == role_slug:
            return ref
    prefixed = [
        ref for ref, slug in zip(refs, slugs, strict=True) if slug.startswith(f"{role_slug}-")
    ]
    if prefixed:
        return _shortest(prefixed)
    containing = [ref for ref, slug in zip(refs, slugs, strict=True) if role_slug in slug]
    if containing:
        return _shortest(containing)
    return _best_token_match(role_slug, refs)


def _best_token_match(role_slug: str, refs: list[SoulRef]) -> SoulRef | None:
    tokens = role_slug.split("-")
    if len(tokens) < 2:
        return None
    best: tuple[int, int, int] | None = None
    chosen: SoulRef | None = None
    for order, ref in enumerate(refs):
        haystack = f"{ref.handle}-{ref.slug}".lower()
        hits = sum(1 for token in tokens if token in haystack)
        if hits < 2:
            continue
        rank = (-hits, len(ref.slug), order)
        if best is None or rank < best:
            best, chosen = rank, ref
    return chosen


def parse_sitemap(xml: str) -> list[SoulRef]:
    """References from a sitemap: every ``<loc>`` whose path is ``/souls/<handle>/<slug>``."""
    refs: list[SoulRef] = []
    for loc in _LOC.findall(xml):
        match = _SOUL_PATH.search(urlsplit(loc).path)
        if match:
            refs.append(SoulRef(handle=match.group(1), slug=match.group(2), page_url=loc))
    return refs


class RoleSoulDirectory:
    """One per process; caches the reference list for an hour and a failure for a minute."""

    def __init__(self, source: str | None, *, timeout_seconds: float = 10.0) -> None:
        self.source = (source or "").strip() or None
        self.timeout = timeout_seconds
        self._refs: list[SoulRef] | None = None
        self._refs_until = 0.0
        self._down_until = 0.0
        self._lock = asyncio.Lock()

    @property
    def enabled(self) -> bool:
        return self.source is not None

    async def lookup(self, role: str) -> RoleSoul:
        """The soul for ``role``, or no soul; never raises."""
        if self.source is None or not role.strip() or time.monotonic() < self._down_until:
            return NO_SOUL
        try:
            ref = select_reference(role, await self._references())
            if ref is None:
                return NO_SOUL
            markdown = (await self._markdown(ref)).strip()
        except Exception as error:  # best effort by contract: any failure means "no soul"
            self._down_until = time.monotonic() + FAILURE_TTL_SECONDS
            log.warning("role_soul_lookup_failed", role=role, error=repr(error))
            return NO_SOUL
        if not markdown:
            return NO_SOUL
        if len(markdown) > MAX_MARKDOWN_CHARS:
            markdown = markdown[:MAX_MARKDOWN_CHARS].rstrip() + TRUNCATED_NOTE
        return RoleSoul(markdown=markdown, source_url=ref.page_url)

    async def _references(self) -> list[SoulRef]:
        async with self._lock:
            if self._refs is None or time.monotonic() >= self._refs_until:
                self._refs = await self._load_references()
                self._refs_until = time.monotonic() + LIST_TTL_SECONDS
            return self._refs

    def _folder(self) -> Path | None:
        assert self.source is not None
        if self.source.startswith("file://"):
            return Path(urlsplit(self.source).path)
        if "://" not in self.source:
            return Path(self.source)
        return None

    async def _load_references(self) -> list[SoulRef]:
        folder = self._folder()
        if folder is not None:
            return await asyncio.to_thread(_folder_references, folder)
        async with httpx.AsyncClient(timeout=self.timeout) as http:
            answer = await http.get(f"{self._base()}/sitemap.xml")
            answer.raise_for_status()
            return parse_sitemap(answer.text)

    async def _markdown(self, ref: SoulRef) -> str:
        folder = self._folder()
        if folder is not None:
            path = folder / ref.handle / f"{ref.slug}.md"
            return await asyncio.to_thread(path.read_text, encoding="utf-8")
        async with httpx.AsyncClient(timeout=self.timeout) as http:
            answer = await http.get(f"{self._base()}/api/souls/{ref.handle}/{ref.slug}.md")
            answer.raise_for_status()
            return answer.text

    def _base(self) -> str:
        assert self.source is not None
        return self.source.rstrip("/")


def _folder_references(folder: Path) -> list[SoulRef]:
    refs: list[SoulRef] = []
    for path in sorted(folder.glob("*/*.md")):
        handle, slug = path.parent.name, path.stem
        refs.append(SoulRef(handle=handle, slug=slug, page_url=path.as_uri()))
    return refs


def _build_directory(runtime: Runtime) -> RoleSoulDirectory:
    settings = runtime.settings
    return RoleSoulDirectory(
        settings.role_soul_directory, timeout_seconds=settings.role_soul_timeout_seconds
    )


ROLE_SOUL_DIRECTORY: RuntimePart[RoleSoulDirectory] = RuntimePart("role_souls", _build_directory)


def role_soul_directory(runtime: Runtime) -> RoleSoulDirectory:
    """This process's one directory, so its caches serve every request and sync."""
    return runtime.part(ROLE_SOUL_DIRECTORY)
