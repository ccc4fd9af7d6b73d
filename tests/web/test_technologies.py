"""The public technology list."""

import pytest
from bs4 import BeautifulSoup

from tests.factories import create_organization, create_user, login

HTMX = pytest.mark.parametrize("headers", [{}, {"HX-Request": "true"}], ids=["page", "htmx"])


def parse(response) -> BeautifulSoup:
    return BeautifulSoup(response.text, "html.parser")


def group_names(soup, slug) -> list[str]:
    return [s.text.strip() for s in soup.select(f"#group-{slug} .tech-entry > strong")]


@pytest.fixture
def techs(session):
    create_organization(session, name="Alpha Solar", offers=["Rooftop solar PV"], target_countries=["ID"],
                        technology_categories=["renewable_energy", "energy_efficiency"])
    create_organization(session, name="Beta Chillers", offers=["Absorption chillers"], target_countries=["VN"],
                        technology_categories=["energy_efficiency"])
    create_organization(session, name="Gamma Misc", offers=["Consulting on MRV"])
    create_organization(session, name="Needs Only", kind="partner_company", country="ID", needs=["Solar"],
                        technology_categories=["renewable_energy"])
    create_organization(session, name="Pending Solar", status="pending", offers=["Solar"],
                        technology_categories=["renewable_energy"])
    session.commit()


@HTMX
def test_technologies_public_and_grouped(client, techs, headers):
    response = client.get("/technologies", headers=headers)
    assert response.status_code == 200
    soup = parse(response)
    assert (soup.find("html") is None) == bool(headers)
    assert soup.find(id="technology-results") is not None
    assert group_names(soup, "renewable_energy") == ["Alpha Solar"]
    assert group_names(soup, "energy_efficiency") == ["Alpha Solar", "Beta Chillers"]
    assert group_names(soup, "_other") == ["Gamma Misc"]
    assert soup.select_one("#group-renewable_energy h2").text.strip() == "Renewable energy"
    assert "Absorption chillers" in soup.select_one("#group-energy_efficiency").text
    assert soup.select_one("#technology-results a[href^='/organizations/']") is None  # no profile links anonymously
    assert "Pending Solar" not in response.text and "Needs Only" not in response.text


def test_technologies_category_names_in_japanese(client, techs):
    soup = parse(client.get("/technologies", headers={"Accept-Language": "ja"}))
    assert soup.select_one("#group-renewable_energy h2").text.strip() == "再生可能エネルギー"


@pytest.mark.parametrize("query, slug, expected", [
    ("country=VN", "energy_efficiency", ["Beta Chillers"]),
    ("q=solar", "energy_efficiency", ["Alpha Solar"]),
    ("category=energy_efficiency", "energy_efficiency", ["Alpha Solar", "Beta Chillers"]),
    ("category=energy_efficiency&country=ID", "energy_efficiency", ["Alpha Solar"]),
])
def test_technologies_filters(client, techs, query, slug, expected):
    assert group_names(parse(client.get(f"/technologies?{query}")), slug) == expected


def test_technologies_category_filter_shows_one_group(client, techs):
    soup = parse(client.get("/technologies?category=renewable_energy"))
    assert [g["id"] for g in soup.select(".tech-group")] == ["group-renewable_energy"]


def test_technologies_caps_groups_and_links_to_all(client, session):
    for n in range(8):
        create_organization(session, name=f"Solar {n}", offers=["PV"], technology_categories=["renewable_energy"])
    session.commit()
    soup = parse(client.get("/technologies"))
    assert len(group_names(soup, "renewable_energy")) == 6
    assert soup.select_one("#group-renewable_energy a[href='/technologies?category=renewable_energy']")


def test_technologies_link_profiles_for_members(client, session, techs):
    user = create_user(session)
    session.commit()
    login(client, user)
    assert parse(client.get("/technologies")).select_one("#technology-results a[href^='/organizations/']")


def test_technologies_empty_state(client, techs):
    assert parse(client.get("/technologies?q=zzzz")).select_one("#technology-results .empty-state")
