"""Pre-Matching page: ranked recommendations with reasons, filters, Not interested / Undo, exclusions, access."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from models import DismissedMatch
from tests.conftest import csrf_token
from tests.factories import create_organization, create_user, login
from tests.web.matching_support import embed, make_market, member_of
from tests.web.requests_support import HTMX, headers, make_request, soup


@pytest.fixture
def market(session, session_factory, embedder):
    """The hand-made market, embedded, with a user at the textile plant."""
    orgs = make_market(session)
    user = member_of(session, orgs["textile"])
    session.commit()
    embed(session_factory, embedder)
    return orgs, user


def _cards(response):
    return soup(response).select("#prematching-results article.match-card")


def _names(response):
    return [card.select_one("h3 a").get_text(strip=True) for card in _cards(response)]


@HTMX
def test_prematching_ranks_chiller_maker_first_for_textile_plant(client, market, htmx):
    orgs, user = market
    login(client, user)
    response = client.get("/prematching", headers=headers(htmx))
    assert response.status_code == 200
    page = soup(response)
    assert (page.select_one("h1") is None) == htmx  # htmx gets the fragment only
    root = page.select_one("#prematching-results")
    assert root is not None and (not htmx or page.find() == root)
    names = _names(response)
    assert names[0] == "Nippon Chiller Works"
    assert "Hanoi Brewery" not in names and "Siam Textile Dyeing" not in names
    first = _cards(response)[0]
    reasons = [li.get_text(" ", strip=True) for li in first.select(".match-reasons li")]
    assert reasons and any("chiller" in r.lower() for r in reasons)
    assert any("Energy efficiency" in r for r in reasons)  # category shown by its name, not its slug
    assert first.select_one("meter") is not None
    button = first.select_one(f"#request-button-{orgs['chiller'].id}")
    # The hand-made market has no accounts and no contact emails: nobody could answer, and the card says why.
    assert button is not None and "no email address to invite it" in button.get_text()
    assert first.select_one(".badge-unclaimed") is not None


@HTMX
def test_prematching_reasons_follow_user_language(client, market, htmx):
    _orgs, user = market
    login(client, user)
    client.post("/language", data={"language": "ja", "csrf_token": csrf_token(client, "/prematching")})
    text = _cards(client.get("/prematching", headers=headers(htmx)))[0].get_text(" ", strip=True)
    # Category and country names come from the reference data and CLDR in the user's language.
    assert "省エネルギー" in text and "タイ" in text
    assert "Energy efficiency" not in text


@HTMX
def test_prematching_filters_by_country_kind_and_category(client, market, htmx):
    _orgs, user = market
    login(client, user)
    assert _names(client.get("/prematching?kind=financial_institution", headers=headers(htmx))) == ["Tokyo Green Bank"]
    assert set(_names(client.get("/prematching?category=energy_efficiency", headers=headers(htmx)))) == {
        "Nippon Chiller Works", "Tokyo Green Bank"}
    # A waste-to-energy maker scores below the floor for a textile plant's cooling needs: not recommended.
    assert _names(client.get("/prematching?category=waste", headers=headers(htmx))) == []
    assert _names(client.get("/prematching?country=VN", headers=headers(htmx))) == []
    empty = soup(client.get("/prematching?country=VN", headers=headers(htmx)))
    assert empty.select_one("#prematching-results .empty-state") is not None


@HTMX
def test_dismiss_swaps_card_and_undo_restores(client, market, session, htmx):
    orgs, user = market
    login(client, user)
    token = csrf_token(client, "/prematching")
    chiller = orgs["chiller"].id
    response = client.post(f"/prematching/dismiss/{chiller}", data={"csrf_token": token, "next": "/prematching"},
                           headers=headers(htmx), follow_redirects=False)
    if htmx:
        assert response.status_code == 200
        card = soup(response).find()
        assert card["id"] == f"match-{chiller}" and "Undo" in card.get_text()
    else:
        assert response.status_code == 303 and response.headers["location"] == "/prematching"
    assert "Nippon Chiller Works" not in _names(client.get("/prematching"))
    hidden = soup(client.get("/prematching/hidden", headers=headers(htmx)))
    assert "Nippon Chiller Works" in hidden.select_one("#prematching-hidden").get_text()
    response = client.post(f"/prematching/restore/{chiller}", data={"csrf_token": token, "next": "/prematching"},
                           headers=headers(htmx), follow_redirects=False)
    if htmx:
        card = soup(response).find()
        assert card["id"] == f"match-{chiller}" and card.select_one(".match-reasons") is not None
    else:
        assert response.status_code == 303
    assert _names(client.get("/prematching"))[0] == "Nippon Chiller Works"
    assert session.scalars(select(DismissedMatch)).all() == []


@HTMX
def test_undo_from_hidden_page(client, market, htmx):
    orgs, user = market
    login(client, user)
    token = csrf_token(client, "/prematching")
    client.post(f"/prematching/dismiss/{orgs['solar'].id}", data={"csrf_token": token})
    response = client.post(f"/prematching/restore/{orgs['solar'].id}",
                           data={"csrf_token": token, "view": "hidden", "next": "/prematching/hidden"},
                           headers=headers(htmx), follow_redirects=False)
    if htmx:
        assert "recommended to you again" in response.text
    else:
        assert response.headers["location"] == "/prematching/hidden"
    assert soup(client.get("/prematching/hidden")).select("#prematching-hidden article") == []


@HTMX
def test_prematching_leaves_out_organizations_with_open_or_accepted_requests(client, market, session, settings, htmx):
    orgs, user = market
    chiller_user = member_of(session, orgs["chiller"])
    bank_user = member_of(session, orgs["bank"])
    make_request(session, settings, user, chiller_user)
    req = make_request(session, settings, bank_user, user)
    from web.services import requests

    requests.accept_meeting(session, settings, user, req.id)
    session.commit()
    login(client, user)
    names = _names(client.get("/prematching", headers=headers(htmx)))
    assert "Nippon Chiller Works" not in names and "Tokyo Green Bank" not in names


@HTMX
def test_prematching_says_recommendations_are_being_prepared(client, session, embedder, htmx):
    org = create_organization(session, name="Fresh Co", kind="partner_company", country="VN", needs=["Solar panels"])
    user = create_user(session, org)
    session.commit()
    login(client, user)
    response = client.get("/prematching", headers=headers(htmx))
    assert response.status_code == 200
    assert "Your recommendations are being prepared" in response.text
    assert _cards(response) == []


@HTMX
def test_prematching_empty_state_is_honest(client, session, session_factory, embedder, htmx):
    org = create_organization(session, name="Lonely Co", kind="partner_company", country="VN", needs=["Solar panels"])
    user = create_user(session, org)
    session.commit()
    embed(session_factory, embedder)
    login(client, user)
    response = client.get("/prematching", headers=headers(htmx))
    assert _cards(response) == []
    assert "No recommendations yet" in response.text


@HTMX
def test_prematching_works_when_no_profile_has_usable_text(client, session, session_factory, embedder, htmx):
    # Bare sign-ups (or profiles written only in Japanese) give TF-IDF no vocabulary: the page must still work.
    partner = create_organization(session, name="Bare Partner", kind="partner_company", country="VN")
    create_organization(session, name="Bare Maker", kind="japanese_company", description="高効率ターボ冷凍機")
    user = create_user(session, partner)
    session.commit()
    embed(session_factory, embedder)
    login(client, user)
    response = client.get("/prematching", headers=headers(htmx))
    assert response.status_code == 200


@HTMX
def test_prematching_explains_to_organizer_without_organization(client, session, htmx):
    organizer = create_user(session, None, role="organizer")
    session.commit()
    login(client, organizer)
    response = client.get("/prematching", headers=headers(htmx))
    assert response.status_code == 200
    assert "not linked to one" in soup(response).select_one("#prematching-results").get_text()


@HTMX
def test_prematching_refuses_pending_member(client, session, htmx):
    user = create_user(session, create_organization(session, status="pending"))
    session.commit()
    login(client, user)
    assert client.get("/prematching", headers=headers(htmx)).status_code == 403
    assert client.get("/prematching/hidden", headers=headers(htmx)).status_code == 403


@HTMX
def test_prematching_redirects_anonymous_to_login(client, htmx):
    response = client.get("/prematching", headers=headers(htmx), follow_redirects=False)
    if htmx:
        assert response.status_code == 204 and response.headers["HX-Redirect"].startswith("/login")
    else:
        assert response.status_code == 303 and response.headers["location"].startswith("/login")


@pytest.mark.parametrize("action", ["dismiss", "restore"])
def test_dismiss_and_restore_need_csrf(client, market, session, action):
    orgs, user = market
    login(client, user)
    response = client.post(f"/prematching/{action}/{orgs['solar'].id}", data={}, follow_redirects=False)
    assert response.status_code == 403
    assert session.scalars(select(DismissedMatch)).all() == []


def test_dismiss_refuses_own_unknown_and_pending_organizations(client, market, session):
    orgs, user = market
    pending = create_organization(session, status="pending", name="Not yet")
    session.commit()
    login(client, user)
    token = csrf_token(client, "/prematching")
    for target in (orgs["textile"].id, pending.id, 999999):
        assert client.post(f"/prematching/dismiss/{target}", data={"csrf_token": token}).status_code == 404


@HTMX
def test_restore_refuses_own_unknown_and_pending_organizations_without_naming_them(client, market, session, htmx):
    orgs, user = market
    pending = create_organization(session, status="pending", name="Secret Applicant KK")
    session.commit()
    login(client, user)
    token = csrf_token(client, "/prematching")
    for target in (orgs["textile"].id, pending.id, 999999):
        response = client.post(f"/prematching/restore/{target}", data={"csrf_token": token}, headers=headers(htmx),
                               follow_redirects=False)
        assert response.status_code == 404
        assert "Secret Applicant KK" not in response.text


def test_dismiss_is_per_organization(client, market, session):
    orgs, user = market
    other = member_of(session, orgs["other_host"])
    session.commit()
    login(client, user)
    client.post(f"/prematching/dismiss/{orgs['chiller'].id}", data={"csrf_token": csrf_token(client, "/prematching")})
    client.post("/logout", data={"csrf_token": csrf_token(client, "/prematching")})
    login(client, other)
    assert "Nippon Chiller Works" in _names(client.get("/prematching"))
    assert soup(client.get("/prematching/hidden")).select("#prematching-hidden article") == []


def test_show_more_pages_accumulate(client, session, session_factory, embedder, app):
    host = create_organization(session, name="Big Need Co", kind="partner_company", country="TH",
                               needs=["Efficient chillers"], target_countries=["TH"])
    for n in range(25):
        create_organization(session, name=f"Maker {n}", offers=[f"Efficient chillers model {n}"],
                            target_countries=["TH"])
    user = create_user(session, host)
    session.commit()
    embed(session_factory, embedder)
    login(client, user)
    first = client.get("/prematching")
    assert len(_cards(first)) == 20
    more = soup(first).select_one("a[rel=next]")
    assert more is not None and "page=2" in more["href"]
    assert len(_cards(client.get(more["href"], headers={"HX-Request": "true"}))) == 25


@HTMX
def test_prematching_says_when_no_more_good_matches(client, market, htmx):
    _orgs, user = market
    login(client, user)
    response = client.get("/prematching", headers=headers(htmx))
    # The waste-to-energy and solar makers score below the floor for a textile plant's cooling needs.
    assert "Kansai Waste Power" not in _names(response) and "Rising Sun Solar" not in _names(response)
    note = soup(response).select_one("#prematching-results #match-floor")
    assert note is not None and "No more good matches" in note.get_text() and "20%" in note.get_text()
    assert soup(response).select_one(".match-explained") is not None  # what the percentage means
    filtered = soup(client.get("/prematching?kind=financial_institution", headers=headers(htmx)))
    assert "Widen the filters" in filtered.select_one("#match-floor").get_text()


@HTMX
def test_prematching_notes_profiles_written_only_in_japanese(client, session, session_factory, embedder, htmx):
    orgs = make_market(session, "textile")
    create_organization(session, name="Kyoto Reitoki", kind="japanese_company", country="JP",
                        description="工場向けの高効率ターボ冷凍機メーカーです。",
                        offers=["繊維工場の冷却設備を高効率ターボ冷凍機に更新", "冷却水ポンプのインバーター制御"],
                        technology_categories=["energy_efficiency"], target_countries=["TH"])
    user = member_of(session, orgs["textile"])
    session.commit()
    embed(session_factory, embedder)
    login(client, user)
    card = _cards(client.get("/prematching", headers=headers(htmx)))[0]
    assert card.select_one("h3 a").get_text(strip=True) == "Kyoto Reitoki"  # found through the glossary
    assert "written in Japanese only" in card.select_one(".match-language").get_text()
    reasons = " ".join(li.get_text(" ", strip=True) for li in card.select(".match-reasons li"))
    assert "§" not in reasons and "energy_efficiency" not in reasons
    client.post("/language", data={"language": "ja", "csrf_token": csrf_token(client, "/prematching")})
    card = _cards(client.get("/prematching", headers=headers(htmx)))[0]
    assert card.select_one(".match-language") is None  # a Japanese reader needs no note
