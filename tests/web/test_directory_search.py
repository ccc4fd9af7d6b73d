"""Directory text search through the trigram index (migration 0013): the same answers as a scan, found by index."""

from __future__ import annotations

import pytest
from bs4 import BeautifulSoup
from dataclasses import astuple, replace

from sqlalchemy import select

from models import Organization, OrganizationTag

from tests.factories import create_organization, create_user, login
from tests.web.query_support import recorded, sqlite_plan
from web.services import catalogs, directory
from web.services.directory import Filters, directory_conditions, search_directory, search_hits, trigram_match
from web.services.organizations import refresh_tags

QUERIES = ["zeolite", "Zeolite kiln", "kiln", "pv", "pv kiln", "solar pv", "ソーラー", "太陽光発電", "50%", "a_b",
           '"kiln"', "kil", "ki", "nothing-like-this", "solar", "cement kiln vietnam"]


@pytest.fixture
def orgs(session):
    texts = [
        ("Alpha Cement", "Waste-heat recovery for the cement kiln in Vietnam.", "VN"),
        ("Beta Minerals", "Zeolite adsorbents; a kiln retrofit.", "ID"),
        ("Gamma Solar", "Rooftop solar PV and 太陽光発電 for factories.", "TH"),
        ("Delta Energy", "Solar PV O&M, 50% less downtime; a_b testing.", "VN"),
        ("Epsilon Trading", "ソーラー パネル", "JP"),
        ("Zeta Works", 'Quoted "kiln" words.', "PH"),
    ]
    made = [create_organization(session, name=name, description=text, country=country)
            for name, text, country in texts]
    create_organization(session, name="Pending Kiln Co", description="kiln", status="pending")
    session.commit()
    return made


def scanned(session, filters: Filters, page_size: int = 20) -> list[str]:
    """The names the LIKE scan finds, without the index (the answer before migration 0013)."""
    return [org.name for org in directory._page_of(session, directory_conditions(filters), 1, page_size).items]


def found(session, filters: Filters, page: int = 1, page_size: int = 20) -> list[str]:
    return [org.name for org in search_directory(session, filters, page, page_size).items]


@pytest.mark.parametrize("q", QUERIES)
def test_search_finds_what_the_scan_finds(session, orgs, q):
    filters = Filters(q=q)
    assert found(session, filters) == scanned(session, filters)


def test_search_combines_the_words_with_the_other_filters(session, orgs):
    assert found(session, Filters(q="kiln", country="VN")) == ["Alpha Cement"]
    assert found(session, Filters(q="solar pv", country="VN")) == ["Delta Energy"]
    assert found(session, Filters(q="kiln")) == ["Alpha Cement", "Beta Minerals", "Zeta Works"]  # not the pending one


def test_rare_word_is_looked_up_in_the_index(session, orgs, monkeypatch):
    if session.get_bind().dialect.name != "sqlite":
        pytest.skip("PostgreSQL answers the LIKE conditions from its pg_trgm index")
    assert search_hits(session, trigram_match(session, "zeolite")) == (1, f"[{orgs[1].id}]")
    assert trigram_match(session, "pv") is None  # too short for a trigram: the scan answers
    with recorded(session.get_bind()) as seen:
        assert found(session, Filters(q="zeolite")) == ["Beta Minerals"]
    assert any("organization_search MATCH" in statement for statement, _ in seen)
    assert not any("LIKE" in statement for statement, _ in seen)  # every word came from the index
    # Vietnam as a country of thousands (a country of fewer organizations than a common word's hits is walked).
    monkeypatch.setattr(directory, "walk_scope", lambda filters, choices: directory.MAX_HITS + 1)
    with recorded(session.get_bind()) as seen:
        assert found(session, Filters(q="kiln", country="VN")) == ["Alpha Cement"]
    pages = [(s, p) for s, p in seen if "organization.id IN" in s and "ORDER BY organization.name" in s]
    assert len(pages) == 1
    plan = sqlite_plan(session.get_bind(), *pages[0])
    assert "INTEGER PRIMARY KEY" in plan and "ix_organization" not in plan, plan  # the hits looked up by id


def test_index_follows_profile_edits_and_deletions(session, orgs):
    beta = orgs[1]
    beta.description = "Biochar kilns"
    refresh_tags(beta)
    session.commit()
    assert found(session, Filters(q="zeolite")) == []
    assert found(session, Filters(q="biochar")) == ["Beta Minerals"]
    session.delete(orgs[0])
    session.commit()
    assert found(session, Filters(q="cement")) == []


def test_common_words_past_the_hit_limit_use_the_name_scan(session, orgs, monkeypatch):
    monkeypatch.setattr(directory, "MAX_HITS", 2)
    if session.get_bind().dialect.name == "sqlite":
        assert search_hits(session, trigram_match(session, "kiln"))[0] == 3  # MAX_HITS + 1: more (4 with pending)
    assert found(session, Filters(q="kiln")) == ["Alpha Cement", "Beta Minerals", "Zeta Works"]
    monkeypatch.setattr(directory, "MAX_PAGES", 1)  # pages show one organization: the first hits hold more
    for q in ("kiln", "kiln zeta"):
        page, scan = (search_directory(session, Filters(q=q), 1, 1),
                      directory._page_of(session, directory_conditions(Filters(q=q)), 1, 1))
        assert ([o.name for o in page.items], page.total, page.more) == ([o.name for o in scan.items], scan.total,
                                                                          scan.more)


def test_pages_among_the_hits_keep_the_name_order(session, orgs):
    filters = Filters(q="kiln")
    pages = [found(session, filters, page, page_size=2) for page in (1, 2, 3)]
    assert pages == [["Alpha Cement", "Beta Minerals"], ["Zeta Works"], ["Zeta Works"]]  # past the end: the last
    assert search_directory(session, filters, 1, 2).total == 3


def test_directory_page_shows_a_rare_word_search(client, session, orgs):
    user = create_user(session, organization=orgs[0])
    session.commit()
    login(client, user)
    page = BeautifulSoup(client.get("/directory?q=Zeolite").text, "html.parser")
    assert [a.text.strip() for a in page.select("#directory-results .org-card h3 a")] == ["Beta Minerals"]
    assert "1 organization" in page.select_one(".results-meta").text


def searched(statements: list[tuple[str, object]]) -> bool:
    """Whether the statements looked for words (the trigram index on SQLite, LIKE on PostgreSQL) or counted."""
    return any("organization_search" in s or "LIKE" in s or "count(" in s.lower() for s, _ in statements)


def test_a_repeated_search_is_answered_again_until_an_organization_changes(session, orgs):
    filters = Filters(q="kiln", country="VN")
    with recorded(session.get_bind()) as first:
        assert found(session, filters) == ["Alpha Cement"]
    with recorded(session.get_bind()) as again:
        assert found(session, filters) == ["Alpha Cement"]
    assert searched(first) and not searched(again)  # the same question: its ids, read by id
    assert search_directory(session, filters, 1, 20).total == 1

    create_organization(session, name="Aardvark Kilns", description="Kiln burners", country="VN")
    session.commit()
    assert found(session, filters) == ["Aardvark Kilns", "Alpha Cement"]  # a new organization is found at once

    pending = session.scalars(select(Organization).where(Organization.name == "Pending Kiln Co")).one()
    pending.status, pending.country = "approved", "VN"
    session.commit()
    assert found(session, filters) == ["Aardvark Kilns", "Alpha Cement", "Pending Kiln Co"]  # an approval too

    orgs[0].status = "suspended"
    session.commit()
    page = search_directory(session, filters, 1, 20)
    assert ([org.name for org in page.items], page.total) == (["Aardvark Kilns", "Pending Kiln Co"], 2)


def test_cached_pages_keep_their_page_number_and_count(session, orgs):
    filters = Filters(q="kiln")
    for _ in range(2):  # computed, then answered from what was kept
        pages = [search_directory(session, filters, page, 2) for page in (1, 2, 9)]
        assert [([o.name for o in p.items], p.page, p.total) for p in pages] == [
            (["Alpha Cement", "Beta Minerals"], 1, 3), (["Zeta Works"], 2, 3), (["Zeta Works"], 2, 3)]


def test_answers_are_bounded_and_expire(monkeypatch):
    answers = catalogs.Answers(size=2, max_age=60.0)
    computed: list[str] = []

    def compute(value: str):
        return lambda: computed.append(value) or value

    assert [answers.get(key, compute(key)) for key in ("a", "b", "a", "c", "b")] == ["a", "b", "a", "c", "b"]
    assert computed == ["a", "b", "c", "b"] and len(answers) == 2  # "b" was the least recently asked when "c" came
    clock = [1000.0]
    monkeypatch.setattr(catalogs.time, "monotonic", lambda: clock[0])
    answers = catalogs.Answers(size=2, max_age=60.0)
    answers.get("a", compute("a"))
    clock[0] += 61
    answers.get("a", compute("a"))
    assert computed[-2:] == ["a", "a"]  # too old: asked again


def test_a_deep_page_of_a_rare_category_is_chosen_among_its_holders(session):
    # 60 organizations, 4 of them in "soil" (one pending): page 2 of 1 per page would walk the names past
    # half of them; the holders are looked up by the tag index and sorted by name instead.
    for n in range(60):
        soil = n % 15 == 7
        create_organization(session, name=f"Org {n:02d}", country="VN" if n % 2 else "ID",
                            technology_categories=["soil"] if soil else ["energy_efficiency"],
                            status="pending" if n == 52 else "approved")
    session.commit()
    filters = Filters(category="soil")
    expected = [org.name for org in directory._page_of(session, directory_conditions(filters), 1, 20).items]
    assert expected == ["Org 07", "Org 22", "Org 37"]
    for page in (1, 2, 3, 4):
        with recorded(session.get_bind()) as seen:
            shown = directory._search(session, filters, page, 1, directory.directory_choices(session))
        assert ([o.name for o in shown.items], shown.page, shown.total) == ([expected[min(page, 3) - 1]],
                                                                            min(page, 3), 3)
        if session.get_bind().dialect.name == "sqlite" and page > 1:
            plan = sqlite_plan(session.get_bind(), *listing_of(seen))
            assert "ix_organization_tag_field_value" in plan and "ix_organization_status_name" not in plan, plan
    # A country few organizations are in: walking its names reads fewer rows than the holders would cost.
    assert found(session, Filters(category="soil", country="VN"), page=1) == ["Org 07", "Org 37"]


def listing_of(seen: list[tuple[str, object]]) -> tuple[str, object]:
    """The statement that chose a directory page's organizations (by walking names or among a tag's holders)."""
    return next((s, p) for s, p in seen if "ORDER BY organization.name" in s or "json_group_array(json_array(" in s)


@pytest.fixture
def kinds(session):
    """80 approved organizations, nearly all partner companies; 5 of them (and one pending) in "soil", all in
    "energy" as a sector; names that sort differently by case, accents, scripts and digits."""
    names = ["alpha", "Alpha", "Ärzte", "Zulu", "zulu", "日本", "Org 1", "Org 10", "Org 2", "Öko", "_under", "Élan"]
    made = []
    for n in range(80):
        name = names[n] if n < len(names) else f"Partner {n:03d}"
        made.append(create_organization(
            session, name=name, kind="consultant" if n % 40 == 39 else "partner_company",
            country="VN" if n == 8 else "ID", sectors=["energy"],
            technology_categories=["soil"] if n in (1, 2, 6, 8, 9, 70) else ["energy_efficiency"],
            status="pending" if n == 70 else "approved"))
    session.commit()
    return made


FILTER_COMBINATIONS = [Filters(category="soil", kind="partner_company"), Filters(category="soil", country="ID"),
                       Filters(category="soil"), Filters(category="soil", kind="consultant"),
                       Filters(category="soil", sector="energy"), Filters(sector="energy", kind="partner_company"),
                       Filters(category="soil", kind="partner_company", country="ID")]


@pytest.mark.parametrize("filters", FILTER_COMBINATIONS, ids=lambda f: "-".join(v for v in astuple(f) if v))
@pytest.mark.parametrize("page_size", [1, 2, 20])
def test_holders_sorted_here_give_the_pages_the_walk_gives(session, kinds, filters, page_size):
    if session.get_bind().dialect.name != "sqlite":
        pytest.skip("the holders' page is read the SQLite way (json_group_array); PostgreSQL walks by plan")
    choices = directory.directory_choices(session)
    for page in range(1, 8):
        walked = directory._page_of(session, directory_conditions(filters), page, page_size)
        rare = directory.rare_tag(session, filters, choices)
        if rare is None:
            continue
        field_name, value, _ = rare
        others = replace(filters, **{"category" if field_name == "technology_categories" else "sector": ""})
        held = [Organization.id.in_(select(OrganizationTag.organization_id).where(
            OrganizationTag.field == field_name, OrganizationTag.value == value)),
            *directory_conditions(others, indexed=True)]
        sorted_here = directory._sorted_page(session, held, page, page_size)
        assert ([o.name for o in sorted_here.items], sorted_here.page, sorted_here.total, sorted_here.more) == \
            ([o.name for o in walked.items], walked.page, walked.total, walked.more)


def test_a_rare_category_of_a_common_kind_is_read_among_its_holders(session, kinds):
    # Walking the partner companies' names to count the 5 "soil" ones among them read the whole kind (at
    # 100,000 organizations: 80 ms for the first page). The holders are looked up by the tag index instead.
    for filters, expected, total in ((Filters(category="soil", kind="partner_company"), ["Alpha", "Org 1", "Org 2"], 5),
                                     (Filters(category="soil", kind="partner_company", country="ID"),
                                      ["Alpha", "Org 1", "Ärzte"], 4)):  # binary order: "Ärzte" after "Org 2"
        with recorded(session.get_bind()) as seen:
            shown = directory._search(session, filters, 1, 3, directory.directory_choices(session))
        assert ([o.name for o in shown.items], shown.total) == (expected, total)
        if session.get_bind().dialect.name == "sqlite":
            plan = sqlite_plan(session.get_bind(), *listing_of(seen))
            assert "ix_organization_tag_field_value" in plan and "_kind_name" not in plan, plan
    # A rare kind: its few names are walked (fewer rows than twice the holders).
    with recorded(session.get_bind()) as seen:
        shown = directory._search(session, Filters(category="soil", kind="consultant"), 1, 20,
                                  directory.directory_choices(session))
    assert [o.name for o in shown.items] == []
    if session.get_bind().dialect.name == "sqlite":
        assert "ix_organization_status_kind_name" in sqlite_plan(session.get_bind(), *listing_of(seen))


def test_the_choices_count_each_kind_and_country(session, kinds):
    choices = directory.directory_choices(session)
    assert choices.per_kind == {"partner_company": 77, "consultant": 2}
    assert choices.per_country == {"ID": 78, "VN": 1} and choices.countries == ("ID", "VN")
    assert choices.approved == 79


@pytest.fixture
def mixed(session):
    """90 organizations of every kind in four countries (none of the Japanese companies outside Japan), with
    common and rare words, a rare and a common category, two sectors, and names that sort by byte."""
    names = ["alpha", "Alpha", "Ärzte", "Zulu", "zulu", "日本", "Org 1", "Org 10", "Org 2", "Öko", "_under", "Élan"]
    kinds = ["japanese_company", "partner_company", "partner_company", "consultant", "financial_institution"]
    for n in range(90):
        kind = kinds[n % 5]
        words = " ".join(word for word, every in (("solar", 3), ("pv", 4), ("kiln", 7), ("zeolite", 30))
                         if n % every == 0)
        create_organization(
            session, name=names[n] if n < len(names) else f"Org {n:03d}", kind=kind,
            country="JP" if kind == "japanese_company" else ("ID", "VN", "MN")[n % 3],
            description=f"{words} works", sectors=["energy"] if n % 2 else ["industry"],
            technology_categories=["soil"] if n % 11 == 3 else ["energy_efficiency"],
            status="pending" if n == 47 else "approved")
    session.commit()


EVERY_PATH = [Filters(**values) for values in (
    {}, {"category": "soil"}, {"category": "soil", "kind": "partner_company"}, {"category": "soil", "country": "VN"},
    {"category": "soil", "kind": "partner_company", "country": "ID"}, {"kind": "japanese_company", "country": "MN"},
    {"kind": "partner_company", "country": "JP", "category": "soil"}, {"kind": "consultant", "country": "ID"},
    {"kind": "partner_company"}, {"country": "VN"}, {"category": "nothing"}, {"sector": "energy", "category": "soil"},
    {"q": "solar"}, {"q": "solar", "category": "soil"}, {"q": "pv", "category": "soil"}, {"q": "solar pv"},
    {"q": "solar", "kind": "partner_company", "country": "VN"}, {"q": "kiln", "sector": "industry"},
    {"q": "pv", "kind": "consultant", "country": "MN"}, {"q": "zeolite", "category": "soil"},
    {"q": "solar", "kind": "japanese_company", "country": "VN"})]


@pytest.mark.parametrize("max_hits", [MAX_HITS_DEFAULT := directory.MAX_HITS, 3])
@pytest.mark.parametrize("filters", EVERY_PATH, ids=lambda f: "-".join(v for v in astuple(f) if v) or "all")
def test_every_way_of_reading_a_page_gives_what_the_plain_walk_gives(session, mixed, monkeypatch, filters,
                                                                       max_hits):
    # max_hits=3: the searched words count as common, so the pages are walked by name or read among the holders.
    monkeypatch.setattr(directory, "MAX_HITS", max_hits)
    choices = directory.directory_choices(session)
    for page_size in (1, 4, 20):
        for page in (1, 2, 5, 9):
            shown = directory._search(session, filters, page, page_size, choices)
            plain = directory._page_of(session, directory_conditions(filters), page, page_size)
            assert ([o.name for o in shown.items], shown.page, shown.total, shown.more) == \
                ([o.name for o in plain.items], plain.page, plain.total, plain.more), (page_size, page)


def test_a_kind_and_a_country_are_walked_by_the_shorter_index_or_known_to_be_empty(session, mixed):
    choices = directory.directory_choices(session)
    assert (choices.per_kind["consultant"], choices.per_country["ID"], choices.per_kind["partner_company"],
            choices.per_country["MN"]) == (18, 24, 35, 23)  # one partner company in Mongolia is pending
    assert choices.per_kind_country[("consultant", "ID")] == 6 and ("japanese_company", "MN") not in \
        choices.per_kind_country
    assert directory.known_total(Filters(kind="japanese_company", country="MN"), choices) == 0
    assert directory.known_total(Filters(kind="consultant", country="ID"), choices) == 6
    assert directory.known_total(Filters(kind="consultant", country="ID", q="pv"), choices) is None
    with recorded(session.get_bind()) as seen:
        shown = directory._search(session, Filters(kind="japanese_company", country="MN", category="soil"), 1, 20,
                                  choices)
    assert shown.items == [] and shown.total == 0 and seen == []  # nothing walked to find nothing
    if session.get_bind().dialect.name != "sqlite":
        return
    # SQLite keeps no statistics: the shorter index is named (at 100k, partner companies in Japan walked 45,000).
    for filters, walked in ((Filters(kind="consultant", country="ID", q="pv"), "kind"),
                            (Filters(kind="partner_company", country="MN", q="pv"), "country")):
        with recorded(session.get_bind()) as seen:
            directory._search(session, filters, 1, 20, choices)
        plan = sqlite_plan(session.get_bind(), *listing_of(seen))
        assert f"ix_organization_status_{walked}_name" in plan, plan
    # Counting reads the same column's own index, in the order of the rows' ids.
    with recorded(session.get_bind()) as seen:
        shown = directory._search(session, Filters(kind="consultant", country="ID", category="energy_efficiency"), 1,
                                  20, choices)
    assert shown.total == 5  # one of the six holds "soil" instead
    counts = [(s, p) for s, p in seen if s.startswith("SELECT count(*)")]
    assert "USING INDEX ix_organization_kind " in sqlite_plan(session.get_bind(), *counts[0]) + " "


def test_common_words_in_a_rare_category_are_looked_for_among_its_holders(session, mixed, monkeypatch):
    # Walking the names for a common word's few holders of a rare category checked every name (300 ms at 100k).
    monkeypatch.setattr(directory, "MAX_HITS", 3)
    with recorded(session.get_bind()) as seen:
        shown = directory._search(session, Filters(q="solar", category="soil"), 1, 20,
                                  directory.directory_choices(session))
    assert [o.name for o in shown.items] == ["Org 036", "Org 069", "Zulu"]
    if session.get_bind().dialect.name == "sqlite":
        plan = sqlite_plan(session.get_bind(), *listing_of(seen))
        assert "ix_organization_tag_field_value" in plan and "ix_organization_status_name" not in plan, plan


def test_a_short_word_in_a_rare_category_is_looked_for_among_its_holders(session, mixed):
    # "pv" is too short for the trigram index: walking the names for it read every name when few held it.
    choices = directory.directory_choices(session)
    with recorded(session.get_bind()) as seen:
        shown = directory._search(session, Filters(q="pv", category="soil"), 1, 20, choices)
    plain = directory._page_of(session, directory_conditions(Filters(q="pv", category="soil")), 1, 20)
    assert [o.name for o in shown.items] == [o.name for o in plain.items] and shown.total == plain.total > 0
    if session.get_bind().dialect.name == "sqlite":
        plan = sqlite_plan(session.get_bind(), *listing_of(seen))
        assert "ix_organization_tag_field_value" in plan and "ix_organization_status_name" not in plan, plan


def test_words_within_a_small_country_are_walked_without_the_trigram_index(session, orgs):
    # Walking Vietnam's few organizations (fewer than a common word's hits can be) costs less than looking the
    # hits up: at 100k, a common word in Indonesia took 4.5 ms walked and 13 ms by the hits.
    with recorded(session.get_bind()) as seen:
        assert found(session, Filters(q="kiln", country="VN")) == ["Alpha Cement"]
    assert not any("organization_search MATCH" in statement for statement, _ in seen)
