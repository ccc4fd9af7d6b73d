"""JSON API v1, events: list and paging, detail with slots, the organizer's create/edit/publish/unpublish,
authorization per endpoint, and parity with the event form."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from models import Event, EventUnavailableSlot
from tests.conftest import csrf_token
from tests.factories import create_organization, create_user, login
from tests.web.api_support import anonymous_headers, api_login, error_of, event_body
from tests.web.events_support import event_values, form_data, make_event, organizer, register, shift
from tests.web.requests_support import member
from web.services import events, registrations


def _count(session, model=Event) -> int:
    session.expire_all()
    return session.scalar(select(func.count()).select_from(model))


# --- list and detail ---------------------------------------------------------------------------------

def test_list_pages_upcoming_and_past_published_events(client, session):
    boss = organizer(session)
    soon, later, latest = (make_event(session, by=boss, days_ahead=d, title_en=f"In {d} days") for d in (10, 20, 30))
    ended, older = make_event(session, by=boss, title_en="Ended"), make_event(session, by=boss, title_en="Older")
    shift(session, ended, -60)
    shift(session, older, -90)
    make_event(session, by=boss, publish=False, title_en="Draft")
    session.commit()
    first = client.get("/api/v1/events?limit=2").json()
    assert [e["id"] for e in first["items"]] == [soon.id, later.id]
    assert (first["total"], first["limit"], first["offset"]) == (3, 2, 0)
    assert [e["id"] for e in client.get("/api/v1/events?limit=2&offset=2").json()["items"]] == [latest.id]
    past = client.get("/api/v1/events?when=past").json()
    assert [e["title"] for e in past["items"]] == ["Ended", "Older"] and past["total"] == 2
    item = first["items"][0]
    assert item["status"] == "published" and item["my_registration"] is None
    assert item["starts_at"].endswith("Z") and item["time_zone"] == "Asia/Bangkok"
    assert item["places_left"] == 40 and item["registration_open"] is True


def test_list_includes_drafts_for_organizers_only(client, session):
    boss = organizer(session)
    published = make_event(session, by=boss, days_ahead=10)
    draft = make_event(session, by=boss, publish=False, days_ahead=20)
    alice = member(session)
    session.commit()
    api_login(client, boss)
    assert [e["id"] for e in client.get("/api/v1/events").json()["items"]] == [published.id, draft.id]
    only = client.get("/api/v1/events?status=draft").json()
    assert [(e["id"], e["status"]) for e in only["items"]] == [(draft.id, "draft")] and only["total"] == 1
    api_login(client, alice)
    assert [e["id"] for e in client.get("/api/v1/events").json()["items"]] == [published.id]
    error_of(client.get("/api/v1/events?status=draft"), 403, "forbidden")


@pytest.mark.parametrize("query, field", [
    ("limit=0", "limit"), ("limit=101", "limit"), ("offset=-1", "offset"), ("when=soon", "when"),
    ("status=secret", "status"), ("limit=ten", "limit"),
])
def test_list_refuses_odd_paging(client, session, query, field):
    error = error_of(client.get(f"/api/v1/events?{query}"), 422, "validation_failed")
    assert field in error["fields"]


def test_detail_gives_slots_in_utc_and_in_the_event_zone(client, session):
    event = make_event(session)
    session.commit()
    body = client.get(f"/api/v1/events/{event.id}").json()
    assert body["time_zone"] == "Asia/Bangkok" and body["local"]["opens_at"] == "13:00"
    day = body["local"]["date"]
    assert body["starts_at"] == f"{day}T06:00:00Z" and body["ends_at"] == f"{day}T10:00:00Z"
    # 13:00-17:00 in 20-minute slots around the 15:00-15:20 coffee break: 6 before, 5 after.
    slots = body["slots"]
    assert len(slots) == 11
    assert (slots[0]["starts_at"], slots[0]["starts_local"]) == (f"{day}T06:00:00Z", f"{day}T13:00:00+07:00")
    assert (slots[5]["ends_local"], slots[6]["starts_local"]) == (f"{day}T15:00:00+07:00", f"{day}T15:20:00+07:00")
    assert body["breaks"] == [{"starts_at": f"{day}T08:00:00Z", "ends_at": f"{day}T08:20:00Z",
                               "starts_local": f"{day}T15:00:00+07:00", "ends_local": f"{day}T15:20:00+07:00",
                               "label": "Coffee"}]
    assert body["registration_counts"] is None and body["my_registration"] is None


def test_detail_shows_the_callers_registration_and_places_left(client, session, settings):
    event = make_event(session, capacity="3")
    alice, bob = member(session), member(session)
    reg = register(session, settings, alice, event)
    session.commit()
    api_login(client, alice)
    body = client.get(f"/api/v1/events/{event.id}").json()
    assert body["my_registration"] == {"id": reg.id, "status": "approved", "status_label": "Registered"}
    assert body["places_left"] == 2
    api_login(client, bob)
    assert client.get(f"/api/v1/events/{event.id}").json()["my_registration"] is None


def test_online_link_only_for_organizers_and_approved_participants(client, session, settings):
    """The rule of the event page (test_events.test_online_link_is_shown_...), through the same service check."""
    boss = organizer(session)
    event = make_event(session, by=boss, online_url="https://meet.example.com/secret")
    alice, bob = member(session), member(session)
    register(session, settings, alice, event)
    session.commit()

    def seen() -> tuple:
        detail = client.get(f"/api/v1/events/{event.id}").json()
        listed = client.get("/api/v1/events").json()["items"][0]
        return detail["online"], detail["online_url"], listed["online_url"]

    hidden, shown = (True, None, None), (True, "https://meet.example.com/secret", "https://meet.example.com/secret")
    assert seen() == hidden
    api_login(client, bob)
    assert seen() == hidden
    for user in (alice, boss):
        api_login(client, user)
        assert seen() == shown


def test_drafts_are_unknown_to_members_and_visitors(client, session, settings):
    boss = organizer(session)
    draft = make_event(session, by=boss, publish=False)
    alice = member(session)
    session.commit()
    error_of(client.get(f"/api/v1/events/{draft.id}"), 404, "not_found")
    api_login(client, alice)
    error_of(client.get(f"/api/v1/events/{draft.id}"), 404, "not_found")
    api_login(client, boss)
    body = client.get(f"/api/v1/events/{draft.id}").json()
    assert body["status"] == "draft"
    assert body["registration_counts"] == {"pending": 0, "approved": 0, "rejected": 0, "withdrawn": 0, "all": 0}


@pytest.mark.parametrize("path", ["/api/v1/events/999999", "/api/v1/events/0", "/api/v1/events/abc",
                                  "/api/v1/events/99999999999999999999"])
def test_detail_of_unknown_or_odd_ids_is_a_client_error(client, session, path):
    response = client.get(path)
    assert response.status_code in (404, 422) and response.json()["error"]["code"]


# --- create, edit, publish -----------------------------------------------------------------------------

def test_create_stores_the_same_event_as_the_form(client, session):
    boss = organizer(session)
    session.commit()
    login(client, boss)
    page = client.post("/events/new", data=form_data(event_values(), csrf_token(client, "/events/new")),
                       follow_redirects=False)
    assert page.status_code == 303
    h = api_login(client, boss)
    created = client.post("/api/v1/events", headers=h, json=event_body())
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["status"] == "draft" and body["title"] == "JCM Seminar in Thailand" and len(body["slots"]) == 11
    session.expire_all()
    by_page, by_api = session.scalars(select(Event).order_by(Event.id)).all()
    columns = ("title_en", "title_ja", "description_en", "venue", "online_url", "time_zone", "starts_at", "ends_at",
               "meeting_minutes", "table_count", "registration_deadline", "capacity", "auto_approve", "status",
               "created_by_user_id")
    assert {c: getattr(by_api, c) for c in columns} == {c: getattr(by_page, c) for c in columns}
    assert [(b.starts_at, b.ends_at, b.label) for b in by_api.breaks] == [
        (b.starts_at, b.ends_at, b.label) for b in by_page.breaks]
    assert body["id"] == by_api.id


def test_create_online_event_and_defaults(client, session, settings):
    boss = organizer(session)
    session.commit()
    h = api_login(client, boss)
    minimal = {key: event_body()[key] for key in ("title_en", "date", "deadline_date")}
    body = client.post("/api/v1/events", headers=h, json=minimal | {"online_url": "https://meet.example.com/x",
                                                                    "table_count": None}).json()
    assert body["table_count"] is None and body["online_url"] == "https://meet.example.com/x"
    assert (body["time_zone"], body["local"]["opens_at"], body["meeting_minutes"], body["capacity"],
            body["auto_approve"]) == (settings.default_time_zone, "13:00", 20, 40, True)
    defaults = client.post("/api/v1/events", headers=h, json=minimal | {"venue": "Hall"}).json()
    assert defaults["table_count"] == 10


@pytest.mark.parametrize("change, field, text", [
    ({"title_en": "  "}, "title_en", "English title"),
    ({"venue": "", "online_url": ""}, "venue", "venue, an online meeting link"),
    ({"online_url": "meet.example.com"}, "online_url", "https://"),
    ({"time_zone": "Mars/Olympus"}, "time_zone", "time zone"),
    ({"date": "2026-02-30"}, "date", "real date"),
    ({"date": "2020-01-10", "deadline_date": "2020-01-01"}, "date", "have passed"),
    ({"closes_at": "12:00"}, "closes_at", "after the opening"),
    ({"opens_at": "1pm"}, "opens_at", "HH:MM"),
    ({"meeting_minutes": 300}, "meeting_minutes", "5 to 240"),
    ({"table_count": 0}, "table_count", "at least one meeting table"),
    ({"capacity": 0}, "capacity", "at least 1"),
    ({"deadline_time": "25:00"}, "deadline_date", "registration deadline"),
    ({"breaks": [{"starts": "12:00", "ends": "13:30"}]}, "breaks.0", "outside the opening hours"),
    ({"auto_approve": None}, "auto_approve", "approved"),
])
def test_create_refuses_bad_input_per_field_and_stores_nothing(client, session, change, field, text):
    boss = organizer(session)
    session.commit()
    h = api_login(client, boss)
    error = error_of(client.post("/api/v1/events", headers=h, json=event_body(**change)), 422, "validation_failed")
    assert text in error["fields"][field], error
    assert _count(session) == 0


@pytest.mark.parametrize("change, field", [
    ({"capacity": "many"}, "capacity"), ({"title": "Typo"}, "title"), ({"title_en": 12}, "title_en"),
    ({"breaks": [{"starts": "15:00"}]}, "breaks.0.ends"),
])
def test_create_refuses_malformed_json_fields(client, session, change, field):
    boss = organizer(session)
    session.commit()
    h = api_login(client, boss)
    error = error_of(client.post("/api/v1/events", headers=h, json=event_body(**change)), 422, "validation_failed")
    assert field in error["fields"]
    assert _count(session) == 0


def test_create_refuses_a_local_time_skipped_at_a_dst_change(client, session):
    """Santiago skips 00:00-01:00 on 2031-09-07: the same message as on the form, beside opens_at."""
    boss = organizer(session)
    session.commit()
    h = api_login(client, boss)
    body = event_body(time_zone="America/Santiago", date="2031-09-07", opens_at="00:30", closes_at="04:00",
                      deadline_date="2031-09-01", breaks=[])
    error = error_of(client.post("/api/v1/events", headers=h, json=body), 422, "validation_failed")
    assert "does not exist on 2031-09-07 in America/Santiago" in error["fields"]["opens_at"]


def test_patch_changes_the_fields_given_and_clears_availability_of_removed_slots(client, session, settings):
    boss = organizer(session)
    event = make_event(session, by=boss)
    alice = member(session)
    reg = register(session, settings, alice, event)
    last = events.slots_of(event)[-1].starts_at
    registrations.save_availability(session, alice, event.id, [s.starts_at.isoformat()
                                                                for s in events.slots_of(event)][:-1])
    session.commit()
    h = api_login(client, boss)
    renamed = client.patch(f"/api/v1/events/{event.id}", headers=h, json={"title_en": "Renamed"})
    assert renamed.status_code == 200, renamed.text
    assert renamed.json()["event"]["title_en"] == "Renamed" and renamed.json()["slots_changed"] is False
    assert renamed.json()["event"]["local"]["opens_at"] == "13:00"
    shorter = client.patch(f"/api/v1/events/{event.id}", headers=h, json={"closes_at": "16:40"}).json()
    assert shorter["slots_changed"] is True and shorter["availability_cleared"] == 1
    assert shorter["timetable_affected"] is False and len(shorter["event"]["slots"]) == 10
    session.expire_all()
    assert session.scalar(select(EventUnavailableSlot.starts_at)
                          .where(EventUnavailableSlot.registration_id == reg.id)) is None
    assert last not in {s.starts_at for s in events.slots_of(session.get(Event, event.id))}


def test_patch_refusal_keeps_the_stored_event(client, session, settings):
    boss = organizer(session)
    event = make_event(session, by=boss, capacity="2")
    register(session, settings, member(session), event)
    register(session, settings, member(session), event)
    session.commit()
    h = api_login(client, boss)
    response = client.patch(f"/api/v1/events/{event.id}", headers=h, json={"capacity": 1, "title_en": "Changed"})
    assert "already hold a place" in error_of(response, 422, "validation_failed")["fields"]["capacity"]
    session.expire_all()
    stored = session.get(Event, event.id)
    assert (stored.capacity, stored.title_en) == (2, "JCM Seminar in Thailand")


def test_publish_and_unpublish_change_who_sees_it(client, session):
    boss = organizer(session)
    draft = make_event(session, by=boss, publish=False)
    session.commit()
    h = api_login(client, boss)
    published = client.post(f"/api/v1/events/{draft.id}/publish", headers=h)
    assert published.status_code == 200 and published.json()["status"] == "published"
    client.cookies.clear()
    assert client.get(f"/api/v1/events/{draft.id}").status_code == 200
    h = api_login(client, boss)
    assert client.post(f"/api/v1/events/{draft.id}/unpublish", headers=h).json()["status"] == "draft"
    client.cookies.clear()
    error_of(client.get(f"/api/v1/events/{draft.id}"), 404, "not_found")


def test_past_event_cannot_be_published(client, session):
    boss = organizer(session)
    event = make_event(session, by=boss, publish=False)
    shift(session, event, -60)
    session.commit()
    h = api_login(client, boss)
    error_of(client.post(f"/api/v1/events/{event.id}/publish", headers=h), 409, "event_over")
    session.expire_all()
    assert session.get(Event, event.id).status == "draft"


# --- who may do what -----------------------------------------------------------------------------------

ORGANIZER_WRITES = [
    ("post", "/api/v1/events", event_body()),
    ("patch", "/api/v1/events/{id}", {"title_en": "Hijacked"}),
    ("post", "/api/v1/events/{id}/publish", None),
    ("post", "/api/v1/events/{id}/unpublish", None),
]


@pytest.mark.parametrize("method, path, payload", ORGANIZER_WRITES)
def test_organizer_writes_refuse_visitors_and_members(client, session, method, path, payload):
    event = make_event(session, title_en="Original")
    alice = member(session)
    waiting = create_user(session, create_organization(session, status="pending"))
    session.commit()
    url = path.format(id=event.id)
    for who, status, code in ((None, 401, "not_authenticated"), (alice, 403, "forbidden"),
                              (waiting, 403, "forbidden")):
        h = api_login(client, who) if who else anonymous_headers(client)
        error_of(client.request(method.upper(), url, headers=h, json=payload), status, code)
    session.expire_all()
    assert _count(session) == 1
    stored = session.get(Event, event.id)
    assert (stored.title_en, stored.status) == ("Original", "published")


@pytest.mark.parametrize("method, path, payload", ORGANIZER_WRITES)
def test_organizer_writes_need_the_csrf_header(client, session, method, path, payload):
    boss = organizer(session)
    event = make_event(session, by=boss, title_en="Original")
    session.commit()
    api_login(client, boss)
    response = client.request(method.upper(), path.format(id=event.id), json=payload)
    error_of(response, 403, "csrf_failed")
    wrong = client.request(method.upper(), path.format(id=event.id), json=payload, headers={"X-CSRF-Token": "x"})
    error_of(wrong, 403, "csrf_failed")
    session.expire_all()
    assert _count(session) == 1
    assert (session.get(Event, event.id).title_en, session.get(Event, event.id).status) == ("Original", "published")


def test_edit_of_an_unknown_event_is_404(client, session):
    boss = organizer(session)
    session.commit()
    h = api_login(client, boss)
    for method, path in (("PATCH", "/api/v1/events/999999"), ("POST", "/api/v1/events/999999/publish")):
        error_of(client.request(method, path, headers=h, json={"title_en": "x"}), 404, "not_found")


# --- the OpenAPI document --------------------------------------------------------------------------------

OPERATIONS = {
    ("get", "/api/v1/events"): "EventPage", ("post", "/api/v1/events"): "EventOut",
    ("get", "/api/v1/events/{event_id}"): "EventOut", ("patch", "/api/v1/events/{event_id}"): "EventChangeOut",
    ("post", "/api/v1/events/{event_id}/publish"): "EventOut",
    ("post", "/api/v1/events/{event_id}/unpublish"): "EventOut",
    ("post", "/api/v1/events/{event_id}/registration"): "RegistrationOut",
    ("get", "/api/v1/events/{event_id}/registration"): "RegistrationOut",
    ("put", "/api/v1/events/{event_id}/registration/attendees"): "RegistrationOut",
    ("post", "/api/v1/events/{event_id}/registration/withdraw"): "RegistrationOut",
    ("get", "/api/v1/events/{event_id}/availability"): "AvailabilityOut",
    ("put", "/api/v1/events/{event_id}/availability"): "AvailabilityOut",
    ("get", "/api/v1/events/{event_id}/registrations"): "RegistrationOut",
    ("get", "/api/v1/events/{event_id}/registrations/{registration_id}"): "RegistrationOut",
    ("post", "/api/v1/events/{event_id}/registrations/{registration_id}/approve"): "RegistrationOut",
    ("post", "/api/v1/events/{event_id}/registrations/{registration_id}/reject"): "RegistrationOut",
    ("get", "/api/v1/agenda"): "AgendaItemOut",
}


def test_openapi_documents_every_operation_with_its_models(client):
    from web.routes import api_agenda, api_events, api_registrations

    spec = client.get("/api/openapi.json").json()
    routers = (api_events.router, api_registrations.router, api_agenda.router)
    served = {(method.lower(), route.path) for router in routers for route in router.routes for method in route.methods}
    assert served == set(OPERATIONS)
    for (method, path), model in OPERATIONS.items():
        operation = spec["paths"][path][method]
        assert operation["tags"] and operation["summary"] and operation["description"], (method, path)
        success = next(body for status, body in operation["responses"].items() if status.startswith("2"))
        schema = success["content"]["application/json"]["schema"]
        assert (schema.get("$ref") or schema["items"]["$ref"]) == f"#/components/schemas/{model}", (method, path)
        for status in ("401", "403", "404", "409", "422"):
            error = operation["responses"][status]["content"]["application/json"]["schema"]
            assert error["$ref"] == "#/components/schemas/ErrorResponse", (method, path, status)
    assert spec["paths"]["/api/v1/events"]["post"]["responses"].keys() >= {"201"}


def test_openapi_describes_every_field_of_the_event_models(client):
    from pydantic import BaseModel

    from web.routes import api_event_models

    schemas = client.get("/api/openapi.json").json()["components"]["schemas"]
    models = [value for value in vars(api_event_models).values() if isinstance(value, type)
              and issubclass(value, BaseModel) and value.__module__ == api_event_models.__name__]
    assert len(models) >= 20
    undescribed = {model.__name__: [name for name, prop in schemas[model.__name__]["properties"].items()
                                    if not prop.get("description")] for model in models}
    assert {name: fields for name, fields in undescribed.items() if fields} == {}
