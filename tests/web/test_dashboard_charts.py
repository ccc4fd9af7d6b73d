"""Dashboard internals: time buckets in a zone (SQLite and PostgreSQL), chart geometry, CSV, query counts."""

from __future__ import annotations

from datetime import date, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import event as sa_event
from sqlalchemy.dialects import postgresql

from models import MeetingRequest
from tests.web.dashboard_support import at, event, meeting, org, register, request
from web.i18n import use_language
from web.services import dashboard, dashboard_event, dashboard_time
from web.services.charts import WIDTH, Category, Chart, Series, chart_csv, fit, nice_scale, text_width

NOW = at(2026, 6, 10, 12)  # Wednesday 21:00 in Tokyo


# --- time buckets ------------------------------------------------------------------------------

def test_offset_periods_find_the_exact_dst_change():
    london = ZoneInfo("Europe/London")
    periods = dashboard_time.offset_periods(london, at(2026, 3, 20), at(2026, 4, 5))
    assert periods == [(at(2026, 3, 29, 1), 0), (at(2026, 4, 5), 60)]
    assert dashboard_time.offset_periods(ZoneInfo("Asia/Tokyo"), at(2026, 1, 1), at(2026, 12, 31)) == \
        [(at(2026, 12, 31), 540)]


def test_count_per_day_uses_local_days_across_a_dst_change(session):
    a, b = org(session, status="pending"), org(session, "VN", status="pending")
    request(session, a, b, created_at=at(2026, 3, 28, 23, 30))  # 23:30 GMT, 28 March in London
    request(session, b, a, created_at=at(2026, 3, 29, 23, 30))  # 00:30 BST, 30 March in London
    request(session, a, b, created_at=at(2026, 3, 30, 22, 59))  # 23:59 BST, 30 March
    session.flush()
    counts = dashboard_time.count_per_day(session, MeetingRequest.created_at, [], ZoneInfo("Europe/London"),
                                          date(2026, 3, 27), date(2026, 3, 31))
    assert counts == {date(2026, 3, 28): 1, date(2026, 3, 30): 2}


def test_local_day_on_postgresql_uses_its_time_zone_database():
    expression = dashboard_time.local_day("postgresql", MeetingRequest.created_at, ZoneInfo("Asia/Tokyo"),
                                          at(2026, 1, 1), at(2026, 2, 1))
    sql = str(expression.compile(dialect=postgresql.dialect()))
    assert sql.startswith("CAST(timezone(") and "timezone(" in sql[14:] and sql.endswith("AS DATE)")


def test_platform_weeks_are_the_viewers_weeks(session):
    # 06-01 01:00 in Tokyo is still 05-31 (the week of 05-25) in UTC: the Tokyo organizer sees week 06-01.
    org(session, reviewed_at=at(2026, 5, 31, 16))
    org(session, reviewed_at=at(2026, 6, 1, 0, 30))
    org(session, reviewed_at=at(2025, 1, 1), status="suspended")  # not approved: not counted, not a start
    a, b = org(session, status="pending"), org(session, "VN", status="pending")
    request(session, a, b, created_at=at(2026, 6, 9))
    request(session, b, a, "accepted", created_at=at(2026, 6, 9, 1), responded_at=at(2026, 6, 10, 3))
    ev = event(session)
    register(session, ev, a, created_at=at(2026, 5, 20))
    session.flush()
    with use_language("en"):
        chart = dashboard.platform_chart(session, "activity", language="en", time_zone="Asia/Tokyo", now=NOW)
        utc = dashboard.platform_chart(session, "activity", language="en", time_zone="UTC", now=NOW)
    assert chart.rows() == [["2026-05-18", 0, 0, 0, 1], ["2026-05-25", 0, 0, 0, 0],
                            ["2026-06-01", 2, 0, 0, 0], ["2026-06-08", 0, 2, 1, 0]]
    assert [row[1] for row in utc.rows()] == [0, 1, 1, 0]
    assert [c.short for c in chart.categories] == ["5/18", "5/25", "6/1", "6/8"]


def test_platform_weeks_stop_at_a_year(session):
    org(session, reviewed_at=at(2023, 1, 1))
    org(session, reviewed_at=at(2026, 6, 9))
    session.flush()
    chart = dashboard.platform_chart(session, "activity", language="en", time_zone="Asia/Tokyo", now=NOW)
    assert len(chart.categories) == dashboard.WEEKS
    assert chart.rows()[-1][:2] == ["2026-06-08", 1] and sum(r[1] for r in chart.rows()) == 1


def test_event_days_are_the_events_days_and_end_at_the_event(session):
    ev = event(session, starts_at=at(2026, 6, 12, 0), ends_at=at(2026, 6, 12, 3))  # 12 June, Tokyo
    a, b = org(session), org(session, "VN", "partner_company")
    register(session, ev, a, created_at=at(2026, 6, 8, 15, 30))  # 9 June 00:30 in Tokyo
    register(session, ev, b, created_at=at(2026, 6, 12, 2))  # on the day, but after "now"
    request(session, a, b, ev=ev, created_at=at(2026, 6, 7, 2))
    request(session, a, b, "declined", created_at=at(2026, 6, 8))  # not this event's
    session.flush()
    chart = dashboard_event.event_chart(session, ev, "activity", language="en", now=NOW)
    assert chart.rows() == [["2026-06-07", 0, 1], ["2026-06-08", 0, 0], ["2026-06-09", 1, 0],
                            ["2026-06-10", 0, 0]]
    later = dashboard_event.event_chart(session, ev, "activity", language="en", now=at(2026, 7, 1))
    assert later.rows()[-1] == ["2026-06-12", 1, 0]  # up to the event's day, not beyond


def test_dashboard_query_count_does_not_grow_with_rows(session):
    """Aggregates, not per-row loads: ten times the rows, the same statements."""
    ev = event(session)
    assert ev.breaks == []  # loaded now, not during the first count

    def add_rows(n):
        for _ in range(n):
            a, b = org(session, categories=["energy_efficiency"]), org(session, "VN", "partner_company")
            register(session, ev, a)
            meeting(session, ev, request(session, a, b, "accepted", ev), at(2026, 7, 1, 0) + timedelta(minutes=30))
        session.flush()

    def statements():
        seen = []
        listener = lambda *args: seen.append(args[2])  # noqa: E731
        sa_event.listen(session.get_bind(), "before_cursor_execute", listener)
        try:
            dashboard.platform_dashboard(session, language="en", time_zone="Asia/Tokyo", now=NOW)
            dashboard_event.event_dashboard(session, ev, language="en", now=NOW)
        finally:
            sa_event.remove(session.get_bind(), "before_cursor_execute", listener)
        return seen

    add_rows(1)
    few = statements()
    add_rows(10)
    assert len(statements()) == len(few)


# --- chart geometry ----------------------------------------------------------------------------

@pytest.mark.parametrize("top, expected", [(0, (1, 1)), (1, (1, 1)), (3, (3, 1)), (7, (8, 2)), (10, (10, 5)),
                                           (23, (30, 10)), (190, (200, 50)), (1234, (1500, 500))])
def test_nice_scale_gives_round_whole_steps(top, expected):
    assert nice_scale(top) == expected


def test_fit_cuts_long_labels_with_an_ellipsis():
    assert fit("Vietnam", 200) == "Vietnam"
    cut = fit("Energy efficiency in buildings and industry " * 3, 200)
    assert cut.endswith("…") and text_width(cut) <= 200
    assert text_width("省エネ") > text_width("abc")


def _bars(values, kind="bars", **kwargs):
    categories = [Category(f"Row {i}") for i in range(len(values[0]))]
    return Chart("x", kind, "Title", "About", "Row", categories,
                 [Series(f"S{n}", list(v)) for n, v in enumerate(values)], **kwargs)


def test_bar_figure_scales_the_longest_bar_to_the_width():
    shapes = _bars([[10, 5, 0]]).figure().shapes
    bars = [s for s in shapes if s.role == "bar"]
    assert len(bars) == 2 and bars[0].w == pytest.approx(bars[1].w * 2, abs=0.2)
    assert bars[0].x + bars[0].w < WIDTH
    assert [s.text for s in shapes if s.role == "value"] == ["10", "5", "0"]


def test_stacked_figure_has_a_legend_and_segments_end_to_end():
    shapes = _bars([[3, 1], [1, 0]], kind="stacked").figure().shapes
    assert [s.text for s in shapes if s.role == "legend"] == ["S0", "S1"]
    first, second = [s for s in shapes if s.role == "bar"][:2]
    assert second.x == pytest.approx(first.x + first.w, abs=0.2)


def test_bar_chart_folds_rows_past_the_limit_but_keeps_them_in_the_table():
    chart = _bars([[5, 4, 3, 2, 1]], limit=3, other_label="%(n)d more")
    labels = [s.text for s in chart.figure().shapes if s.role == "label"]
    assert labels == ["Row 0", "Row 1", "3 more"]
    assert [s.text for s in chart.figure().shapes if s.role == "value"] == ["5", "4", "6"]
    assert len(chart.rows()) == 5


def test_line_and_column_figures_stay_inside_the_view_box():
    days = [Category(f"2026-06-{d:02d}", f"6/{d}") for d in range(1, 31)]
    line = Chart("a", "line", "T", "D", "Day", days, [Series("A", list(range(30))), Series("B", [1] * 30)])
    figure = line.figure()
    points = [s for s in figure.shapes if s.role == "point"]
    assert len(points) == 60 and all(0 <= p.x <= WIDTH and 0 <= p.y <= figure.height for p in points)
    assert {s.dash for s in figure.shapes if s.role == "line"} == {"", "7 4"}  # told apart without colour
    axis = [s for s in figure.shapes if s.role == "axis" and "/" in s.text]
    gaps = [b.x - a.x for a, b in zip(axis, axis[1:])]
    assert axis and min(gaps) >= text_width("6/30", 14)  # axis labels never overlap
    columns = Chart("b", "columns", "T", "D", "Slot", days[:6], [Series("M", [1, 0, 3, 0, 0, 2])],
                    reference=("3 tables", 3))
    shapes = columns.figure().shapes
    assert len([s for s in shapes if s.role == "column"]) == 3
    assert [s.text for s in shapes if s.role == "reference-label"] == ["3 tables"]


def test_chart_rejects_series_of_the_wrong_length():
    with pytest.raises(ValueError):
        Chart("x", "bars", "T", "D", "Row", [Category("a")], [Series("S", [1, 2])])


def test_csv_has_header_total_extra_columns_and_formula_guard():
    chart = Chart("x", "stacked", "T", "D", "Country", [Category("=SUM(A1)"), Category("Japan")],
                  [Series("A", [1, 2]), Series("B", [3, 0])], extra=[Series("Sent", [7, 8])], total_label="Total")
    assert chart_csv(chart) == ("\ufeffCountry,A,B,Total,Sent\r\n'=SUM(A1),1,3,4,7\r\nJapan,2,0,2,8\r\n")
    assert chart.summary() == "=SUM(A1): 4; Japan: 2"


def test_event_activity_after_the_event_says_so(session):
    ev = event(session, starts_at=at(2026, 6, 12, 0), ends_at=at(2026, 6, 12, 3))
    register(session, ev, org(session), created_at=at(2026, 6, 20))
    session.flush()
    chart = dashboard_event.event_chart(session, ev, "activity", language="en", now=at(2026, 7, 1))
    assert chart.is_empty and chart.empty_text == "No registrations or requests in the days before the event."
    ev2 = event(session)
    assert dashboard_event.event_chart(session, ev2, "activity", language="en").empty_text == \
        "No registrations or requests yet."
