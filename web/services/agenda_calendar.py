"""Calendar files (.ics) of an agenda or an event, and the private subscription link calendar apps poll."""

from __future__ import annotations

import hmac
import secrets
from datetime import timedelta
from urllib.parse import urlparse

from icalendar import Calendar
from icalendar import Event as VEvent
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from models import CalendarFeed, Event, EventRegistration, User
from web import i18n
from web.errors import NotFound
from web.i18n import _
from web.services.agenda import AgendaItem, agenda_items, event_item, event_meeting_items, zone_info

FEED_SALT = "agenda-feed"
PRODID = "-//JCM Matchmaker//Agenda//EN"


def host_of(settings) -> str:
    """The host of settings.base_url: the right-hand side of every UID."""
    return urlparse(settings.base_url).hostname or "jcm-matchmaker.invalid"


def _location(item: AgendaItem) -> str:
    if item.table_number is not None:
        if item.location:
            return _("%(venue)s, table %(table)s") % {"venue": item.location, "table": item.table_number}
        return _("Table %(table)s") % {"table": item.table_number}
    return item.location or item.online_url


def _description(item: AgendaItem, language: str, url: str) -> str:
    lines = []
    if item.kind == "event":
        lines.append(item.event.description(language))
    else:
        lines.append(_("With %(org)s") % {"org": item.other.name})
        if item.kind == "event_meeting":
            lines.append(_("At %(event)s") % {"event": item.event.title(language)})
            if item.table_number is not None:
                lines.append(_("Table %(table)s") % {"table": item.table_number})
        if item.message:
            lines.append(item.message)
    if item.online_url:
        lines.append(_("Online: %(link)s") % {"link": item.online_url})
    lines.append(url)
    return "\n\n".join(line for line in lines if line)


def _vevent(item: AgendaItem, settings, language: str) -> VEvent:
    zone = zone_info(item.zone)
    url = settings.base_url.rstrip("/") + item.link
    summary = item.title(language)
    if item.kind == "event_meeting":
        summary = _("%(title)s (%(event)s)") % {"title": summary, "event": item.event.title(language)}
    if item.status == "cancelled":
        summary = _("Cancelled: %(title)s") % {"title": summary}
    vevent = VEvent()
    vevent.add("uid", item.uid(host_of(settings)))
    vevent.add("dtstamp", item.updated_at)
    vevent.add("last-modified", item.updated_at)
    vevent.add("dtstart", item.starts_at.astimezone(zone))
    vevent.add("dtend", item.ends_at.astimezone(zone))
    vevent.add("sequence", item.sequence)
    vevent.add("status", "CANCELLED" if item.status == "cancelled" else "CONFIRMED")
    vevent.add("summary", summary)
    location = _location(item)
    if location:
        vevent.add("location", location)
    vevent.add("description", _description(item, language, url))
    vevent.add("url", url)
    return vevent


def build_calendar(items: list[AgendaItem], settings, name: str) -> bytes:
    """An iCalendar file of the items in the current language, each time in its own zone with a VTIMEZONE."""
    language = i18n.current_language()
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", name)
    # Subscribed calendars: ask the app to poll hourly (Google and Apple read one or the other).
    calendar.add("refresh-interval", timedelta(hours=1), parameters={"VALUE": "DURATION"})
    calendar.add("x-published-ttl", "PT1H")
    for item in items:
        calendar.add_component(_vevent(item, settings, language))
    if items:
        # The zone's rules for a year either side of the items: complete for them, and a small file.
        first = min(item.starts_at for item in items).date() - timedelta(days=366)
        last = max(item.ends_at for item in items).date() + timedelta(days=366)
        calendar.add_missing_timezones(first_date=first, last_date=last)
    return calendar.to_ical()


def agenda_calendar(session: Session, settings, user: User) -> bytes:
    """Every item of the user's organization, with cancelled meetings kept so calendars drop them."""
    items = agenda_items(session, user.organization_id, include_cancelled=True)
    name = user.organization.name if user.organization is not None else user.full_name or user.email
    return build_calendar(items, settings, _("JCM Matchmaker: %(name)s") % {"name": name})


def event_calendar(session: Session, settings, event: Event, viewer: User | None) -> bytes:
    """The event; for a viewer whose organization is registered (approved), also its meetings there."""
    items = [event_item(event)]
    org_id = viewer.organization_id if viewer is not None else None
    registered = select(EventRegistration.id).where(EventRegistration.event_id == event.id,
                                                    EventRegistration.organization_id == org_id,
                                                    EventRegistration.status == "approved")
    if org_id is not None and session.scalar(registered) is not None:
        items += event_meeting_items(session, org_id, event.id, include_cancelled=True)
    return build_calendar(items, settings, event.title(i18n.current_language()))


def _serializer(settings) -> URLSafeSerializer:
    return URLSafeSerializer(settings.secret_key, salt=FEED_SALT)


def feed_token(session: Session, settings, user: User) -> str:
    """The user's subscription token: their id and current nonce, signed with the secret key."""
    feed = session.get(CalendarFeed, user.id)
    return _serializer(settings).dumps([user.id, feed.nonce if feed else ""])


def renew_feed_token(session: Session, settings, user: User) -> str:
    """A new nonce, so the new link works and every older one stops working."""
    nonce = secrets.token_urlsafe(12)
    feed = session.get(CalendarFeed, user.id)
    if feed is None:
        try:
            with session.begin_nested():
                session.add(CalendarFeed(user_id=user.id, nonce=nonce))
        except IntegrityError:  # a renewal in another tab at the same moment: take the row it made
            feed = session.get(CalendarFeed, user.id)
    if feed is not None:
        feed.nonce = nonce
    session.flush()
    return feed_token(session, settings, user)


def user_for_feed(session: Session, settings, token: str) -> User:
    """The active user a valid, current token belongs to; 404 for anything else (no hint why)."""
    unknown = NotFound(_("This calendar link is not valid any more. Copy the current one from your agenda."))
    try:
        user_id, nonce = _serializer(settings).loads(token)
    except (BadSignature, TypeError, ValueError):
        raise unknown
    user = session.get(User, user_id) if isinstance(user_id, int) else None
    if user is None or not user.is_active or not isinstance(nonce, str):
        raise unknown
    feed = session.get(CalendarFeed, user.id)
    if not hmac.compare_digest(nonce, feed.nonce if feed else ""):
        raise unknown
    if not user.is_organizer and (user.organization is None or not user.organization.is_approved):
        raise unknown
    return user
