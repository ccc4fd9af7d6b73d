"""Sectors are a controlled, translated vocabulary; no page shows a raw code (sector, category or kind slug)."""

from __future__ import annotations

import csv
import importlib.util
import json

import pytest
from bs4 import BeautifulSoup
from sqlalchemy import select

from models import Organization, OrganizationTag, Sector
from seeds.reference import DATA_DIR
from tests.conftest import csrf_token
from tests.factories import create_organization, create_user, login
from web.i18n import use_language
from web.services import sectors
from web.services.interchange import plan_import
from web.services.organizations import kind_label
from web.settings import PROJECT_ROOT

SLUGS = ["energy", "industry", "buildings", "transport", "waste", "afolu", "water"]
RAW = ("energy_efficiency", "japanese_company", "partner_company", "afolu")


def soup_of(response) -> BeautifulSoup:
    return BeautifulSoup(response.text, "html.parser")


def visible_text(response) -> str:
    """What a person reads on the page (no attribute values, scripts or form values)."""
    return soup_of(response).get_text(" ")


def member(session, language="en", **org):
    return create_user(session, create_organization(session, **org), language=language)


def jsonl(*records) -> str:
    return "\n".join(json.dumps(record, ensure_ascii=False) for record in records) + "\n"


# --- the vocabulary ------------------------------------------------------------------------------------------------

def test_the_seed_loads_the_vocabulary_from_its_csv(session):
    with (DATA_DIR / "sectors.csv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert all(row["source"] and row["name_ja"] for row in rows)
    stored = session.scalars(select(Sector).order_by(Sector.position)).all()
    assert [(s.slug, s.name_en, s.name_ja) for s in stored] == [(r["slug"], r["name_en"], r["name_ja"]) for r in rows]
    assert [s.slug for s in sectors.vocabulary(session).sectors] == SLUGS


def test_the_migration_maps_onto_sectors_of_the_csv():
    path = PROJECT_ROOT / "alembic" / "versions" / "0011_sectors.py"
    spec = importlib.util.spec_from_file_location("migration_0011", path)
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    with (DATA_DIR / "sectors.csv").open(encoding="utf-8", newline="") as handle:
        csv_names = {row["slug"]: row["name_en"] for row in csv.DictReader(handle)}
    assert {slug: name for slug, _position, name, _ja, _aliases in migration.SECTORS} == csv_names
    lookup = migration._lookup()
    assert migration.to_vocabulary(["Industry", "INDUSTRY", "産業", "Hotels", "Ceramics", "other: Textiles", ""],
                                   lookup) == ["industry", "buildings", "other: Ceramics"]


def test_names_are_read_in_any_case_width_and_language(session):
    vocabulary = sectors.vocabulary(session)
    for text in ("industry", "Industry", "INDUSTRY", " industry ", "産業", "ＩＮＤＵＳＴＲＹ", "Manufacturing"):
        assert vocabulary.resolve(text) == "industry", text
    assert vocabulary.resolve("Food processing") == "industry"
    assert vocabulary.resolve("Ceramics") is None
    cleaned = vocabulary.clean(["Industry", "Manufacturing", "other: 建築物", "other: Ceramics", "Ceramics",
                                "industry"])
    assert cleaned.values == ["industry", "buildings", "other: Ceramics"]
    assert cleaned.unknown == ["Ceramics"]
    assert cleaned.renamed == [("Manufacturing", "industry"), ("other: 建築物", "buildings")]


# --- the profile editor ----------------------------------------------------------------------------------------------

def post_profile(client, org, **data):
    token = csrf_token(client, "/profile")
    form = {"name": org.name, "kind": org.kind, "country": org.country, "csrf_token": token} | data
    return client.post("/profile", data=form, follow_redirects=False)


@pytest.mark.parametrize("language, name", [("en", "Industry"), ("ja", "産業")])
def test_the_profile_offers_the_sectors_as_checkboxes(client, session, language, name):
    user = member(session, language, sectors=["industry"])
    session.commit()
    login(client, user)
    page = soup_of(client.get("/profile"))
    boxes = page.select("#f-sectors input[name=sectors][type=checkbox]")
    assert [box["value"] for box in boxes] == SLUGS
    assert [box["value"] for box in boxes if box.has_attr("checked")] == ["industry"]
    assert name in page.select_one("#f-sectors").get_text()
    assert not page.select("input[name=sectors][type=text]")  # nothing to type: no new filter option by typing


def test_a_profile_saves_the_sectors_ticked(client, session):
    user = member(session)
    session.commit()
    login(client, user)
    assert post_profile(client, user.organization, sectors=["afolu", "water"]).status_code == 303
    session.expire_all()
    org = session.get(Organization, user.organization_id)
    assert org.sectors == ["afolu", "water"]
    assert {t.value for t in org.tags if t.field == "sectors"} == {"afolu", "water"}


def test_a_profile_refuses_a_sector_not_in_the_list(client, session):
    user = member(session, sectors=["energy"])
    session.commit()
    login(client, user)
    response = post_profile(client, user.organization, sectors=["energy", "Bitcoin mining"], description="Kept")
    assert response.status_code == 422
    page = soup_of(response)
    assert page.select_one("#e-sectors").get_text() == "Choose sectors from the list."
    assert page.select_one("#f-description").get_text() == "Kept"
    session.expire_all()
    assert session.get(Organization, user.organization_id).sectors == ["energy"]


def test_other_sectors_stay_with_their_owner_until_unticked(client, session):
    user = member(session, sectors=["industry", "other: Ski resorts"])
    session.commit()
    login(client, user)
    page = soup_of(client.get("/profile"))
    kept = page.select_one("#other-sectors input[name=sectors]")
    assert kept["value"] == "other: Ski resorts" and kept.has_attr("checked")
    assert "Other: Ski resorts" in page.select_one("#other-sectors").get_text()
    assert post_profile(client, user.organization, sectors=["industry", kept["value"]]).status_code == 303
    session.expire_all()
    org = session.get(Organization, user.organization_id)
    assert org.sectors == ["industry", "other: Ski resorts"]
    assert {t.value for t in org.tags if t.field == "sectors"} == {"industry"}  # never a filter option
    assert post_profile(client, user.organization, sectors=["industry"]).status_code == 303
    session.expire_all()
    assert session.get(Organization, user.organization_id).sectors == ["industry"]


# --- the public profile and the directory ----------------------------------------------------------------------------

@pytest.mark.parametrize("language, names", [("en", ["Industry", "Agriculture, forestry and land use"]),
                                             ("ja", ["産業", "農業・林業・土地利用"])])
def test_the_public_profile_names_sectors_in_the_viewer_language(client, session, language, names):
    target = create_organization(session, name="Tanaka", sectors=["industry", "afolu", "other: Hotels"])
    viewer = member(session, language)
    session.commit()
    login(client, viewer)
    chips = [chip.get_text(strip=True) for chip in soup_of(client.get(f"/organizations/{target.id}"))
             .select("#sectors .chip")]
    assert chips == names  # "other: Hotels" is the organization's own


def test_the_owner_sees_its_other_sectors_on_its_public_profile(client, session):
    owner = member(session, sectors=["industry", "other: Hotels"])
    session.commit()
    login(client, owner)
    chips = [chip.get_text(strip=True) for chip in soup_of(client.get(f"/organizations/{owner.organization_id}"))
             .select("#sectors .chip")]
    assert chips == ["Industry", "Other: Hotels"]


@pytest.fixture
def directory_client(client, session):
    create_organization(session, name="Alpha", sectors=["industry"])
    create_organization(session, name="Beta", sectors=["buildings", "other: industry-ish"])
    viewer = member(session, "ja", name="Zz Viewer")
    session.commit()
    login(client, viewer)
    return client


def names_of(response) -> list[str]:
    return [h.get_text(strip=True) for h in soup_of(response).select("#directory-results .org-card h3 a")]


@pytest.mark.parametrize("value", ["industry", "Industry", "INDUSTRY", "産業", "Manufacturing"])
def test_the_directory_sector_filter_reads_names_in_any_case_and_japanese(directory_client, value):
    response = directory_client.get("/directory", params={"sector": value})
    assert names_of(response) == ["Alpha"]
    assert soup_of(response).select_one("#f-sector option[selected]")["value"] == "industry"


def test_the_directory_sector_options_are_translated_and_fixed(directory_client):
    options = soup_of(directory_client.get("/directory")).select("#f-sector option")
    assert [(o["value"], o.get_text()) for o in options if o["value"]][:3] == [
        ("energy", "エネルギー"), ("industry", "産業"), ("buildings", "建築物")]
    assert [o["value"] for o in options if o["value"]] == SLUGS  # "other: industry-ish" is no option


def test_the_directory_ignores_a_sector_that_is_not_one(directory_client):
    assert names_of(directory_client.get("/directory?sector=industry-ish")) == ["Alpha", "Beta", "Zz Viewer"]


# --- import and export ----------------------------------------------------------------------------------------------

BASE = {"name": "Hanoi Dairy", "kind": "partner_company", "country": "VN"}


def test_an_import_reads_sector_names_and_keeps_others_off_the_filters(session):
    plan = plan_import(session, jsonl(BASE | {"id": "p-1", "sectors": ["INDUSTRY", "建築物", "afolu", "Manufacturing",
                                                                            "other: Dairy farming"]}))
    assert plan.errors == []
    assert plan.lines[0].data.sectors == ["industry", "buildings", "afolu", "other: Dairy farming"]
    assert plan.warnings == ['Sector "Manufacturing" read as "Industry" (line 1).']


def test_an_import_refuses_unknown_sectors_naming_the_list(session):
    plan = plan_import(session, jsonl(BASE | {"id": "p-1", "sectors": ["Dairy farming", "Energy"]}))
    (error,) = plan.errors
    assert error.field == "sectors" and "“Dairy farming”" in error.message
    assert "Energy, Industry, Buildings" in error.message and "other:" in error.message


def test_other_sectors_survive_export_and_import(client, session):
    from web.services.export import iter_export_records
    from web.services.interchange import import_organizations

    import_organizations(session, jsonl(BASE | {"id": "p-1", "sectors": ["Industry", "other: Dairy farming"]}))
    session.flush()
    (record,) = [r for r in iter_export_records(session) if r["id"] == "p-1"]
    assert record["sectors"] == ["industry", "other: Dairy farming"]
    plan, result = import_organizations(session, jsonl(record))
    assert (result.unchanged, plan.warnings) == (1, [])
    tags = session.scalars(select(OrganizationTag.value).join(Organization)
                           .where(Organization.external_id == "p-1", OrganizationTag.field == "sectors")).all()
    assert tags == ["industry"]


# --- other raw codes: kinds and categories --------------------------------------------------------------------------

@pytest.mark.parametrize("accept", ["en", "ja"])
def test_sign_up_without_a_kind_names_no_code(client, session, accept):
    token = csrf_token(client, "/signup")
    form = {"full_name": "Aiko Tanaka", "email": "aiko@example.com", "password": "long enough pw",
            "password_confirm": "long enough pw", "organization_name": "Tanaka Chillers", "kind": "",
            "country": "JP", "language": accept, "time_zone": "Asia/Tokyo", "csrf_token": token}
    response = client.post("/signup", data=form, headers={"Accept-Language": accept})
    assert response.status_code == 422
    message = soup_of(response).select_one("#e-kind").get_text()
    assert message and not any(code in message for code in RAW)


@pytest.mark.parametrize("language", ["en", "ja"])
def test_an_import_with_a_bad_kind_explains_the_codes_in_the_ui_language(client, session, app, tmp_path, language):
    app.state.import_dir = tmp_path / "imports"
    organizer = create_user(session, role="organizer", language=language)
    session.commit()
    login(client, organizer)
    token = csrf_token(client, "/organizer/import")
    line = jsonl(BASE | {"id": "p-1", "kind": "startup"}).encode()
    page = client.post("/organizer/import", data={"csrf_token": token},
                       files={"file": ("orgs.jsonl", line, "application/x-ndjson")})
    text = visible_text(page)
    with use_language(language):
        label = kind_label("japanese_company")
    assert "japanese_company" in text and label in text  # the file's code, with what it means


@pytest.mark.parametrize("language, name", [("en", "Energy efficiency"), ("ja", "省エネルギー")])
def test_the_request_form_names_the_categories(client, session, language, name):
    target = create_organization(session, name="Tanaka", technology_categories=["energy_efficiency", "water"])
    sender = member(session, language, kind="partner_company", country="VN")
    session.commit()
    login(client, sender)
    response = client.get(f"/requests/new?to={target.id}")
    chips = [chip.get_text(strip=True) for chip in soup_of(response).select(".org-card .chip")]
    assert chips[0] == name and len(chips) == 2
    assert "energy_efficiency" not in visible_text(response)
