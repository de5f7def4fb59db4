"""Headless Chromium for the console's browser tests: Debian's ``chromium`` driven by Playwright.

Playwright never downloads a browser here: it launches the system binary through its executable
path (``MC_CHROMIUM`` or ``chromium`` on PATH, installed by ``scripts/install-chromium.sh``).
One browser per test session; each test opens its own context (cookies and storage isolated).
Screenshots go to ``test-artifacts/screenshots/`` (git-ignored) so a person can look at them.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, async_playwright

SCREENSHOT_DIR = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"

# Flags for a closed network and a root user: no sandbox (root), no background connections
# (they are refused here and slow every start), no first-run UI.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]

DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}


def chromium_path() -> str:
    """The Chromium binary to drive; a missing one fails loudly with what to run."""
    path = os.environ.get("MC_CHROMIUM") or shutil.which("chromium")
    if not path:
        raise RuntimeError(
            "Chromium not found: run `bash scripts/install-chromium.sh` (Debian's chromium) "
            "or set MC_CHROMIUM to its path"
        )
    return path


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    """One headless Chromium for the whole session."""
    async with async_playwright() as playwright:
        instance = await playwright.chromium.launch(
            executable_path=chromium_path(), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield instance
        finally:
            await instance.close()


async def save_screenshot(page: Page, name: str) -> Path:
    """Saves a full-page screenshot under ``test-artifacts/screenshots/<name>.png``."""
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-") or "page"
    path = SCREENSHOT_DIR / f"{safe}.png"
    await page.screenshot(path=str(path), full_page=True)
    return path
