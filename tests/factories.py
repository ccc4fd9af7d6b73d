"""Plain factories for tests: real rows in the real database."""

from __future__ import annotations

import itertools

from sqlalchemy.orm import Session

from models import Organization, User
from web.security import hash_password
from web.services.organizations import OrganizationData, create_organization as _create

_seq = itertools.count(1)
PASSWORD = "correct horse battery"
_HASH = hash_password(PASSWORD)


def create_organization(session: Session, **overrides) -> Organization:
    """An approved organization with sensible defaults; contact fields can be overridden."""
    n = next(_seq)
    contact = {key: overrides.pop(key) for key in ("contact_name", "contact_email", "contact_phone")
               if key in overrides}
    status = overrides.pop("status", "approved")
    is_demo = overrides.pop("is_demo", False)
    data = {"name": f"Organization {n}", "kind": "japanese_company", "country": "JP", "external_id": f"org-{n}"}
    data.update(overrides)
    org = _create(session, OrganizationData(**data), status=status, is_demo=is_demo)
    for key, value in contact.items():
        setattr(org, key, value)
    session.flush()
    return org


def create_user(session: Session, organization: Organization | None = None, **overrides) -> User:
    """A member (or organizer, with role='organizer') whose password is PASSWORD."""
    n = next(_seq)
    values = {"email": f"user{n}@example.com", "password_hash": _HASH, "full_name": f"User {n}",
              "role": "member", "language": "en", "time_zone": "Asia/Tokyo"}
    values.update(overrides)
    if organization is None and values["role"] == "member":
        organization = create_organization(session)
    user = User(organization=organization, **values)
    session.add(user)
    session.flush()
    return user


def login(client, user: User, password: str = PASSWORD):
    """Log the test client in as the user through the real login form."""
    from tests.conftest import csrf_token

    token = csrf_token(client, "/login")
    response = client.post("/login", data={"email": user.email, "password": password, "csrf_token": token},
                           follow_redirects=False)
    assert response.status_code == 303, response.text
    return response
