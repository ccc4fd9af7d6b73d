"""Password reset by an emailed single-use token, delivered to a real SMTP server."""

import re

from tests.conftest import csrf_token
from tests.factories import create_user
from tests.web.smtp_support import smtp_server  # noqa: F401  (fixture)
from web.services.outbox import send_due_emails

LINK_RE = re.compile(r"http://testserver(/password/reset/\S+)")


def _request_reset(client, email):
    token = csrf_token(client, "/password/forgot")
    return client.post("/password/forgot", data={"email": email, "csrf_token": token})


def _deliver(session_factory, settings, controller):
    send_due_emails(session_factory, settings.model_copy(update={"smtp_host": "127.0.0.1",
                                                                  "smtp_port": controller.port}))


def test_reset_link_arrives_by_email_and_sets_a_new_password(client, session, session_factory, settings,
                                                             smtp_server):
    controller, inbox = smtp_server
    user = create_user(session, email="aiko@example.com", language="ja")
    session.commit()
    response = _request_reset(client, "aiko@example.com")
    assert response.status_code == 200
    _deliver(session_factory, settings, controller)
    assert len(inbox.messages) == 1
    recipients, message = inbox.messages[0]
    assert recipients == ["aiko@example.com"]
    body = message.get_payload(decode=True).decode()
    path = LINK_RE.search(body).group(1)

    token = csrf_token(client, path)
    response = client.post(path, data={"password": "a brand new secret", "password_confirm": "a brand new secret",
                                       "csrf_token": token}, follow_redirects=False)
    assert response.status_code == 303
    session.refresh(user)
    login_token = csrf_token(client, "/login")
    client.post("/logout", data={"csrf_token": login_token})
    login_token = csrf_token(client, "/login")
    response = client.post("/login", data={"email": "aiko@example.com", "password": "a brand new secret",
                                           "csrf_token": login_token}, follow_redirects=False)
    assert response.status_code == 303

    # The link is single-use.
    assert client.get(path).status_code == 409


def test_reset_for_unknown_email_says_the_same_and_sends_nothing(client, session_factory, settings, smtp_server):
    controller, inbox = smtp_server
    response = _request_reset(client, "nobody@example.com")
    assert response.status_code == 200
    assert "If an account exists" in response.text
    _deliver(session_factory, settings, controller)
    assert inbox.messages == []


def test_reset_with_mismatched_passwords_is_refused(client, session, session_factory, settings, smtp_server):
    controller, inbox = smtp_server
    create_user(session, email="ken@example.com")
    session.commit()
    _request_reset(client, "ken@example.com")
    _deliver(session_factory, settings, controller)
    path = LINK_RE.search(inbox.messages[0][1].get_payload(decode=True).decode()).group(1)
    token = csrf_token(client, path)
    response = client.post(path, data={"password": "a brand new secret", "password_confirm": "different one",
                                       "csrf_token": token})
    assert response.status_code == 422
    assert "differ" in response.text


def test_unknown_reset_token_is_refused(client):
    assert client.get("/password/reset/not-a-real-token").status_code == 400


def test_reset_link_is_not_kept_in_the_outbox_after_delivery(client, session, session_factory, settings,
                                                             smtp_server):
    from sqlalchemy import select

    from models import OutboxEmail

    controller, inbox = smtp_server
    create_user(session, email="mia@example.com")
    session.commit()
    _request_reset(client, "mia@example.com")
    _deliver(session_factory, settings, controller)
    path = LINK_RE.search(inbox.messages[0][1].get_payload(decode=True).decode()).group(1)
    session.expire_all()
    row = session.scalars(select(OutboxEmail).where(OutboxEmail.to_address == "mia@example.com")).one()
    assert row.status == "sent" and row.sensitive
    assert path not in row.body and "/password/reset/" not in row.body
    assert row.subject and row.message_id == inbox.messages[0][1]["Message-ID"]
    assert client.get(path).status_code == 200  # the link still works: only the stored copy is gone


def test_using_a_newer_link_spends_the_older_one(client, session, session_factory, settings, smtp_server):
    controller, inbox = smtp_server
    create_user(session, email="mei@example.com")
    session.commit()
    _request_reset(client, "mei@example.com")
    _request_reset(client, "mei@example.com")
    _deliver(session_factory, settings, controller)
    older, newer = (LINK_RE.search(m.get_payload(decode=True).decode()).group(1) for _to, m in inbox.messages)
    token = csrf_token(client, newer)
    response = client.post(newer, data={"password": "a brand new secret", "password_confirm": "a brand new secret",
                                        "csrf_token": token}, follow_redirects=False)
    assert response.status_code == 303
    response = client.post(older, data={"password": "someone elses pick", "password_confirm": "someone elses pick",
                                        "csrf_token": csrf_token(client, "/password/forgot")}, follow_redirects=False)
    assert response.status_code == 409
    assert "already used" in response.text


def test_reset_ends_every_login_of_the_account(app, client, session, settings):
    from fastapi.testclient import TestClient

    from tests.factories import login
    from web.services import accounts

    user = create_user(session)
    session.commit()
    phone = TestClient(app)
    login(phone, user)
    accounts.request_password_reset(session, settings, user.email)
    session.commit()
    token = _last_link_token(session)
    response = client.post(f"/password/reset/{token}", data={
        "password": "a brand new secret", "password_confirm": "a brand new secret",
        "csrf_token": csrf_token(client, f"/password/reset/{token}")}, follow_redirects=False)
    assert response.status_code == 303
    assert phone.get("/profile", follow_redirects=False).status_code == 303  # sent to the login page


def _last_link_token(session) -> str:
    from sqlalchemy import select

    from models import OutboxEmail

    body = session.scalars(select(OutboxEmail.body).order_by(OutboxEmail.id.desc())).first()
    return re.search(r"/password/reset/(\S+)", body).group(1)
