"""Organization verbs: validate a profile, save it, look it up, review it."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, fields
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import ORGANIZATION_KINDS, Organization, OrganizationTag, TechnologyCategory
from models.base import utcnow
from models.organization import TAGGED_FIELDS
from web.errors import NotFound, ValidationFailed
from web.i18n import N_, _, country_choices, current_language
from web.services import after_commit, notifications
from web.services.sectors import Vocabulary, is_other, public_values
from web.services.sessions import end_organization_sessions
from web.services.text import free_text_error, single_line_error

EXTERNAL_ID_RE = re.compile(r"^[A-Za-z0-9._-]{1,100}$")
LIST_FIELDS = ("offers", "needs", "sectors", "technology_categories", "target_countries")
MAX_LIST_ITEMS = 50
KIND_LABELS = {
    "japanese_company": N_("Japanese company"),
    "partner_company": N_("Partner-country company"),
    "financial_institution": N_("Financial institution"),
    "consultant": N_("Consultant"),
    "public_body": N_("Public body"),
}
STATUS_LABELS = {
    "pending": N_("Waiting for approval"),
    "approved": N_("Approved"),
    "rejected": N_("Rejected"),
    "suspended": N_("Suspended"),
}


@dataclass
class OrganizationData:
    """A validated organization profile, as the interchange format and the profile form carry it."""

    name: str
    kind: str
    country: str
    description: str = ""
    offers: list[str] = field(default_factory=list)
    needs: list[str] = field(default_factory=list)
    sectors: list[str] = field(default_factory=list)
    technology_categories: list[str] = field(default_factory=list)
    target_countries: list[str] = field(default_factory=list)
    website: str = ""
    source: str = ""
    external_id: str | None = None


def kind_label(kind: str) -> str:
    """The kind's name in the UI language."""
    return _(KIND_LABELS.get(kind, kind))


def kind_choices() -> list[tuple[str, str]]:
    return [(kind, kind_label(kind)) for kind in ORGANIZATION_KINDS]


@lru_cache(maxsize=1)
def known_country_codes() -> frozenset[str]:
    # cached: validate_organization runs once per line of a 100k-line import
    return frozenset(code for code, _name in country_choices("en"))


def category_slugs(session: Session) -> set[str]:
    return set(session.scalars(select(TechnologyCategory.slug)))


def _clean_list(value: Any) -> list[str]:
    """Strip, drop blanks and duplicates, keep order."""
    if value is None:
        return []
    if isinstance(value, str):
        value = [value]
    seen: list[str] = []
    for item in value:
        text = str(item).strip()
        if text and text not in seen:
            seen.append(text)
    return seen


def kind_error(from_file: bool) -> str:
    """What to say about a kind that is not one of ours: a form offers a list; a file must use the format's codes."""
    if not from_file:
        return _("Choose the kind of organization from the list.")
    codes = _(", ").join(_("%(code)s (%(label)s)") % {"code": kind, "label": kind_label(kind)}
                         for kind in ORGANIZATION_KINDS)
    return _("Use one of these codes for the kind: %(codes)s.") % {"codes": codes}


def sectors_error(unknown: list[str], sectors: Vocabulary, from_file: bool) -> str:
    """What to say about sectors that are not in the vocabulary, naming the ones that are."""
    if not from_file:
        return _("Choose sectors from the list.")
    return _("Unknown sectors: %(values)s. Use the sectors of the list (%(names)s), in English or Japanese, or write "
             "“other: ” before a sector that is not in it (shown only to the organization).") % {
        "values": _(", ").join(f"“{value}”" for value in unknown),
        "names": _(", ").join(sectors.names(current_language()))}


def validate_organization(raw: dict[str, Any], categories: set[str], *, sectors: Vocabulary | None = None,
                          require_external_id: bool = False,
                          from_file: bool = False) -> tuple[OrganizationData | None, dict[str, str]]:
    """Check a profile; returns the clean data or a message per field (nothing is changed).

    sectors: the vocabulary that sector names are read through (needed when raw has sectors); from_file: the raw
    values come from an interchange file, whose messages name the format's codes.
    """
    errors: dict[str, str] = {}
    name = str(raw.get("name") or "").strip()
    if not 1 <= len(name) <= 200:
        errors["name"] = _("Enter a name of 1 to 200 characters.")
    elif message := single_line_error(name):
        errors["name"] = message  # a name becomes part of email subjects: one line only
    kind = str(raw.get("kind") or "").strip()
    if kind not in ORGANIZATION_KINDS:
        errors["kind"] = kind_error(from_file)
    countries = known_country_codes()
    country = str(raw.get("country") or "").strip().upper()
    if country not in countries:
        errors["country"] = _("Enter a two-letter ISO 3166 country code, such as JP or ID.")
    description = str(raw.get("description") or "").strip()
    if len(description) > 5000:
        errors["description"] = _("Keep the description to 5,000 characters (it has %(n)d).") % {"n": len(description)}
    elif message := free_text_error(description):
        errors["description"] = message
    lists = {name_: _clean_list(raw.get(name_)) for name_ in LIST_FIELDS}
    for name_ in ("offers", "needs"):
        if any(len(item) > 1000 for item in lists[name_]):
            errors[name_] = _("Each entry can have at most 1,000 characters.")
    for name_ in LIST_FIELDS:
        if len(lists[name_]) > MAX_LIST_ITEMS and name_ not in errors:
            errors[name_] = _("At most %(n)d entries.") % {"n": MAX_LIST_ITEMS}
    for name_ in ("offers", "needs"):
        if name_ not in errors and (message := next(filter(None, map(free_text_error, lists[name_])), None)):
            errors[name_] = message
    if any(len(item) > 200 for item in lists["sectors"]):
        errors["sectors"] = _("Each sector can have at most 200 characters.")
    elif message := next(filter(None, map(single_line_error, lists["sectors"])), None):
        errors["sectors"] = message
    elif lists["sectors"]:
        if sectors is None:
            raise ValueError("validate_organization needs the sector vocabulary to read sectors")
        cleaned = sectors.clean(lists["sectors"])
        lists["sectors"] = cleaned.values
        if cleaned.unknown:
            errors["sectors"] = sectors_error(cleaned.unknown, sectors, from_file)
    unknown = [slug for slug in lists["technology_categories"] if slug not in categories]
    if unknown:
        errors["technology_categories"] = _("Unknown technology categories: %(slugs)s.") % {"slugs": ", ".join(unknown)}
    lists["target_countries"] = [code.upper() for code in lists["target_countries"]]
    bad = [code for code in lists["target_countries"] if code not in countries]
    if bad:
        errors["target_countries"] = _("Unknown country codes: %(codes)s.") % {"codes": ", ".join(bad)}
    website = str(raw.get("website") or "").strip()
    if website:
        parts = urlsplit(website)
        if (parts.scheme not in ("http", "https") or not parts.netloc or len(website) > 500
                or single_line_error(website)):
            errors["website"] = _("Enter a full web address starting with http:// or https://.")
    # Every text field is checked here, not only at the form edge: an imported file does not pass
    # web.inputs, and PostgreSQL refuses NUL in text.
    source = str(raw.get("source") or "").strip()
    if message := single_line_error(source):
        errors["source"] = message
    external_id = raw.get("id", raw.get("external_id"))
    external_id = str(external_id).strip() if external_id not in (None, "") else None
    if external_id is None and require_external_id:
        errors["id"] = _("An id is required.")
    elif external_id is not None and not EXTERNAL_ID_RE.match(external_id):
        errors["id"] = _("The id must be 1 to 100 characters of letters, digits, dot, underscore or hyphen.")
    if errors:
        return None, errors
    return OrganizationData(
        name=name, kind=kind, country=country, description=description, website=website,
        source=source, external_id=external_id, **lists,
    ), {}


def search_text_for(org: Organization) -> str:
    """The lower-cased text that directory search looks in (not "other:" sectors, which only the owner sees)."""
    parts = [org.name, org.description, *org.offers, *org.needs, *public_values(org.sectors)]
    return " \n".join(part for part in parts if part).lower()


def apply_organization(org: Organization, data: OrganizationData, *, keep_source: bool = False) -> Organization:
    """Copy validated data onto the row and refresh its filter tags and search text."""
    for f in fields(OrganizationData):
        if f.name == "external_id" and data.external_id is None:
            continue
        if f.name == "source" and keep_source and not data.source:
            continue
        setattr(org, f.name, getattr(data, f.name))
    refresh_tags(org)
    org.updated_at = utcnow()
    return org


def tag_values(org: Organization | OrganizationData) -> list[tuple[str, str]]:
    """(field, value) of every filter tag: each category, target country and sector, but no "other:" sector."""
    return [(name, value) for name in TAGGED_FIELDS for value in getattr(org, name) or []
            if not (name == "sectors" and is_other(value))]


def refresh_tags(org: Organization) -> None:
    """Rebuild the organization_tag rows from the list fields (the JSON lists are the truth)."""
    wanted = set(tag_values(org))
    org.tags = [tag for tag in org.tags if (tag.field, tag.value) in wanted]
    have = {(tag.field, tag.value) for tag in org.tags}
    for name, value in sorted(wanted - have):
        org.tags.append(OrganizationTag(field=name, value=value[:200]))
    org.search_text = search_text_for(org)


def create_organization(session: Session, data: OrganizationData, *, status: str = "pending",
                        is_demo: bool = False) -> Organization:
    """Insert a new organization from validated data."""
    org = Organization(status=status, is_demo=is_demo, offers=[], needs=[], sectors=[],
                       technology_categories=[], target_countries=[], tags=[])
    apply_organization(org, data)
    session.add(org)
    session.flush()
    return org


def get_organization(session: Session, org_id: int) -> Organization:
    """An organization by id, or 404."""
    org = session.get(Organization, org_id)
    if org is None:
        raise NotFound(_("There is no such organization."))
    return org


def get_visible_organization(session: Session, org_id: int, viewer) -> Organization:
    """An organization the viewer may see: approved ones, their own, or any for organizers."""
    org = get_organization(session, org_id)
    if org.is_approved or (viewer is not None and (viewer.is_organizer or viewer.organization_id == org.id)):
        return org
    raise NotFound(_("There is no such organization."))


def profile_completeness(org: Organization) -> tuple[int, list[str]]:
    """Percent complete and the names of what is still missing."""
    checks = [
        (bool(org.description and len(org.description) >= 80), N_("a description of at least 80 characters")),
        (bool(org.offers) or org.kind == "partner_company", N_("what you offer")),
        (bool(org.needs) or org.kind == "japanese_company", N_("what you need")),
        (bool(org.technology_categories), N_("technology categories")),
        (bool(org.sectors), N_("sectors")),
        (bool(org.target_countries) or org.kind == "partner_company", N_("target countries")),
        (bool(org.website), N_("website")),
        (bool(org.contact_name and org.contact_email), N_("a contact person with email")),
    ]
    done = sum(1 for ok, _label in checks if ok)
    return round(100 * done / len(checks)), [_(label) for ok, label in checks if not ok]


REVIEW_KINDS = {"approved": "organization_approved", "rejected": "organization_rejected",
                "suspended": "organization_suspended"}


def review_organization(session: Session, settings, org: Organization, decision: str, reason: str = "") -> Organization:
    """An organizer approves, rejects (reason required), suspends or reinstates an organization; its members hear it."""
    reason = reason.strip()
    if decision not in ("approved", "rejected", "suspended"):
        raise ValidationFailed(_("Unknown decision."))
    if decision in ("rejected", "suspended") and not reason:
        message = _("Give a reason: the applicant will see it.")
        raise ValidationFailed(message, field_errors={"reason": message})
    if len(reason) > 2000:
        message = _("Keep the reason to 2,000 characters.")
        raise ValidationFailed(message, field_errors={"reason": message})
    org.status = decision
    org.status_reason = reason if decision != "approved" else ""
    org.reviewed_at = utcnow()
    if decision == "suspended":
        # Its members' logins end now; logging in again shows them the reason on their profile.
        end_organization_sessions(session, org.id)
    session.flush()
    if decision == "approved":
        after_commit.run_job(session, after_commit.EMBED_PROFILES)  # it gets its vectors in the background
    # In-app and by email, in each member's language; an imported organization without accounts hears nothing.
    notifications.notify_org(session, settings, org.id, REVIEW_KINDS[decision], None, org=org,
                             extra={"reason": org.status_reason})
    return org
