"""Requests sent, Requests received, Matches and Events tabs (filled by later features)."""

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from web.deps import Member
from web.templating import render

router = APIRouter()


@router.get("/requests/sent", response_class=HTMLResponse)
def requests_sent(request: Request, user: Member):
    """Meeting requests the member's organization has sent."""
    return render(request, "requests/sent.html", {"active_tab": "sent"})


@router.get("/requests/received", response_class=HTMLResponse)
def requests_received(request: Request, user: Member):
    """Meeting requests the member's organization has received."""
    return render(request, "requests/received.html", {"active_tab": "received"})


@router.get("/matches", response_class=HTMLResponse)
def matches(request: Request, user: Member):
    """Accepted requests in either direction."""
    return render(request, "requests/matches.html", {"active_tab": "matches"})


@router.get("/events", response_class=HTMLResponse)
def events(request: Request, user: Member):
    """Seminar events with pre-arranged meetings."""
    return render(request, "events/index.html", {"active_tab": "events"})
