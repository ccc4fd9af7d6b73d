"""Match pages and message threads: contacts, posting, unread markers, authorization and CSRF."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from models import MeetingMessage
from tests.factories import create_user
from tests.web.requests_support import HTMX, headers, logged_in, make_match, make_request, member, soup
from web.services import messages


@HTMX
def test_match_page_shows_other_contact_person(client, session, settings, htmx):
    alice, bob = member(session, "Alpha"), member(session, "Beta")
    req = make_match(session, settings, alice, bob)
    session.commit()
    logged_in(client, alice)
    response = client.get(f"/matches/{req.id}", headers=headers(htmx))
    assert response.status_code == 200
    page = soup(response)
    assert page.find(id="thread") is not None
    if not htmx:
        card = page.find(id=f"contact-{bob.organization_id}")
        assert card.find(class_="contact-name").get_text(strip=True) == "Contact of Beta"
        assert card.find(class_="contact-email").get_text(strip=True) == "contact@example.com"
        assert card.find(class_="contact-phone").get_text(strip=True) == "+81 3 0000 0000"
        assert page.find(id=f"contact-{alice.organization_id}") is None


@HTMX
def test_post_message_appends_to_thread(client, session, settings, htmx):
    alice, bob = member(session, "Alpha", full_name="Alice A"), member(session, "Beta", full_name="Bob B")
    req = make_match(session, settings, alice, bob)
    messages.post_message(session, settings, bob, req.id, "First, from Beta")
    session.commit()
    token = logged_in(client, alice)
    response = client.post(f"/matches/{req.id}", data={"csrf_token": token, "body": "Second <b>from</b> Alpha"},
                           headers=headers(htmx), follow_redirects=False)
    if htmx:
        assert response.status_code == 200
        thread = soup(response).find(id="thread")
    else:
        assert response.status_code == 303 and response.headers["location"].startswith(f"/matches/{req.id}")
        thread = soup(client.get(f"/matches/{req.id}")).find(id="thread")
    bodies = [p.get_text() for p in thread.select(".message-body")]
    assert bodies == ["First, from Beta", "Second <b>from</b> Alpha"]  # newest at the bottom, escaped
    assert ["mine" in li["class"] for li in thread.select("li.message")] == [False, True]
    # Each message says who wrote it, for which organization (read with the thread's own narrow query).
    authors = [" ".join(p.get_text(" ", strip=True).split()[:4]) for p in thread.select(".message-meta")]
    assert authors == ["Bob B · Beta", "Alice A · Alpha"]
    assert thread.find("textarea", {"name": "body"}).get_text() == ""


@pytest.mark.parametrize("body, status", [("   ", 422), ("x" * 5001, 422)])
@HTMX
def test_bad_message_is_refused_and_kept(client, session, settings, htmx, body, status):
    alice, bob = member(session), member(session)
    req = make_match(session, settings, alice, bob)
    session.commit()
    token = logged_in(client, alice)
    response = client.post(f"/matches/{req.id}", data={"csrf_token": token, "body": body}, headers=headers(htmx))
    assert response.status_code == status
    thread = soup(response).find(id="thread")
    assert thread.find(id="e-body") is not None
    assert thread.find("textarea", {"name": "body"}).get_text() == body
    assert session.scalar(select(MeetingMessage)) is None


def test_unread_markers_per_user(client, session, settings):
    alice, bob = member(session), member(session)
    req = make_match(session, settings, alice, bob)
    first = messages.post_message(session, settings, bob, req.id, "one")
    session.commit()
    logged_in(client, alice)
    page = soup(client.get(f"/matches/{req.id}"))
    assert "unread" in page.find(id=f"message-{first.id}")["class"]
    second = messages.post_message(session, settings, bob, req.id, "two")
    session.commit()
    assert "1 new message" in soup(client.get("/matches")).find(id=f"request-{req.id}").get_text()
    page = soup(client.get(f"/matches/{req.id}"))
    assert "unread" not in page.find(id=f"message-{first.id}")["class"]
    assert "unread" in page.find(id=f"message-{second.id}")["class"]
    assert "new message" not in soup(client.get("/matches")).find(id=f"request-{req.id}").get_text()
    assert messages.unread_counts(session, bob, [req.id]) == {}  # own messages are never unread


@pytest.mark.parametrize("method", ["get", "post"])
def test_other_member_cannot_see_or_post_in_thread(client, session, settings, method):
    alice, bob, eve = member(session), member(session), member(session)
    req = make_match(session, settings, alice, bob)
    session.commit()
    token = logged_in(client, eve)
    url = f"/matches/{req.id}"
    response = client.get(url) if method == "get" else client.post(url, data={"csrf_token": token, "body": "hi"})
    assert response.status_code == 404
    assert session.scalar(select(MeetingMessage)) is None


def test_thread_of_pending_request_does_not_exist(client, session, settings):
    alice, bob = member(session), member(session)
    req = make_request(session, settings, alice, bob)
    session.commit()
    token = logged_in(client, alice)
    assert client.get(f"/matches/{req.id}").status_code == 404
    assert client.post(f"/matches/{req.id}", data={"csrf_token": token, "body": "hi"}).status_code == 404


def test_post_message_without_csrf_is_refused(client, session, settings):
    alice, bob = member(session), member(session)
    req = make_match(session, settings, alice, bob)
    session.commit()
    logged_in(client, alice)
    assert client.post(f"/matches/{req.id}", data={"body": "hi"}).status_code == 403
    assert session.scalar(select(MeetingMessage)) is None


def test_organizer_reads_thread_but_cannot_post(client, session, settings):
    alice, bob = member(session, "Alpha"), member(session, "Beta")
    organizer = create_user(session, None, role="organizer")
    req = make_match(session, settings, alice, bob)
    messages.post_message(session, settings, alice, req.id, "hello")
    session.commit()
    token = logged_in(client, organizer)
    page = soup(client.get(f"/matches/{req.id}"))
    assert page.find(id=f"contact-{alice.organization_id}") and page.find(id=f"contact-{bob.organization_id}")
    assert page.find("form", class_="message-form") is None
    assert client.post(f"/matches/{req.id}", data={"csrf_token": token, "body": "hi"}).status_code == 403


def test_viewing_a_read_thread_writes_nothing(app, client, session, settings):
    """A thread is viewed far more often than written to: only a view with something new marks it read."""
    from tests.web.query_support import statements_of

    alice, bob = member(session, "Alpha"), member(session, "Beta")
    req = make_match(session, settings, alice, bob)
    messages.post_message(session, settings, bob, req.id, "Hello from Beta")
    session.commit()
    logged_in(client, alice)
    writes = lambda seen: [s for s, _p in seen if s.lstrip().split()[0] in ("INSERT", "UPDATE", "DELETE")]  # noqa: E731
    assert writes(statements_of(client, app.state.engine, f"/matches/{req.id}"))  # unread: marked read
    assert writes(statements_of(client, app.state.engine, f"/matches/{req.id}")) == []
    assert writes(statements_of(client, app.state.engine, f"/api/v1/matches/{req.id}/messages")) == []
    messages.post_message(session, settings, bob, req.id, "Another one")
    session.commit()
    assert writes(statements_of(client, app.state.engine, f"/api/v1/matches/{req.id}/messages"))
    assert messages.last_read_id(session, alice, req) == max(m.id for m in messages.list_messages(session, req))
