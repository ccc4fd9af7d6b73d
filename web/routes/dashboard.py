"""Organizer dashboard: the platform's figures, one event's figures, and each chart as CSV."""

from __future__ import annotations

from datetime import datetime, timezone

from fastapi import Request
from fastapi.responses import HTMLResponse, Response

from web.deps import DbSession, Organizer
from web.i18n import current_language
from web.routing import feature_router
from web.services import dashboard, dashboard_event
from web.services.charts import Chart, chart_csv
from web.services.events import get_event
from web.templating import render

router = feature_router()


def _csv(chart: Chart, name: str) -> Response:
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d")
    return Response(chart_csv(chart), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}-{chart.key}-{stamp}.csv"'})


@router.get("/dashboard", response_class=HTMLResponse)
def platform(request: Request, session: DbSession, user: Organizer):
    """Platform-wide figures: organizations, requests, events, over time, by country and category."""
    board = dashboard.platform_dashboard(session, language=current_language(), time_zone=user.time_zone)
    return render(request, "dashboard/index.html", {"board": board, "csv_base": "/dashboard"})


@router.get("/dashboard/{chart}.csv")
def platform_csv(session: DbSession, user: Organizer, chart: str):
    """One platform chart's numbers as CSV."""
    built = dashboard.platform_chart(session, chart, language=current_language(), time_zone=user.time_zone)
    return _csv(built, "dashboard")


@router.get("/events/{event_id}/dashboard", response_class=HTMLResponse)
def event_page(request: Request, session: DbSession, user: Organizer, event_id: int):
    """One event's figures: registrations, requests, the timetable and its slots."""
    event = get_event(session, event_id, user)
    board = dashboard_event.event_dashboard(session, event, language=current_language())
    return render(request, "dashboard/event.html", {
        "board": board, "event": event, "csv_base": f"/events/{event.id}/dashboard"})


@router.get("/events/{event_id}/dashboard/{chart}.csv")
def event_csv(session: DbSession, user: Organizer, event_id: int, chart: str):
    """One of an event's charts as CSV."""
    event = get_event(session, event_id, user)
    built = dashboard_event.event_chart(session, event, chart, language=current_language())
    return _csv(built, f"event-{event.id}")
