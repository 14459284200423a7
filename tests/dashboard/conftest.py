"""Browser tests: Debian's Chromium driven by Playwright's async API in the test event loop
(the API under test is served by uvicorn in that same loop). Skipped when Chromium is not
installed; `.ci/run` installs it. Browsers are never downloaded (no `playwright install`)."""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
TIMEOUT_MS = 20_000
HAVE_CHROMIUM = CHROMIUM.exists()

# The session cookie's secret for this run (otherwise one is made in the data dir).
os.environ.setdefault("SANDBOX_SESSION_SECRET", "browser-tests-" + secrets.token_hex(16))


@pytest.fixture(scope="session")
async def browser(stack) -> AsyncIterator[object]:
    if not HAVE_CHROMIUM:
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install -y chromium); .ci/run installs it")
    from playwright.async_api import async_playwright, expect

    # Assertions wait as long as actions do: a payout's steps may queue behind what earlier
    # tests left to the worker on a busy machine.
    expect.set_options(timeout=TIMEOUT_MS)

    async with async_playwright() as pw:
        chromium = await pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            await chromium.close()


def screenshot_path(name: str) -> str:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return str(SCREENSHOTS / f"{name}.png")


class Tab:
    """One browser context (its own cookies) and page, pointed at the stack's dashboard."""

    def __init__(self, page, base: str) -> None:
        self.page = page
        self.base = base  # the dashboard's URL

    async def twin(self) -> Tab:
        """Another page in the same context: the same session."""
        return Tab(await self.page.context.new_page(), self.base)

    async def open(self, path: str = ""):
        return await self.page.goto(self.base + path)

    async def sign_in(self, key: str) -> None:
        await self.open("/login")
        await self.page.get_by_label("API key").fill(key)
        await self.page.get_by_role("button", name="Sign in").click()
        await self.page.wait_for_url(self.base)

    async def shot(self, name: str) -> None:
        await self.page.screenshot(path=screenshot_path(name), full_page=True)

    async def mark(self) -> None:
        """Tag the loaded document; `still_marked` is true only if it was never reloaded."""
        await self.page.evaluate("window.__notReloaded = true")

    async def still_marked(self) -> bool:
        return await self.page.evaluate("window.__notReloaded === true")


@pytest.fixture
async def tabs(browser, stack):
    """Makes tabs; each gets its own context, all closed after the test."""
    contexts = []

    async def make() -> Tab:
        context = await browser.new_context(viewport={"width": 1280, "height": 900})
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        return Tab(await context.new_page(), stack.base_url + "/dashboard")

    yield make
    for context in contexts:
        await context.close()
