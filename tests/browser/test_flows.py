"""End-to-end flows in a real browser (Debian's Chromium) against a real server."""

from __future__ import annotations

import os
import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from models import Organization, OutboxEmail
from tests.factories import PASSWORD, create_organization, create_user

pytestmark = pytest.mark.browser
# The pages run under a Content-Security-Policy without 'unsafe-eval': wait with locators, not with
# page.wait_for_function strings (Playwright evaluates those in the page, where the policy refuses them).


def log_in(page, base: str, email: str, password: str = PASSWORD) -> None:
    page.goto(base + "/login")
    page.fill("#f-email", email)
    page.fill("#f-password", password)
    with page.expect_navigation():
        page.click("form[action='/login'] button[type=submit]")


def log_out(page) -> None:
    with page.expect_navigation():
        page.click("form[action='/logout'] button")


def test_signup_approval_profile_edit_directory_search(browser, live_server, session, screenshot_dir):
    organizer = create_user(session, role="organizer", organization=None, email="organizer@example.com")
    create_organization(session, name="Sakura Chillers", kind="japanese_company",
                        offers=["High-efficiency centrifugal chillers"])
    session.commit()
    page = browser.new_page()

    # Sign up: a partner-country company, pending.
    page.goto(live_server + "/signup")
    page.fill("#f-full_name", "Nguyen Van An")
    page.fill("#f-email", "an@example.com")
    page.fill("#f-password", "a long password")
    page.fill("#f-password_confirm", "a long password")
    page.fill("#f-organization_name", "Mekong Textiles")
    page.select_option("#f-kind", "partner_company")
    page.select_option("#f-country", "VN")
    page.click("form[action='/signup'] button[type=submit]")
    page.wait_for_url("**/signup/sent")
    assert "an@example.com" in page.inner_text("main")
    # The emailed link confirms the address and logs in.
    body = session.scalars(select(OutboxEmail.body).where(OutboxEmail.to_address == "an@example.com")).one()
    page.goto(re.search(r"(http://\S+/signup/confirm/\S+)", body).group(1))
    with page.expect_navigation():
        page.click("#confirm-email button[type=submit]")
    page.wait_for_url("**/profile**")
    assert "Waiting for approval" in page.inner_text("main")
    page.goto(live_server + "/directory")
    assert "not been approved" in page.inner_text("main")
    log_out(page)

    # The organizer approves it with htmx: the row swaps in place.
    log_in(page, live_server, organizer.email)
    page.goto(live_server + "/organizer/applications")
    org_id = session.scalar(select(Organization.id).where(Organization.name == "Mekong Textiles"))
    row = page.locator(f"#application-{org_id}")
    row.get_by_role("button", name="Approve").click()
    page.locator(f"#application-{org_id} .badge-pending").wait_for(state="detached")
    page.screenshot(path=os.path.join(screenshot_dir, "organizer-applications.png"), full_page=True)
    log_out(page)

    # The member edits the profile: a need and a category.
    log_in(page, live_server, "an@example.com", "a long password")
    page.goto(live_server + "/profile")
    page.locator("#list-needs [data-list-add]").click()
    page.locator("#list-needs textarea[name=needs]").last.fill("Cooling energy savings at a textile plant")
    page.fill("#f-description",
              "Spinning and dyeing mill with 1,800 employees; cooling is our largest electricity cost.")
    page.check("input[name=technology_categories][value=energy_efficiency]")
    page.get_by_role("button", name="Save profile").last.click()
    expect(page.locator("#flash")).to_contain_text("Your profile was saved.")
    assert "Cooling energy savings at a textile plant" in [
        page.locator("#list-needs textarea[name=needs]").nth(i).input_value()
        for i in range(page.locator("#list-needs textarea[name=needs]").count())]

    # Directory: live search with htmx finds the chiller maker and the new member.
    page.goto(live_server + "/directory")
    page.fill("input[name=q]", "chillers")
    expect(page.locator("#directory-results")).to_contain_text("Sakura Chillers")
    expect(page.locator("#directory-results")).not_to_contain_text("Mekong Textiles")
    page.fill("input[name=q]", "textile")
    expect(page.locator("#directory-results")).to_contain_text("Mekong Textiles")
    expect(page.locator("#directory-results")).not_to_contain_text("Sakura Chillers")
    assert "q=textile" in page.url  # hx-push-url keeps the search shareable
    page.screenshot(path=os.path.join(screenshot_dir, "directory-search.png"), full_page=True)

    # Japanese UI: the language switch is remembered.
    # Wait for the page the switch answers with: expect_navigation would also accept the search's pushState,
    # and going elsewhere then cancels the switch in flight.
    page.click("button[name=language][value=ja]")
    expect(page.locator("html")).to_have_attribute("lang", "ja")
    page.goto(live_server + "/directory")
    assert page.get_attribute("html", "lang") == "ja"
    page.screenshot(path=os.path.join(screenshot_dir, "directory-ja.png"), full_page=True)


def test_request_accept_and_messages(browser, live_server, session, screenshot_dir):
    partner = create_organization(session, name="Mekong Textiles", kind="partner_company", country="VN",
                                  contact_name="Nguyen Van An", contact_email="an@example.com")
    maker = create_organization(session, name="Sakura Chillers", kind="japanese_company",
                                contact_name="Aiko Tanaka", contact_email="aiko@example.com")
    requester = create_user(session, organization=partner)
    recipient = create_user(session, organization=maker)
    session.commit()
    page = browser.new_page()

    log_in(page, live_server, requester.email)
    page.goto(f"{live_server}/organizations/{maker.id}")
    assert "aiko@example.com" not in page.inner_text("main")
    page.get_by_role("button", name="Request meeting").click()
    page.get_by_label("Message").fill("We would like to replace three old chillers at our mill.")
    with page.expect_navigation():
        page.get_by_role("button", name="Send request").click()
    page.goto(live_server + "/requests/sent")
    assert "Sakura Chillers" in page.inner_text("main")
    log_out(page)

    log_in(page, live_server, recipient.email)
    page.goto(live_server + "/requests/received")
    page.get_by_role("button", name="Accept").click()
    # The row swaps in place: wait for the accepted row itself (the page's counts already say "Accepted").
    page.get_by_role("link", name="Open conversation").wait_for()
    page.goto(live_server + "/matches")
    with page.expect_navigation():
        page.get_by_role("link", name="Open conversation").first.click()
    assert "an@example.com" in page.inner_text("main")
    page.get_by_label("Message").fill("Happy to visit the mill next month.")
    page.get_by_role("button", name="Send message").click()
    expect(page.locator("#thread")).to_contain_text("visit the mill")
    log_out(page)

    log_in(page, live_server, requester.email)
    page.goto(live_server + "/matches")
    with page.expect_navigation():
        page.get_by_role("link", name="Open conversation").first.click()
    assert "Happy to visit the mill next month." in page.inner_text("#thread")
    assert "aiko@example.com" in page.inner_text("main")
    page.get_by_label("Message").fill("Great, the first week works for us.")
    page.get_by_role("button", name="Send message").click()
    expect(page.locator("#thread")).to_contain_text("first week")
    page.screenshot(path=os.path.join(screenshot_dir, "match-thread.png"), full_page=True)
