"""Demo events: a past and two upcoming seminars, consistent with the rules, idempotent, and silent."""

from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from bs4 import BeautifulSoup
from sqlalchemy import func, select

from matchmaker.scheduling import Placement, check_schedule
from models import (
    Event,
    EventMeeting,
    EventMeetingSeat,
    EventRegistration,
    MeetingRequest,
    Notification,
    Organization,
    OutboxEmail,
    User,
)
from seeds.demo import DEMO_PASSWORD, load_demo
from seeds.demo_event_specs import BANGKOK, DEMO_SEMINARS, HO_CHI_MINH, SANTIAGO
from seeds.demo_events import stored_state
from tests.factories import create_organization, create_user, login
from web.services import requests, registrations
from web.services.event_matching import approved_org_ids
from web.services.events import slots_of
from web.services.timetable import build_problem, event_meetings, run_timetable

DAY = date(2026, 9, 2)  # a Wednesday; its week starts on Monday 2026-08-31


def _events(session) -> dict[str, Event]:
    by_title = {e.title_en: e for e in session.scalars(select(Event).where(Event.is_demo.is_(True)))}
    return {"past": by_title[HO_CHI_MINH.title_en], "bangkok": by_title[BANGKOK.title_en],
            "santiago": by_title[SANTIAGO.title_en]}


def _content(session) -> list:
    """Every demo event's rows as plain values, without the ids the database gave them."""
    session.expire_all()
    events = session.scalars(select(Event).where(Event.is_demo.is_(True)).order_by(Event.starts_at)).all()
    return [(event.title_en, stored_state(session, event)) for event in events]


def _counts(session) -> tuple[int, ...]:
    return tuple(session.scalar(select(func.count()).select_from(model))
                 for model in (Event, EventRegistration, MeetingRequest, EventMeeting, EventMeetingSeat))


def _org(session, external_id: str) -> Organization:
    return session.scalar(select(Organization).where(Organization.external_id == external_id))


def _user(session, email: str) -> User:
    return session.scalar(select(User).where(User.email == email))


@pytest.fixture
def demo(session):
    load_demo(session, today=DAY)
    session.commit()
    return _events(session)


def test_demo_events_are_one_past_and_two_upcoming_around_the_seed_day(session, demo):
    now = datetime.combine(DAY, time(12), tzinfo=timezone.utc)
    assert len(session.scalars(select(Event)).all()) == 3
    assert all(e.is_demo and e.is_published and "(Demo)" in e.title_en for e in demo.values())
    assert demo["past"].ends_at < now - timedelta(days=14)
    for key in ("bangkok", "santiago"):
        assert timedelta(days=14) <= demo[key].starts_at - now <= timedelta(days=42)
    bangkok, santiago = demo["bangkok"], demo["santiago"]
    start = bangkok.starts_at.astimezone(ZoneInfo("Asia/Bangkok"))
    assert (start.hour, start.minute, bangkok.ends_at.astimezone(ZoneInfo("Asia/Bangkok")).hour) == (13, 0, 17)
    assert bangkok.table_count == 6 and bangkok.timetable_published_at < now
    assert registrations.closed_reason(bangkok, now)[0] == "deadline_passed"
    local = santiago.starts_at.astimezone(ZoneInfo("America/Santiago"))
    assert santiago.time_zone == "America/Santiago" and santiago.is_online_only and santiago.online_url
    assert (local.hour, santiago.ends_at.astimezone(ZoneInfo("America/Santiago")).hour) == (14, 16)
    assert santiago.registration_deadline > now and registrations.closed_reason(santiago, now) is None
    assert santiago.timetable_published_at is None


def test_demo_registrations_and_requests_follow_the_seminars(session, demo):
    for key, seminar in (("past", HO_CHI_MINH), ("bangkok", BANGKOK), ("santiago", SANTIAGO)):
        event = demo[key]
        regs = session.scalars(select(EventRegistration).where(EventRegistration.event_id == event.id)).all()
        assert sorted((r.organization.external_id, r.status) for r in regs) == sorted(seminar.registrations)
        assert event.places_taken == sum(r.status in ("pending", "approved") for r in regs)
        assert all(len(r.attendees) == 1 and r.attendees[0].full_name for r in regs)
        assert all(r.created_at < event.registration_deadline for r in regs)
        reqs = session.scalars(select(MeetingRequest).where(MeetingRequest.event_id == event.id)).all()
        assert sorted((q.requester_org.external_id, q.recipient_org.external_id, q.status) for q in reqs) == sorted(
            (r.sender, r.recipient, r.status) for r in seminar.requests)
        for req in reqs:
            assert [h.to_status for h in req.events] == ["pending"] + ([req.status] if req.status != "pending" else [])
            assert (req.open_pair_key is not None) == (req.status == "pending")
            assert req.created_at < event.starts_at
            assert req.created_at < datetime.combine(DAY - timedelta(days=DAY.weekday()), time(), tzinfo=timezone.utc)
            assert req.status == "pending" or req.responded_at <= event.registration_deadline
    pending = session.scalars(select(MeetingRequest).where(MeetingRequest.status == "pending")).all()
    assert pending and all(q.expires_at > datetime.combine(DAY + timedelta(days=7), time(), tzinfo=timezone.utc)
                           for q in pending)
    th_org = _org(session, "demo-th-01")
    th = session.scalar(select(EventRegistration).where(EventRegistration.event_id == demo["bangkok"].id,
                                                        EventRegistration.organization_id == th_org.id))
    slots = slots_of(demo["bangkok"])
    assert sorted(u.starts_at for u in th.unavailable_slots) == [slots[0].starts_at, slots[1].starts_at]


def test_demo_timetables_hold_under_the_timetable_rules(session, demo):
    for key in ("past", "bangkok"):
        event = demo[key]
        found = event_meetings(session, event.id)
        problem, slots = build_problem(session, event, found, approved_org_ids(session, event.id))
        index = {slot.starts_at: slot.index for slot in slots}
        placements = {m.id: Placement(m.id, index[m.starts_at], m.table_number) for m in found}
        assert len(problem.meetings) == len(found) == sum(r.status == "accepted" for r in
                                                          (HO_CHI_MINH if key == "past" else BANGKOK).requests)
        assert check_schedule(problem, placements) == []
        for meeting in found:
            assert (meeting.published_starts_at, meeting.published_table_number) == (meeting.starts_at,
                                                                                      meeting.table_number)
            assert meeting.sequence == 1 and not meeting.unplaced_reason
            assert sorted(seat.organization_id for seat in meeting.seats) == sorted(
                (meeting.request.requester_org_id, meeting.request.recipient_org_id))
    waiting = event_meetings(session, demo["santiago"].id)
    assert len(waiting) == 3 and all(m.starts_at is None and m.published_starts_at is None for m in waiting)


def test_demo_users_have_meetings_at_the_bangkok_seminar(session, demo):
    bangkok = demo["bangkok"]
    for email in ("jp@example.com", "partner@example.com", "finance@example.com"):
        org_id = _user(session, email).organization_id
        mine = [m for m in event_meetings(session, bangkok.id) if m.request.involves(org_id)]
        assert len(mine) >= 3 and all(m.published_starts_at is not None for m in mine)


def test_run_timetable_on_the_demo_keeps_every_published_meeting(session):
    load_demo(session)
    session.commit()
    organizer = _user(session, "organizer@example.com")
    report = run_timetable(session, organizer, _events(session)["bangkok"].id)
    assert (report.placed, report.unplaced, report.moved_published) == (report.total, 0, [])
    assert report.total == report.published == 16
    santiago = run_timetable(session, organizer, _events(session)["santiago"].id)
    assert (santiago.placed, santiago.unplaced) == (3, 0)


def test_demo_agendas_show_the_meetings_in_both_zones(client, session):
    load_demo(session)
    session.commit()
    login(client, _user(session, "jp@example.com"), password=DEMO_PASSWORD)
    page = BeautifulSoup(client.get("/agenda").text, "html.parser")
    upcoming, past = page.select_one("#agenda-upcoming").get_text(" "), page.select_one("#agenda-past").get_text(" ")
    assert BANGKOK.title_ja in upcoming  # jp@ reads Japanese
    for name in ("Chao Phraya Frozen Foods (Demo)", "Kiriyama Green Finance Bank (Demo)",
                 "Visayas Island Resorts (Demo)"):
        assert name in upcoming
    assert "Saigon Riverside Textiles (Demo)" in past and "Dhaka Garment Works (Demo)" in past
    assert page.select("#agenda-upcoming .time-viewer")  # Bangkok times with the Tokyo ones beneath
    client.cookies.clear()
    login(client, _user(session, "partner@example.com"), password=DEMO_PASSWORD)
    upcoming = BeautifulSoup(client.get("/agenda").text, "html.parser").select_one("#agenda-upcoming").get_text(" ")
    for name in ("Aozora Air Conditioning (Demo)", "Kiriyama Green Finance Bank (Demo)", "Carbon Ledger MRV"):
        assert name in upcoming


def test_demo_events_page_lists_them_as_demo(client, session):
    load_demo(session)
    session.commit()
    page = BeautifulSoup(client.get("/events").text, "html.parser")
    cards = {card.select_one("h3 a").get_text(strip=True): card for card in page.select(".event-card")}
    assert set(cards) == {seminar.title_en for seminar in DEMO_SEMINARS}
    assert all(card.select_one(".badge-demo") for card in cards.values())


def test_seed_twice_in_a_week_changes_nothing(session, demo):
    content, counts = _content(session), _counts(session)
    rows = {e.id: e.updated_at for e in session.scalars(select(Event))}
    again = load_demo(session, today=DAY + timedelta(days=4))
    session.commit()
    assert (again.events.created, again.events.restored, again.events.unchanged, again.events.removed) == (0, 0, 3, 0)
    assert _content(session) == content and _counts(session) == counts
    assert {e.id: e.updated_at for e in session.scalars(select(Event))} == rows


def test_seed_restores_a_changed_demo_event(session, settings, demo):
    content, counts = _content(session), _counts(session)
    bangkok, santiago = demo["bangkok"], demo["santiago"]
    bangkok.status = "draft"
    session.delete(session.scalars(select(EventRegistration).where(EventRegistration.event_id == bangkok.id)).first())
    meeting = event_meetings(session, bangkok.id)[0]
    meeting.starts_at, meeting.table_number = None, None
    meeting.seats.clear()
    session.commit()
    partner = _user(session, "partner@example.com")
    registrations.register(session, settings, partner, santiago.id,
                           [{"name": "Nguyen Thi Lan", "title": "", "email": ""}],
                           now=datetime.combine(DAY, time(12), tzinfo=timezone.utc))
    session.commit()
    summary = load_demo(session, today=DAY)
    session.commit()
    assert (summary.events.restored, summary.events.unchanged) == (2, 1)
    assert _content(session) == content and _counts(session) == counts


def test_seed_in_a_later_week_moves_the_events_without_duplicates(session, demo):
    before = {key: event.starts_at for key, event in demo.items()}
    counts = _counts(session)
    summary = load_demo(session, today=DAY + timedelta(days=14))
    session.commit()
    assert summary.events.restored == 3
    after = _events(session)
    assert {key: after[key].starts_at - before[key] for key in before} == {key: timedelta(days=14) for key in before}
    assert _counts(session) == counts


def test_seed_sends_no_notification_or_email(session, demo):
    load_demo(session, today=DAY + timedelta(days=7))  # a rebuild too
    session.commit()
    assert session.scalar(select(func.count()).select_from(OutboxEmail)) == 0
    assert session.scalar(select(func.count()).select_from(Notification)) == 0


def test_seed_removes_a_demo_event_it_no_longer_names(session, demo):
    demo["past"].title_en = "Renamed by an organizer"
    session.commit()
    summary = load_demo(session, today=DAY)
    session.commit()
    assert (summary.events.created, summary.events.removed, summary.events.unchanged) == (1, 1, 2)
    assert {e.title_en for e in session.scalars(select(Event))} == {s.title_en for s in DEMO_SEMINARS}


def test_seed_leaves_a_pair_with_its_own_open_request(session, settings):
    load_demo(session)
    session.commit()
    # The partner withdraws the demo's request to the cogeneration maker and sends one of its own, off the event.
    partner = _user(session, "partner@example.com")
    cogeneration = _org(session, "demo-jp-22")
    demo_request = session.scalar(select(MeetingRequest).where(MeetingRequest.status == "pending",
                                                               MeetingRequest.recipient_org_id == cogeneration.id))
    requests.cancel_meeting(session, settings, partner, demo_request.id)
    own = requests.request_meeting(session, settings, partner, cogeneration.id, "Could we meet in Ho Chi Minh City?")
    session.commit()
    first = load_demo(session)
    session.commit()
    second = load_demo(session)
    session.commit()
    assert first.events.restored == 1 and second.events.unchanged == 3
    session.refresh(own)
    assert own.status == "pending" and own.event_id is None
    open_between = session.scalars(select(MeetingRequest)
                                   .where(MeetingRequest.open_pair_key == own.open_pair_key)).all()
    assert open_between == [own]


def test_seed_unties_but_keeps_a_real_organizations_request(session, settings, demo):
    real = create_organization(session, name="Real Cooling Co", kind="partner_company", country="TH")
    user = create_user(session, real, email="real@example.com")
    session.commit()
    santiago = demo["santiago"]
    registrations.register(session, settings, user, santiago.id, [{"name": "Real Person", "title": "", "email": ""}],
                           now=datetime.combine(DAY, time(12), tzinfo=timezone.utc))
    session.commit()
    recipient = _org(session, "demo-jp-15")
    req = MeetingRequest(requester_org_id=real.id, recipient_org_id=recipient.id, message="Hello", event_id=santiago.id,
                         status="accepted", expires_at=datetime(2030, 1, 1, tzinfo=timezone.utc))
    session.add(req)
    session.commit()
    summary = load_demo(session, today=DAY)
    session.commit()
    assert summary.events.restored == 1
    session.refresh(req)
    assert req.status == "accepted" and req.event_id is None
    assert session.get(Organization, real.id) is not None
    assert not session.scalars(select(EventRegistration).where(EventRegistration.organization_id == real.id)).all()


def test_demo_request_answered_by_an_organization_without_users_is_not_called_automatic(client, session):
    load_demo(session)
    session.commit()
    jp = _user(session, "jp@example.com")
    bd_org = _org(session, "demo-bd-01")
    req = session.scalar(select(MeetingRequest).where(MeetingRequest.requester_org_id == jp.organization_id,
                                                      MeetingRequest.recipient_org_id == bd_org.id))
    login(client, jp, password=DEMO_PASSWORD)
    page = BeautifulSoup(client.get(f"/requests/{req.id}").text, "html.parser")
    history = page.select("#request-history li")
    assert [li["data-to"] for li in history] == ["pending", "accepted"]
    assert not any("自動" in li.get_text() or "automatically" in li.get_text() for li in history)
