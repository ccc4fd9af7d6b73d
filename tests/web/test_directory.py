"""The directory: approved organizations only, filters in SQL, pagination, htmx fragment."""

import pytest
from bs4 import BeautifulSoup

from tests.factories import create_organization, create_user, login

HTMX = pytest.mark.parametrize("headers", [{}, {"HX-Request": "true"}], ids=["page", "htmx"])


def names(response) -> list[str]:
    soup = BeautifulSoup(response.text, "html.parser")
    return [a.text.strip() for a in soup.select("#directory-results .org-card h3 a")]


@pytest.fixture
def member_client(client, session):
    """A client logged in as a member of an approved organization (named 'Zz Viewer', listed last)."""
    user = create_user(session, organization=create_organization(session, name="Zz Viewer", country="TH"))
    session.commit()
    login(client, user)
    return client


@pytest.fixture
def orgs(session):
    """A small directory covering every filter."""
    create_organization(session, name="Alpha Solar", country="JP", offers=["Rooftop solar PV"], sectors=["buildings"],
                        technology_categories=["renewable_energy"], is_demo=True)
    create_organization(session, name="Beta Chillers", country="JP", offers=["Absorption chillers"],
                        sectors=["industry"], technology_categories=["energy_efficiency"])
    create_organization(session, name="Gamma Foods", kind="partner_company", country="ID",
                        needs=["Efficient cooling for cold storage"], sectors=["industry"])
    create_organization(session, name="Pending Co", status="pending", sectors=["buildings"])
    create_organization(session, name="Rejected Co", status="rejected")
    session.commit()


@HTMX
def test_directory_lists_only_approved_organizations(member_client, orgs, headers):
    response = member_client.get("/directory", headers=headers)
    assert response.status_code == 200
    assert names(response) == ["Alpha Solar", "Beta Chillers", "Gamma Foods", "Zz Viewer"]
    soup = BeautifulSoup(response.text, "html.parser")
    assert (soup.find("html") is None) == bool(headers)
    if headers:
        assert soup.find().get("id") == "directory-results"
    else:
        form = soup.find("form", id="directory-filters")
        assert form["method"] == "get" and form["hx-target"] == "#directory-results"
    assert soup.select_one(".org-card .badge-demo") is not None


@pytest.mark.parametrize("query, expected", [
    ("kind=partner_company", ["Gamma Foods"]),
    ("country=ID", ["Gamma Foods"]),
    ("category=energy_efficiency", ["Beta Chillers"]),
    ("sector=industry", ["Beta Chillers", "Gamma Foods"]),
    ("sector=buildings", ["Alpha Solar"]),
    ("q=CHILLERS", ["Beta Chillers"]),
    ("q=cold+storage", ["Gamma Foods"]),
    ("q=cold+solar", []),
    ("q=100%25", []),
    ("kind=japanese_company&sector=industry", ["Beta Chillers"]),
])
def test_directory_filters(member_client, orgs, query, expected):
    assert names(member_client.get(f"/directory?{query}")) == expected


def test_directory_sector_choices_are_the_vocabulary(member_client, orgs):
    soup = BeautifulSoup(member_client.get("/directory").text, "html.parser")
    options = [o["value"] for o in soup.select("select[name=sector] option") if o["value"]]
    assert options == ["energy", "industry", "buildings", "transport", "waste", "afolu", "water"]


def test_directory_empty_state_offers_clearing(member_client, orgs):
    soup = BeautifulSoup(member_client.get("/directory?q=nothing-like-this").text, "html.parser")
    assert soup.select_one("#directory-results .empty-state") is not None
    assert soup.select_one('#directory-results a[href="/directory"]') is not None


@HTMX
def test_directory_pagination_keeps_filters(member_client, session, settings, headers):
    for n in range(settings.page_size + 3):
        create_organization(session, name=f"Solar {n:02d}", sectors=["energy"])
    session.commit()
    first = member_client.get("/directory?sector=energy", headers=headers)
    assert len(names(first)) == settings.page_size
    soup = BeautifulSoup(first.text, "html.parser")
    assert "23" in soup.select_one(".results-meta").text
    next_link = soup.select_one(".pagination a[rel=next]")["href"]
    assert "sector=energy" in next_link and "page=2" in next_link
    second = member_client.get(next_link, headers=headers)
    assert names(second) == ["Solar 20", "Solar 21", "Solar 22"]
    assert "page=1" in BeautifulSoup(second.text, "html.parser").select_one(".pagination a[rel=prev]")["href"]


def test_directory_bad_page_number_shows_first_page(member_client, orgs):
    assert names(member_client.get("/directory?page=abc")) [0] == "Alpha Solar"


@HTMX
def test_directory_refused_to_pending_members(client, session, headers):
    user = create_user(session, organization=create_organization(session, status="pending"))
    session.commit()
    login(client, user)
    response = client.get("/directory", headers=headers)
    assert response.status_code == 403
    assert "not been approved" in response.text
    assert client.get("/profile", headers=headers).status_code == 200


@HTMX
def test_directory_anonymous_redirected_to_login(client, headers):
    response = client.get("/directory", headers=headers, follow_redirects=False)
    location = response.headers.get("HX-Redirect") or response.headers.get("location")
    assert location.startswith("/login")


def test_directory_open_to_organizers(client, session, orgs):
    user = create_user(session, role="organizer")
    session.commit()
    login(client, user)
    assert "Gamma Foods" in names(client.get("/directory"))


def test_directory_history_restore_gets_full_page(member_client, orgs):
    headers = {"HX-Request": "true", "HX-History-Restore-Request": "true"}
    soup = BeautifulSoup(member_client.get("/directory?kind=partner_company", headers=headers).text, "html.parser")
    assert soup.find("html") is not None and soup.find("form", id="directory-filters") is not None


# --- what the page asks the database ---------------------------------------------------------------------------

import re  # noqa: E402

from tests.web.query_support import sqlite_plan, statements_of  # noqa: E402
from web.services.directory import MAX_PAGES  # noqa: E402


@pytest.fixture
def small_pages(settings):
    settings.page_size = 2  # MAX_PAGES pages of 2: a bound reached with a hundred organizations
    return settings


def _list_statement(seen):
    return next((s, p) for s, p in seen if re.search(r"ORDER BY organization\.name", s) and "LIMIT" in s)


def test_directory_deep_page_is_bounded_and_read_from_the_name_index(app, member_client, session, small_pages):
    for n in range(2 * MAX_PAGES + 5):
        create_organization(session, name=f"Org {n:04d}", country="ID")
    session.commit()
    seen = statements_of(member_client, app.state.engine, "/directory?page=100000")
    statement, parameters = _list_statement(seen)
    values = list(parameters.values()) if isinstance(parameters, dict) else list(parameters)
    offset = values[-1]  # LIMIT, then OFFSET, are the last parameters on SQLite and PostgreSQL
    assert offset <= (MAX_PAGES - 1) * small_pages.page_size
    if app.state.engine.dialect.name == "sqlite":
        plan = sqlite_plan(app.state.engine, statement, parameters)
        assert "ix_organization_status_name" in plan and "TEMP B-TREE" not in plan, plan
    soup = BeautifulSoup(member_client.get("/directory?page=100000").text, "html.parser")
    assert f"{MAX_PAGES} / {MAX_PAGES}" in soup.select_one(".pagination").text
    assert "More than 100 organizations" in soup.select_one(".results-meta").text
    assert soup.select_one("#directory-results .help") is not None  # says how to reach the others


def test_directory_counts_stop_at_the_pages_shown(app, member_client, session, small_pages):
    for n in range(2 * MAX_PAGES + 5):
        create_organization(session, name=f"Org {n:04d}", country="ID", sectors=["energy"])
    session.commit()
    member_client.get("/directory")  # the cached figures (choices, per-category and per-sector totals)
    seen = statements_of(member_client, app.state.engine, "/directory?sector=energy&country=ID")
    counts = [s for s, _p in seen if "count(" in s.lower() and "FROM organization" in s]
    assert counts and all("LIMIT" in s for s in counts), counts
    assert "More than 100 organizations" in member_client.get("/directory?sector=energy&country=ID").text
    assert "More than 100 organizations" in member_client.get("/directory?sector=energy").text  # from the cache


def test_directory_choices_and_total_kept_until_an_organization_changes(app, member_client, session, orgs):
    member_client.get("/directory")
    again = statements_of(member_client, app.state.engine, "/directory")
    # The filter choices (distinct countries, sectors, categories) come from the cache; which of the shown
    # organizations have accounts is a per-page question and may be asked.
    choice_queries = [s for s, _p in again
                      if ("DISTINCT" in s and "user_account" not in s) or "technology_category" in s]
    assert not choice_queries
    create_organization(session, name="Omega Hydro", country="VN", sectors=["water"])
    session.commit()
    soup = BeautifulSoup(member_client.get("/directory").text, "html.parser")
    assert "Viet" in " ".join(o.text for o in soup.select("#f-country option"))
    assert "5 organizations" in soup.select_one(".results-meta").text


def test_member_pages_never_load_organization_tags(app, member_client, session, orgs):
    for path in ("/api/v1/me", "/directory", "/profile", "/requests/received"):
        seen = statements_of(member_client, app.state.engine, path)
        assert not [s for s, _p in seen if "organization_tag.id AS organization_tag_id" in s], path  # tag rows
