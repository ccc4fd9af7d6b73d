"""Organizers review the catalogue: new technologies, changes to published ones, and unpublishing with a reason."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy import select

from models import Technology
from web.deps import DbSession, Form, Organizer
from web.errors import NotFound, ValidationFailed
from web.i18n import N_, _, current_language
from web.routing import feature_router
from web.services import technologies, technology_review
from web.templating import is_htmx, render
from web.values import DbId

router = feature_router(prefix="/organizer")
DONE = {
    "publish": N_("%(name)s is published in the catalogue."),
    "unpublish": N_("%(name)s is not published. Its organization sees your reason."),
    "accept_changes": N_("The changes to %(name)s are published."),
    "decline_changes": N_("The changes to %(name)s were declined. Its organization sees your reason."),
}
FIELD_LABELS = {"name": N_("Name"), "name_ja": N_("Name in Japanese"), "description": N_("Description"),
                "description_ja": N_("Description in Japanese"), "products": N_("Products and models"),
                "image_key": N_("Image")}


def _context(session, tab: str) -> dict:
    return {"active_tab": None, "tab": tab, "review_tabs": technology_review.TABS,
            "items": technology_review.review_list(session, tab), "counts": technology_review.review_counts(session),
            "status_label": technologies.status_label,
            "category_names": technologies.category_names(session, current_language()), "field_labels": FIELD_LABELS,
            "row_errors": {}, "row_values": {}}


@router.get("/technologies", response_class=HTMLResponse)
def review_page(request: Request, session: DbSession, user: Organizer, tab: str = "review"):
    """The review queue (and the published and unpublished technologies by tab)."""
    tab = tab if tab in technology_review.TABS else "review"
    notice = request.session.pop("technology_review_notice", "")
    return render(request, "technology_review/index.html", _context(session, tab) | {"notice": notice},
                  fragment="technology_review/_list.html")


@router.post("/technologies/{technology_id}/review", response_class=HTMLResponse)
def review(request: Request, session: DbSession, user: Organizer, form: Form, technology_id: DbId):
    """Publish, unpublish (reason required), accept or decline changes (reason required)."""
    technology = session.scalar(select(Technology).where(Technology.id == technology_id))
    if technology is None:
        raise NotFound(_("There is no such technology."))
    tab = str(form.get("tab", "review"))
    tab = tab if tab in technology_review.TABS else "review"
    decision, reason = str(form.get("decision", "")), str(form.get("reason", ""))
    try:
        technology_review.review_technology(session, request.app.state.settings, user, technology, decision, reason)
    except ValidationFailed as exc:
        context = _context(session, tab) | {"row_errors": {technology.id: exc.field_errors or {"reason": exc.message}},
                                            "row_values": {technology.id: {"reason": reason}}}
        return render(request, "technology_review/index.html", context, fragment="technology_review/_list.html",
                      status_code=422)
    message = _(DONE[decision]) % {"name": technology.name}
    if is_htmx(request):
        return render(request, "technology_review/_list.html", _context(session, tab) | {"notice": message})
    request.session["technology_review_notice"] = message
    return RedirectResponse(f"/organizer/technologies?tab={tab}", status_code=303)
