"""In a real browser: propose and confirm a meeting on the match page, then read the agenda and its print version."""

from __future__ import annotations

import os
from datetime import timedelta

import pytest

from tests.browser.test_flows import log_in, log_out
from tests.web.agenda_support import SANTIAGO, TOKYO, at, create_event, matched_pair, publish_meeting, register

pytestmark = pytest.mark.browser


def _no_sideways_scroll(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


def test_propose_confirm_and_read_the_agenda(browser, live_server, session, settings, screenshot_dir):
    alice, bob, req = matched_pair(session, settings, "Sakura Chillers", "Andes Copper Refining", time_zone=SANTIAGO)
    event = create_event(session, title_en="JCM Business Matching Santiago 2026",
                         venue="Hotel Plaza San Francisco, Santiago")
    for user in (alice, bob):
        register(session, event, user.organization_id)
    publish_meeting(session, event, req, event.starts_at + timedelta(minutes=40), table=3)
    session.commit()
    page = browser.new_page(viewport={"width": 1280, "height": 900})

    # Alice (Tokyo) proposes two times with htmx: the panel swaps in place.
    log_in(page, live_server, alice.email)
    page.goto(f"{live_server}/matches/{req.id}")
    page.click("#meeting summary")
    # A time in the past and no place: the messages appear beside the fields and nothing typed is lost.
    yesterday = at(TOKYO, -1, 10)
    page.fill("#f-date_1", yesterday.date().isoformat())
    page.fill("#f-start_1", "10:00")
    page.fill("#f-end_1", "11:00")
    page.fill("#f-message", "Either time works for our engineers; the second one is online.")
    page.click("#meeting button[type=submit].primary")
    page.wait_for_selector("#e-start_1")
    assert page.is_visible("#e-location_1")
    assert page.input_value("#f-message").startswith("Either time works")
    page.screenshot(path=os.path.join(screenshot_dir, "match-proposal-errors.png"), full_page=True)
    first, second = at(TOKYO, 3, 10), at(TOKYO, 4, 16, 30)
    page.fill("#f-date_1", first.date().isoformat())
    page.fill("#f-start_1", "10:00")
    page.fill("#f-end_1", "11:00")
    page.fill("#f-location_1", "Sakura Chillers head office, Tokyo")
    page.fill("#f-date_2", second.date().isoformat())
    page.fill("#f-start_2", "16:30")
    page.select_option("#f-duration_2", "45")
    page.fill("#f-online_url_2", "https://meet.example.com/sakura-andes")
    page.fill("#f-message", "Either time works for our engineers; the second one is online.")
    page.click("#meeting button[type=submit].primary")
    page.wait_for_selector("#meeting .proposal-open")
    page.screenshot(path=os.path.join(screenshot_dir, "match-proposal-proposer.png"), full_page=True)
    log_out(page)

    # Bob (Santiago) sees both times in Tokyo time and his own, and confirms the online one.
    log_in(page, live_server, bob.email)
    page.goto(f"{live_server}/matches/{req.id}")
    assert "Your time" in page.inner_text("#meeting")
    page.screenshot(path=os.path.join(screenshot_dir, "match-proposal.png"), full_page=True)
    page.locator("#meeting input[name=option_id]").nth(1).check()
    page.get_by_role("button", name="Confirm this time").click()
    page.wait_for_selector("#meeting .proposal-confirmed")
    assert "meet.example.com" in page.inner_html("#meeting")

    # His agenda: the event, the meeting at table 3 and the online meeting, in both zones where they differ.
    page.goto(f"{live_server}/agenda")
    text = page.inner_text("#agenda-upcoming")
    assert "Table 3" in text and "Meeting with Sakura Chillers" in text and "Japan Time" in text
    page.screenshot(path=os.path.join(screenshot_dir, "agenda-1280.png"), full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server}/agenda")
    assert _no_sideways_scroll(page)
    page.screenshot(path=os.path.join(screenshot_dir, "agenda-390.png"), full_page=True)
    page.goto(f"{live_server}/matches/{req.id}")
    assert _no_sideways_scroll(page)
    page.screenshot(path=os.path.join(screenshot_dir, "match-390.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(f"{live_server}/agenda/print")
    assert page.locator("nav").count() == 0
    page.screenshot(path=os.path.join(screenshot_dir, "agenda-print.png"), full_page=True)
    # As printed: A4 is 794 CSS pixels wide at 96 dpi; nothing may stick out sideways.
    page.set_viewport_size({"width": 794, "height": 1123})
    page.emulate_media(media="print")
    assert _no_sideways_scroll(page) and not page.is_visible(".print-tools")
    page.screenshot(path=os.path.join(screenshot_dir, "agenda-print-a4.png"), full_page=True)
    page.emulate_media(media="screen")
    page.set_viewport_size({"width": 1280, "height": 900})

    # The new-link button swaps the subscription panel.
    page.goto(f"{live_server}/agenda")
    old = page.input_value("#feed-url")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#agenda-feed button[type=submit]")
    page.wait_for_selector("#feed-renewed")
    assert page.input_value("#feed-url") != old
