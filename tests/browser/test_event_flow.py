"""The whole Events flow in a real browser: an organizer's seminar in Santiago, two organizations register and
mark their availability, one requests a meeting there and the other accepts, the organizer runs and publishes
the timetable, and both read their agendas (Santiago time and their own) and calendar files."""

from __future__ import annotations

import os
from datetime import datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar
from sqlalchemy import select

from models import Event, EventMeeting, EventRegistration, EventUnavailableSlot, MeetingRequest
from models.base import utcnow
from tests.browser.test_flows import log_in, log_out
from tests.factories import create_organization, create_user
from tests.web.matching_support import embed

pytestmark = pytest.mark.browser

SANTIAGO, TOKYO, MEXICO_CITY = ZoneInfo("America/Santiago"), ZoneInfo("Asia/Tokyo"), ZoneInfo("America/Mexico_City")
TITLE = "JCM Seminar in Chile: Cooling and Cold Chains"
# 14:00-16:00 in 20-minute slots: 14:00, 14:20, 14:40, 15:00, 15:20, 15:40. The chiller maker cannot meet in the
# first two, the cold store in the last three: 14:40 is the one slot they share.
SHARED_SLOT = time(14, 40)


def clock(moment: datetime) -> str:
    """"2:40 PM": the agenda's English short time."""
    return f"{moment.hour % 12 or 12}:{moment.minute:02d} {'AM' if moment.hour < 12 else 'PM'}"


def short_date(moment: datetime) -> str:
    """"Thu, Jan 14": the agenda's date beside a time on another day."""
    return f"{moment:%a}, {moment:%b} {moment.day}"


def text_of(page, selector: str) -> str:
    """Inner text with the narrow and no-break spaces Babel puts in times made plain."""
    return page.inner_text(selector).replace("\u202f", " ").replace("\xa0", " ")


def shot(page, folder: str, name: str) -> None:
    page.screenshot(path=os.path.join(folder, f"event-flow-{name}.png"), full_page=True)


def read_calendar(download) -> Calendar:
    with open(download.path(), "rb") as handle:
        return Calendar.from_ical(handle.read())


def meeting_vevent(calendar: Calendar, uid: str):
    found = [c for c in calendar.walk("VEVENT") if str(c["UID"]) == uid]
    assert len(found) == 1, [str(c["UID"]) for c in calendar.walk("VEVENT")]
    return found[0]


def test_event_flow_from_creation_to_both_agendas(browser, live_server, session, session_factory, embedder,
                                                  screenshot_dir):
    organizer = create_user(session, None, role="organizer", email="organizer@example.com", time_zone="Asia/Tokyo")
    chillers = create_organization(
        session, name="Sakura Chillers KK", kind="japanese_company", country="JP",
        description="Maker of high-efficiency centrifugal chillers for factories and cold stores.",
        offers=["High-efficiency centrifugal chillers for cold storage"], technology_categories=["energy_efficiency"],
        target_countries=["MX", "CL"])
    cold_store = create_organization(
        session, name="Monterrey Cold Storage", kind="partner_company", country="MX",
        description="Cold storage warehouses for fruit exporters in northern Mexico.",
        needs=["Efficient chillers for cold storage warehouses"], technology_categories=["energy_efficiency"])
    alice = create_user(session, chillers, email="alice@example.com", full_name="Aoi Sakura", time_zone="Asia/Tokyo")
    bob = create_user(session, cold_store, email="bob@example.com", full_name="Benito Garza",
                      time_zone="America/Mexico_City")
    session.commit()
    embed(session_factory, embedder)  # the participants page ranks them as the scheduler's job would
    day = (utcnow().astimezone(SANTIAGO) + timedelta(days=30)).date()
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.on("dialog", lambda dialog: dialog.accept())  # the timetable's "Publish 1 change?" confirmation

    # 1. The organizer creates the seminar in Santiago's time zone and publishes it.
    log_in(page, live_server, organizer.email)
    page.goto(live_server + "/events/new")
    page.fill("#f-title_en", TITLE)
    page.fill("#f-venue", "Hotel Cordillera, Sala Andes (fictional), Santiago")
    page.select_option("#f-time_zone", "America/Santiago")
    page.fill("#f-date", day.isoformat())
    page.fill("#f-opens_at", "14:00")
    page.fill("#f-closes_at", "16:00")
    page.fill("#f-meeting_minutes", "20")
    page.fill("#f-table_count", "4")
    page.fill("#f-deadline_date", (day - timedelta(days=3)).isoformat())
    page.fill("#f-deadline_time", "18:00")
    shot(page, screenshot_dir, "1-form")
    with page.expect_navigation():
        page.click("form.event-form button[type=submit].primary")
    event = session.scalar(select(Event).where(Event.title_en == TITLE))
    assert event is not None and event.time_zone == "America/Santiago"
    assert event.starts_at.astimezone(SANTIAGO) == datetime.combine(day, time(14, 0), tzinfo=SANTIAGO)
    with page.expect_navigation():
        page.click("#organizer-panel button.primary")  # Publish
    assert "published" in page.inner_text("main")
    shot(page, screenshot_dir, "2-event-organizer")
    log_out(page)

    # 2. Both organizations register; each unticks the slots it cannot meet in (the grid saves with htmx).
    for user, off in ((alice, (0, 1)), (bob, (3, 4, 5))):
        log_in(page, live_server, user.email)
        page.goto(f"{live_server}/events/{event.id}")
        with page.expect_navigation():
            page.click("#register-button")
        with page.expect_navigation():
            page.click("form.register-form button.primary")
        assert page.url.endswith(f"/events/{event.id}/registration")
        for index in off:
            page.uncheck(f"#slot-{index}")
        page.click("#availability-form button.primary")
        page.wait_for_selector("#availability .flash")
        assert text_of(page, "#availability-count").startswith(f"{6 - len(off)} of 6 slots available")
        if user is alice:
            # Tokyo is half a day ahead: the grid gives her the Santiago time and her own, on the next day.
            first = datetime.combine(day, time(14, 0), tzinfo=SANTIAGO).astimezone(TOKYO)
            assert f"{first:%H:%M}" in text_of(page, "#availability tbody tr:first-child")
            shot(page, screenshot_dir, "3-availability-tokyo")
        log_out(page)
    session.expire_all()
    regs = session.scalars(select(EventRegistration).where(EventRegistration.event_id == event.id)).all()
    assert sorted(r.status for r in regs) == ["approved", "approved"]
    assert len(session.scalars(select(EventUnavailableSlot)).all()) == 5

    # 3. The cold store finds the chiller maker among the participants and requests a meeting at the event.
    log_in(page, live_server, bob.email)
    page.goto(f"{live_server}/events/{event.id}/participants")
    assert page.locator("#participants li.participant").count() == 1
    shot(page, screenshot_dir, "4-participants")
    with page.expect_navigation():
        page.click(f"#event-request-{chillers.id} button")
    assert TITLE in page.inner_text("#request-event")
    page.fill("#f-message", "Our warehouses in Monterrey run old chillers; could we discuss a replacement?")
    with page.expect_navigation():
        page.click("#request-form button.primary")
    req = session.scalar(select(MeetingRequest).where(MeetingRequest.requester_org_id == cold_store.id))
    assert req.event_id == event.id and req.status == "pending"
    log_out(page)

    # 4. The chiller maker sees the request on the participants page and accepts it (the row swaps in place).
    log_in(page, live_server, alice.email)
    page.goto(f"{live_server}/events/{event.id}/participants")
    assert "Request received" in page.inner_text(f"#participant-{cold_store.id}")
    with page.expect_navigation():
        page.click(f"#participant-{cold_store.id} a.button")  # Answer the request
    page.click(f"#request-{req.id} button.primary")  # Accept
    page.wait_for_selector(f"#request-{req.id} [data-status=accepted]")
    page.goto(f"{live_server}/events/{event.id}/participants")
    assert "Waiting for the timetable" in page.inner_text(f"#participant-{cold_store.id}")
    log_out(page)

    # 5. The organizer runs the timetable (htmx) and publishes it.
    log_in(page, live_server, organizer.email)
    page.goto(f"{live_server}/events/{event.id}/timetable")
    page.get_by_role("button", name="Run timetable").click()
    page.wait_for_selector("#timetable-report")
    assert page.locator("#timetable-grid td[data-meeting]").count() == 1
    # The organizer reads Tokyo time too, which is on the next day: the grid says which.
    tokyo = datetime.combine(day, SHARED_SLOT, tzinfo=SANTIAGO).astimezone(TOKYO)
    assert text_of(page, "#timetable-grid tr[data-slot]:nth-child(3) .tt-time-own").startswith(
        f"{tokyo:%b} {tokyo.day} {tokyo:%H:%M}–")
    shot(page, screenshot_dir, "5-timetable-run")
    page.locator("#publish-button").click()
    page.wait_for_selector("#publish-button:has-text('Publish (0)')")
    assert "Published:" in page.inner_text("#timetable-notice")
    shot(page, screenshot_dir, "6-timetable-published")
    log_out(page)
    meeting = session.scalar(select(EventMeeting).where(EventMeeting.request_id == req.id))
    session.refresh(meeting)
    start = datetime.combine(day, SHARED_SLOT, tzinfo=SANTIAGO)
    end = start + timedelta(minutes=20)
    assert meeting.published_starts_at == start and meeting.published_table_number is not None

    # 6. Each sees the meeting in Santiago time and in its own zone, and downloads a calendar file.
    santiago_span = f"{clock(start)} – {clock(end)}"
    own_zone = {alice.email: TOKYO, bob.email: MEXICO_CITY}
    uid = f"event-meeting-{meeting.id}@127.0.0.1"
    for user, other in ((alice, cold_store), (bob, chillers)):
        log_in(page, live_server, user.email)
        page.goto(f"{live_server}/agenda")
        item = f"#agenda-event-meeting-{meeting.id}"
        assert f"Meeting with {other.name}" in page.inner_text(item)
        assert text_of(page, f"{item} .time-own") == santiago_span
        assert page.inner_text(f"{item} .zone-own") == "Chile (Santiago) Time"
        begin, finish = start.astimezone(own_zone[user.email]), end.astimezone(own_zone[user.email])
        mine = f"{clock(begin)} – {clock(finish)}"
        if begin.date() != day:
            mine = f"{short_date(begin)}, {mine}"
        assert text_of(page, f"{item} .time-viewer") == f"Your time: {mine}"
        assert f"Table {meeting.published_table_number}" in page.inner_text(item)
        shot(page, screenshot_dir, f"7-agenda-{user.time_zone.split('/')[-1].lower()}")
        if user is alice:
            # Tokyo is 12 or 13 hours ahead of Santiago: the meeting is in the small hours of the next day.
            assert begin.date() == day + timedelta(days=1) and begin.hour in (2, 3)
            with page.expect_download() as caught:
                page.click("a[href='/agenda.ics']")
        else:
            page.goto(f"{live_server}/events/{event.id}")
            with page.expect_download() as caught:
                page.click("#event-ics")
        calendar = read_calendar(caught.value)
        vevent = meeting_vevent(calendar, uid)
        dtstart = vevent["DTSTART"]
        assert dtstart.params["TZID"] == "America/Santiago"
        assert dtstart.dt.astimezone(timezone.utc) == start.astimezone(timezone.utc)
        assert dtstart.dt.replace(tzinfo=None) == datetime.combine(day, SHARED_SLOT)
        assert vevent["DTEND"].dt.astimezone(timezone.utc) == end.astimezone(timezone.utc)
        assert str(vevent["SUMMARY"]) == f"Meeting with {other.name} ({TITLE})"
        assert int(vevent["SEQUENCE"]) == 1 and str(vevent["STATUS"]) == "CONFIRMED"
        assert any(str(tz["TZID"]) == "America/Santiago" for tz in calendar.walk("VTIMEZONE"))
        assert any(str(c["UID"]) == f"event-{event.id}@127.0.0.1" for c in calendar.walk("VEVENT"))
        log_out(page)

    # A visitor (Tokyo by default) reads the hours in Santiago and, on the next day, in Tokyo.
    page.goto(f"{live_server}/events/{event.id}")
    opening = datetime.combine(day, time(14, 0), tzinfo=SANTIAGO)
    closing = opening + timedelta(hours=2)
    assert f"{day:%B} {day.day}, {day.year}, 14:00–16:00" in page.inner_text("#event-when")
    tokyo = opening.astimezone(TOKYO)
    assert (f"{tokyo:%B} {tokyo.day}, {tokyo.year}, {tokyo:%H:%M}–{closing.astimezone(TOKYO):%H:%M}"
            in page.inner_text("#viewer-when"))
    shot(page, screenshot_dir, "8-event-visitor")
    page.close()
