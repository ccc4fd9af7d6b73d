"""Events in a real browser: the organizer's form (JavaScript break rows, errors), registering, availability."""

from __future__ import annotations

import os
from datetime import timedelta

import pytest
from sqlalchemy import select

from models import Event, EventRegistration, EventUnavailableSlot
from models.base import utcnow
from tests.browser.test_flows import log_in, log_out
from tests.factories import create_organization, create_user
from tests.web.events_support import make_event, register

pytestmark = pytest.mark.browser
WIDTHS = {"desktop": 1280, "phone": 390}


def shoot(page, folder: str, name: str) -> None:
    """Full-page screenshots at desktop and phone widths."""
    for label, width in WIDTHS.items():
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=os.path.join(folder, f"{name}-{label}.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})


def test_organizer_creates_event_and_member_registers(browser, live_server, session, settings, screenshot_dir):
    boss = create_user(session, role="organizer", organization=None, email="boss@example.com")
    org = create_organization(session, name="Siam Solar", kind="partner_company", country="TH")
    alice = create_user(session, org, email="alice@example.com", full_name="Alice Tan", time_zone="Asia/Tokyo")
    other = make_event(session, by=boss, title_en="JCM Seminar in Chile", time_zone="America/Santiago",
                       venue="Hotel Plaza, Santiago", opens_at="09:00", closes_at="12:30", days_ahead=50,
                       breaks=[{"starts": "10:30", "ends": "11:00", "label": "Coffee"}])
    register(session, settings, create_user(session, create_organization(session)), other)
    session.commit()
    day = (utcnow() + timedelta(days=40)).date()
    page = browser.new_page(viewport={"width": 1280, "height": 900})

    # The organizer's form: a bad break and a deadline after the opening are refused beside the fields.
    log_in(page, live_server, boss.email)
    page.goto(live_server + "/events/new")
    page.fill("#f-title_en", "JCM Seminar in Thailand")
    page.fill("#f-venue", "Bangkok Convention Centre, Hall B")
    page.select_option("#f-time_zone", "Asia/Bangkok")
    page.fill("#f-date", day.isoformat())
    page.fill("#f-deadline_date", (day + timedelta(days=1)).isoformat())
    page.click("[data-list-add=list-breaks]")  # app.js adds the row in place (no round trip)
    page.click("[data-list-add=list-breaks]")
    rows = page.locator("#list-breaks li")
    assert rows.count() == 2
    rows.nth(0).locator("input[name=break_starts]").fill("15:00")
    rows.nth(0).locator("input[name=break_ends]").fill("15:30")
    rows.nth(0).locator("input[name=break_labels]").fill("Coffee")
    rows.nth(1).locator("input[name=break_starts]").fill("15:15")
    rows.nth(1).locator("input[name=break_ends]").fill("15:45")
    rows.nth(1).locator("input[name=break_labels]").fill("Keynote")
    with page.expect_navigation():
        page.click("form.event-form button[type=submit].primary")
    assert "overlaps another break" in page.inner_text("#e-break-1")
    assert "no later than the opening" in page.inner_text("#e-deadline")
    shoot(page, screenshot_dir, "event-form-errors")
    page.locator("#list-breaks li").nth(1).locator("[data-list-remove]").click()
    page.fill("#f-deadline_date", (day - timedelta(days=5)).isoformat())
    with page.expect_navigation():
        page.click("form.event-form button[type=submit].primary")
    event = session.scalar(select(Event).where(Event.title_en == "JCM Seminar in Thailand"))
    assert event is not None and [b.label for b in event.breaks] == ["Coffee"]
    with page.expect_navigation():
        page.click("#organizer-panel button.primary")  # Publish
    session.expire_all()
    assert session.get(Event, event.id).status == "published"
    shoot(page, screenshot_dir, "event-detail-organizer")
    log_out(page)

    # A visitor sees the list and the detail with "Log in to register".
    page.goto(live_server + "/events")
    shoot(page, screenshot_dir, "events-list")
    page.goto(f"{live_server}/events/{event.id}")
    assert page.is_visible("#login-to-register")
    shoot(page, screenshot_dir, "event-detail-visitor")

    # The member logs in through that link and registers two people.
    with page.expect_navigation():
        page.click("#login-to-register")
    page.fill("#f-email", alice.email)
    page.fill("#f-password", "correct horse battery")
    with page.expect_navigation():
        page.click("form[action='/login'] button[type=submit]")
    assert page.url.endswith(f"/events/{event.id}/register")
    page.click("[data-list-add=list-attendees]")
    page.locator("#list-attendees li").nth(1).locator("input[name=attendee_name]").fill("Somchai Prasert")
    page.locator("#list-attendees li").nth(1).locator("input[name=attendee_title]").fill("Energy engineer")
    with page.expect_navigation():
        page.click("form.register-form button.primary")
    assert page.url.endswith(f"/events/{event.id}/registration")
    reg = session.scalar(select(EventRegistration).where(EventRegistration.organization_id == org.id))
    assert reg.status == "approved" and len(reg.attendees) == 2

    # Availability: untick two slots and save with htmx; the grid is swapped in place.
    boxes = page.locator("#availability-form input[name=available]")
    boxes.nth(0).uncheck()
    boxes.nth(1).uncheck()
    page.click("#availability-form button.primary")
    page.wait_for_selector("#availability .flash")
    session.expire_all()
    assert len(session.scalars(select(EventUnavailableSlot)).all()) == 2
    shoot(page, screenshot_dir, "availability-grid")
    page.goto(f"{live_server}/events/{event.id}")
    shoot(page, screenshot_dir, "event-detail-member")
    page.goto(f"{live_server}/events/{other.id}")
    assert "Your time" in page.inner_text("#viewer-when") or page.is_visible("#viewer-when")
    shoot(page, screenshot_dir, "event-detail-santiago-from-tokyo")
    log_out(page)

    # The organizer declines the registration in place (htmx): the row swaps, the counts follow.
    log_in(page, live_server, boss.email)
    page.goto(f"{live_server}/events/{event.id}/registrations")
    row = page.locator(f"#registration-{reg.id}")
    row.locator("summary").click()
    row.locator("textarea[name=reason]").fill("This seminar is for the energy sector only.")
    row.get_by_role("button", name="Decline registration").click()
    page.wait_for_selector(f"#registration-{reg.id} .badge-rejected")
    assert page.inner_text("#registration-tabs [data-status=rejected] .count") == "1"
    assert page.inner_text("#places-held").startswith("0 of 40")
    shoot(page, screenshot_dir, "registrations-review")
    session.expire_all()
    assert session.get(EventRegistration, reg.id).status == "rejected"
    assert session.get(Event, event.id).places_taken == 0
    page.close()
