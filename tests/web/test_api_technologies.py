"""The catalogue under /api/v1: the list with facets, one technology, the export, in the OpenAPI document."""

import csv
import io

from tests.factories import create_organization, create_user, login
from tests.web.technology_support import create_technology
from web.services import technology_search


def _catalogue(session):
    firm = create_organization(session, name="Nippon Chiller Works")
    chiller = create_technology(session, firm, name="Turbo chiller", description="Centrifugal chillers that cool "
                                "factories with less electricity.", tracks=[("VN", 2019, True)],
                                investment_jpy=150_000_000, figures_basis="unit")
    solar = create_technology(session, firm, name="Rooftop solar", category="renewable_energy")
    pending = create_technology(session, firm, name="Pending pump", status="pending", category="water")
    session.commit()
    return firm, chiller, solar, pending


def test_api_lists_with_facets_and_paging(client, session):
    _firm, chiller, _solar, _pending = _catalogue(session)
    body = client.get("/api/v1/technologies?limit=1").json()
    assert (body["total"], body["companies"], len(body["items"])) == (2, 1, 1)
    assert body["items"][0]["name"] == "Rooftop solar"
    assert body["facets"]["category"] == {"energy_efficiency": 1, "renewable_energy": 1}
    assert body["facets"]["country"] == {"VN": 1} and body["facets"]["jcm"] == 1
    filtered = client.get("/api/v1/technologies?country=VN&jcm=true").json()
    assert [i["id"] for i in filtered["items"]] == [chiller.id]
    assert filtered["items"][0]["investment_jpy"] == 150_000_000
    assert client.get("/api/v1/technologies?limit=1000").status_code == 422


def test_api_need_returns_scores_and_reasons(client, session, embedder):
    _catalogue(session)
    technology_search.index_technologies(client.app.state.session_factory, embedder)
    body = client.get("/api/v1/technologies", params={"need": "chillers to cool a factory"}).json()
    assert body["need_state"] == "ranked" and body["items"][0]["name"] == "Turbo chiller"
    assert body["items"][0]["score"] > 0 and body["items"][0]["reasons"]


def test_api_one_technology_with_its_track_record(client, session):
    firm, chiller, _solar, pending = _catalogue(session)
    body = client.get(f"/api/v1/technologies/{chiller.id}").json()
    assert body["track_record"] == [{"country": "VN", "year": 2019, "description": "",
                                     "jcm_project": "JCM project", "methodology": None}]
    assert client.get(f"/api/v1/technologies/{pending.id}").status_code == 404
    owner = create_user(session, firm)
    session.commit()
    login(client, owner)
    assert client.get(f"/api/v1/technologies/{pending.id}").json()["name"] == "Pending pump"


def test_api_export_is_the_page_export(client, session):
    _catalogue(session)
    rows = list(csv.DictReader(io.StringIO(client.get("/api/v1/technologies/export?format=csv").text)))
    assert [r["name"] for r in rows] == ["Rooftop solar", "Turbo chiller"]
    assert client.get("/api/v1/technologies/export?format=json&category=renewable_energy").json()["total"] == 1


def test_api_catalogue_is_in_the_openapi_document(client):
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    assert {"/api/v1/technologies", "/api/v1/technologies/{technology_id}", "/api/v1/technologies/export",
            "/api/v1/precheck"} <= set(paths)
