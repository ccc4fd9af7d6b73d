"""In a real browser: the pages break no rule of the Content-Security-Policy, and the logins list works."""

from __future__ import annotations

import os

import pytest
from playwright.sync_api import expect

from tests.browser.test_flows import log_in
from tests.factories import PASSWORD, create_user
from tests.web.requests_support import make_match, make_request, member

pytestmark = pytest.mark.browser


def _watch(page) -> list[str]:
    """Console errors and page errors (a blocked script, style or eval shows up here)."""
    problems: list[str] = []
    page.on("console", lambda message: problems.append(f"{message.text} {message.location.get('url', '')}")
            if message.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    return problems


def test_pages_and_htmx_actions_run_under_the_policy(browser, live_server, session, settings, screenshot_dir):
    alice, bob, carol = member(session, "Alpha Chillers"), member(session, "Beta Textiles"), member(session, "Gamma")
    match = make_match(session, settings, alice, bob)
    pending = make_request(session, settings, carol, alice)
    session.commit()
    page = browser.new_page()
    problems = _watch(page)
    log_in(page, live_server, alice.email)
    for path in ("/", "/profile", "/prematching", "/requests/sent", "/requests/received", "/matches", "/directory",
                 "/notifications", f"/requests/{pending.id}"):
        page.goto(live_server + path)
    # htmx: a message posted in the thread, and a request accepted from its row.
    page.goto(f"{live_server}/matches/{match.id}")
    page.get_by_label("Message").fill("Checking the policy.")
    page.get_by_role("button", name="Send message").click()
    expect(page.locator("#thread")).to_contain_text("Checking the policy.")
    page.goto(live_server + "/requests/received")
    page.locator(f"#request-{pending.id}").get_by_role("button", name="Accept").click()
    expect(page.locator(f"#request-{pending.id}")).to_contain_text("Accepted")
    assert [p for p in problems if "favicon" not in p] == []


def test_logins_list_and_log_out_elsewhere(browser, live_server, session, screenshot_dir):
    user = create_user(session, email="aiko@example.com")
    session.commit()
    laptop, phone = browser.new_context(), browser.new_context(user_agent="Mozilla/5.0 (iPhone) Safari/604.1")
    laptop_page, phone_page = laptop.new_page(), phone.new_page()
    log_in(phone_page, live_server, user.email, PASSWORD)
    log_in(laptop_page, live_server, user.email, PASSWORD)
    laptop_page.goto(live_server + "/profile#sessions")
    sessions = laptop_page.locator("#sessions")
    expect(sessions.locator("li.session")).to_have_count(2)
    expect(sessions).to_contain_text("Safari on iPhone")
    laptop_page.screenshot(path=os.path.join(screenshot_dir, "profile-sessions.png"), full_page=True)
    with laptop_page.expect_navigation():
        sessions.locator("li.session:not(.current)").get_by_role("button", name="Log out there").click()
    expect(laptop_page.locator("#sessions li.session")).to_have_count(1)
    phone_page.goto(live_server + "/profile")
    assert "/login" in phone_page.url
