"""The JCM financing pre-check: a plain GET form, on its own page, on each technology's page, and from a match."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import HTMLResponse

from web.deps import DbSession, OptionalUser
from web.errors import NotAuthenticated, ValidationFailed
from web.i18n import _, current_language
from web.routes.technologies import precheck_form_context
from web.routing import feature_router
from web.services import messages, precheck, technologies
from web.templating import render
from web.values import parse_id

router = feature_router()
INPUTS = ("investment", "reductions", "years", "savings")


def _match_context(session, user, match_id: int | None) -> dict:
    """A match between a Japanese firm and a partner: the partner's country and the firm's technologies."""
    if match_id is None:
        return {}
    if user is None:
        raise NotAuthenticated(_("Please log in to see this page."))
    req = messages.get_match_for(session, user, match_id)
    orgs = (req.requester_org, req.recipient_org)
    firm = next((o for o in orgs if o.kind == "japanese_company"), None)
    partner = next((o for o in orgs if o is not firm and o.kind == "partner_company"), None)
    return {"match": req, "firm": firm, "partner": partner,
            "firm_technologies": technologies.organization_technologies(session, firm.id) if firm else []}


@router.get("/precheck", response_class=HTMLResponse)
def show_precheck(request: Request, session: DbSession, user: OptionalUser):
    """The calculator; with figures given, the result with every step shown (bad figures: 422, messages beside them)."""
    params = request.query_params
    language = current_language()
    technology = None
    technology_id = parse_id(params.get("technology"))
    if technology_id is not None:
        technology = technologies.get_technology(session, technology_id, user)
    match_id = parse_id(params.get("match")) if params.get("match") else None
    match = _match_context(session, user, match_id)
    values = precheck.form_values(params)
    if not any(values[name] for name in INPUTS):
        country = values["country"] or (match["partner"].country if match.get("partner") else "")
        values = precheck.prefill(technology, country) if technology is not None else values | {"country": country}
    result, errors, status = None, {}, 200
    if any(values[name] for name in INPUTS) and params.get("run"):
        try:
            result = precheck.run_precheck(session, values)
        except ValidationFailed as exc:
            errors, status = exc.field_errors, 422
    context = precheck_form_context(session, language, values, errors, result, technology.id if technology else None,
                                    match_id) | {"active_tab": "technologies", "tech": technology, **match}
    return render(request, "precheck/page.html", context, fragment="precheck/_panel.html", status_code=status)
