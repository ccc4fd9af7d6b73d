"""Pre-Matching: the organization's recommended partners, "Not interested" and its undo, hidden organizations."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse

from web.deps import DbSession, Embedder, Form, MatchCache, Member
from web.i18n import country_name, current_language
from web.routing import feature_router
from web.services import prematching
from web.services.directory import categories as category_rows
from web.services.matching_index import published_or_empty
from web.services.organizations import kind_choices
from web.templating import is_htmx, render
from web.urls import safe_next
from web.values import DbId

router = feature_router()
HOME = "/prematching"


def _card_context(next_url: str) -> dict:
    return {"next_url": next_url}


@router.get("/prematching", response_class=HTMLResponse)
def prematching_page(request: Request, session: DbSession, user: Member, cache: MatchCache, embedder: Embedder):
    """Recommended partners for the member's organization; htmx gets only the results fragment."""
    filters = prematching.Filters.from_params(request.query_params)
    page = prematching.parse_page(request.query_params.get("page"))
    org = user.organization if user.organization is not None and user.organization.is_approved else None
    language = current_language()
    context = {"active_tab": "prematching", "filters": filters, "own_org": org, "status": "no_organization",
               "results": None, "waiting": 0, "hidden_count": 0, "kinds": kind_choices(), "countries": [],
               "categories": [(c.slug, c.name(language)) for c in category_rows(session)],
               **_card_context(HOME + ("?" + filters.query_string(page=page)
                                       if page > 1 or not filters.is_empty() else ""))}
    if org is not None:
        published = published_or_empty(cache, session, embedder.name)
        state = published.state
        context["waiting"] = len(state.waiting - {org.id})
        context["hidden_count"] = prematching.dismissed_count(session, org)
        context["countries"] = sorted(((c, country_name(c)) for c in prematching.index_countries(state)),
                                      key=lambda item: item[1])
        if org.id in state:
            context["status"] = "ready"
            context["results"] = prematching.recommendations_for(session, state, published.weights, org, filters, page,
                                                              request.app.state.settings.page_size,
                                                              prematching.match_floor(request.app.state.settings))
            context["unclaimed_ids"] = {rec.org.id for rec in context["results"].items if not rec.org.claimed}
        else:
            context["status"] = "preparing"
            prematching.nudge_embedding(session)
    return render(request, "prematching/index.html", context, fragment="prematching/_results.html",
                  headers={"Vary": "HX-Request"})


@router.post("/prematching/dismiss/{org_id}", response_class=HTMLResponse)
def dismiss(request: Request, session: DbSession, user: Member, form: Form, org_id: DbId):
    """Not interested: htmx swaps the card for an Undo card, a plain post goes back to the list."""
    other = prematching.dismiss_match(session, user, org_id)
    next_url = safe_next(str(form.get("next", "")), HOME)
    if is_htmx(request):
        return render(request, "prematching/_dismissed_card.html", {"other": other, **_card_context(next_url)})
    return RedirectResponse(next_url, status_code=303)


@router.post("/prematching/restore/{org_id}", response_class=HTMLResponse)
def restore(request: Request, session: DbSession, user: Member, form: Form, org_id: DbId, cache: MatchCache,
            embedder: Embedder):
    """Undo Not interested: htmx gets the recommendation back in place, a plain post goes back."""
    other = prematching.restore_match(session, user, org_id)
    next_url = safe_next(str(form.get("next", "")), HOME)
    if not is_htmx(request):
        return RedirectResponse(next_url, status_code=303)
    rec = None
    if form.get("view") != "hidden":
        published = published_or_empty(cache, session, embedder.name)
        rec = prematching.recommendation_for(session, published.state, published.weights, user.organization, other.id,
                                          prematching.match_floor(request.app.state.settings))
    if rec is None:
        return render(request, "prematching/_restored.html", {"other": other})
    return render(request, "prematching/_card.html", {"rec": rec, **_card_context(next_url),
                                                       "unclaimed_ids": set() if rec.org.claimed else {rec.org.id}})


@router.get("/prematching/hidden", response_class=HTMLResponse)
def hidden(request: Request, session: DbSession, user: Member):
    """Organizations marked Not interested, each with Undo."""
    org = prematching.own_organization(user)
    return render(request, "prematching/hidden.html", {
        "active_tab": "prematching", "rows": prematching.dismissed_organizations(session, org),
        "next_url": HOME + "/hidden",
    }, fragment="prematching/_hidden.html", headers={"Vary": "HX-Request"})
