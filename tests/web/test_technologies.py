"""The public technology catalogue: list, facets, search, 'describe your need', a technology's page, exports."""

import csv
import io
import json
import time

import pytest

from models import Technology
from tests.factories import create_organization, create_user, login
from tests.web.technology_support import card_names, create_technology, parse
from web.services import technology_search

HTMX = pytest.mark.parametrize("headers", [{}, {"HX-Request": "true"}], ids=["page", "htmx"])


@pytest.fixture
def catalogue(session):
    """Two Japanese firms and a partner company with technologies in several states."""
    chillers = create_organization(session, name="Nippon Chiller Works")
    solar = create_organization(session, name="Rising Sun Solar")
    partner = create_organization(session, name="Saigon Pumps", kind="partner_company", country="VN")
    pending_org = create_organization(session, name="Applicant Co", status="pending")
    techs = {
        "chiller": create_technology(session, chillers, name="Inverter turbo chiller", name_ja="ターボ冷凍機",
                                     description="Centrifugal chillers for factory cooling. The inverter keeps "
                                     "the chillers efficient at part load, so factories that replace old chillers cut "
                                     "the electricity of their cooling by a third. Remote monitoring of every chiller "
                                     "gives the data a JCM project needs. Certified for refrigerant R1233zd.",
                                     products=["ETI-Z series"], tracks=[("VN", 2019, True), ("TH", 2021, False)]),
        "heat": create_technology(session, chillers, name="Waste heat recovery", category="effective_energy_use",
                                  tracks=[("ID", 2020, False)]),
        "solar": create_technology(session, solar, name="Rooftop solar PV", category="renewable_energy",
                                   tracks=[("TH", 2018, True)]),
        "pump": create_technology(session, partner, name="Water pump retrofit", category="water",
                                  description="Pumps for water utilities with inverter control."),
        "pending": create_technology(session, solar, name="Pending floating solar", status="pending",
                                     category="renewable_energy"),
        "unpublished": create_technology(session, solar, name="Unpublished wind", status="unpublished",
                                         status_reason="secretword"),
        "applicant": create_technology(session, pending_org, name="Applicant solar", category="renewable_energy"),
    }
    session.commit()
    return techs


@HTMX
def test_technologies_list_is_public_with_live_counts(client, catalogue, headers):
    response = client.get("/technologies", headers=headers)
    assert response.status_code == 200
    soup = parse(response)
    assert (soup.find("html") is None) == bool(headers)
    assert card_names(soup) == ["Inverter turbo chiller", "Rooftop solar PV", "Waste heat recovery",
                                "Water pump retrofit"]
    assert soup.select_one("#technology-counts").text.strip() == "3 companies, 4 technologies"
    facets = soup.select_one("#technology-facets")
    assert (facets.get("hx-swap-oob") == "true") == bool(headers)  # htmx: the counts follow out of band
    assert "Water (1)" in facets.select_one("#f-area").text


@pytest.mark.parametrize("query, expected, counts", [
    ("area=water", ["Water pump retrofit"], "1 company, 1 technology"),
    ("category=renewable_energy", ["Rooftop solar PV"], "1 company, 1 technology"),
    ("country=TH", ["Inverter turbo chiller", "Rooftop solar PV"], "2 companies, 2 technologies"),
    ("kind=partner_company", ["Water pump retrofit"], "1 company, 1 technology"),
    ("jcm=1", ["Inverter turbo chiller", "Rooftop solar PV"], "2 companies, 2 technologies"),
    ("country=TH&jcm=1&area=climate", ["Inverter turbo chiller", "Rooftop solar PV"], "2 companies, 2 technologies"),
    ("category=nonexistent&area=moon&country=123", ["Inverter turbo chiller", "Rooftop solar PV",
                                                    "Waste heat recovery", "Water pump retrofit"],
     "3 companies, 4 technologies"),
])
def test_technologies_facets_narrow_the_list(client, catalogue, query, expected, counts):
    soup = parse(client.get(f"/technologies?{query}"))
    assert card_names(soup) == expected
    assert soup.select_one("#technology-counts").text.strip() == counts


def test_technologies_facet_counts_follow_the_other_filters(client, catalogue):
    soup = parse(client.get("/technologies?country=TH"))
    category = {o["value"]: o.text for o in soup.select("#f-category option") if o["value"]}
    assert category["energy_efficiency"].endswith("(1)") and category["effective_energy_use"].endswith("(0)")
    countries = {o["value"]: o.text for o in soup.select("#f-country option") if o["value"]}
    # The country facet counts without its own filter: every track-record country stays choosable.
    assert countries == {"ID": "Indonesia (1)", "TH": "Thailand (2)", "VN": "Vietnam (1)"}
    assert "(2)" in soup.select_one("label[for=f-jcm]").text


def test_technologies_search_matches_only_what_is_shown(client, catalogue):
    assert card_names(parse(client.get("/technologies?q=secretword"))) == []  # a review note is not shown
    assert card_names(parse(client.get("/technologies?q=pending+floating"))) == []
    soup = parse(client.get("/technologies?q=r1233zd"))
    assert card_names(soup) == ["Inverter turbo chiller"]
    # The match lies past the card's opening: the card shows that passage, marked.
    assert [m.text for m in soup.select("#tech-%d .snippet mark" % catalogue["chiller"].id)] == ["R1233zd"]
    assert card_names(parse(client.get("/technologies?q=ETI-Z"))) == ["Inverter turbo chiller"]  # products
    assert card_names(parse(client.get("/technologies?q=chiller+works"))) == ["Inverter turbo chiller",
                                                                             "Waste heat recovery"]
    assert card_names(parse(client.get("/technologies?q=vietnam"))) == ["Inverter turbo chiller"]  # track record


def test_technologies_in_japanese_show_and_search_japanese_names(client, catalogue):
    soup = parse(client.get("/technologies?q=%E3%82%BF%E3%83%BC%E3%83%9C", headers={"Accept-Language": "ja"}))
    assert soup.find("html")["lang"] == "ja"
    assert card_names(soup) == ["ターボ冷凍機"]
    assert soup.select_one(".tech-subtitle").text == "Inverter turbo chiller"
    assert "再生可能エネルギー" in soup.select_one("#f-category").text


def test_technologies_export_csv_and_json_follow_the_filters(client, session, catalogue):
    create_technology(session, create_organization(session, name="=HYPERLINK(1)"), name="Formula tech")
    session.commit()
    response = client.get("/technologies.csv?country=TH")
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [r["name"] for r in rows] == ["Inverter turbo chiller", "Rooftop solar PV"]
    assert rows[0]["track_record_countries"] == "VN; TH" and rows[0]["has_jcm_track_record"] == "true"
    formula = list(csv.DictReader(io.StringIO(client.get("/technologies.csv?q=formula").text)))
    assert formula[0]["organization"] == "'=HYPERLINK(1)"  # a spreadsheet reads it as text
    body = json.loads(client.get("/technologies.json?area=water").text)
    assert body["total"] == 1 and body["technologies"][0]["name"] == "Water pump retrofit"
    assert body["filters"] == {"area": "water"}


def test_technology_page_is_public_and_asks_to_log_in_for_a_meeting(client, catalogue):
    tech = catalogue["chiller"]
    soup = parse(client.get(f"/technologies/{tech.id}"))
    assert soup.select_one("h1").text == "Inverter turbo chiller"
    assert [c.text for c in soup.select("#track-record .track-country")] == ["Vietnam", "Thailand"]
    button = soup.select_one("#request-meeting")
    assert button["href"] == f"/requests/new?to={tech.organization_id}"
    response = client.get(button["href"], follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == f"/login?next=/requests/new%3Fto%3D{tech.organization_id}"
    assert soup.select_one("#precheck form")["action"] == "/precheck"


@pytest.mark.parametrize("who, status", [("anonymous", 404), ("other", 404), ("owner", 200), ("organizer", 200)])
def test_technology_page_of_a_pending_technology(client, session, catalogue, who, status):
    tech = catalogue["pending"]
    users = {"owner": lambda: create_user(session, tech.organization), "other": lambda: create_user(session),
             "organizer": lambda: create_user(session, None, role="organizer")}
    if who in users:
        user = users[who]()
        session.commit()
        login(client, user)
    response = client.get(f"/technologies/{tech.id}")
    assert response.status_code == status
    if status == 200:
        assert "Waiting for review" in parse(response).select_one("#technology-status").text


def test_technology_of_an_unapproved_organization_is_not_public(client, catalogue):
    assert client.get(f"/technologies/{catalogue['applicant'].id}").status_code == 404
    assert client.get("/technologies/999999").status_code == 404
    assert client.get("/technologies/99999999999999").status_code == 404


def _wait_for_background_index(engine, model):
    slot = technology_search._slot(engine, model)
    deadline = time.monotonic() + 20
    while slot.building and time.monotonic() < deadline:
        time.sleep(0.05)


def test_describe_your_need_ranks_with_reasons(client, session_factory, embedder, catalogue):
    technology_search.index_technologies(session_factory, embedder)
    soup = parse(client.get("/technologies", params={"need": "cooling chillers for a factory", "country": "VN"}))
    assert card_names(soup)[0] == "Inverter turbo chiller"
    reasons = [li.text for li in soup.select(f"#tech-{catalogue['chiller'].id} .match-reasons li")]
    assert any(r.startswith("shares the terms:") and "chillers" in r for r in reasons)
    assert "track record in Vietnam" in reasons
    assert "best answers to your description first" in soup.select_one("#technology-counts").text
    # The facets still narrow a need's answers.
    assert card_names(parse(client.get("/technologies", params={"need": "cooling chillers", "area": "water"}))) \
        in ([], ["Water pump retrofit"])


def test_describe_your_need_before_any_index_lists_by_name(client, engine, embedder, catalogue):
    technology_search._SLOTS.pop((str(engine.url), embedder.name), None)
    soup = parse(client.get("/technologies", params={"need": "solar power for a factory roof"}))
    assert "being prepared" in soup.select_one("#technology-results .flash").text
    assert len(card_names(soup)) == 4
    _wait_for_background_index(engine, embedder.name)  # the request started a build in the background
    assert technology_search._slot(engine, embedder.name).index is not None


def test_describe_your_need_uses_a_rebuilt_index_after_changes(client, session, session_factory, embedder, catalogue):
    technology_search.index_technologies(session_factory, embedder)
    new = create_technology(session, catalogue["solar"].organization, name="Hydrogen electrolyser",
                            category="hydrogen", description="PEM electrolysers making green hydrogen from solar.")
    session.commit()
    technology_search.index_technologies(session_factory, embedder)  # the job embeds the new text and republishes
    soup = parse(client.get("/technologies", params={"need": "green hydrogen electrolysers"}))
    assert card_names(soup)[0] == "Hydrogen electrolyser" and new.id
    assert session.query(Technology).count() == 8


class _BrokenModel:
    """The app's model under its name, failing (a model file gone) or stuck (the job holds it) when asked."""

    def __init__(self, name, release=None):
        self.name, self.release = name, release

    def encode(self, texts):
        if self.release is not None:
            self.release.wait(5)
        raise RuntimeError("the model cannot run")


def test_describe_your_need_ranks_by_wording_when_the_model_fails(session, session_factory, embedder, catalogue):
    from web.services.technologies import Filters

    technology_search.index_technologies(session_factory, embedder)
    found = technology_search.search(session, Filters(need="efficient chillers for factory cooling"), "en",
                                     _BrokenModel(embedder.name))
    assert found.need_state == "wording"
    assert found.catalogue.cards[found.positions[0]].name == "Inverter turbo chiller"


def test_need_vector_gives_up_on_a_model_that_does_not_answer_in_time(embedder):
    import threading

    release = threading.Event()
    try:
        started = time.monotonic()
        assert technology_search.query_vector(_BrokenModel(embedder.name, release), "a stuck need", 0.05) is None
        assert time.monotonic() - started < 2
    finally:
        release.set()


def test_technologies_search_finds_parts_of_words_as_a_scan_would(client, catalogue):
    from web.services.technology_catalogue import WordsIndex

    texts = ["centrifugal chillers for factories", "chill rooms", "solar pv ターボ冷凍機", "", "pumps pumps"]
    index = WordsIndex.build(texts)
    for word in ("chill", "ill", "s", "ターボ", "冷凍", "pumps", "rs f", "zzz", "f", "pv"):
        expected = [word in text and " " not in word for text in texts]
        assert index.cards_with(word, len(texts)).tolist() == expected, word
    assert card_names(parse(client.get("/technologies?q=chill+r1233"))) == ["Inverter turbo chiller"]


def test_technologies_list_follows_edits_and_deletes(client, session, catalogue):
    from web.services.technology_form import delete_technology

    assert "Water pump retrofit" in card_names(parse(client.get("/technologies")))
    catalogue["heat"].name = "Exhaust heat recovery"
    session.commit()
    assert "Exhaust heat recovery" in card_names(parse(client.get("/technologies")))
    owner = create_user(session, catalogue["pump"].organization)
    delete_technology(session, owner, catalogue["pump"])  # not the newest row: the fingerprint still moves
    session.commit()
    assert card_names(parse(client.get("/technologies"))) == ["Exhaust heat recovery", "Inverter turbo chiller",
                                                              "Rooftop solar PV"]


def test_describe_your_need_reasons_name_glossary_concepts_in_the_readers_words(client, session_factory, embedder,
                                                                                 catalogue):
    technology_search.index_technologies(session_factory, embedder)
    for language in ("en", "ja"):
        soup = parse(client.get("/technologies", params={"need": "rooftop solar PV for a factory"},
                                headers={"Accept-Language": language}))
        reasons = [li.text for li in soup.select(f"#tech-{catalogue['solar'].id} .match-reasons li")]
        assert reasons and not any("§" in reason for reason in reasons), reasons
    assert technology_search.readable_terms(["§solar_pv", "solar", "rooftop"], "en") == ["solar power", "rooftop"]


def test_technologies_cards_show_a_renamed_category(client, session, catalogue):
    from models import TechnologyCategory
    from web.services import catalogs

    assert "Water supply" not in parse(client.get("/technologies?area=water")).select_one(".tech-card .meta").text
    session.get(TechnologyCategory, "water").name_en = "Water supply"  # what `matchmaker seed` may do
    session.commit()
    catalogs._CATALOGS.clear()  # the reference data's minute has passed (in the app's engine too)
    assert "Water supply" in parse(client.get("/technologies?area=water")).select_one(".tech-card .meta").text
