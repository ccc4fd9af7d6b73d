"""The event timetable and the participants page in a real browser: run, a clash answered in place, publish."""

from __future__ import annotations

import os

import pytest

from tests.browser.test_flows import log_in
from tests.factories import create_user
from tests.web.timetable_support import create_event, event_match, register, registration_of, set_unavailable
from tests.web.matching_support import MARKET, embed, make_market, member_of
from web.services.events import slots_of
from web.services.timetable_view import slot_value

pytestmark = pytest.mark.browser

MORE = {
    "hotel": {"name": "Bangkok Riverside Hotel", "kind": "partner_company", "country": "TH",
              "description": "Hotel with a large chilled-water plant.", "needs": ["Efficient chillers for a hotel"],
              "technology_categories": ["energy_efficiency"]},
    "mall": {"name": "Jakarta Central Mall", "kind": "partner_company", "country": "ID",
             "description": "Shopping mall with flat roofs.", "needs": ["Rooftop solar for a shopping mall"],
             "technology_categories": ["renewable_energy"]},
    "city": {"name": "Da Nang Urban Environment Company", "kind": "partner_company", "country": "VN",
             "description": "Municipal waste collection and landfill.", "needs": ["Waste-to-energy plant"],
             "technology_categories": ["waste"]},
}


def _seminar(session, settings):
    orgs = make_market(session)
    from tests.factories import create_organization

    orgs |= {key: create_organization(session, **values) for key, values in MORE.items()}
    event = create_event(session, title_en="JCM Global Match Seminar: Bangkok", table_count=3,
                         time_zone="Asia/Bangkok", venue="Centara Grand, Ballroom B")
    for org in orgs.values():
        register(session, event, org)
    users = {key: member_of(session, org) for key, org in orgs.items()}
    pairs = [("textile", "chiller"), ("textile", "bank"), ("hotel", "chiller"), ("mall", "solar"),
             ("city", "waste"), ("other_host", "chiller"), ("hotel", "bank"), ("mall", "bank"),
             ("city", "bank"), ("other_host", "waste"), ("textile", "waste"), ("hotel", "solar")]
    meetings = {pair: event_match(session, settings, event, users[pair[0]], users[pair[1]]) for pair in pairs}
    set_unavailable(session, registration_of(session, event, users["chiller"]), [0, 1])
    set_unavailable(session, registration_of(session, event, users["bank"]), [4, 5])
    # The brewery and the bank cannot meet: one is away in the morning, the other at the end of the day.
    meetings[("other_host", "bank")] = event_match(session, settings, event, users["other_host"], users["bank"])
    set_unavailable(session, registration_of(session, event, users["other_host"]), [0, 1, 2, 3])
    return event, orgs, users, meetings


def test_timetable_run_clash_and_publish_in_browser(browser, live_server, session, session_factory, settings,
                                                    embedder, screenshot_dir):
    event, orgs, users, meetings = _seminar(session, settings)
    organizer = create_user(session, None, role="organizer", email="organizer@example.com", time_zone="Asia/Tokyo")
    session.commit()
    embed(session_factory, embedder)
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.on("dialog", lambda dialog: dialog.accept())
    log_in(page, live_server, organizer.email)
    page.goto(f"{live_server}/events/{event.id}/timetable")
    assert "Not published yet" in page.inner_text("#timetable")

    # Run: htmx swaps the timetable with the report.
    page.get_by_role("button", name="Run timetable").click()
    page.wait_for_selector("#timetable-report")
    assert "meetings placed" in page.inner_text("#timetable-report")
    assert page.locator("#timetable-grid td[data-meeting]").count() >= 10
    unplaced = page.locator(f"#unplaced-{meetings[('other_host', 'bank')].id}")
    assert "no available slot in common" in unplaced.inner_text()

    # Publish (the confirm dialog is accepted): nothing left to publish afterwards.
    page.locator("#publish-button").click()
    page.wait_for_selector("#publish-button:has-text('Publish (0)')")
    assert "Published:" in page.inner_text("#timetable-notice")

    # A clash by hand is answered beside the form, the choice kept.
    textile_bank = meetings[("textile", "bank")]
    session.refresh(textile_bank)
    card = page.locator(f"#meeting-{meetings[('hotel', 'chiller')].id}")
    assert card.locator("select[name=slot]").count() == 0  # the form comes when "Move…" opens
    card.locator("summary").click()
    card.locator("select[name=slot]").wait_for()
    page.screenshot(path=os.path.join(screenshot_dir, "timetable-move-form.png"))
    card.locator("select[name=slot]").select_option(slot_value(textile_bank.starts_at))
    card.locator("select[name=table]").select_option(str(textile_bank.table_number))
    card.get_by_role("button", name="Move here").click()
    error = page.locator(f"#table-error-{meetings[('hotel', 'chiller')].id}")
    error.wait_for()
    assert "is taken at" in error.inner_text()

    # Without JavaScript, "Move…" opens the form as a page of its own and its post comes back to the timetable.
    plain = browser.new_context(java_script_enabled=False, viewport={"width": 1280, "height": 900})
    plain_page = plain.new_page()
    log_in(plain_page, live_server, organizer.email)
    plain_page.goto(f"{live_server}/events/{event.id}/timetable")
    plain_card = plain_page.locator(f"#meeting-{meetings[('hotel', 'chiller')].id}")
    plain_card.locator("summary").click()
    plain_card.get_by_role("link", name="Open the form").click()
    plain_page.wait_for_url("**/move")
    plain_page.screenshot(path=os.path.join(screenshot_dir, "timetable-move-page.png"))
    plain_page.locator("select[name=table]").select_option(str(textile_bank.table_number))
    plain_page.locator("select[name=slot]").select_option(slot_value(textile_bank.starts_at))
    with plain_page.expect_navigation():
        plain_page.get_by_role("button", name="Move here").click()
    # The clash comes back on the timetable, beside the form in the meeting's card, the choice kept.
    assert "is taken at" in plain_page.inner_text(f"#table-error-{meetings[('hotel', 'chiller')].id}")
    assert plain_page.locator("#timetable-grid").count() == 1
    plain.close()

    # A free place is taken at once; the change waits for the next publish.
    free = page.locator("#timetable-grid tr:last-child td.tt-free").first
    assert free.count() == 1
    page.screenshot(path=os.path.join(screenshot_dir, "timetable-1280.png"), full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=os.path.join(screenshot_dir, "timetable-390.png"), full_page=True)

    # The participant sees its published meetings and the ranked participants.
    member = browser.new_page(viewport={"width": 1280, "height": 900})
    log_in(member, live_server, users["textile"].email)
    member.goto(f"{live_server}/events/{event.id}/participants")
    assert member.locator("#participants li.participant").count() == len(orgs) - 1
    assert "Scheduled" in member.inner_text(f"#participant-{orgs['chiller'].id}")
    member.screenshot(path=os.path.join(screenshot_dir, "participants-1280.png"), full_page=True)
    member.set_viewport_size({"width": 390, "height": 844})
    member.screenshot(path=os.path.join(screenshot_dir, "participants-390.png"), full_page=True)
    member.locator(f"#event-request-{orgs['solar'].id} button").click()
    member.wait_for_url("**/requests/new?to=*")
    assert "JCM Global Match Seminar: Bangkok" in member.inner_text("#request-event")
    assert len(slots_of(event)) == 6 and MARKET
