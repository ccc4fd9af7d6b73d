"""Matchmaking at an event: the other confirmed participants, ranked for the member's organization."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import HTMLResponse

from web.deps import CurrentUser, DbSession, Embedder, MatchCache
from web.routing import feature_router
from web.services import event_matching
from web.services.events import get_event
from web.services.matching_index import Published, published_or_empty
from web.services.organizations import kind_choices
from web.templating import render

router = feature_router()


@router.get("/events/{event_id}/participants", response_class=HTMLResponse)
def participants(request: Request, session: DbSession, user: CurrentUser, cache: MatchCache, embedder: Embedder,
                 event_id: int, q: str = "", kind: str = ""):
    """Participants of the event for a confirmed participant (ranked) or an organizer (by name)."""
    event = get_event(session, event_id, user)
    published: list[Published] = []

    def _published() -> Published:
        # The last published index and weights, read once and only when the viewer is ranked; never waits on a build.
        if not published:
            published.append(published_or_empty(cache, session, embedder.name))
        return published[0]

    def state_for():
        return _published().state

    def weights_for(_state):
        return _published().weights

    view = event_matching.participants_view(session, user, event, state_for, weights_for, q=q[:200], kind=kind)
    return render(request, "event_matching/participants.html", {
        "active_tab": "events", "event": event, "view": view, "q": q, "kind": kind, "kinds": kind_choices(),
            }, fragment="event_matching/_participants.html", headers={"Vary": "HX-Request"})
