"""Organizer dashboard pages: every chart's numbers on a constructed data set, the SVG, CSV, access."""

from __future__ import annotations

import csv
import io

import pytest
from fastapi.testclient import TestClient

from tests.factories import create_user, login
from tests.web.organizer_support import organizer  # noqa: F401 - a fixture the tests name
from tests.web.dashboard_support import (  # noqa: F401 - boss, data: fixtures the tests name
    boss,
    data,
    at,
    bars,
    event,
    meeting,
    org,
    register,
    request,
    soup,
    svg_of,
    table_rows,
    tag,
    texts,
)


def csv_rows(response) -> list[list[str]]:
    assert response.headers["content-type"].startswith("text/csv")
    assert response.text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(response.text.lstrip("\ufeff"))))


# --- access ------------------------------------------------------------------------------------

PATHS = ["/dashboard", "/dashboard/funnel.csv", "/events/{id}/dashboard", "/events/{id}/dashboard/slots.csv"]


@pytest.mark.parametrize("path", PATHS)
def test_dashboard_visitor_is_sent_to_login(client, session, path):
    ev = event(session)
    session.commit()
    response = client.get(path.format(id=ev.id), follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login?next=")


@pytest.mark.parametrize("path", PATHS)
def test_dashboard_member_is_refused(client, session, path):
    member = create_user(session)
    ev = event(session)
    session.commit()
    login(client, member)
    response = client.get(path.format(id=ev.id))
    assert response.status_code == 403
    assert "organizers" in response.text


@pytest.mark.parametrize("path", PATHS)
def test_dashboard_organizer_gets_it(boss, session, path):
    ev = event(session)
    session.commit()
    assert boss.get(path.format(id=ev.id)).status_code == 200


@pytest.mark.parametrize("path", ["/events/999/dashboard", "/events/999/dashboard/slots.csv"])
def test_event_dashboard_missing_event_is_404(boss, path):
    response = boss.get(path)
    assert response.status_code == 404
    assert "no such event" in response.text


@pytest.mark.parametrize("path", ["/dashboard/nope.csv", "/events/{id}/dashboard/nope.csv"])
def test_dashboard_unknown_chart_is_404(boss, session, path):
    ev = event(session)
    session.commit()
    assert boss.get(path.format(id=ev.id)).status_code == 404


def test_dashboard_link_shown_to_organizers_only(app, session, organizer):
    member = create_user(session)
    session.commit()
    with TestClient(app) as member_client:
        login(member_client, member)
        assert soup(member_client.get("/profile")).find("a", href="/dashboard") is None
    with TestClient(app) as organizer_client:
        login(organizer_client, organizer)
        link = soup(organizer_client.get("/profile")).find("a", href="/dashboard")
    assert link is not None and link.get_text(strip=True) == "Dashboard"


def test_event_dashboard_shows_draft_event_to_organizers(boss, session):
    ev = event(session, status="draft", title_en="Draft day")
    session.commit()
    page = soup(boss.get(f"/events/{ev.id}/dashboard"))
    assert "Draft day" in page.find("h1").get_text()


# --- platform numbers --------------------------------------------------------------------------

def test_platform_organizations_by_kind_and_status(boss, data):
    response = boss.get("/dashboard")
    assert table_rows(soup(response), "organizations") == [
        ["Kind", "Waiting for approval", "Approved", "Rejected", "Suspended", "Total"],
        ["Japanese company", "0", "2", "0", "0", "2"],
        ["Partner-country company", "1", "2", "1", "0", "4"],
        ["Financial institution", "0", "0", "0", "1", "1"],
        ["Consultant", "0", "1", "0", "0", "1"],
        ["Public body", "0", "0", "0", "0", "0"],
    ]
    svg = svg_of(response.text, "organizations")
    assert len(bars(svg)) == 6  # one segment per non-zero (kind, status)
    assert texts(svg, "value") == ["2", "4", "1", "1", "0"]
    assert csv_rows(boss.get("/dashboard/organizations.csv"))[2] == ["Partner-country company", "1", "2", "1", "0", "4"]


def test_platform_funnel_and_tiles(boss, data):
    response = boss.get("/dashboard")
    expected = [["Stage", "Number"], ["Registrations (approved)", "2"], ["Meeting requests", "7"],
                ["Accepted requests", "4"], ["Meetings placed in a timetable", "2"],
                ["Meetings published to participants", "1"], ["Accepted event meetings not placed", "2"]]
    page = soup(response)
    assert table_rows(page, "funnel") == expected
    assert len(bars(svg_of(response.text, "funnel"))) == 6
    assert csv_rows(boss.get("/dashboard/funnel.csv")) == expected
    tiles = {li.find(class_="tile-label").get_text(): li.find(class_="tile-value").get_text()
             for li in page.select(".dash-tile")}
    assert tiles["approved organizations"] == "5" and tiles["waiting for approval"] == "1"
    assert tiles["meetings placed"] == "2" and tiles["not placed"] == "2"


def test_platform_by_country(boss, data):
    response = boss.get("/dashboard")
    assert table_rows(soup(response), "countries") == [
        ["Country", "Japanese company", "Partner-country company", "Consultant", "Organizations", "Requests sent",
         "Matches (accepted requests)"],
        ["Japan", "2", "0", "1", "3", "4", "4"],
        ["Thailand", "0", "1", "0", "1", "2", "2"],
        ["Vietnam", "0", "1", "0", "1", "1", "2"],
    ]
    svg = svg_of(response.text, "countries")
    assert texts(svg, "label") == ["Japan", "Thailand", "Vietnam"]
    assert len(bars(svg)) == 4
    assert texts(svg, "legend") == ["Japanese company", "Partner-country company", "Consultant"]


def test_platform_by_category_in_japanese(client, session, data):
    organizer = create_user(session, role="organizer", language="ja")
    session.commit()
    login(client, organizer)
    response = client.get("/dashboard")
    rows = table_rows(soup(response), "categories")
    assert rows[1:] == [["省エネルギー", "2", "1", "3", "5", "4"],
                        ["再生可能エネルギー", "1", "1", "2", "5", "3"]]
    assert texts(svg_of(response.text, "categories"), "label") == ["省エネルギー", "再生可能エネルギー"]
    countries = csv_rows(client.get("/dashboard/countries.csv"))
    assert [row[0] for row in countries[1:]] == ["日本", "タイ", "ベトナム"]


def test_platform_activity_chart_has_one_point_per_week_and_series(boss, data):
    response = boss.get("/dashboard")
    rows = table_rows(soup(response), "activity")
    assert rows[0] == ["Week from", "Organizations approved", "Requests sent", "Requests accepted",
                       "Event registrations"]
    # Everything was made just now: one week, the current one.
    assert [row[1:] for row in rows[1:]] == [["5", "7", "0", "5"]]
    svg = svg_of(response.text, "activity")
    assert len(bars(svg, "line")) == 4 and len(bars(svg, "point")) == 4


def test_platform_events_table_links_each_event_dashboard(boss, data):
    page = soup(boss.get("/dashboard"))
    row = page.find(id="dash-events").find("tbody").find("tr")
    assert row.find("a")["href"] == f"/events/{data.event.id}/dashboard"
    assert [td.get_text(strip=True) for td in row.find_all("td")][1:] == ["2", "6", "2 of 4"]


# --- event numbers -----------------------------------------------------------------------------

def test_event_registrations_and_requests_by_status(boss, data):
    response = boss.get(f"/events/{data.event.id}/dashboard")
    page = soup(response)
    assert table_rows(page, "registrations")[1:] == [["Pending", "1"], ["Approved", "2"], ["Rejected", "1"],
                                                     ["Withdrawn", "1"]]
    assert table_rows(page, "requests")[1:] == [["Pending", "1"], ["Accepted", "4"], ["Declined", "0"],
                                                ["Cancelled", "1"], ["Expired", "0"]]
    assert len(bars(svg_of(response.text, "requests"))) == 3  # zero rows draw no bar
    assert table_rows(page, "funnel")[1:] == [
        ["Registrations (approved)", "2"], ["Meeting requests", "6"], ["Accepted requests", "4"],
        ["Meetings placed in a timetable", "2"], ["Meetings published to participants", "1"],
        ["Accepted event meetings not placed", "2"]]


def test_event_unplaced_by_reason(boss, data):
    response = boss.get(f"/events/{data.event.id}/dashboard")
    assert table_rows(soup(response), "unplaced")[1:] == [["Waiting for a timetable run", "1"],
                                                          ["No slot free on both sides", "1"]]
    assert csv_rows(boss.get(f"/events/{data.event.id}/dashboard/unplaced.csv"))[2] == ["No slot free on both sides",
                                                                                        "1"]


def test_event_unplaced_counts_reasons_that_name_organizations_together(boss, session, data):
    # The timetable stores "party_busy:<organization id>": two different organizations are one reason.
    for sender in (data.jp3, data.fi):
        req = request(session, sender, data.jp1, "accepted", data.event)
        meeting(session, data.event, req, reason=f"party_busy:{sender.id}")
    session.commit()
    rows = table_rows(soup(boss.get(f"/events/{data.event.id}/dashboard")), "unplaced")[1:]
    assert ["A participant is fully booked", "2"] in rows
    assert not any("party" in label.lower() for label, _n in rows)


def test_event_slot_use_in_event_time_zone(boss, data):
    response = boss.get(f"/events/{data.event.id}/dashboard")
    assert table_rows(soup(response), "slots") == [
        ["Slot", "Meetings", "Free tables"],
        ["09:00–09:30", "2", "1"], ["09:30–10:00", "0", "3"], ["10:00–10:30", "0", "3"],
        ["10:30–11:00", "0", "3"], ["11:00–11:30", "0", "3"], ["11:30–12:00", "0", "3"],
    ]
    svg = svg_of(response.text, "slots")
    assert len(bars(svg, "column")) == 1
    assert texts(svg, "reference-label") == ["3 tables"]
    assert "09:00" in texts(svg, "axis")


def test_event_online_slot_use_has_no_table_line(boss, session):
    ev = event(session, table_count=None)
    a, b = org(session), org(session, "VN", "partner_company")
    register(session, ev, a)
    meeting(session, ev, request(session, a, b, "accepted", ev), at(2026, 7, 1, 1))
    session.commit()
    response = boss.get(f"/events/{ev.id}/dashboard")
    assert table_rows(soup(response), "slots")[0] == ["Slot", "Meetings"]
    assert texts(svg_of(response.text, "slots"), "reference-label") == []


def test_event_participants_by_country_and_category(boss, data):
    response = boss.get(f"/events/{data.event.id}/dashboard")
    page = soup(response)
    # Participants are approved registrations (jp1, vn1); Thailand only sent requests, so it is a
    # table row with no participants and is left out of the picture.
    assert table_rows(page, "countries")[1:] == [["Japan", "1", "0", "1", "3", "4"],
                                                 ["Vietnam", "0", "1", "1", "1", "2"],
                                                 ["Thailand", "0", "0", "0", "2", "2"]]
    assert texts(svg_of(response.text, "countries"), "label") == ["Japan", "Vietnam"]
    assert table_rows(page, "categories")[1:] == [["Energy efficiency", "1", "1", "2", "4", "4"],
                                                  ["Renewable energy", "1", "0", "1", "4", "3"]]


# --- escaping, CSV guard, empty states ----------------------------------------------------------

def test_labels_are_escaped_in_svg_and_guarded_in_csv(boss, session):
    nasty = "=HYPERLINK(\"x\")<script>&'"
    member = org(session, "JP")
    tag(session, member, nasty)
    session.commit()
    response = boss.get("/dashboard")
    assert "<script>&'" not in response.text
    svg = svg_of(response.text, "categories")  # parses as XML
    assert texts(svg, "label") == [nasty]
    rows = csv_rows(boss.get("/dashboard/categories.csv"))
    assert rows[1][0] == "'" + nasty


def test_empty_platform_shows_an_empty_state(boss):
    page = soup(boss.get("/dashboard"))
    assert page.select_one(".empty-state h2").get_text() == "Nothing to count yet"
    assert page.find("svg") is None


def test_platform_without_events_or_requests_shows_what_it_has(boss, session):
    org(session, "VN", "partner_company")
    session.commit()
    response = boss.get("/dashboard")
    page = soup(response)
    assert page.select_one(".empty-state") is None
    assert svg_of(response.text, "organizations") is not None
    assert page.find(id="dash-funnel").select_one(".chart-empty").get_text() == \
        "No registrations or meeting requests yet."
    assert page.find(id="dash-funnel").find("svg") is None
    assert page.find(id="dash-funnel").find("a", download=True) is None
    assert "No events yet" in page.find(id="dash-events").get_text()


def test_event_without_registrations_shows_an_empty_state(boss, session):
    ev = event(session)
    session.commit()
    page = soup(boss.get(f"/events/{ev.id}/dashboard"))
    assert page.select_one(".empty-state h2").get_text() == "Nothing to count yet for this event"
    assert page.find("svg") is None


def test_event_without_timetable_run_explains_empty_slot_chart(boss, session):
    ev = event(session)
    a, b = org(session), org(session, "VN", "partner_company")
    register(session, ev, a)
    meeting(session, ev, request(session, a, b, "accepted", ev))
    session.commit()
    page = soup(boss.get(f"/events/{ev.id}/dashboard"))
    assert page.find(id="dash-slots").select_one(".chart-empty").get_text() == \
        "No meetings are placed in the timetable yet."


def test_dashboard_svg_is_accessible(boss, data):
    response = boss.get("/dashboard")
    svg = svg_of(response.text, "countries")
    assert svg.get("role") == "img" and svg.get("viewBox").startswith("0 0 ")
    assert svg.get("width") == "100%"
    title_id, desc_id = svg.get("aria-labelledby").split()
    ns = "{http://www.w3.org/2000/svg}"
    assert svg.find(f"{ns}title").get("id") == title_id and svg.find(f"{ns}title").text == "By country"
    assert "Japan: 3" in svg.find(f"{ns}desc").text
    # Every chart is followed by its numbers and a CSV link.
    card = soup(response).find(id="dash-countries")
    assert card.find("details").find("table") is not None
    assert card.find("a", download=True)["href"] == "/dashboard/countries.csv"
