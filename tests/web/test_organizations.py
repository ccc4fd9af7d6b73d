"""The public profile of an organization."""

import pytest
from bs4 import BeautifulSoup

from tests.factories import create_organization, create_user, login

HTMX = pytest.mark.parametrize("headers", [{}, {"HX-Request": "true"}], ids=["page", "htmx"])


def make_target(session, **overrides):
    values = dict(name="Tanaka Chillers", description="We build <b>chillers</b>.", offers=["Absorption chillers"],
                  needs=["Local partners"], sectors=["industry"], technology_categories=["energy_efficiency"],
                  target_countries=["ID", "VN"], website="https://tanaka.example.com", contact_name="Aiko Tanaka",
                  contact_email="secret@tanaka.example.com", contact_phone="+81 3 9999 0000", is_demo=True)
    return create_organization(session, **(values | overrides))


@HTMX
def test_organization_profile_shows_public_part_only(client, session, headers):
    target = make_target(session)
    viewer = create_user(session)
    session.commit()
    login(client, viewer)
    response = client.get(f"/organizations/{target.id}", headers=headers)
    assert response.status_code == 200
    soup = BeautifulSoup(response.text, "html.parser")
    assert (soup.find("html") is None) == bool(headers)
    profile = soup.find(id="organization-profile")
    text = profile.get_text(" ")
    for expected in ("Tanaka Chillers", "Absorption chillers", "Local partners", "Industry",
                     "Energy efficiency", "Indonesia", "Vietnam", "Japan"):
        assert expected in text, expected
    assert profile.select_one(".badge-demo") is not None
    assert profile.find("b") is None and "<b>chillers</b>" in text  # user text is escaped
    assert "secret@tanaka.example.com" not in response.text and "9999" not in response.text
    assert "Aiko Tanaka" not in response.text
    assert soup.find(id="contact-placeholder") is not None


def test_organization_profile_of_pending_org_hidden_from_members(client, session):
    target = make_target(session, status="pending")
    viewer = create_user(session)
    session.commit()
    login(client, viewer)
    assert client.get(f"/organizations/{target.id}").status_code == 404


def test_organization_profile_of_pending_org_visible_to_organizers(client, session):
    target = make_target(session, status="pending")
    organizer = create_user(session, role="organizer")
    session.commit()
    login(client, organizer)
    response = client.get(f"/organizations/{target.id}")
    assert response.status_code == 200 and "Tanaka Chillers" in response.text


def test_organization_profile_refused_to_pending_members(client, session):
    target = make_target(session)
    viewer = create_user(session, organization=create_organization(session, status="pending"))
    session.commit()
    login(client, viewer)
    assert client.get(f"/organizations/{target.id}").status_code == 403


def test_organization_profile_own_preview_while_pending(client, session):
    own = make_target(session, status="pending")
    viewer = create_user(session, organization=own)
    session.commit()
    login(client, viewer)
    response = client.get(f"/organizations/{own.id}")
    assert response.status_code == 200
    assert BeautifulSoup(response.text, "html.parser").select_one('#organization-profile a[href="/profile"]')


@HTMX
def test_organization_profile_anonymous_redirected_to_login(client, session, headers):
    target = make_target(session)
    session.commit()
    response = client.get(f"/organizations/{target.id}", headers=headers, follow_redirects=False)
    location = response.headers.get("HX-Redirect") or response.headers.get("location")
    assert location.startswith("/login")


def test_organization_profile_unknown_id_is_404(client, session):
    viewer = create_user(session)
    session.commit()
    login(client, viewer)
    assert client.get("/organizations/999999").status_code == 404


def test_profile_shows_contact_only_after_an_accepted_request(client, session):
    from models import MeetingRequest
    from models.base import utcnow
    from tests.factories import create_organization, create_user, login

    mine = create_organization(session, kind="partner_company", country="VN")
    other = create_organization(session, contact_name="Ken Sato", contact_email="ken@example.com")
    user = create_user(session, organization=mine)
    session.commit()
    login(client, user)
    page = client.get(f"/organizations/{other.id}").text
    assert "ken@example.com" not in page
    assert f'id="request-button-{other.id}"' in page
    session.add(MeetingRequest(requester_org_id=mine.id, recipient_org_id=other.id, requester_user_id=user.id,
                               message="Let us meet", status="accepted", expires_at=utcnow()))
    session.commit()
    page = client.get(f"/organizations/{other.id}").text
    assert "ken@example.com" in page and "Ken Sato" in page
