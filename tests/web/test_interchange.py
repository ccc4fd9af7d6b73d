"""The interchange service: reading, checking, planning, applying and exporting organizations."""

from __future__ import annotations

import io
import json

import pytest
from sqlalchemy import func, select

from models import Organization
from tests.factories import create_organization, create_user
from web.services.export import export_organizations
from web.services.interchange import (
    ImportRejected,
    apply_import,
    detect_format,
    import_organizations,
    plan_import,
)
from web.services.uploads import UploadStore

GOOD = {"id": "a-1", "name": "Alpha Solar", "kind": "japanese_company", "country": "JP",
        "description": "Rooftop PV", "offers": ["Solar PV", "O&M"], "technology_categories": ["renewable_energy"],
        "target_countries": ["VN", "ID"], "website": "https://alpha.example.com", "source": "test list"}
PARTNER = {"id": "p-1", "name": "Hanoi Dairy", "kind": "partner_company", "country": "VN",
           "needs": ["Cut diesel use"], "sectors": ["industry"]}


def jsonl(*records) -> str:
    return "\n".join(json.dumps(record, ensure_ascii=False) for record in records) + "\n"


def count(session) -> int:
    return session.scalar(select(func.count()).select_from(Organization))


def by_external_id(session, external_id: str) -> Organization:
    return session.scalar(select(Organization).where(Organization.external_id == external_id))


def test_import_creates_approved_organizations_with_tags(session):
    plan, result = import_organizations(session, jsonl(GOOD, PARTNER))
    assert (result.created, result.updated, result.unchanged) == (2, 0, 0)
    org = by_external_id(session, "a-1")
    assert org.status == "approved" and org.offers == ["Solar PV", "O&M"] and org.source == "test list"
    assert {(tag.field, tag.value) for tag in org.tags} >= {("target_countries", "VN"),
                                                            ("technology_categories", "renewable_energy")}


def test_import_errors_have_line_numbers_and_nothing_is_written(session):
    bad_country = GOOD | {"id": "a-2", "country": "Japan"}
    no_name = PARTNER | {"id": "p-2", "name": ""}
    plan = plan_import(session, jsonl(GOOD, bad_country, "not an object", no_name).replace('"not an object"', "[1]"))
    messages = [str(error) for error in plan.errors]
    assert messages[0].startswith("line 2: country: Enter a two-letter ISO 3166 country code")
    assert messages[1] == "line 3: Each line must be one JSON object."
    assert messages[2].startswith("line 4: name:")
    with pytest.raises(ImportRejected):
        apply_import(session, plan)
    assert count(session) == 0


def test_import_partial_writes_valid_lines_only(session):
    plan, result = import_organizations(session, jsonl(GOOD, PARTNER | {"kind": "startup"}), partial=True)
    assert (result.created, result.skipped) == (1, 1)
    assert [str(error) for error in plan.errors] == [
        "line 2: kind: Use one of these codes for the kind: japanese_company (Japanese company), partner_company "
        "(Partner-country company), financial_institution (Financial institution), consultant (Consultant), "
        "public_body (Public body)."]
    assert by_external_id(session, "p-1") is None


def test_import_bad_json_line_is_reported(session):
    plan = plan_import(session, jsonl(GOOD) + "{broken\n")
    assert len(plan.errors) == 1 and str(plan.errors[0]).startswith("line 2: Not valid JSON")


def test_import_wrong_types_are_errors(session):
    plan = plan_import(session, jsonl(GOOD | {"offers": "one string", "name": 7}))
    assert {(error.field, error.message) for error in plan.errors} == {
        ("name", "Must be a string."), ("offers", "Must be a list of strings.")}


def test_import_missing_id_is_an_error(session):
    record = dict(GOOD)
    del record["id"]
    plan = plan_import(session, jsonl(record))
    assert [(error.line, error.field) for error in plan.errors] == [(1, "id")]


def test_import_duplicate_ids_in_one_file_are_errors(session):
    plan = plan_import(session, jsonl(GOOD, PARTNER, GOOD | {"name": "Again"}))
    assert [str(error) for error in plan.errors] == ["line 3: id: The id a-1 already appears on line 1."]


def test_import_unknown_fields_warn_once_per_field_with_lines(session):
    plan, result = import_organizations(session, jsonl(GOOD | {"employees": 5}, PARTNER | {"employees": 9, "ceo": "X"}))
    assert result.created == 2 and not plan.errors
    assert plan.warnings == ['Unknown field "employees" ignored (lines 1, 2).', 'Unknown field "ceo" ignored (line 2).']


def test_import_maps_category_aliases_with_warning(session):
    plan, result = import_organizations(session,
                                        jsonl(GOOD | {"technology_categories": ["REDD+", "Energy efficiency"]}))
    assert by_external_id(session, "a-1").technology_categories == ["forestry", "energy_efficiency"]
    assert any("REDD+" in warning and "forestry" in warning for warning in plan.warnings)


def test_import_same_id_updates_and_keeps_status(session):
    existing = create_organization(session, external_id="a-1", name="Old", status="suspended")
    user = create_user(session, organization=existing)
    session.commit()
    plan = plan_import(session, jsonl(GOOD))
    assert [(line.action, line.changed) for line in plan.lines] == [
        ("update", ["name", "description", "offers", "technology_categories", "target_countries", "website", "source"])]
    apply_import(session, plan)
    session.commit()
    session.expire_all()
    assert count(session) == 1
    org = by_external_id(session, "a-1")
    assert org.id == existing.id and org.name == "Alpha Solar" and org.status == "suspended"
    assert user.organization_id == org.id


def test_import_without_source_keeps_recorded_source(session):
    import_organizations(session, jsonl(GOOD))
    record = dict(GOOD)
    del record["source"]
    plan, result = import_organizations(session, jsonl(record))
    assert result.unchanged == 1 and by_external_id(session, "a-1").source == "test list"


def test_csv_import_splits_lists_on_semicolons_with_bom(session):
    text = ("\ufeffid,name,kind,country,offers,target_countries,extra\n"
            'c-1,"Beta, Inc.",japanese_company,jp,"Heat pumps; Chillers",VN;TH,x\n'
            "\n"
            "c-2,Gamma,partner_company,TH,,,\n")
    plan, result = import_organizations(session, text.encode("utf-8"), filename="list.csv")
    assert plan.format == "csv" and result.created == 2 and not plan.errors
    assert plan.warnings == ['Unknown field "extra" ignored (line 2).']
    org = by_external_id(session, "c-1")
    assert org.name == "Beta, Inc." and org.country == "JP"
    assert org.offers == ["Heat pumps", "Chillers"] and org.target_countries == ["VN", "TH"]
    assert [line.line for line in plan.lines] == [2, 4]


def test_csv_errors_report_the_file_line(session):
    text = "id,name,kind,country\nc-1,Beta,japanese_company,JP\nc-2,Gamma,partner_company,ZZ\n"
    plan = plan_import(session, text, "csv")
    assert [str(error).split(":")[0:2] for error in plan.errors] == [["line 3", " country"]]


def test_detect_format_by_extension_and_content():
    assert detect_format('{"id": 1}', "x.txt") == "jsonl"
    assert detect_format("id,name", None) == "csv"
    assert detect_format("id,name", "orgs.jsonl") == "jsonl"


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_export_then_import_changes_nothing(session, fmt):
    formula = PARTNER | {"id": "p-9", "name": "=HYPERLINK(\"x\")", "description": "Line one\nline two, \"quoted\""}
    import_organizations(session, jsonl(GOOD, PARTNER, formula))
    signed_up = create_organization(session, external_id=None, name="Site Member", status="pending")
    session.commit()
    out = io.StringIO()
    assert export_organizations(session, out, fmt) == 4
    if fmt == "csv":
        assert "'=HYPERLINK" in out.getvalue()
    before = count(session)
    plan, result = import_organizations(session, out.getvalue(), fmt)
    assert not plan.errors and (result.created, result.updated, result.unchanged) == (0, 0, 4)
    assert count(session) == before
    assert by_external_id(session, "p-9").name == "=HYPERLINK(\"x\")"
    assert session.get(Organization, signed_up.id).external_id is None


def test_export_jsonl_follows_the_format(session):
    import_organizations(session, jsonl(GOOD, PARTNER))
    create_organization(session, external_id="pending-1", status="pending")
    out = io.StringIO()
    export_organizations(session, out, "jsonl", approved_only=True)
    records = [json.loads(line) for line in out.getvalue().splitlines()]
    assert records[0] == GOOD and list(records[0]) == list(GOOD)
    assert records[1] == PARTNER
    assert len(records) == 2


def test_site_id_import_updates_the_signed_up_organization(session):
    org = create_organization(session, external_id=None, name="Site Member")
    session.commit()
    plan, result = import_organizations(session, jsonl({"id": f"mm-{org.id}", "name": "Site Member Ltd",
                                                        "kind": "japanese_company", "country": "JP"}))
    assert result.updated == 1 and result.created == 0
    assert session.get(Organization, org.id).external_id == f"mm-{org.id}"


def test_upload_store_refuses_bad_and_unknown_tokens(tmp_path):
    from web.errors import ValidationFailed

    store = UploadStore(tmp_path)
    token = store.save(b"data")
    assert store.load(token) == b"data"
    for bad in ("../../etc/passwd", "A" * 32, ""):
        with pytest.raises(ValidationFailed):
            store.load(bad)
    store.discard(token)
    with pytest.raises(ValidationFailed):
        store.load(token)


def test_import_control_characters_are_line_errors(session):
    broken = GOOD | {"id": "a-2", "name": "Alpha\nBcc: all@example.com", "description": "nul \x00 byte",
                     "sectors": ["solar\tpv"], "source": "list\r\n2"}
    plan = plan_import(session, jsonl(GOOD, broken))
    assert [(error.line, error.field) for error in plan.errors] == [
        (2, "name"), (2, "description"), (2, "sectors"), (2, "source")]
    assert "single line" in plan.errors[0].message
    # Line breaks stay allowed in free text (description, offers, needs).
    plan = plan_import(session, jsonl(GOOD | {"description": "Line one\r\nline two\ttabbed", "offers": ["a\nb"]}))
    assert plan.errors == []


CSV_HEAD = "id,name,kind,country,description\n"
CSV_ROWS = {2: "c-2,Beta,japanese_company,JP,ok\n", 4: "c-4,Delta,partner_company,VN,ok\n",
            5: "c-5,Epsilon,partner_company,ID,ok\n"}


def _csv_with(line3: str) -> str:
    return CSV_HEAD + CSV_ROWS[2] + line3 + CSV_ROWS[4] + CSV_ROWS[5]


def test_csv_overlong_cell_skips_only_its_line(session):
    text = _csv_with("c-3,Gamma,partner_company,VN," + "x" * 140_000 + "\n")
    plan, result = import_organizations(session, text, "csv", partial=True)
    assert [(error.line, error.end) for error in plan.errors] == [(3, 3)]
    assert "longer than" in plan.errors[0].message
    assert [planned.line for planned in plan.lines] == [2, 4, 5]
    assert (result.created, result.skipped) == (3, 1)


def test_csv_unterminated_quote_is_reported_with_the_lines_it_swallows(session):
    plan, result = import_organizations(session, _csv_with('c-3,"Gamma,partner_company,VN,ok\n'), "csv",
                                        partial=True)
    (error,) = plan.errors
    assert error.line == 3 and "never closed" in error.message and "3 to 5" in error.message
    assert [planned.line for planned in plan.lines] == [2, 4, 5]  # read again from line 4
    assert (result.created, result.skipped) == (3, 1)
    assert by_external_id(session, "c-5").name == "Epsilon"


def test_csv_quote_closed_lines_later_is_reported_and_the_lines_between_are_read(session):
    text = CSV_HEAD + CSV_ROWS[2] + 'c-3,"Gamma,partner_company,VN,ok\n' + CSV_ROWS[4] \
        + 'c-5,"Epsilon"x,partner_company,ID,ok\n' + "c-6,Zeta,consultant,JP,ok\n"
    plan = plan_import(session, text, "csv")
    assert [(error.line, error.end) for error in plan.errors] == [(3, 3), (5, 5)]
    assert "line 5" in plan.errors[0].message
    assert [planned.line for planned in plan.lines] == [2, 4, 6]


def test_csv_errors_of_a_multiline_record_name_all_its_lines(session):
    text = CSV_HEAD + CSV_ROWS[2] + 'c-3,Gamma,partner_company,ZZ,"two\nlines"\n' + CSV_ROWS[4]
    plan = plan_import(session, text, "csv")
    assert [str(error).split(":")[0] for error in plan.errors] == ["lines 3-4"]
    assert [planned.line for planned in plan.lines] == [2, 5]


def test_import_refuses_platform_ids_of_no_organization(session):
    # An importer's mm-N would later collide with the N-th sign-up, and the export could not be re-imported.
    free = (session.scalar(select(func.max(Organization.id))) or 0) + 1000
    plan = plan_import(session, jsonl(GOOD | {"id": f"mm-{free}"}, PARTNER))
    assert [(error.line, error.field) for error in plan.errors] == [(1, "id")]
    assert "platform" in plan.errors[0].message
    assert [planned.external_id for planned in plan.lines] == ["p-1"]


def test_import_refuses_platform_id_of_an_organization_with_its_own_id(session):
    org = create_organization(session, external_id="x-1", name="Imported Ltd")
    session.commit()
    plan = plan_import(session, jsonl(GOOD | {"id": f"mm-{org.id}"}))
    assert [(error.field, "x-1" in error.message) for error in plan.errors] == [("id", True)]
    assert plan.lines == []


def test_signup_after_import_keeps_the_export_reimportable(session):
    import_organizations(session, jsonl(GOOD, PARTNER))
    updated = create_organization(session, external_id=None, name="Updated Member")
    session.commit()
    # The next sign-up will be organization `updated.id + 2` (the import, if it went through, takes `+ 1`).
    claim = f"mm-{updated.id + 2}"
    plan, _result = import_organizations(session, jsonl({"id": f"mm-{updated.id}", "name": "Updated Member Ltd",
                                                         "kind": "consultant", "country": "JP"},
                                                        PARTNER | {"id": claim, "name": "Claims a site id"}),
                                         partial=True)
    assert [(error.line, error.field) for error in plan.errors] == [(2, "id")]
    create_organization(session, external_id=None, name="Later Member")
    session.commit()
    out = io.StringIO()
    export_organizations(session, out, "jsonl")
    ids = [json.loads(line)["id"] for line in out.getvalue().splitlines()]
    assert len(ids) == len(set(ids)) == 4 and f"mm-{updated.id}" in ids
    plan, result = import_organizations(session, out.getvalue())
    assert plan.errors == [] and (result.created, result.updated, result.unchanged) == (0, 0, 4)
