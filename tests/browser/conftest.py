"""A real server on 127.0.0.1 and Debian's Chromium driven by Playwright."""

from __future__ import annotations

import os
import shutil

import pytest

from tests.web.live_support import live_server as serve

CHROMIUM = os.environ.get("MATCHMAKER_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-background-networking", "--disable-component-update",
                 "--disable-gpu", "--no-first-run", "--disable-sync"]


@pytest.fixture
def live_server(settings, engine, clean_db, embedder):
    """The app served by uvicorn in a thread; yields its base URL."""
    with serve(settings, embedder) as url:
        yield url


@pytest.fixture
def browser():
    """Headless Chromium; skipped without it unless MATCHMAKER_REQUIRE_BROWSER is set (CI)."""
    if not (os.path.exists(CHROMIUM) or shutil.which(CHROMIUM)):
        if os.environ.get("MATCHMAKER_REQUIRE_BROWSER"):
            pytest.fail(f"Chromium not found at {CHROMIUM}: apt-get install chromium")
        pytest.skip(f"Chromium not found at {CHROMIUM}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def screenshot_dir(tmp_path):
    """Where browser tests leave screenshots (MATCHMAKER_SCREENSHOTS to keep them)."""
    path = os.environ.get("MATCHMAKER_SCREENSHOTS")
    if path:
        os.makedirs(path, exist_ok=True)
        return path
    return str(tmp_path)
