"""The member's agenda: the page, a printable version, calendar files and the private subscription feed."""

from __future__ import annotations

from urllib.parse import urlparse

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from models.base import utcnow
from web import i18n
from web.deps import DbSession, Member, OptionalUser
from web.routing import feature_router
from web.services import agenda, agenda_calendar
from web.services.events import get_event
from web.templating import is_htmx, render

router = feature_router()


def _feed_context(request: Request, session, user, renewed: bool = False) -> dict:
    settings = request.app.state.settings
    token = agenda_calendar.feed_token(session, settings, user)
    url = settings.base_url.rstrip("/") + f"/agenda/feed/{token}.ics"
    webcal = "webcal://" + url.split("://", 1)[1] if urlparse(url).scheme in ("http", "https") else url
    return {"feed_url": url, "webcal_url": webcal, "feed_renewed": renewed}


def _agenda_context(session, user, event: int | None) -> dict:
    selected = get_event(session, event, user) if event is not None else None
    view = agenda.agenda_view(session, user.organization_id, user.time_zone, event_id=event)
    return view | {"selected": selected, "organization": user.organization}


@router.get("/agenda", response_class=HTMLResponse)
def agenda_page(request: Request, session: DbSession, user: Member, event: int | None = None, renewed: int = 0):
    """The organization's upcoming and past events and meetings, by day (one event's with ?event=ID)."""
    context = _agenda_context(session, user, event) | _feed_context(request, session, user, bool(renewed))
    return render(request, "agenda/index.html", context)


@router.get("/agenda/print", response_class=HTMLResponse)
def agenda_print(request: Request, session: DbSession, user: Member, event: int | None = None):
    """The upcoming agenda on a page made for paper (A4), without the site's navigation."""
    return render(request, "agenda/print.html", _agenda_context(session, user, event) | {"printed_at": utcnow()})


def _calendar_response(body: bytes, filename: str) -> Response:
    return Response(body, media_type="text/calendar; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"',
                             "Cache-Control": "private, no-cache"})


@router.get("/agenda.ics")
def agenda_ics(request: Request, session: DbSession, user: Member):
    """Every item of the member's agenda as an iCalendar file."""
    return _calendar_response(agenda_calendar.agenda_calendar(session, request.app.state.settings, user),
                              "jcm-agenda.ics")


@router.post("/agenda/feed", response_class=HTMLResponse)
def renew_feed(request: Request, session: DbSession, user: Member):
    """Make a new subscription link; the old one stops working."""
    agenda_calendar.renew_feed_token(session, request.app.state.settings, user)
    if is_htmx(request):
        return render(request, "agenda/_feed.html", _feed_context(request, session, user, renewed=True))
    return RedirectResponse("/agenda?renewed=1#agenda-feed", status_code=303)


@router.get("/agenda/feed/{token}.ics")
def agenda_feed(request: Request, session: DbSession, token: str):
    """The subscription feed calendar apps poll: the token stands in for a login."""
    settings = request.app.state.settings
    user = agenda_calendar.user_for_feed(session, settings, token)
    with i18n.use_language(user.language or settings.default_language):
        body = agenda_calendar.agenda_calendar(session, settings, user)
    return _calendar_response(body, "jcm-agenda.ics")


@router.get("/events/{event_id}/calendar.ics")
def event_ics(request: Request, session: DbSession, user: OptionalUser, event_id: int):
    """A published event; with the viewer's organization's meetings there when it is registered."""
    event = get_event(session, event_id, user)
    return _calendar_response(agenda_calendar.event_calendar(session, request.app.state.settings, event, user),
                              f"jcm-event-{event.id}.ics")
