"""Server-side login sessions: logout, "log out everywhere", a new password and a suspension end them."""

from __future__ import annotations

from datetime import timedelta

from bs4 import BeautifulSoup
from fastapi.testclient import TestClient
from sqlalchemy import event, func, select

from models import UserSession
from models.base import utcnow
from tests.conftest import csrf_token
from tests.factories import PASSWORD, create_user, login
from tests.web.requests_support import member


def _logged_in(client) -> bool:
    """Whether the client's cookie still opens a page that needs a login."""
    return client.get("/profile", follow_redirects=False).status_code == 200


def _copy_of(app, client) -> TestClient:
    """Another browser holding a copy of the client's cookie (a stolen or synced cookie)."""
    other = TestClient(app)
    other.cookies.update(client.cookies)
    return other


def test_logout_ends_the_session_for_a_copied_cookie(app, client, session):
    user = create_user(session)
    session.commit()
    login(client, user)
    copy = _copy_of(app, client)
    assert _logged_in(copy)
    client.post("/logout", data={"csrf_token": csrf_token(client, "/profile")})
    assert not _logged_in(client)
    assert not _logged_in(copy)


def test_log_out_everywhere_ends_every_login_of_the_user(app, client, session):
    user = create_user(session)
    session.commit()
    login(client, user)
    laptop = TestClient(app)
    login(laptop, user)
    response = client.post("/profile/sessions/end-all", data={"csrf_token": csrf_token(client, "/profile")},
                           follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith("/login")
    assert not _logged_in(client)
    assert not _logged_in(laptop)
    assert session.scalars(select(UserSession).where(UserSession.user_id == user.id)).all() == []


def test_sessions_list_shows_each_login_and_ends_another_one(app, client, session):
    user = create_user(session)
    session.commit()
    login(client, user)
    laptop = TestClient(app, headers={"User-Agent": "Mozilla/5.0 (Macintosh) Firefox/128.0"})
    login(laptop, user)
    page = BeautifulSoup(client.get("/profile").text, "html.parser")
    rows = page.select("#sessions li.session")
    assert len(rows) == 2
    current = [row for row in rows if "current" in row["class"]]
    assert len(current) == 1 and current[0].find("form") is None  # this browser: log out with the usual button
    other = next(row for row in rows if "current" not in row["class"])
    assert "Firefox" in other.get_text()
    response = client.post(other.find("form")["action"], data={"csrf_token": csrf_token(client, "/profile")},
                           follow_redirects=False)
    assert response.status_code == 303
    assert _logged_in(client)
    assert not _logged_in(laptop)


def test_sessions_list_shows_the_latest_logins_and_counts_the_others(app, client, session):
    from web.services.sessions import SESSIONS_SHOWN, start_session

    user = create_user(session)
    session.commit()
    login(client, user)
    current = session.scalar(select(UserSession).where(UserSession.user_id == user.id))
    current.last_seen_at = utcnow() - timedelta(days=2)  # this browser last touched long ago: still listed
    for n in range(SESSIONS_SHOWN + 2):
        start_session(session, user, 3600, user_agent=f"Agent {n}")
    session.commit()
    page = BeautifulSoup(client.get("/profile").text, "html.parser")
    rows = page.select("#sessions li.session")
    assert len(rows) == SESSIONS_SHOWN
    assert rows[0]["id"] == f"session-{current.id}" and "current" in rows[0]["class"]
    assert "And 3 older logins, not listed" in page.select_one("#sessions-more").get_text()
    response = client.post("/profile/sessions/end-all", data={"csrf_token": csrf_token(client, "/profile")},
                           follow_redirects=False)
    assert response.status_code == 303
    assert session.scalar(select(func.count()).select_from(UserSession).where(UserSession.user_id == user.id)) == 0


def test_sessions_list_reads_login_rows_without_the_profile(app, client, session):
    user = create_user(session)
    session.commit()
    login(client, user)
    statements: list[str] = []
    on_execute = lambda conn, cursor, statement, *args: statements.append(statement)  # noqa: E731
    event.listen(app.state.engine, "before_cursor_execute", on_execute)
    try:
        page = BeautifulSoup(client.get("/profile").text, "html.parser")
    finally:
        event.remove(app.state.engine, "before_cursor_execute", on_execute)
    assert len(page.select("#sessions li.session")) == 1
    listing = [s for s in statements if "FROM user_session" in s and "ORDER BY user_session.last_seen_at" in s]
    assert len(listing) == 1
    assert "organization" not in listing[0]  # the viewer's own organization, not decoded again per login


def test_ending_another_users_session_is_404(app, client, session):
    alice, bob = create_user(session), create_user(session)
    session.commit()
    bob_client = TestClient(app)
    login(bob_client, bob)
    login(client, alice)
    bob_session = session.scalar(select(UserSession).where(UserSession.user_id == bob.id))
    response = client.post(f"/profile/sessions/{bob_session.id}/end",
                           data={"csrf_token": csrf_token(client, "/profile")})
    assert response.status_code == 404
    assert _logged_in(bob_client)


def test_new_password_ends_the_other_sessions_and_keeps_this_one(app, client, session):
    user = create_user(session)
    session.commit()
    login(client, user)
    phone = TestClient(app)
    login(phone, user)
    response = client.post("/profile/password", data={
        "csrf_token": csrf_token(client, "/profile"), "current_password": PASSWORD,
        "password": "a fresh long secret", "password_confirm": "a fresh long secret"}, follow_redirects=False)
    assert response.status_code == 303
    assert _logged_in(client)
    assert not _logged_in(phone)


def test_password_change_with_wrong_current_password_changes_nothing(client, session):
    user = create_user(session)
    session.commit()
    login(client, user)
    response = client.post("/profile/password", data={
        "csrf_token": csrf_token(client, "/profile"), "current_password": "not my password",
        "password": "a fresh long secret", "password_confirm": "a fresh long secret"})
    assert response.status_code == 422
    page = BeautifulSoup(response.text, "html.parser")
    assert page.find(id="e-current_password") is not None
    session.expire_all()
    login(TestClient(client.app), user)  # the old password still works


def test_suspending_an_organization_ends_its_members_sessions(app, client, session):
    organizer = create_user(session, role="organizer", organization=None)
    alice = member(session)
    session.commit()
    login(client, alice)
    organizer_client = TestClient(app)
    login(organizer_client, organizer)
    response = organizer_client.post(f"/organizer/applications/{alice.organization_id}/review", data={
        "decision": "suspended", "reason": "Unpaid fees", "csrf_token": csrf_token(organizer_client, "/profile")})
    assert response.status_code == 200
    assert not _logged_in(client)
    assert _logged_in(organizer_client)
    login(client, alice)  # a new login still works: the profile shows the reason
    assert "Unpaid fees" in client.get("/profile").text


def test_expired_session_is_refused(client, session):
    user = create_user(session)
    session.commit()
    login(client, user)
    session.execute(UserSession.__table__.update().values(expires_at=utcnow() - timedelta(seconds=1)))
    session.commit()
    assert not _logged_in(client)


def test_session_check_is_one_query_on_one_connection(app, client, session):
    user = create_user(session)
    session.commit()
    login(client, user)
    statements, checkouts = [], []
    engine = app.state.engine
    on_execute = lambda conn, cursor, statement, *args: statements.append(statement)  # noqa: E731
    on_checkout = lambda *args: checkouts.append(1)  # noqa: E731
    event.listen(engine, "before_cursor_execute", on_execute)
    event.listen(engine.pool, "checkout", on_checkout)
    try:
        assert client.get("/technologies").status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", on_execute)
        event.remove(engine.pool, "checkout", on_checkout)
    touching = [s for s in statements if "user_session" in s or "user_account" in s]
    assert len(touching) == 1, touching
    assert "JOIN user_account" in touching[0]
    assert len(checkouts) == 1
