"""Events: publish/unpublish visibility, who may open the organizer's pages, the list and detail pages.

The organizer's form (creating and editing, every refusal) is tested in test_event_form.py."""

from __future__ import annotations

import pytest

from models import Event
from tests.conftest import csrf_token
from tests.factories import create_organization, create_user, login
from tests.web.events_support import event_values, form_data, make_event, organizer, register, shift
from tests.web.requests_support import HTMX, headers, member, soup


# --- who sees what ---------------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/events/new", "/events/{id}/edit"])
def test_organizer_pages_refuse_members_and_send_visitors_to_login(client, session, path):
    event = make_event(session)
    alice = member(session)
    session.commit()
    url = path.format(id=event.id)
    response = client.get(url, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith("/login?next=")
    token = csrf_token(client, "/events")
    for post in (url, f"/events/{event.id}/publish", f"/events/{event.id}/unpublish"):
        response = client.post(post, data=form_data(event_values(), token), follow_redirects=False)
        assert response.status_code == 303 and response.headers["location"].startswith("/login"), post
    login(client, alice)
    assert client.get(url).status_code == 403
    token = csrf_token(client, "/events")
    assert client.post(url, data=form_data(event_values(title_en="Hacked"), token)).status_code == 403
    for action in ("publish", "unpublish"):
        assert client.post(f"/events/{event.id}/{action}", data={"csrf_token": token}).status_code == 403
    session.expire_all()
    assert session.get(Event, event.id).title_en == "JCM Seminar in Thailand"


@HTMX
def test_drafts_are_seen_by_organizers_only(client, session, htmx):
    boss = organizer(session)
    draft = make_event(session, by=boss, publish=False, title_en="Secret draft")
    alice = member(session)
    session.commit()
    assert client.get(f"/events/{draft.id}").status_code == 404
    assert "Secret draft" not in client.get("/events").text
    login(client, alice)
    assert client.get(f"/events/{draft.id}", headers=headers(htmx)).status_code == 404
    assert "Secret draft" not in client.get("/events").text
    client.cookies.clear()
    login(client, boss)
    page = soup(client.get("/events", headers=headers(htmx)))
    assert "Secret draft" in page.find(id="drafts").get_text()
    assert client.get(f"/events/{draft.id}").status_code == 200


def test_publish_and_unpublish_change_visibility(client, session):
    boss = organizer(session)
    event = make_event(session, by=boss, publish=False)
    alice = member(session)
    session.commit()
    login(client, boss)
    token = csrf_token(client, "/events")
    assert client.post(f"/events/{event.id}/publish", data={"csrf_token": token},
                       follow_redirects=False).status_code == 303
    session.expire_all()
    assert session.get(Event, event.id).status == "published" and session.get(Event, event.id).published_at
    client.cookies.clear()
    assert client.get(f"/events/{event.id}").status_code == 200  # visitors
    login(client, alice)
    assert client.get(f"/events/{event.id}").status_code == 200
    assert "JCM Seminar in Thailand" in soup(client.get("/events")).find(id="upcoming").get_text()
    client.cookies.clear()
    login(client, boss)
    token = csrf_token(client, "/events")
    client.post(f"/events/{event.id}/unpublish", data={"csrf_token": token})
    client.cookies.clear()
    assert client.get(f"/events/{event.id}").status_code == 404
    login(client, alice)
    assert client.get(f"/events/{event.id}").status_code == 404


def test_past_event_cannot_be_published(client, session):
    boss = organizer(session)
    event = make_event(session, by=boss, publish=False)
    shift(session, event, -60)
    session.commit()
    login(client, boss)
    response = client.post(f"/events/{event.id}/publish", data={"csrf_token": csrf_token(client, "/events")})
    assert response.status_code == 409 and "over" in response.text


# --- list and detail -------------------------------------------------------------------------------

def test_list_splits_upcoming_and_past(client, session):
    later = make_event(session, title_en="Later", days_ahead=60)
    sooner = make_event(session, title_en="Sooner", days_ahead=20)
    old = make_event(session, title_en="Old one")
    shift(session, old, -90)
    session.commit()
    page = soup(client.get("/events"))
    upcoming = [a.get_text(strip=True) for a in page.select("#upcoming .event-card h3 a")]
    assert upcoming == ["Sooner", "Later"]
    assert [a.get_text(strip=True) for a in page.select("#past .event-card h3 a")] == ["Old one"]
    assert later.id and sooner.id


def test_detail_for_visitor_offers_login_to_register(client, session):
    event = make_event(session)
    session.commit()
    page = soup(client.get(f"/events/{event.id}"))
    link = page.find(id="login-to-register")
    assert link["href"] == f"/login?next=/events/{event.id}/register"
    assert "40 of 40 places left" in page.find(id="event-places").get_text()
    assert "11 one-to-one meeting slots" in page.get_text() and "10 meeting tables" in page.get_text()
    assert "Bangkok Convention Centre" in page.find(id="event-where").get_text()
    response = client.get(link["href"].split("next=")[1], follow_redirects=False)
    assert response.headers["location"] == f"/login?next=/events/{event.id}/register"


def test_detail_shows_santiago_event_in_both_zones_for_a_tokyo_user(client, session):
    event = make_event(session, time_zone="America/Santiago", date="2031-09-12", deadline_date="2031-09-01",
                       opens_at="09:00", closes_at="12:00", breaks=[])
    tokyo = member(session, time_zone="Asia/Tokyo")
    session.commit()
    login(client, tokyo)
    page = soup(client.get(f"/events/{event.id}"))
    # Santiago is UTC-3 in September (summer time), Tokyo UTC+9: 09:00 there is 21:00 here.
    assert "Friday, September 12, 2031, 09:00–12:00" in page.find(id="event-when").get_text()
    assert "Santiago (UTC-03:00)" in page.find(id="event-when").get_text()
    viewer = page.find(id="viewer-when").get_text()
    assert "Friday, September 12, 2031, 21:00–24:00" in viewer
    assert "Tokyo (UTC+09:00)" in viewer


def test_detail_in_japanese_shows_japanese_title_with_english_fallback(client, session):
    event = make_event(session, title_ja="タイJCMセミナー", description_ja="")
    session.commit()
    page = client.get(f"/events/{event.id}", headers={"Accept-Language": "ja"}).text
    assert "タイJCMセミナー" in page and "Meet partners." in page  # description falls back to English


def test_detail_for_member_offers_register_and_shows_state(client, session, settings):
    event = make_event(session)
    alice = member(session)
    session.commit()
    login(client, alice)
    page = soup(client.get(f"/events/{event.id}"))
    assert page.find(id="register-button")["href"] == f"/events/{event.id}/register"
    register(session, settings, alice, event)
    session.commit()
    panel = soup(client.get(f"/events/{event.id}")).find(id="registration-panel")
    assert panel.find(attrs={"data-status": "approved"}) is not None
    assert panel.find("a", href=f"/events/{event.id}/registration") is not None


def test_detail_for_unapproved_member_explains(client, session):
    event = make_event(session)
    pending = create_user(session, create_organization(session, status="pending"))
    session.commit()
    login(client, pending)
    page = soup(client.get(f"/events/{event.id}"))
    assert "must be approved" in page.find(id="member-refusal").get_text()
    assert page.find(id="register-button") is None


def test_online_link_is_shown_to_approved_participants_and_organizers_only(client, session, settings):
    boss = organizer(session)
    event = make_event(session, by=boss, online_url="https://meet.example.com/secret")
    alice, bob = member(session), member(session)
    register(session, settings, alice, event)
    session.commit()
    assert "meet.example.com/secret" not in client.get(f"/events/{event.id}").text
    login(client, bob)
    assert "meet.example.com/secret" not in client.get(f"/events/{event.id}").text
    for user in (alice, boss):
        client.cookies.clear()
        login(client, user)
        assert "meet.example.com/secret" in client.get(f"/events/{event.id}").text


def test_event_page_links_each_viewer_to_the_event_pages_they_may_use(client, session, settings):
    boss = organizer(session)
    event = make_event(session, by=boss)
    alice, bob = member(session), member(session)
    register(session, settings, alice, event)
    session.commit()

    def tools(user):
        client.cookies.clear()
        if user is not None:
            login(client, user)
        return [a["href"] for a in soup(client.get(f"/events/{event.id}")).select("#event-tools a")]

    assert tools(None) == [] and tools(bob) == []
    assert tools(alice) == [f"/events/{event.id}/participants", "/agenda"]
    organizer_links = tools(boss)
    assert organizer_links == [f"/events/{event.id}/{page}" for page in ("participants", "timetable", "dashboard")]
    for href in organizer_links:  # every link leads to a page
        assert client.get(href).status_code == 200, href


def test_events_tab_is_public_with_an_empty_state(client, session):
    response = client.get("/events")
    assert response.status_code == 200 and soup(response).find(class_="empty-state") is not None
    # A draft never counts for visitors.
    make_event(session, publish=False)
    session.commit()
    assert soup(client.get("/events")).find(class_="empty-state") is not None
