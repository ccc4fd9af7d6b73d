"""The technology catalogue in a real browser, as a newcomer uses it logged out: browse, filter and search the demo
catalogue in English and Japanese, describe a need, open a technology, run the financing pre-check, and be sent to
log in when asking for a meeting. Screenshots at 1280 and 390 px (MATCHMAKER_SCREENSHOTS keeps them)."""

from __future__ import annotations

import os
import re

import pytest

from seeds.demo import load_demo
from tests.browser.test_flows import log_in
from web.services import technology_search

pytestmark = pytest.mark.browser
COUNTS = "#technology-counts"


def shot(page, folder: str, name: str, width: int) -> None:
    page.screenshot(path=os.path.join(folder, f"catalogue-{name}-{width}.png"), full_page=True)


def counts(page) -> tuple[int, int]:
    numbers = re.findall(r"\d+", page.inner_text(COUNTS).split("·")[0])
    return int(numbers[0]), int(numbers[1])


def wait_for_counts_change(page, before: str) -> None:
    page.wait_for_function("([sel, old]) => document.querySelector(sel).innerText !== old", arg=[COUNTS, before])


@pytest.fixture
def demo(session, session_factory, embedder):
    load_demo(session)
    session.commit()
    technology_search.index_technologies(session_factory, embedder)  # what the scheduled job does


def test_newcomer_browses_searches_and_prechecks_logged_out(browser, live_server, demo, screenshot_dir):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(live_server + "/technologies")
    companies, technologies = counts(page)
    assert (companies, technologies) == (30, 46)  # the demo: one technology still waits for review
    shot(page, screenshot_dir, "list", 1280)

    # Filter by area: htmx swaps the results and the facet counts.
    before = page.inner_text(COUNTS)
    page.select_option("#f-area", "water")
    wait_for_counts_change(page, before)
    assert counts(page)[1] == 4 and "area=water" in page.url
    assert page.locator("#f-category option[value=water]").inner_text().endswith("(4)")

    # Search: the words show in every card found.
    before = page.inner_text(COUNTS)
    page.fill("#f-q", "desalination")
    wait_for_counts_change(page, before)
    names = page.locator(".tech-card h3 > a").all_inner_texts()
    assert names == ["Energy-saving seawater desalination (RO)"]
    page.goto(live_server + "/technologies")

    # Describe the need: ranked by the matching engine, each hit says why.
    page.fill("#f-need", "Replace old chillers cooling our textile dyeing plant to cut electricity")
    page.click("#technology-search .need-row button")
    page.wait_for_selector(".tech-card .match-reasons li")
    first = page.locator(".tech-card").first
    assert "chiller" in first.locator("h3").inner_text().lower()
    assert "best answers to your description first" in page.inner_text(COUNTS)
    shot(page, screenshot_dir, "need", 1280)

    # A technology's page, then the pre-check on it.
    with page.expect_navigation():
        first.locator("h3 > a").click()
    assert page.locator("#track-record .track-country").count() >= 1
    page.select_option("#precheck #f-country", "VN")
    page.click("#precheck button[type=submit]")
    page.wait_for_selector("#precheck-result")
    assert "Subsidy ceiling" in page.inner_text("#pc-subsidy")
    assert "an estimate, not a decision" in page.inner_text(".estimate-note")
    shot(page, screenshot_dir, "technology", 1280)
    page.locator("#precheck").screenshot(path=os.path.join(screenshot_dir, "catalogue-precheck-1280.png"))

    # Asking for a meeting needs a login.
    with page.expect_navigation():
        page.click("#request-meeting")
    assert "/login?next=" in page.url and "requests/new" in page.url

    # The same in Japanese: the language switch, Japanese names and descriptions.
    page.goto(live_server + "/technologies")
    with page.expect_navigation():
        page.click(".lang-switch button[value=ja]")
    assert page.get_attribute("html", "lang") == "ja"
    assert "アモルファス変圧器" in page.locator(".tech-card h3 > a").all_inner_texts()  # Amorphous-core ... by name
    before = page.inner_text(COUNTS)
    page.fill("#f-q", "冷凍機")
    wait_for_counts_change(page, before)
    japanese = page.locator(".tech-card h3 > a").all_inner_texts()
    assert japanese and all("冷凍" in name for name in japanese)
    shot(page, screenshot_dir, "list-ja", 1280)
    with page.expect_navigation():
        page.locator(".tech-card h3 > a", has_text="インバーター駆動ターボ冷凍機").click()
    assert "部分負荷時も高いCOP" in page.inner_text("#technology-description")
    assert page.locator(".tech-subtitle").inner_text() == "Inverter turbo chiller for process cooling"
    page.select_option("#precheck #f-country", "TH")
    page.click("#precheck button[type=submit]")
    page.wait_for_selector("#precheck-result")
    shot(page, screenshot_dir, "technology-ja", 1280)
    page.close()

    # Phones: the same pages at 390 px.
    phone = browser.new_page(viewport={"width": 390, "height": 844})
    phone.goto(live_server + "/technologies?need=solar+power+for+a+factory+roof")
    phone.wait_for_selector(".tech-card")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    shot(phone, screenshot_dir, "list", 390)
    phone.locator(".tech-card h3 > a").first.click()
    phone.wait_for_selector("#precheck")
    phone.select_option("#precheck #f-country", "ID")
    phone.click("#precheck button[type=submit]")
    phone.wait_for_selector("#precheck-result")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    shot(phone, screenshot_dir, "technology", 390)
    phone.locator("#precheck").screenshot(path=os.path.join(screenshot_dir, "catalogue-precheck-390.png"))
    phone.close()


def test_owner_edit_form_at_both_widths(browser, live_server, demo, screenshot_dir):
    for width in (1280, 390):
        page = browser.new_page(viewport={"width": width, "height": 900})
        log_in(page, live_server, "jp@example.com", "demo-password-2026")
        page.goto(live_server + "/technologies/mine")
        with page.expect_navigation():
            page.locator(".tech-own a.button").first.click()
        assert page.locator("#list-track_records > ul > li").count() >= 1
        page.click("#list-track_records button[data-list-add]")  # app.js adds a row in place
        assert page.locator("#list-track_records > ul > li").count() >= 2
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        shot(page, screenshot_dir, "edit", width)
        page.close()
