"""Profile verbs: read the profile form, save a member's own organization, save account settings."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy.orm import Session

from models import Organization, User
from web.errors import ValidationFailed
from web.i18n import LANGUAGES, _, is_time_zone
from web.services import after_commit, catalogs, sectors
from web.services.accounts import normalize_email
from web.services.organizations import apply_organization, category_slugs, validate_organization
from web.services.text import single_line_error

# The list editors of the form; each posts one input per item under the field's name.
LIST_EDITOR_FIELDS = ("offers", "needs")
PHONE_RE = re.compile(r"^[0-9+()./ -]{4,50}$")
CODE_SPLIT_RE = re.compile(r"[\s,;]+")


def kind_is_editable(org: Organization) -> bool:
    """The kind can change only while the organization waits for its first review."""
    return org.status == "pending"


def profile_values(org: Organization) -> dict[str, Any]:
    """The form values of a saved organization; each list editor ends with a blank row to type into."""
    values = {
        "name": org.name, "kind": org.kind, "country": org.country, "description": org.description,
        "website": org.website, "offers": list(org.offers or []), "needs": list(org.needs or []),
        "sectors": list(org.sectors or []), "technology_categories": list(org.technology_categories or []),
        "target_countries": list(org.target_countries or []), "target_countries_other": "",
        "contact_name": org.contact_name, "contact_email": org.contact_email, "contact_phone": org.contact_phone,
    }
    for key in LIST_EDITOR_FIELDS:
        values[key].append("")
    return values


def other_sectors(values: dict[str, Any], vocabulary: sectors.Vocabulary) -> list[tuple[str, str]]:
    """(value, text) of the form's sectors outside the vocabulary: kept from before it, until the owner drops them."""
    texts = [sectors.other_text(value) if sectors.is_other(value) else value for value in values.get("sectors", [])
             if vocabulary.get(value) is None]
    return [(sectors.other_value(text), text) for text in texts if text]


def partner_country_codes(session: Session) -> list[str]:
    """ISO codes of the JCM partner countries, shown as checkboxes (reference data, cached)."""
    return catalogs.partner_countries(session)


def split_other_codes(org_values: dict[str, Any], partner_codes: list[str]) -> dict[str, Any]:
    """Move target countries that have no checkbox into the free-text field."""
    others = [code for code in org_values["target_countries"] if code not in partner_codes]
    org_values["target_countries"] = [code for code in org_values["target_countries"] if code in partner_codes]
    org_values["target_countries_other"] = ", ".join(others)
    return org_values


def read_profile_form(form: Any) -> dict[str, Any]:
    """The profile form as posted: text fields, and lists with their blank rows kept (for re-rendering)."""
    values: dict[str, Any] = {key: str(form.get(key, "")) for key in (
        "name", "kind", "country", "description", "website", "target_countries_other",
        "contact_name", "contact_email", "contact_phone")}
    for key in (*LIST_EDITOR_FIELDS, "sectors", "technology_categories", "target_countries"):
        values[key] = [str(item) for item in form.getlist(key)]
    return values


def edit_list(values: dict[str, Any], add: str = "", remove: str = "") -> dict[str, Any]:
    """Add a blank row to a list editor, or drop row `field:index` (the no-JavaScript buttons)."""
    if add in LIST_EDITOR_FIELDS:
        values[add] = [*values[add], ""]
    name, _sep, index = remove.partition(":")
    if name in LIST_EDITOR_FIELDS and index.isdigit() and int(index) < len(values[name]):
        del values[name][int(index)]
    return values


def _validate_contact(values: dict[str, Any]) -> tuple[dict[str, str], dict[str, str]]:
    """Clean contact fields and a message per bad one."""
    errors: dict[str, str] = {}
    name = values.get("contact_name", "").strip()
    email = values.get("contact_email", "").strip()
    phone = values.get("contact_phone", "").strip()
    if len(name) > 200:
        errors["contact_name"] = _("Keep the name to 200 characters.")
    elif message := single_line_error(name):
        errors["contact_name"] = message
    if email:
        try:
            email = normalize_email(email)
        except ValueError:
            errors["contact_email"] = _("Enter a valid email address, such as name@example.com.")
    if phone and not PHONE_RE.match(phone):
        errors["contact_phone"] = _("Enter a phone number of digits, spaces and + ( ) - only, such as +81 3 1234 5678.")
    return {"contact_name": name, "contact_email": email, "contact_phone": phone}, errors


def update_profile(session: Session, org: Organization, values: dict[str, Any]) -> Organization:
    """Validate the posted form and save it onto the user's own organization (ValidationFailed lists bad fields)."""
    other_codes = [code for code in CODE_SPLIT_RE.split(values.get("target_countries_other", "")) if code]
    raw = {key: values.get(key) for key in (
        "name", "country", "description", "website", "offers", "needs", "sectors", "technology_categories")}
    # The kind is fixed once reviewed: approval was given for that kind of organization.
    raw["kind"] = values.get("kind") if kind_is_editable(org) else org.kind
    raw["target_countries"] = [*values.get("target_countries", []), *other_codes]
    data, errors = validate_organization(raw, category_slugs(session), sectors=sectors.vocabulary(session))
    if "target_countries" in errors:
        errors["target_countries_other"] = errors.pop("target_countries")
    contact, contact_errors = _validate_contact(values)
    errors.update(contact_errors)
    if errors or data is None:
        raise ValidationFailed(_("Please correct the marked fields."), field_errors=errors)
    apply_organization(org, data, keep_source=True)
    for key, value in contact.items():
        setattr(org, key, value)
    session.flush()
    after_commit.run_job(session, after_commit.EMBED_PROFILES)  # new texts are embedded by the job, never here
    return org


def update_account(session: Session, user: User, language: str, time_zone: str) -> User:
    """Save the user's language and time zone."""
    errors: dict[str, str] = {}
    if language not in LANGUAGES:
        errors["language"] = _("Choose a language from the list.")
    if not is_time_zone(time_zone):
        errors["time_zone"] = _("Choose a time zone from the list.")
    if errors:
        raise ValidationFailed(_("Please correct the marked fields."), field_errors=errors)
    user.language = language
    user.time_zone = time_zone
    session.flush()
    return user
