"""Sign-up, login, logout, CSRF and throttling."""

import re

import pytest
from bs4 import BeautifulSoup
from sqlalchemy import func, select

from models import Organization, OutboxEmail, User
from tests.conftest import csrf_token
from tests.factories import PASSWORD, create_user, login

SIGNUP = {"full_name": "Aiko Tanaka", "email": "Aiko@Example.com", "password": "long enough pw",
          "password_confirm": "long enough pw", "organization_name": "Tanaka Chillers", "kind": "japanese_company",
          "country": "JP", "language": "ja", "time_zone": "Asia/Tokyo"}


def _outbox(session, to: str) -> list[OutboxEmail]:
    return list(session.scalars(select(OutboxEmail).where(OutboxEmail.to_address == to).order_by(OutboxEmail.id)))


def test_signup_creates_pending_user_and_organization(client, session):
    token = csrf_token(client, "/signup")
    response = client.post("/signup", data=SIGNUP | {"csrf_token": token}, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/signup/sent"
    user = session.scalar(select(User).where(User.email == "aiko@example.com"))
    assert user is not None and user.language == "ja"
    assert user.organization.status == "pending"
    assert user.organization.name == "Tanaka Chillers"
    assert user.email_verified_at is None


def test_signup_then_the_emailed_link_confirms_and_logs_in(client, session):
    client.post("/signup", data=SIGNUP | {"csrf_token": csrf_token(client, "/signup")})
    page = BeautifulSoup(client.get("/signup/sent").text, "html.parser")
    assert "aiko@example.com" in page.find(id="signup-sent").get_text().lower()
    assert "Log out" not in client.get("/").text  # not logged in before the address is confirmed
    (email,) = _outbox(session, "aiko@example.com")
    path = re.search(r"http://testserver(/signup/confirm/\S+)", email.body).group(1)
    assert client.get(path).status_code == 200  # a GET (a mail scanner) spends nothing
    response = client.post(path, data={"csrf_token": csrf_token(client, path)}, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/profile?welcome=1"
    profile = BeautifulSoup(client.get("/profile?welcome=1").text, "html.parser")
    assert profile.find(id="flash") is not None  # the welcome, in the user's Japanese
    session.expire_all()
    assert session.scalar(select(User).where(User.email == "aiko@example.com")).email_verified_at is not None
    assert client.get(path).status_code == 409  # single use


def test_login_before_confirming_sends_a_new_link(client, session):
    client.post("/signup", data=SIGNUP | {"csrf_token": csrf_token(client, "/signup")})
    token = csrf_token(client, "/login")
    response = client.post("/login", data={"email": "aiko@example.com", "password": SIGNUP["password"],
                                           "csrf_token": token})
    assert response.status_code == 403
    assert "Confirm your email address first" in response.text
    assert len(_outbox(session, "aiko@example.com")) == 2


def test_signup_with_a_taken_email_says_the_same_and_tells_the_owner(client, session):
    owner = create_user(session, email="aiko@example.com", full_name="Aiko Tanaka")
    session.commit()
    response = client.post("/signup", data=SIGNUP | {"csrf_token": csrf_token(client, "/signup")},
                           follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/signup/sent"
    assert "already has an account" not in client.get("/signup/sent").text
    assert session.scalar(select(func.count()).select_from(User).where(User.email == "aiko@example.com")) == 1
    assert session.scalar(select(Organization).where(Organization.name == "Tanaka Chillers")) is None
    (email,) = _outbox(session, owner.email)
    assert "tried to create" in email.body and "/password/reset/" in email.body


@pytest.mark.parametrize("password, reason", [
    ("aaaaaaaaaa", "too common"), ("password123", "too common"), ("1234567890", "too common"),
    ("qwertyuiop", "too common"), ("Aiko@Example.com", "email address or name"),
    ("aikotanaka2024", "email address or name"),
])
def test_signup_refuses_weak_passwords(client, session, password, reason):
    form = SIGNUP | {"password": password, "password_confirm": password, "csrf_token": csrf_token(client, "/signup")}
    response = client.post("/signup", data=form)
    assert response.status_code == 422
    error = BeautifulSoup(response.text, "html.parser").find(id="e-password")
    assert reason in error.get_text()
    assert session.scalar(select(User)) is None


def test_signup_with_bad_input_keeps_values_and_marks_fields(client, session):
    token = csrf_token(client, "/signup")
    bad = SIGNUP | {"email": "not-an-email", "password_confirm": "different", "csrf_token": token}
    response = client.post("/signup", data=bad)
    assert response.status_code == 422
    soup = BeautifulSoup(response.text, "html.parser")
    assert soup.find("input", {"name": "organization_name"})["value"] == "Tanaka Chillers"
    assert soup.find(id="e-email") is not None
    assert soup.find(id="e-password_confirm") is not None  # the differing "password again" is the field marked
    assert session.scalar(select(Organization).where(Organization.name == "Tanaka Chillers")) is None


def test_post_without_csrf_token_is_refused(client, session):
    response = client.post("/signup", data=SIGNUP)
    assert response.status_code == 403
    assert session.scalar(select(User)) is None


def test_login_with_wrong_password_is_refused_then_throttled(client, session, settings):
    user = create_user(session)
    session.commit()
    token = csrf_token(client, "/login")
    for _ in range(settings.login_max_failures):
        response = client.post("/login", data={"email": user.email, "password": "wrong", "csrf_token": token})
        assert response.status_code == 400
    response = client.post("/login", data={"email": user.email, "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 429


def test_login_then_logout(client, session):
    user = create_user(session)
    session.commit()
    login(client, user)
    assert user.email in client.get("/").text
    token = csrf_token(client)
    client.post("/logout", data={"csrf_token": token})
    assert user.email not in client.get("/").text


def test_login_next_refuses_other_sites(client, session):
    user = create_user(session)
    session.commit()
    token = csrf_token(client, "/login")
    response = client.post("/login", data={"email": user.email, "password": PASSWORD, "csrf_token": token,
                                           "next": "//evil.example.com/"}, follow_redirects=False)
    assert response.headers["location"].startswith("/") and not response.headers["location"].startswith("//")


def test_signup_with_line_breaks_in_names_is_refused_and_keeps_values(client, session):
    token = csrf_token(client, "/signup")
    bad = SIGNUP | {"full_name": "Aiko\nTanaka", "organization_name": "Tanaka\r\nBcc: all@example.com",
                    "csrf_token": token}
    response = client.post("/signup", data=bad)
    assert response.status_code == 422
    soup = BeautifulSoup(response.text, "html.parser")
    assert "single line" in soup.find(id="e-full_name").text
    assert "single line" in soup.find(id="e-organization_name").text
    assert soup.find("input", {"name": "email"})["value"] == "Aiko@Example.com"
    assert session.scalar(select(User)) is None and session.scalar(select(Organization)) is None


def test_signup_flags_an_empty_password_again(client, session):
    token = csrf_token(client, "/signup")
    response = client.post("/signup", data=SIGNUP | {"password_confirm": "", "csrf_token": token})
    assert response.status_code == 422
    soup = BeautifulSoup(response.text, "html.parser")
    assert soup.find(id="e-password_confirm").get_text(strip=True) == "Type the password again."
    assert soup.find(id="e-password") is None  # the password itself was fine
    assert soup.find("input", {"name": "password_confirm"})["aria-invalid"] == "true"
    assert session.scalar(select(User)) is None
