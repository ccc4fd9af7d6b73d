"""Notifications: in-app rows and the nav count, email per kind (and off), recipient's language, pages."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from models import Notification, OutboxEmail
from tests.factories import create_user
from tests.web.requests_support import HTMX, headers, logged_in, make_request, member, soup
from web import i18n
from web.services import requests, messages, notifications


def _kinds(session, user):
    return [n.kind for n in session.scalars(select(Notification).where(Notification.user_id == user.id)
                                            .order_by(Notification.id))]


def _emails(session, user):
    return list(session.scalars(select(OutboxEmail).where(OutboxEmail.to_address == user.email)
                                .order_by(OutboxEmail.id)))


def test_each_event_notifies_the_other_side_in_app_and_by_email(session, settings):
    alice, bob = member(session, "Alpha"), member(session, "Beta")
    bob_colleague = create_user(session, bob.organization)
    req = make_request(session, settings, alice, bob)
    assert _kinds(session, bob) == _kinds(session, bob_colleague) == ["request_new"]
    assert _kinds(session, alice) == []
    requests.accept_meeting(session, settings, bob, req.id)
    messages.post_message(session, settings, bob, req.id, "Shall we meet on Tuesday?")
    assert _kinds(session, alice) == ["request_accepted", "message_new"]
    assert _kinds(session, bob_colleague) == ["request_new"]  # the author's side is not told of its own message
    emails = _emails(session, alice)
    assert [e.subject for e in emails] == ["Beta accepted your meeting request", "New message from Beta"]
    assert "Shall we meet on Tuesday?" in emails[1].body and "http://testserver/matches/" in emails[1].body


def test_decline_and_cancel_notify(session, settings):
    alice, bob = member(session, "Alpha"), member(session, "Beta")
    first = make_request(session, settings, alice, bob)
    requests.decline_meeting(session, settings, bob, first.id, "Out of scope")
    second = make_request(session, settings, alice, bob)
    requests.cancel_meeting(session, settings, alice, second.id)
    assert _kinds(session, alice) == ["request_declined"]
    assert _kinds(session, bob) == ["request_new", "request_new", "request_cancelled"]
    assert "Out of scope" in _emails(session, alice)[0].body


def test_email_off_for_a_kind_keeps_in_app_notification(client, session, settings):
    alice, bob = member(session), member(session)
    session.commit()
    token = logged_in(client, bob)
    page = soup(client.get("/notifications/settings"))
    assert page.find("input", id="email-request_new").has_attr("checked")
    kinds = [box["value"] for box in page.select("input[name=email]") if box["value"] != "request_new"]
    response = client.post("/notifications/settings", data={"csrf_token": token, "email": kinds},
                           follow_redirects=False)
    assert response.status_code == 303
    assert not soup(client.get("/notifications/settings")).find("input", id="email-request_new").has_attr("checked")
    req = make_request(session, settings, alice, bob)
    assert _kinds(session, bob) == ["request_new"] and _emails(session, bob) == []
    requests.cancel_meeting(session, settings, alice, req.id)
    assert [e.subject for e in _emails(session, bob)] == [f"{alice.organization.name} withdrew its meeting request"]


def test_settings_without_csrf_is_refused(client, session):
    bob = member(session)
    session.commit()
    logged_in(client, bob)
    assert client.post("/notifications/settings", data={"email": []}).status_code == 403
    assert notifications.email_enabled(session, bob.id, "request_new")


def test_email_is_rendered_in_recipient_language(session, settings, tmp_path, monkeypatch):
    catalog = tmp_path / "ja" / "LC_MESSAGES"
    catalog.mkdir(parents=True)
    (catalog / "messages.po").write_text(
        'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=UTF-8\\n"\n\n'
        'msgid "Meeting request from %(org)s"\nmsgstr "%(org)sからの面談リクエスト"\n\n'
        'msgid "Accept or decline the request here: %(link)s"\nmsgstr "承諾または辞退はこちら: %(link)s"\n',
        encoding="utf-8")
    monkeypatch.setattr(i18n, "TRANSLATIONS_DIR", tmp_path)
    i18n.translations_for.cache_clear()
    try:
        alice = member(session, "Alpha")
        bob_ja = member(session, "Beta", language="ja")
        bob_en = create_user(session, bob_ja.organization, language="en")
        make_request(session, settings, alice, bob_ja)
        ja, en = _emails(session, bob_ja)[0], _emails(session, bob_en)[0]
        assert (ja.language, ja.subject) == ("ja", "Alphaからの面談リクエスト")
        assert "承諾または辞退はこちら" in ja.body
        assert (en.language, en.subject) == ("en", "Meeting request from Alpha")
        assert i18n.current_language() == "en"  # the request's language is restored
    finally:
        i18n.translations_for.cache_clear()


def test_email_text_is_not_html_escaped(session, settings):
    alice, bob = member(session, "Smith & Sons <Energy>"), member(session)
    make_request(session, settings, alice, bob, message="Heat & power \"CHP\"")
    email = _emails(session, bob)[0]
    assert "Smith & Sons <Energy>" in email.body and 'Heat & power "CHP"' in email.body


@HTMX
def test_notification_list_and_nav_count(client, session, settings, htmx):
    alice, bob = member(session, "Alpha"), member(session, "Beta")
    make_request(session, settings, alice, bob)
    session.commit()
    logged_in(client, bob)
    response = client.get("/notifications", headers=headers(htmx))
    assert response.status_code == 200
    page = soup(response)
    items = page.select("#notification-list li.notification")
    assert len(items) == 1 and "Alpha sent you a meeting request." in items[0].get_text()
    if htmx:
        assert page.find(id="nav-notifications") is None
    else:
        assert page.find(id="nav-unread-count").get_text(strip=True) == "1"


@HTMX
def test_mark_read_and_read_all(client, session, settings, htmx):
    alice, bob = member(session), member(session)
    req = make_request(session, settings, alice, bob)
    requests.cancel_meeting(session, settings, alice, req.id)
    session.commit()
    token = logged_in(client, bob)
    first, second = session.scalars(select(Notification).where(Notification.user_id == bob.id)
                                    .order_by(Notification.id)).all()
    response = client.post(f"/notifications/{first.id}/read", data={"csrf_token": token}, headers=headers(htmx),
                           follow_redirects=False)
    if htmx:
        item = soup(response).find(id=f"notification-{first.id}")
        assert item is not None and "unread" not in item["class"]
    else:
        assert response.status_code == 303 and response.headers["location"] == f"/requests/{req.id}"
    assert notifications.unread_count(session, bob) == 1
    client.post("/notifications/read-all", data={"csrf_token": token}, headers=headers(htmx))
    assert notifications.unread_count(session, bob) == 0
    assert soup(client.get("/notifications")).find(id="nav-unread-count") is None


@pytest.mark.parametrize("path", ["/notifications/{id}/read", "/notifications/read-all"])
def test_notification_writes_need_csrf(client, session, settings, path):
    alice, bob = member(session), member(session)
    make_request(session, settings, alice, bob)
    session.commit()
    logged_in(client, bob)
    note = session.scalar(select(Notification).where(Notification.user_id == bob.id))
    assert client.post(path.format(id=note.id), data={}).status_code == 403
    assert notifications.unread_count(session, bob) == 1


def test_other_user_cannot_mark_my_notification(client, session, settings):
    alice, bob = member(session), member(session)
    make_request(session, settings, alice, bob)
    session.commit()
    token = logged_in(client, alice)
    note = session.scalar(select(Notification).where(Notification.user_id == bob.id))
    assert client.post(f"/notifications/{note.id}/read", data={"csrf_token": token}).status_code == 404
    assert notifications.unread_count(session, bob) == 1


def test_notifications_need_login(client):
    response = client.get("/notifications", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith("/login")
