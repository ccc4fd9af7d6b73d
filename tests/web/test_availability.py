"""A registration's availability: the slot grid in the event's and the viewer's time, saving unticked slots, the
all/none buttons, and refusing slots outside the event."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from models import EventUnavailableSlot
from tests.factories import login
from tests.web.events_support import events_csrf_token as _token
from tests.web.events_support import make_event, register
from tests.web.requests_support import HTMX, headers, member, soup
from web.services import events


# --- availability -----------------------------------------------------------------------------------

@HTMX
def test_availability_saves_unticked_slots_as_unavailable(client, session, settings, htmx):
    event = make_event(session)
    alice = member(session)
    reg = register(session, settings, alice, event)
    session.commit()
    slots = events.slots_of(event)
    login(client, alice)
    page = soup(client.get(f"/events/{event.id}/registration"))
    boxes = page.select("#availability input[name=available]")
    assert len(boxes) == len(slots) and all(box.has_attr("checked") for box in boxes)
    keep = [slot.starts_at.isoformat() for slot in slots[2:]]
    response = client.post(f"/events/{event.id}/availability", headers=headers(htmx),
                           data={"available": keep, "csrf_token": _token(client)}, follow_redirects=False)
    if htmx:
        assert response.status_code == 200 and response.text.lstrip().startswith("<section")
        assert f"{len(slots) - 2} of {len(slots)} slots available" in soup(response).find(id="availability-count").text
    else:
        assert response.status_code == 303
    session.expire_all()
    stored = sorted(session.scalars(select(EventUnavailableSlot.starts_at)
                                    .where(EventUnavailableSlot.registration_id == reg.id)))
    assert stored == [slots[0].starts_at, slots[1].starts_at]
    page = soup(client.get(f"/events/{event.id}/registration"))
    assert [box.has_attr("checked") for box in page.select("#availability input[name=available]")][:3] == [
        False, False, True]


@pytest.mark.parametrize("bad", ["2001-01-01T00:00:00+00:00", "not a time", "{first}shifted"])
def test_availability_outside_the_event_is_refused_and_nothing_stored(client, session, settings, bad):
    event = make_event(session)
    alice = member(session)
    reg = register(session, settings, alice, event)
    slots = events.slots_of(event)
    session.add(EventUnavailableSlot(registration_id=reg.id, starts_at=slots[0].starts_at))
    session.commit()
    login(client, alice)
    value = bad.format(first=slots[0].starts_at.isoformat()[:-6]) if "{first}" in bad else bad
    response = client.post(f"/events/{event.id}/availability",
                           data={"available": [slots[1].starts_at.isoformat(), value], "csrf_token": _token(client)})
    assert response.status_code == 422
    assert "availability outside the event" in soup(response).find(id="availability-error").get_text()
    session.expire_all()
    assert session.scalars(select(EventUnavailableSlot.starts_at)).all() == [slots[0].starts_at]


def test_availability_all_and_none_buttons(client, session, settings):
    event = make_event(session)
    alice = member(session)
    register(session, settings, alice, event)
    session.commit()
    login(client, alice)
    token = _token(client)
    client.post(f"/events/{event.id}/availability", data={"preset": "none", "csrf_token": token})
    assert session.scalar(select(func.count()).select_from(EventUnavailableSlot)) == len(events.slots_of(event))
    page = soup(client.get(f"/events/{event.id}/registration"))
    assert "No slot is ticked" in page.find(id="availability-count").get_text()
    client.post(f"/events/{event.id}/availability", data={"preset": "all", "csrf_token": token})
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(EventUnavailableSlot)) == 0


def test_availability_grid_shows_event_and_viewer_times(client, session, settings):
    event = make_event(session, time_zone="America/Santiago", date="2031-09-12", deadline_date="2031-09-01",
                       opens_at="09:00", closes_at="10:00",
                       breaks=[{"starts": "09:20", "ends": "09:40", "label": "Coffee"}])
    alice = member(session, time_zone="Asia/Tokyo")
    register(session, settings, alice, event)
    session.commit()
    login(client, alice)
    rows = [[td.get_text(" ", strip=True) for td in tr.find_all("td")]
            for tr in soup(client.get(f"/events/{event.id}/registration")).select("#availability tbody tr")]
    assert rows == [["", "09:00–09:20", "21:00–21:20"], ["", "09:20–09:40 · Coffee"],
                    ["", "09:40–10:00", "21:40–22:00"]]
