"""Login throttling per (email, address) with growing waits, a looser per-address cap, and trusted proxies."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from models import UserSession
from models.base import utcnow
from tests.conftest import csrf_token
from tests.factories import PASSWORD, create_user
from web.app import create_app
from web.errors import TooManyAttempts
from web.services import login_throttle


def _browser(app, address: str, **kwargs) -> TestClient:
    return TestClient(app, client=(address, 50000), **kwargs)


def _try(client, email: str, password: str, headers: dict | None = None):
    token = csrf_token(client, "/login")
    return client.post("/login", data={"email": email, "password": password, "csrf_token": token},
                       headers=headers or {}, follow_redirects=False)


def test_failures_from_one_address_do_not_lock_the_owner_out_from_another(app, session, settings):
    user = create_user(session)
    session.commit()
    attacker = _browser(app, "198.51.100.7")
    for _ in range(settings.login_max_failures + 3):
        assert _try(attacker, user.email, "a wrong guess").status_code in (400, 429)
    assert _try(attacker, user.email, PASSWORD).status_code == 429
    owner = _browser(app, "203.0.113.20")
    assert _try(owner, user.email, PASSWORD).status_code == 303


def test_after_the_free_failures_the_wait_is_said_and_sent_as_retry_after(app, session, settings):
    user = create_user(session)
    session.commit()
    browser = _browser(app, "198.51.100.8")
    for _ in range(settings.login_max_failures):
        assert _try(browser, user.email, "a wrong guess").status_code == 400
    response = _try(browser, user.email, PASSWORD)
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "2"
    assert "Wait 2 seconds" in response.text


def test_waits_double_with_each_further_failure(session, settings):
    email, address, start = "someone@example.com", "198.51.100.9", utcnow()
    for _ in range(settings.login_max_failures):
        login_throttle.count_attempt(session, settings, email, address, now=start)
    now = start
    for expected_wait in (2, 4, 8, 16):
        with pytest.raises(TooManyAttempts) as refused:
            login_throttle.count_attempt(session, settings, email, address, now=now)
        assert refused.value.retry_after == expected_wait
        now += timedelta(seconds=expected_wait)
        login_throttle.count_attempt(session, settings, email, address, now=now)  # after the wait: tried
    assert login_throttle.delay_seconds(40, settings.login_max_failures, settings.login_max_delay_seconds) == 3600


def test_a_quiet_window_after_the_last_wait_starts_the_count_again(session, settings):
    email, address, start = "someone@example.com", "198.51.100.10", utcnow()
    for _ in range(settings.login_max_failures):
        login_throttle.count_attempt(session, settings, email, address, now=start)
    later = start + timedelta(seconds=2 + settings.login_window_seconds + 1)
    for _ in range(settings.login_max_failures):
        login_throttle.count_attempt(session, settings, email, address, now=later)


def test_a_successful_login_clears_the_count(app, session, settings):
    user = create_user(session)
    session.commit()
    browser = _browser(app, "198.51.100.11")
    for _ in range(settings.login_max_failures - 1):
        _try(browser, user.email, "a wrong guess")
    assert _try(browser, user.email, PASSWORD).status_code == 303
    browser.post("/logout", data={"csrf_token": csrf_token(browser, "/profile")})
    for _ in range(settings.login_max_failures):
        assert _try(browser, user.email, "a wrong guess").status_code == 400


def test_one_address_trying_many_emails_meets_the_address_cap(session, settings, embedder):
    settings = settings.model_copy(update={"login_address_max_failures": 6})
    app = create_app(settings, embedder=embedder)
    user = create_user(session)
    session.commit()
    sprayer = _browser(app, "198.51.100.12")
    statuses = [_try(sprayer, f"guess{n}@example.com", "Summer2024!").status_code for n in range(7)]
    assert statuses == [400] * 6 + [429]
    response = _try(sprayer, user.email, PASSWORD)
    assert response.status_code == 429 and "from your network" in response.text
    assert _try(_browser(app, "203.0.113.21"), user.email, PASSWORD).status_code == 303


def test_forwarded_for_is_ignored_without_trusted_proxies(app, session, settings):
    user = create_user(session)
    session.commit()
    browser = _browser(app, "198.51.100.13")
    for n in range(settings.login_max_failures):
        _try(browser, user.email, "a wrong guess", headers={"X-Forwarded-For": f"192.0.2.{n}"})
    # A made-up header does not make a new address.
    assert _try(browser, user.email, PASSWORD, headers={"X-Forwarded-For": "192.0.2.99"}).status_code == 429


def test_forwarded_for_from_a_trusted_proxy_names_the_client(session, settings, embedder):
    app = create_app(settings.model_copy(update={"trusted_proxies": "127.0.0.1, 10.0.0.0/8"}), embedder=embedder)
    user = create_user(session)
    session.commit()
    proxy = _browser(app, "10.1.2.3")
    for _ in range(settings.login_max_failures + 1):
        _try(proxy, user.email, "a wrong guess", headers={"X-Forwarded-For": "198.51.100.14"})
    assert _try(proxy, user.email, PASSWORD, headers={"X-Forwarded-For": "198.51.100.14"}).status_code == 429
    # Another user behind the same proxy is another address: not locked out. A client-made first hop is skipped.
    response = _try(proxy, user.email, PASSWORD, headers={"X-Forwarded-For": "198.51.100.14, 203.0.113.22",
                                                          "X-Forwarded-Proto": "https"})
    assert response.status_code == 303
    assert session.scalar(select(UserSession.client_ip).where(UserSession.user_id == user.id)) == "203.0.113.22"
