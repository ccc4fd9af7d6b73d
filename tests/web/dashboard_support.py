"""Rows for the dashboard tests, made directly: events, registrations, requests and event meetings; the organizer
and the data set the dashboard tests share (fixtures)."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

import pytest
from bs4 import BeautifulSoup

from models import Event, EventMeeting, EventRegistration, MeetingRequest, OrganizationTag
from tests.factories import create_organization, login
from tests.web.organizer_support import organizer  # noqa: F401 - the fixture boss takes

SVG = "{http://www.w3.org/2000/svg}"
UTC = timezone.utc


def at(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def org(session, country: str = "JP", kind: str = "japanese_company", categories=(), reviewed_at=None,
        **overrides):
    """An organization (approved unless status is given) with technology categories."""
    row = create_organization(session, country=country, kind=kind, technology_categories=list(categories),
                              **overrides)
    if reviewed_at is not None:
        row.reviewed_at = reviewed_at
        session.flush()
    return row


def tag(session, organization, value: str) -> None:
    """A category tag with any value (also one no taxonomy entry has), straight into organization_tag."""
    session.add(OrganizationTag(organization_id=organization.id, field="technology_categories", value=value))
    session.flush()


def event(session, **overrides) -> Event:
    """A published one-day event: 09:00-12:00 in Tokyo (00:00-03:00 UTC), 30-minute meetings, 3 tables."""
    values = dict(title_en="JCM Seminar Hanoi", time_zone="Asia/Tokyo", starts_at=at(2026, 7, 1, 0),
                  ends_at=at(2026, 7, 1, 3), meeting_minutes=30, table_count=3,
                  registration_deadline=at(2026, 6, 25), capacity=40, status="published")
    values.update(overrides)
    row = Event(**values)
    session.add(row)
    session.flush()
    return row


def register(session, ev: Event, organization, status: str = "approved", created_at: datetime | None = None):
    row = EventRegistration(event_id=ev.id, organization_id=organization.id, status=status)
    if created_at is not None:
        row.created_at = created_at
    session.add(row)
    session.flush()
    return row


def request(session, sender, recipient, status: str = "pending", ev: Event | None = None,
            created_at: datetime | None = None, responded_at: datetime | None = None) -> MeetingRequest:
    created = created_at or datetime.now(UTC)
    row = MeetingRequest(requester_org_id=sender.id, recipient_org_id=recipient.id, message="Let us meet.",
                         topics=[], event_id=ev.id if ev else None, status=status, created_at=created,
                         expires_at=created + timedelta(days=14), responded_at=responded_at)
    session.add(row)
    session.flush()
    return row


def meeting(session, ev: Event, req: MeetingRequest, starts_at: datetime | None = None, table: int | None = None,
            published: bool = False, reason: str = "") -> EventMeeting:
    row = EventMeeting(event_id=ev.id, request_id=req.id, starts_at=starts_at, table_number=table,
                       unplaced_reason=reason, published_starts_at=starts_at if published else None,
                       published_table_number=table if published else None)
    session.add(row)
    session.flush()
    return row


def soup(response) -> BeautifulSoup:
    return BeautifulSoup(response.text, "html.parser")


def svg_of(html: str, key: str) -> ET.Element:
    """The chart's <svg> element parsed as XML (fails if the markup is not well-formed)."""
    match = re.search(r'<svg[^>]*aria-labelledby="chart-%s-title[^"]*".*?</svg>' % re.escape(key), html, re.S)
    assert match, f"no chart {key!r} on the page"
    return ET.fromstring(match.group(0))


def bars(svg: ET.Element, role: str = "bar") -> list[ET.Element]:
    return [el for el in svg.iter() if el.get("class") == role]


def texts(svg: ET.Element, role: str) -> list[str]:
    return [el.text for el in svg.iter(f"{SVG}text") if el.get("class") == role]


def table_rows(page: BeautifulSoup, key: str) -> list[list[str]]:
    """The numbers table under a chart: header row first."""
    table = page.find(id=f"dash-{key}").find("table")
    return [[cell.get_text(strip=True) for cell in row.find_all(["th", "td"])] for row in table.find_all("tr")]


# --- fixtures -----------------------------------------------------------------------------------

@pytest.fixture
def boss(client, organizer):  # organizer: tests.web.organizer_support's fixture
    login(client, organizer)
    return client


@pytest.fixture
def data(session):
    """Eight organizations, one event (Tokyo, 09:00-12:00, 30-minute slots, 3 tables), seven requests.

    Approved: jp1, jp2 (Japanese companies), jp3 (consultant), vn1, th1 (partner companies);
    vn2 pending, th2 rejected, fi (financial institution, JP) suspended.
    """
    jp1 = org(session, "JP", categories=["energy_efficiency", "renewable_energy"], name="JP One")
    jp2 = org(session, "JP", categories=["energy_efficiency"], name="JP Two")
    jp3 = org(session, "JP", "consultant", name="JP Consult")
    vn1 = org(session, "VN", "partner_company", categories=["energy_efficiency"], name="VN One")
    vn2 = org(session, "VN", "partner_company", status="pending")
    th1 = org(session, "TH", "partner_company", categories=["renewable_energy"], name="TH One")
    th2 = org(session, "TH", "partner_company", status="rejected")
    fi = org(session, "JP", "financial_institution", status="suspended")
    ev = event(session)
    register(session, ev, jp1)
    register(session, ev, vn1)
    register(session, ev, th1, "pending")
    register(session, ev, jp2, "withdrawn")
    register(session, ev, jp3, "rejected")
    r1 = request(session, jp1, vn1, "accepted", ev)
    r2 = request(session, th1, jp1, "accepted", ev)
    r3 = request(session, jp2, vn1, "accepted", ev)
    r4 = request(session, jp1, th1, "accepted", ev)
    request(session, vn1, jp3, "pending", ev)
    request(session, jp1, vn1, "declined")
    r7 = request(session, th1, jp2, "cancelled", ev)
    meeting(session, ev, r1, at(2026, 7, 1, 0), 1, published=True)  # 09:00 Tokyo
    meeting(session, ev, r2, at(2026, 7, 1, 0), 2)
    meeting(session, ev, r3, reason="no_common_slot")
    meeting(session, ev, r4)
    meeting(session, ev, r7, at(2026, 7, 1, 0, 30), 1)  # its request was cancelled: not counted anywhere
    session.commit()
    return SimpleNamespace(event=ev, jp1=jp1, jp3=jp3, vn2=vn2, th2=th2, fi=fi)
