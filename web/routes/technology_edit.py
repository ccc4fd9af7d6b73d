"""An organization's own technologies: its list with statuses and reasons, the form to add or edit one, delete."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy import select

from models import FIGURE_BASES, Methodology
from web.deps import DbSession, Form, Member
from web.errors import Forbidden, ValidationFailed
from web.i18n import N_, _, country_choices, current_language
from web.routing import feature_router
from web.services import catalogs, technologies, technology_form
from web.services.technologies import BASIS_LABELS
from web.templating import render
from web.values import DbId

router = feature_router()
FLASHES = {
    "new": N_("Your technology was saved. An organizer reviews it before it appears in the catalogue."),
    "saved": N_("Your changes were saved."),
    "review": N_("Your changes were saved. The new text or image waits for an organizer; until then the catalogue "
                 "shows the published version."),
    "resubmitted": N_("Your changes were saved and the technology went back for review."),
    "deleted": N_("The technology was deleted."),
}


def _own(session, user, technology_id: int):
    technology = technologies.get_technology(session, technology_id, user)
    if technology.organization_id != user.organization_id:
        raise Forbidden(_("Only the organization that listed a technology can edit it."))
    return technology


@router.get("/technologies/mine", response_class=HTMLResponse)
def my_technologies(request: Request, session: DbSession, user: Member):
    """The organization's technologies, whatever their status, with the organizers' reasons."""
    flash = request.query_params.get("done", "")
    org = user.organization
    return render(request, "technologies/mine.html", {
        "active_tab": "technologies", "items": technology_form.own_technologies(session, org.id) if org else [],
        "can_list": org is not None and org.kind in technologies.TECHNOLOGY_KINDS,
        "flash_message": _(FLASHES[flash]) if flash in FLASHES else "", "status_label": technologies.status_label,
        "category_names": technologies.category_names(session, current_language()),
    })


def _form_page(request: Request, session, values: dict[str, Any], errors: dict[str, str], technology=None,
               status_code: int = 200) -> HTMLResponse:
    language = current_language()
    methodologies = session.scalars(select(Methodology).order_by(Methodology.number)).all()
    return render(request, "technologies/edit.html", {
        "active_tab": "technologies", "values": values, "errors": errors, "tech": technology,
        "categories": [(c.slug, c.name(language)) for c in catalogs.categories(session)],
        "countries": country_choices(language), "bases": [(b, _(BASIS_LABELS[b])) for b in FIGURE_BASES],
        "languages": technology_form.material_language_choices(language),
        "methodologies": [(m.number, f"{m.number} {m.title}".strip()[:90]) for m in methodologies],
        "status_label": technologies.status_label,
    }, status_code=status_code)


def _edit_list(values: dict[str, Any], form) -> bool:
    """'Add' and 'Remove' without JavaScript: change the rows and show the form again (nothing saved)."""
    add, remove = str(form.get("list_add", "")), str(form.get("list_remove", ""))
    if add == "products":
        values["products"].append("")
    elif add == "track_records":
        values["track_records"].append({name: "" for name in technology_form.TRACK_FIELDS})
    elif ":" in remove:
        name, _sep, index = remove.partition(":")
        if name in ("products", "track_records") and index.isdigit() and int(index) < len(values[name]):
            values[name].pop(int(index))
    else:
        return False
    return True


@router.get("/technologies/new", response_class=HTMLResponse)
def new_technology_form(request: Request, session: DbSession, user: Member):
    """The form for a new technology."""
    technology_form.check_can_register(user)
    return _form_page(request, session, technology_form.empty_values(), {})


@router.post("/technologies/new", response_class=HTMLResponse)
def create_technology(request: Request, session: DbSession, user: Member, form: Form):
    """Save a new technology (it waits for review); bad input shows the form again with everything kept."""
    values = technology_form.form_values(form) | {"image_upload": str(form.get("image_upload", ""))}
    if _edit_list(values, form):
        return _form_page(request, session, values, {})
    try:
        technology_form.create_technology(session, request.app.state.settings, user, values, form.get("image"))
    except ValidationFailed as exc:
        return _form_page(request, session, values, exc.field_errors, status_code=422)
    return RedirectResponse("/technologies/mine?done=new", status_code=303)


@router.get("/technologies/{technology_id}/edit", response_class=HTMLResponse)
def edit_technology_form(request: Request, session: DbSession, user: Member, technology_id: DbId):
    """The form with the technology's values (the proposed text where changes wait for review)."""
    technology = _own(session, user, technology_id)
    return _form_page(request, session, technology_form.values_of(technology), {}, technology)


@router.post("/technologies/{technology_id}/edit", response_class=HTMLResponse)
def update_technology(request: Request, session: DbSession, user: Member, form: Form, technology_id: DbId):
    """Save an edit; public text changes of a published technology wait for review."""
    technology = _own(session, user, technology_id)
    values = technology_form.form_values(form) | {"image_upload": str(form.get("image_upload", ""))}
    if _edit_list(values, form):
        return _form_page(request, session, values, {}, technology)
    try:
        outcome = technology_form.update_technology(session, request.app.state.settings, user, technology, values,
                                                    form.get("image"), remove_image=bool(form.get("remove_image")))
    except ValidationFailed as exc:
        return _form_page(request, session, values, exc.field_errors, technology, status_code=422)
    return RedirectResponse(f"/technologies/mine?done={outcome}", status_code=303)


@router.post("/technologies/{technology_id}/delete")
def delete_technology(request: Request, session: DbSession, user: Member, technology_id: DbId):
    """Delete one of the organization's technologies."""
    technology_form.delete_technology(session, user, _own(session, user, technology_id))
    return RedirectResponse("/technologies/mine?done=deleted", status_code=303)
