"""Publishing the event timetable: what participants are told (scheduled, moved, cancelled, once each), and re-runs
that keep what they saw."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from models import EventMeetingSeat, Notification, OutboxEmail
from tests.web.timetable_support import (
    check_placements, match_pair, organizer_token, placements_of, post_move, post_publish, post_run, registration_of,
    set_unavailable,
)
from tests.web.timetable_support import seminar  # noqa: F401 - a fixture the tests name
from tests.web.requests_support import HTMX, headers, soup
from web.services import timetable
from web.services.events import slots_of


# --- Publish ----------------------------------------------------------------------------------------------------


def _email(session, user, subject) -> OutboxEmail:
    return session.scalar(select(OutboxEmail).where(OutboxEmail.to_address == user.email,
                                                    OutboxEmail.subject == subject))


def _notes(session, kind):
    return session.scalars(select(Notification).where(Notification.kind == kind)).all()


@HTMX
def test_publish_copies_timetable_bumps_sequence_and_notifies_both(client, session, settings, seminar, htmx):
    event, people, organizer = seminar
    meeting = match_pair(session, settings, event, people, "Alpha", "Beta")
    session.commit()
    token = organizer_token(client, organizer, event)
    post_run(client, event, token)
    response = post_publish(client, event, token, htmx)
    assert response.status_code == (200 if htmx else 303)
    session.expire_all()
    assert meeting.published_starts_at == meeting.starts_at is not None
    assert meeting.published_table_number == meeting.table_number and meeting.sequence == 1
    assert meeting.published_at is not None and event.timetable_published_at is not None
    notes = _notes(session, "event_meeting_scheduled")
    assert sorted(n.user_id for n in notes) == sorted([people["Alpha"].id, people["Beta"].id])
    assert all(n.event_id == event.id and n.request_id == meeting.request_id for n in notes)
    assert all(n.dedupe_key.startswith(f"event_meeting:{meeting.id}:1:") for n in notes)
    email = _email(session, people["Alpha"], "Your meeting with Beta at JCM Seminar Bangkok")
    slot = slots_of(event)[[s.starts_at for s in slots_of(event)].index(meeting.starts_at)]
    local = slot.starts_at + timedelta(hours=9)  # Tokyo
    assert f"{local:%H:%M}–{local + timedelta(minutes=20):%H:%M} JST" in email.body
    assert f"Table {meeting.table_number}, Hall A" in email.body and "http://testserver/agenda" in email.body
    # Publishing again changes nothing and tells no one twice.
    page = post_publish(client, event, token, True)
    assert "Nothing to publish" in soup(page).select_one("#timetable-notice").get_text()
    assert len(_notes(session, "event_meeting_scheduled")) == 2
    session.expire_all()
    assert meeting.sequence == 1


def test_publish_moved_and_cancelled_meetings_notify_with_new_sequence(client, session, settings, seminar):
    event, people, organizer = seminar
    moved = match_pair(session, settings, event, people, "Alpha", "Beta")
    dropped = match_pair(session, settings, event, people, "Gamma", "Delta")
    session.commit()
    token = organizer_token(client, organizer, event)
    post_run(client, event, token)
    post_publish(client, event, token)
    session.expire_all()
    target = next(i for i, s in enumerate(slots_of(event)) if s.starts_at != moved.starts_at)
    assert post_move(client, event, token, moved, target, "2").status_code == 303
    assert client.post(f"/events/{event.id}/timetable/meetings/{dropped.id}/remove",
                       data={"csrf_token": token}, follow_redirects=False).status_code == 303
    page = soup(client.get(f"/events/{event.id}/timetable"))
    assert page.select_one("#publish-button").get_text(strip=True) == "Publish (2)"
    changes = page.select_one("#timetable-changes").get_text(" ", strip=True)
    assert "Alpha × Beta" in changes and "off the timetable" in changes
    post_publish(client, event, token)
    session.expire_all()
    assert (moved.sequence, dropped.sequence) == (2, 2)
    assert moved.published_starts_at == slots_of(event)[target].starts_at and moved.published_table_number == 2
    assert dropped.published_starts_at is None and not dropped.is_published
    assert {n.user_id for n in _notes(session, "event_meeting_moved")} == {people["Alpha"].id, people["Beta"].id}
    assert {n.user_id for n in _notes(session, "event_meeting_cancelled")} == {people["Gamma"].id,
                                                                                people["Delta"].id}
    assert all(":2:" in n.dedupe_key for n in _notes(session, "event_meeting_moved"))
    body = _email(session, people["Gamma"], "Off the timetable: your meeting with Delta at JCM Seminar Bangkok").body
    assert "was taken off the timetable" in body and "It was planned for" in body


def test_publish_of_draft_event_is_refused(client, session, settings, seminar):
    event, people, organizer = seminar
    match_pair(session, settings, event, people, "Alpha", "Beta")
    event.status = "draft"
    session.commit()
    token = organizer_token(client, organizer, event)
    post_run(client, event, token)
    response = post_publish(client, event, token, htmx=True)
    assert response.status_code == 409
    assert "Publish the event first" in soup(response).select_one("#timetable-notice").get_text()
    assert _notes(session, "event_meeting_scheduled") == []


# --- Re-runs keep what participants saw --------------------------------------------------------------------------


def test_rerun_keeps_published_meetings_in_place(session, settings, seminar):
    event, people, organizer = seminar
    pairs = (("Alpha", "Beta"), ("Gamma", "Delta"), ("Alpha", "Gamma"), ("Beta", "Delta"))
    for a, b in pairs:
        match_pair(session, settings, event, people, a, b)
    timetable.run_timetable(session, organizer, event.id)
    timetable.publish_timetable(session, settings, organizer, event.id)
    before = placements_of(session, event)
    match_pair(session, settings, event, people, "Alpha", "Delta")  # a new meeting joins
    report = timetable.run_timetable(session, organizer, event.id)
    after = placements_of(session, event)
    assert {i: after[i] for i in before} == before and report.moved_published == []
    assert len(after) == 5 and check_placements(session, event) == []


def test_rerun_moves_published_meeting_when_availability_changes_and_reports_it(client, session, settings, seminar):
    event, people, organizer = seminar
    meeting = match_pair(session, settings, event, people, "Alpha", "Beta")
    other = match_pair(session, settings, event, people, "Gamma", "Delta")
    timetable.run_timetable(session, organizer, event.id)
    timetable.publish_timetable(session, settings, organizer, event.id)
    published = meeting.published_starts_at
    index = [s.starts_at for s in slots_of(event)].index(published)
    set_unavailable(session, registration_of(session, event, people["Beta"]), [index])
    session.commit()
    token = organizer_token(client, organizer, event)
    page = soup(client.get(post_run(client, event, token).headers["location"]))
    session.expire_all()
    assert meeting.starts_at not in (None, published) and meeting.published_starts_at == published
    assert other.starts_at == other.published_starts_at  # untouched
    moved = page.select_one("#timetable-moved").get_text(" ", strip=True)
    assert "Alpha × Beta" in moved and "Gamma" not in moved
    assert page.find(id=f"meeting-{meeting.id}").select_one("[data-status]")["data-status"] == "changed"
    assert check_placements(session, event) == []


def test_rerun_keeps_meeting_placed_by_hand(client, session, settings, seminar):
    event, people, organizer = seminar
    meeting = match_pair(session, settings, event, people, "Alpha", "Beta")
    session.commit()
    token = organizer_token(client, organizer, event)
    assert post_move(client, event, token, meeting, 4, "2").status_code == 303
    session.expire_all()
    assert meeting.pinned and meeting.starts_at == slots_of(event)[4].starts_at
    post_run(client, event, token)
    session.expire_all()
    assert (meeting.starts_at, meeting.table_number) == (slots_of(event)[4].starts_at, 2)
    response = client.post(f"/events/{event.id}/timetable/meetings/{meeting.id}/release",
                           data={"csrf_token": token}, headers=headers(True))
    assert response.status_code == 200
    session.expire_all()
    assert not meeting.pinned


def test_meeting_taken_off_stays_off_until_placed_again(client, session, settings, seminar):
    event, people, organizer = seminar
    meeting = match_pair(session, settings, event, people, "Alpha", "Beta")
    session.commit()
    token = organizer_token(client, organizer, event)
    post_run(client, event, token)
    response = client.post(f"/events/{event.id}/timetable/meetings/{meeting.id}/remove",
                           data={"csrf_token": token}, headers=headers(True))
    assert response.status_code == 200
    assert "Taken off the timetable by an organizer." in soup(response).find(id=f"unplaced-{meeting.id}").get_text()
    post_run(client, event, token)
    session.expire_all()
    assert meeting.starts_at is None and meeting.unplaced_reason == "removed"
    assert session.scalars(select(EventMeetingSeat).where(EventMeetingSeat.meeting_id == meeting.id)).all() == []
    assert post_move(client, event, token, meeting, 0, "1").status_code == 303
    session.expire_all()
    assert meeting.starts_at == slots_of(event)[0].starts_at and meeting.unplaced_reason == ""


def test_report_says_published_meetings_kept_only_when_there_were_some(client, session, settings, seminar):
    event, people, organizer = seminar
    match_pair(session, settings, event, people, "Alpha", "Beta")
    session.commit()
    token = organizer_token(client, organizer, event)
    first = soup(post_run(client, event, token, htmx=True)).select_one("#timetable-report").get_text()
    assert "Every published meeting kept" not in first
    post_publish(client, event, token)
    second = soup(post_run(client, event, token, htmx=True)).select_one("#timetable-report").get_text()
    assert "Every published meeting kept its time and table." in second


def test_withdrawal_then_publish_tells_no_one_twice(session, settings, seminar):
    """The registration side takes a withdrawn organization's meetings off and tells the other side; publishing
    afterwards records the cancellation (sequence bumped) without a second notice."""
    from web.services import registrations

    event, people, organizer = seminar
    kept = match_pair(session, settings, event, people, "Alpha", "Beta")
    dropped = match_pair(session, settings, event, people, "Gamma", "Delta")
    timetable.run_timetable(session, organizer, event.id)
    timetable.publish_timetable(session, settings, organizer, event.id)
    registrations.withdraw(session, settings, people["Delta"], event.id)
    told = _notes(session, "event_meeting_cancelled")
    assert [n.user_id for n in told] == [people["Gamma"].id]
    report = timetable.run_timetable(session, organizer, event.id)
    assert report.total == 1 and dropped.unplaced_reason == f"withdrawn:{people['Delta'].organization_id}"
    published = timetable.publish_timetable(session, settings, organizer, event.id)
    assert (published.cancelled, published.moved, published.scheduled) == (1, 0, 0)
    assert dropped.published_starts_at is None and dropped.sequence == 2 and kept.sequence == 1
    assert [n.user_id for n in _notes(session, "event_meeting_cancelled")] == [people["Gamma"].id]
