"""The API documentation in a real browser with every address but 127.0.0.1 blocked, under a strict CSP."""

from __future__ import annotations

import os
from urllib.parse import urlsplit

import pytest

from tests.browser.test_flows import log_in
from tests.factories import create_user

pytestmark = pytest.mark.browser
# No inline script, no inline style: the page must work under what the hardening work sends. The one hash
# allowed is htmx's own indicator style, which every page has (htmx.config.includeIndicatorStyles).
HTMX_STYLE = "'sha256-faU7yAF8NxuMTNEwVmBz+VcYeIoBQ2EMHW3WaVxCvnk='"
CSP = ("default-src 'self'; script-src 'self'; style-src 'self' " + HTMX_STYLE + "; img-src 'self' data:; "
       "connect-src 'self'; "
       "object-src 'none'; base-uri 'self'; frame-ancestors 'none'")


def _offline_page(browser, width: int):
    """A page whose requests leave the machine only for 127.0.0.1; others are recorded and refused."""
    page = browser.new_page(viewport={"width": width, "height": 900})
    outside, problems = [], []

    def route(request_route):
        host = urlsplit(request_route.request.url).hostname
        if host != "127.0.0.1":
            outside.append(request_route.request.url)
            request_route.abort()
            return
        response = request_route.fetch()
        headers = dict(response.headers)
        if "text/html" in headers.get("content-type", ""):
            headers["content-security-policy"] = CSP
        request_route.fulfill(response=response, headers=headers)

    page.route("**/*", route)
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    return page, outside, problems


@pytest.mark.parametrize("width", [390, 1280])
def test_api_docs_render_operations_offline_under_csp(browser, live_server, session, screenshot_dir, width):
    page, outside, problems = _offline_page(browser, width)
    page.goto(live_server + "/api/docs")
    page.wait_for_selector(".opblock", timeout=15000)
    operations = page.locator(".opblock").count()
    assert operations >= 8  # requests, matches and messages
    assert "/api/v1/requests" in page.inner_text("#swagger-ui")
    assert outside == [] and problems == []
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    page.screenshot(path=os.path.join(screenshot_dir, f"api-docs-{width}.png"), full_page=False)


def test_api_docs_try_it_out_acts_as_the_logged_in_member(browser, live_server, session, screenshot_dir):
    user = create_user(session, email="member@example.com")
    session.commit()
    page, outside, problems = _offline_page(browser, 1280)
    log_in(page, live_server, user.email)
    page.goto(live_server + "/api/docs")
    block = page.locator("#operations-meetings-me_api_v1_me_get")
    block.wait_for(timeout=15000)
    if not block.locator(".try-out__btn").is_visible():
        block.locator(".opblock-summary").click()
    block.locator(".try-out__btn").click()
    block.locator(".execute").click()
    block.locator(".live-responses-table tbody .response-col_status").first.wait_for()
    assert block.locator(".live-responses-table tbody .response-col_status").first.inner_text().strip() == "200"
    assert "member@example.com" in block.locator(".live-responses-table").inner_text()
    assert outside == [] and problems == []
    page.screenshot(path=os.path.join(screenshot_dir, "api-docs-try-1280.png"), full_page=False)
