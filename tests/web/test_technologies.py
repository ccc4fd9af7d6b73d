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


# --- what the page asks the database ---------------------------------------------------------------------------

from models.organization import ORGANIZATION_KINDS  # noqa: E402
from tests.web.query_support import statements_of  # noqa: E402
from web.services.catalogs import categories as category_rows  # noqa: E402


def _spread(session, per_category: int, slugs: list[str]) -> None:
    for slug in slugs:
        for n in range(per_category):
            create_organization(session, name=f"{slug} maker {n}", offers=[f"{slug} technology {n}"],
                                target_countries=["ID"], technology_categories=[slug],
                                kind=ORGANIZATION_KINDS[n % 2])
    create_organization(session, name="Uncategorized maker", offers=["Something else"], target_countries=["ID"])
    session.commit()


@pytest.mark.parametrize("query", ["", "?country=ID", "?q=maker"])
def test_technologies_statements_do_not_grow_with_categories_or_organizations(app, client, session, query):
    slugs = [cat.slug for cat in category_rows(session)]
    client.get("/technologies")  # reference data (categories, countries) is read once per process
    _spread(session, 1, slugs[:2])
    few = statements_of(client, app.state.engine, "/technologies" + query)
    _spread(session, 3, slugs)  # every category, three times the organizations
    many = statements_of(client, app.state.engine, "/technologies" + query)
    assert len(many) == len(few) <= 9, [s for s, _p in many]


def test_technologies_overview_is_kept_until_an_organization_changes(app, client, session):
    org = create_organization(session, name="Delta Wind", offers=["Small wind turbines"],
                              technology_categories=["renewable_energy"])
    session.commit()
    assert group_names(parse(client.get("/technologies")), "renewable_energy") == ["Delta Wind"]
    again = statements_of(client, app.state.engine, "/technologies")
    assert not [s for s, _p in again if "organization_tag" in s or "technology_category" in s]
    org.name = "Alpha Wind"  # any change moves updated_at: the next request sees it
    create_organization(session, name="Epsilon Solar", offers=["PV"], technology_categories=["renewable_energy"])
    session.commit()
    assert group_names(parse(client.get("/technologies")), "renewable_energy") == ["Alpha Wind", "Epsilon Solar"]


def test_technologies_overview_counts_each_category(client, session):
    _spread(session, 3, ["renewable_energy", "water"])
    soup = parse(client.get("/technologies"))
    chips = [a.text.strip() for a in soup.select(".tech-nav .chip")]
    assert chips == ["Renewable energy (3)", "Water (3)", "Other technologies (1)"]
