"""Reminders before events and meetings, by email and in the app, in each recipient's language.

Each reminder is made once: its dedupe key (unique in the notification and outbox tables) names the
thing, its start time and the user, so a second run, a restart or a second process adds nothing, while
a meeting moved to another time gets a fresh reminder.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Select, select
from sqlalchemy.orm import Session, joinedload

from models import Event, EventMeeting, EventRegistration, MeetingProposal, MeetingProposalOption
from models.base import utcnow
from web.services import notifications
from web.services.agenda import event_meeting_item, outside_meeting_item, when


def _stamp(moment: datetime) -> int:
    return int(moment.timestamp())


def _approved_orgs(session: Session, event_id: int) -> set[int]:
    return set(session.scalars(select(EventRegistration.organization_id).where(
        EventRegistration.event_id == event_id, EventRegistration.status == "approved")))


def send_event_reminders(session: Session, settings, now: datetime | None = None) -> int:
    """Remind every active user of each approved registration of events starting within the lead time."""
    now = now or utcnow()
    horizon = now + timedelta(hours=settings.event_reminder_hours)
    events = session.scalars(select(Event).where(Event.status == "published", Event.starts_at > now,
                                                 Event.starts_at <= horizon).order_by(Event.starts_at)).all()
    sent = 0
    for event in events:
        prefix = f"event_reminder:{event.id}:{_stamp(event.starts_at)}"
        for org_id in sorted(_approved_orgs(session, event.id)):
            sent += notifications.notify_org(session, settings, org_id, "event_reminder", None, dedupe_prefix=prefix,
                                             event=event, extra={"when": when})
    return sent


def _event_meetings_due(now: datetime, horizon: datetime) -> Select:
    return select(EventMeeting).options(joinedload(EventMeeting.event)).join(
        Event, EventMeeting.event_id == Event.id).where(
        Event.status == "published", EventMeeting.published_starts_at > now,
        EventMeeting.published_starts_at <= horizon).order_by(EventMeeting.published_starts_at, EventMeeting.id)


def send_meeting_reminders(session: Session, settings, now: datetime | None = None) -> int:
    """Remind both sides of published event meetings and confirmed outside meetings starting within the lead time."""
    now = now or utcnow()
    horizon = now + timedelta(minutes=settings.meeting_reminder_minutes)
    sent = 0
    for meeting in session.scalars(_event_meetings_due(now, horizon)).unique():
        req, registered = meeting.request, _approved_orgs(session, meeting.event_id)
        prefix = f"meeting_reminder:event_meeting:{meeting.id}:{_stamp(meeting.published_starts_at)}"
        for org_id in (req.requester_org_id, req.recipient_org_id):
            if org_id in registered:  # a side that withdrew from the event has no meeting there
                sent += notifications.notify_org(
                    session, settings, org_id, "meeting_reminder", req, dedupe_prefix=prefix, event=meeting.event,
                    extra={"item": event_meeting_item(meeting, org_id), "when": when})
    proposals = session.scalars(
        select(MeetingProposal)
        .join(MeetingProposalOption, MeetingProposalOption.id == MeetingProposal.confirmed_option_id)
        .where(MeetingProposal.status == "confirmed", MeetingProposalOption.starts_at > now,
               MeetingProposalOption.starts_at <= horizon)
        .order_by(MeetingProposalOption.starts_at, MeetingProposal.id)).all()
    for proposal in proposals:
        req = proposal.request
        prefix = f"meeting_reminder:meeting:{proposal.id}:{_stamp(proposal.confirmed_option.starts_at)}"
        for org_id in (req.requester_org_id, req.recipient_org_id):
            sent += notifications.notify_org(session, settings, org_id, "meeting_reminder", req, dedupe_prefix=prefix,
                                             extra={"item": outside_meeting_item(proposal, org_id), "when": when})
    return sent
