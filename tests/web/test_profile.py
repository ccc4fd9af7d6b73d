"""The profile page: editing one's own organization, list editors, account settings."""

import pytest
from bs4 import BeautifulSoup

from models import Organization, User
from tests.conftest import csrf_token
from tests.factories import create_organization, create_user, login

HTMX = pytest.mark.parametrize("headers", [{}, {"HX-Request": "true"}], ids=["page", "htmx"])
GOOD = {"name": "Tanaka Chillers", "kind": "japanese_company", "country": "JP",
        "description": "High-efficiency chillers for food factories and hotels in Southeast Asia.",
        "website": "https://tanaka.example.com", "offers": ["Absorption chillers", "", "Heat pumps"],
        "needs": ["Local installers"], "sectors": ["industry", "buildings"],
        "technology_categories": ["energy_efficiency"],
        "target_countries": ["ID", "VN"], "target_countries_other": "us", "contact_name": "Aiko Tanaka",
        "contact_email": "aiko@tanaka.example.com", "contact_phone": "+81 3 1234 5678"}


def parse(response) -> BeautifulSoup:
    return BeautifulSoup(response.text, "html.parser")


def post_profile(client, data, token=None):
    token = token or csrf_token(client, "/profile")
    return client.post("/profile", data=data | {"csrf_token": token}, follow_redirects=False)


@HTMX
def test_profile_page_shows_own_organization(client, session, headers):
    user = create_user(session, organization=create_organization(session, name="Own Org", status="pending"))
    session.commit()
    login(client, user)
    response = client.get("/profile", headers=headers)
    assert response.status_code == 200
    soup = parse(response)
    assert (soup.find("html") is None) == bool(headers)
    assert soup.find(id="profile") is not None
    assert soup.find("input", {"name": "name"})["value"] == "Own Org"
    assert soup.find(id="profile-status").find(class_="badge-pending") is not None
    assert soup.find(id="profile-completeness").find(attrs={"role": "progressbar"}) is not None
    assert len(soup.select("input[name=target_countries][type=checkbox]")) == 31
    assert len(soup.select("input[name=technology_categories]")) == 15


def test_profile_save_happy_path(client, session):
    org = create_organization(session, status="pending")
    user = create_user(session, organization=org)
    session.commit()
    login(client, user)
    response = post_profile(client, GOOD)
    assert response.status_code == 303 and response.headers["location"] == "/profile"
    session.expire_all()
    org = session.get(Organization, org.id)
    assert org.name == "Tanaka Chillers"
    assert org.offers == ["Absorption chillers", "Heat pumps"]
    assert org.sectors == ["industry", "buildings"]
    assert org.target_countries == ["ID", "VN", "US"]
    assert org.contact_email == "aiko@tanaka.example.com"
    assert {(t.field, t.value) for t in org.tags} >= {("sectors", "industry"), ("target_countries", "US")}
    page = parse(client.get("/profile"))
    assert "saved" in page.find(id="flash").get_text()
    assert parse(client.get("/profile")).find(id="flash") is None  # shown once


def test_profile_with_bad_input_keeps_values_and_marks_fields(client, session):
    org = create_organization(session, name="Before", status="pending")
    user = create_user(session, organization=org)
    session.commit()
    login(client, user)
    bad = GOOD | {"name": "", "website": "tanaka.example.com", "contact_email": "not-an-email",
                  "target_countries_other": "XX"}
    response = post_profile(client, bad)
    assert response.status_code == 422
    soup = parse(response)
    for field in ("name", "website", "contact_email", "target_countries_other"):
        assert soup.find(id=f"e-{field}") is not None, field
    assert soup.find("input", {"name": "website"})["value"] == "tanaka.example.com"
    assert soup.find("input", {"name": "contact_phone"})["value"] == "+81 3 1234 5678"
    assert [t.text for t in soup.select("#list-offers textarea")][:1] == ["Absorption chillers"]
    assert soup.find("input", {"name": "target_countries", "value": "VN"}).has_attr("checked")
    session.expire_all()
    assert session.get(Organization, org.id).name == "Before"


def test_profile_post_ignores_other_organization_ids(client, session):
    mine = create_organization(session, name="Mine", status="approved")
    other = create_organization(session, name="Other", status="approved", external_id="other-ext")
    user = create_user(session, organization=mine)
    session.commit()
    login(client, user)
    response = post_profile(client, GOOD | {"name": "Hijacked", "id": str(other.id), "organization_id": str(other.id),
                                            "external_id": "stolen"})
    assert response.status_code == 303
    session.expire_all()
    assert session.get(Organization, other.id).name == "Other"
    assert session.get(Organization, mine.id).name == "Hijacked"
    assert session.get(Organization, mine.id).external_id != "stolen"


def test_profile_kind_is_fixed_once_approved(client, session):
    org = create_organization(session, kind="japanese_company", status="approved")
    user = create_user(session, organization=org)
    session.commit()
    login(client, user)
    assert parse(client.get("/profile")).find("select", {"name": "kind"}) is None
    assert post_profile(client, GOOD | {"kind": "consultant"}).status_code == 303
    session.expire_all()
    assert session.get(Organization, org.id).kind == "japanese_company"


def test_profile_kind_editable_while_pending(client, session):
    org = create_organization(session, kind="japanese_company", status="pending")
    user = create_user(session, organization=org)
    session.commit()
    login(client, user)
    assert post_profile(client, GOOD | {"kind": "consultant"}).status_code == 303
    session.expire_all()
    assert session.get(Organization, org.id).kind == "consultant"


def test_profile_list_buttons_without_javascript_change_rows_only(client, session):
    org = create_organization(session, name="Unchanged", status="pending")
    user = create_user(session, organization=org)
    session.commit()
    login(client, user)
    response = post_profile(client, GOOD | {"name": "Typed", "list_add": "needs"})
    assert response.status_code == 200
    soup = parse(response)
    assert len(soup.select("#list-needs ul > li")) == 2
    assert soup.find("input", {"name": "name"})["value"] == "Typed"
    response = post_profile(client, GOOD | {"list_remove": "offers:0"})
    assert [t.text for t in parse(response).select("#list-offers ul textarea")] == ["", "Heat pumps"]
    session.expire_all()
    assert session.get(Organization, org.id).name == "Unchanged"


@pytest.mark.parametrize("status", ["rejected", "suspended"])
def test_profile_shows_organizer_reason(client, session, status):
    org = create_organization(session, status=status)
    org.status_reason = "Website does not work"
    user = create_user(session, organization=org)
    session.commit()
    login(client, user)
    status_box = parse(client.get("/profile")).find(id="profile-status")
    assert "Website does not work" in status_box.text


def test_profile_welcome_flash(client, session):
    user = create_user(session, organization=create_organization(session, status="pending"))
    session.commit()
    login(client, user)
    assert "Welcome" in parse(client.get("/profile?welcome=1")).find(class_="flash").text


@HTMX
def test_profile_for_organizer_without_organization(client, session, headers):
    user = create_user(session, role="organizer")
    session.commit()
    login(client, user)
    response = client.get("/profile", headers=headers)
    assert response.status_code == 200
    soup = parse(response)
    assert soup.find(id="no-organization") is not None and soup.find(id="account") is not None
    assert post_profile(client, GOOD).status_code == 403


@HTMX
def test_profile_anonymous_redirected_to_login(client, headers):
    response = client.get("/profile", headers=headers, follow_redirects=False)
    if headers:
        assert response.headers["HX-Redirect"].startswith("/login")
    else:
        assert response.status_code == 303 and response.headers["location"].startswith("/login")


def test_profile_post_without_csrf_refused(client, session):
    org = create_organization(session, name="Safe")
    user = create_user(session, organization=org)
    session.commit()
    login(client, user)
    response = client.post("/profile", data=GOOD, follow_redirects=False)
    assert response.status_code == 403
    session.expire_all()
    assert session.get(Organization, org.id).name == "Safe"


def test_account_settings_saved(client, session):
    user = create_user(session)
    session.commit()
    login(client, user)
    token = csrf_token(client, "/profile")
    data = {"language": "ja", "time_zone": "Asia/Jakarta", "csrf_token": token}
    response = client.post("/profile/account", data=data, follow_redirects=False)
    assert response.status_code == 303
    session.expire_all()
    saved = session.get(User, user.id)
    assert (saved.language, saved.time_zone) == ("ja", "Asia/Jakarta")
    assert parse(client.get("/profile")).find("html")["lang"] == "ja"


def test_account_settings_bad_time_zone(client, session):
    user = create_user(session)
    session.commit()
    login(client, user)
    token = csrf_token(client, "/profile")
    response = client.post("/profile/account", data={"language": "en", "time_zone": "Mars/Base", "csrf_token": token})
    assert response.status_code == 422
    assert parse(response).find(id="e-time_zone") is not None


def test_profile_names_with_line_breaks_are_refused(client, session):
    org = create_organization(session, name="Before", status="approved")
    user = create_user(session, organization=org)
    session.commit()
    login(client, user)
    response = post_profile(client, GOOD | {"name": "Tanaka\nChillers", "contact_name": "Aiko\tTanaka"})
    assert response.status_code == 422
    soup = parse(response)
    assert "single line" in soup.find(id="e-name").text
    assert "single line" in soup.find(id="e-contact_name").text
    assert soup.find("input", {"name": "contact_phone"})["value"] == "+81 3 1234 5678"
    session.expire_all()
    assert session.get(Organization, org.id).name == "Before"
