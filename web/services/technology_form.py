"""An organization's own technologies: the form's values and the verbs that save them (the checks are in
web/services/technology_checks.py).

Saving is all or nothing: every field (and the image) is checked first and a refusal names each field at fault;
only then are the image files written and the row changed. A new technology waits for an organizer; edits to a
published one go back for review only where they change what the catalogue shows as text (names, descriptions,
products) or its image: until accepted, those wait in `pending_changes` and the public page keeps the published
version, while figures, track record, languages and category apply at once.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from babel import Locale
from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Organization, Technology, TechnologyTrackRecord, User
from models.base import utcnow
from web.errors import Forbidden
from web.i18n import _
from web.services import after_commit, notifications
from web.services.technologies import TECHNOLOGY_KINDS
from web.services.technology_checks import MATERIAL_LANGUAGES, TRACK_FIELDS, TechnologyInput, check_form

PUBLIC_TEXT_FIELDS = ("name", "name_ja", "description", "description_ja", "products")


@lru_cache(maxsize=4)
def material_language_choices(language: str) -> list[tuple[str, str]]:
    """(code, name in the UI language) of the languages a technology's material may be in (CLDR names from Babel)."""
    names = Locale.parse(language).languages
    return [(code, names.get(code, code)) for code in MATERIAL_LANGUAGES]


def language_name(code: str, language: str) -> str:
    return Locale.parse(language).languages.get(code, code)


def check_can_register(user: User) -> Organization:
    """The user's organization, if it may list technologies (approved technology providers and partner companies)."""
    org = user.organization
    if org is None or not org.is_approved:
        raise Forbidden(_("Only members of an approved organization can list technologies."), code="not_approved")
    if org.kind not in TECHNOLOGY_KINDS:
        raise Forbidden(_("The catalogue lists technologies of technology providers and partner companies. Financing, "
                          "consulting and other services belong in your profile's offers."), code="not_a_provider")
    return org


# --- form values ---------------------------------------------------------------------------------------------------

def form_values(form: Any) -> dict[str, Any]:
    """The submitted form as the page re-shows it (strings and lists, nothing lost)."""
    def text(key: str) -> str:
        return str(form.get(key) or "")
    tracks = [form.getlist(f"track_{name}") for name in TRACK_FIELDS]
    rows = [dict(zip(TRACK_FIELDS, (str(v) for v in values))) for values in zip(*tracks)] if tracks[0] else []
    return {
        "name": text("name"), "name_ja": text("name_ja"), "category": text("category"),
        "description": text("description"), "description_ja": text("description_ja"),
        "products": [str(p) for p in form.getlist("products")], "ghg_reduction_t": text("ghg_reduction_t"),
        "figures_basis": text("figures_basis"), "investment_jpy": text("investment_jpy"),
        "annual_savings_jpy": text("annual_savings_jpy"), "durable_years": text("durable_years"),
        "languages": [str(v) for v in form.getlist("languages")], "track_records": rows,
    }


def number_text(value: float | int | None, grouping: bool = False) -> str:
    """A stored figure as the form shows it ('' when empty; 200,000,000 with grouping)."""
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:,g}" if grouping else f"{value:g}"
    return f"{value:,}" if grouping else str(value)


def values_of(technology: Technology) -> dict[str, Any]:
    """The form's values for an existing technology: proposed text where changes wait for review."""
    pending = technology.pending_changes or {}
    values = {name: pending.get(name, getattr(technology, name)) for name in PUBLIC_TEXT_FIELDS}
    values |= {
        "products": list(values["products"] or []), "category": technology.category,
        "ghg_reduction_t": number_text(technology.ghg_reduction_t, True), "figures_basis": technology.figures_basis,
        "investment_jpy": number_text(technology.investment_jpy, True),
        "annual_savings_jpy": number_text(technology.annual_savings_jpy, True),
        "durable_years": number_text(technology.durable_years), "languages": list(technology.languages or []),
        "track_records": [{"country": t.country, "year": number_text(t.year), "description": t.description,
                           "project": t.jcm_project, "methodology": t.methodology or ""}
                          for t in technology.track_records],
    }
    return values


def empty_values() -> dict[str, Any]:
    return {"name": "", "name_ja": "", "category": "", "description": "", "description_ja": "", "products": [],
            "ghg_reduction_t": "", "figures_basis": "", "investment_jpy": "", "annual_savings_jpy": "",
            "durable_years": "", "languages": [], "track_records": []}


# --- verbs ---------------------------------------------------------------------------------------------------------

def apply_input(technology: Technology, data: TechnologyInput, *, text: bool) -> None:
    if text:
        for name in PUBLIC_TEXT_FIELDS:
            setattr(technology, name, getattr(data, name))
    for name in ("category", "ghg_reduction_t", "figures_basis", "investment_jpy", "annual_savings_jpy",
                 "durable_years", "languages"):
        setattr(technology, name, getattr(data, name))
    technology.track_records = [
        TechnologyTrackRecord(position=i, country=t.country, year=t.year, description=t.description,
                              jcm_project=t.jcm_project, methodology=t.methodology)
        for i, t in enumerate(data.track_records)]
    technology.updated_at = utcnow()  # track records live in their own table: the catalogue's fingerprint must move


def _set_image(technology: Technology, key: str | None, size: tuple[int, int] | None) -> None:
    technology.image_key = key
    technology.image_width, technology.image_height = size if size else (None, None)


def create_technology(session: Session, settings, user: User, values: dict[str, Any], upload: Any = None) -> Technology:
    """A new technology of the user's organization, waiting for review; organizers hear of it."""
    org = check_can_register(user)
    checked = check_form(session, settings, values, upload)
    data = checked.data
    technology = Technology(organization_id=org.id, status="pending", name=data.name, category=data.category)
    apply_input(technology, data, text=True)
    if checked.image_key:
        _set_image(technology, checked.image_key, checked.image)
    session.add(technology)
    session.flush()
    notifications.notify_organizers(session, settings, "technology_submitted", f"technology:{technology.id}:new",
                                    org=org, extra={"technology": technology.name, "changes": False})
    return technology


def _text_changes(technology: Technology, data: TechnologyInput) -> dict[str, Any]:
    return {name: getattr(data, name) for name in PUBLIC_TEXT_FIELDS
            if getattr(data, name) != (list(technology.products or []) if name == "products"
                                        else getattr(technology, name))}


def update_technology(session: Session, settings, user: User, technology: Technology, values: dict[str, Any],
                      upload: Any = None, remove_image: bool = False) -> str:
    """Save the owner's edit; returns what happened: 'saved', 'review' (waits for an organizer) or 'resubmitted'."""
    org = check_can_register(user)
    if technology.organization_id != org.id:
        raise Forbidden(_("Only the organization that listed a technology can edit it."))
    checked = check_form(session, settings, values, upload)
    data, key = checked.data, checked.image_key
    if technology.status != "published":
        apply_input(technology, data, text=True)
        if key or remove_image:
            _set_image(technology, key, checked.image)
        outcome = "saved"
        if technology.status == "unpublished":
            technology.status, outcome = "pending", "resubmitted"
        session.flush()
        if outcome == "resubmitted":
            notifications.notify_organizers(session, settings, "technology_submitted", None, org=org,
                                            extra={"technology": technology.name, "changes": False})
        return outcome
    apply_input(technology, data, text=False)
    after_commit.run_job(session, after_commit.INDEX_TECHNOLOGIES)  # its category is part of the text it is ranked on
    before = dict(technology.pending_changes or {})
    changes = _text_changes(technology, data)
    if key:
        changes |= {"image_key": key, "image_width": checked.image[0], "image_height": checked.image[1]}
    elif remove_image:
        changes |= {"image_key": None, "image_width": None, "image_height": None}
    elif "image_key" in before:  # an image uploaded earlier still waits for review
        changes |= {name: before[name] for name in ("image_key", "image_width", "image_height")}
    technology.pending_changes = changes or None
    session.flush()
    if changes and changes != before:
        notifications.notify_organizers(session, settings, "technology_submitted", None, org=org,
                                        extra={"technology": technology.name, "changes": True})
    return "review" if changes else "saved"


def delete_technology(session: Session, user: User, technology: Technology) -> None:
    """The owner removes a technology from the platform (its image files go with the hourly clean-up)."""
    if user.organization_id != technology.organization_id and not user.is_organizer:
        raise Forbidden(_("Only the organization that listed a technology can delete it."))
    if technology.status == "published":
        technology.organization.updated_at = utcnow()  # its offers in matching change
        after_commit.run_job(session, after_commit.INDEX_TECHNOLOGIES)
        after_commit.run_job(session, after_commit.EMBED_PROFILES)
    session.delete(technology)
    session.flush()


def referenced_image_keys(session: Session) -> set[str]:
    """Image keys technologies use or propose (the clean-up job keeps these files)."""
    keys = {key for key in session.scalars(select(Technology.image_key).where(Technology.image_key.is_not(None)))}
    for changes in session.scalars(select(Technology.pending_changes).where(Technology.pending_changes.is_not(None))):
        if isinstance(changes, dict) and changes.get("image_key"):
            keys.add(changes["image_key"])
    return keys


def own_technologies(session: Session, organization_id: int) -> list[Technology]:
    """All technologies of one organization, whatever their status, by name."""
    return list(session.scalars(select(Technology).where(Technology.organization_id == organization_id)
                                .order_by(Technology.name, Technology.id)))
