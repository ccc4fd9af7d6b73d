"""The checks of a technology form: each field read as people type it (numbers with grouping, full-width digits,
yen signs), bounded, and refused with a message beside the field; the image checked with the rest, so one refusal
lists every problem and nothing is stored until all pass.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from PIL import Image
from sqlalchemy import select
from sqlalchemy.orm import Session

from models import FIGURE_BASES, Methodology
from web.errors import ValidationFailed
from web.i18n import _, country_choices
from web.services import catalogs
from web.services.technology_images import ImageStore, ProcessedImage, process_image

# Languages a technology's material (brochures, manuals, staff) may be in: Japanese, English and the partner
# countries' languages. Names come from Babel in the UI language.
MATERIAL_LANGUAGES = ("ja", "en", "vi", "th", "id", "tl", "km", "lo", "my", "mn", "bn", "si", "ta", "hi", "dv", "es",
                      "fr", "ar", "ru", "uz", "kk", "ky", "az", "ka", "ro", "uk", "sw", "am", "pt")
MAX_NAME = 200
MAX_DESCRIPTION = 5000
MIN_DESCRIPTION = 30
MAX_PRODUCTS = 20
MAX_PRODUCT = 200
MAX_TRACK_RECORDS = 30
MAX_TRACK_TEXT = 300
MAX_PROJECT = 200
MAX_GHG_T = 10_000_000
MAX_INVESTMENT_JPY = 1_000_000_000_000
MAX_SAVINGS_JPY = 100_000_000_000
MAX_DURABLE_YEARS = 60
TRACK_FIELDS = ("country", "year", "description", "project", "methodology")


@dataclass
class TrackInput:
    country: str
    year: int | None
    description: str
    jcm_project: str
    methodology: str | None


@dataclass
class TechnologyInput:
    """Checked values of the form."""

    name: str
    name_ja: str
    category: str
    description: str
    description_ja: str
    products: list[str]
    ghg_reduction_t: float | None
    figures_basis: str
    investment_jpy: int | None
    annual_savings_jpy: int | None
    durable_years: int | None
    languages: list[str]
    track_records: list[TrackInput] = field(default_factory=list)


_GROUPING = re.compile(r"[\s,_'’]")


def parse_number(raw: str, *, integer: bool) -> Decimal | None:
    """A number as people type it (1,200,000 / １２００ / ¥5,000,000 / 2.5), or None when empty.

    ValueError when it is not a number.
    """
    text = unicodedata.normalize("NFKC", raw or "").strip()
    for affix in ("¥", "円", "JPY", "jpy", "tCO2", "t"):
        text = text.removeprefix(affix).removesuffix(affix).strip()
    text = _GROUPING.sub("", text)
    if not text:
        return None
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise ValueError(text) from None
    if not number.is_finite() or (integer and number != number.to_integral_value()):
        raise ValueError(text)
    return number


def _figure(values: dict, key: str, errors: dict, *, integer: bool, positive: bool, maximum: int,
            too_big: str, too_small: str) -> Decimal | None:
    try:
        number = parse_number(values.get(key, ""), integer=integer)
    except ValueError:
        errors[key] = (_("Enter a whole number, such as 1,200,000.") if integer
                       else _("Enter a number, such as 1,250.5."))
        return None
    if number is None:
        return None
    if number < 0 or (positive and number == 0):
        errors[key] = too_small
    elif number > maximum:
        errors[key] = too_big
    return number


def validate(session: Session, values: dict[str, Any]) -> TechnologyInput:
    """The checked input, or ValidationFailed naming every field at fault (nothing is stored)."""
    errors: dict[str, str] = {}
    name = " ".join(values.get("name", "").split())
    name_ja = " ".join(values.get("name_ja", "").split())
    if not name:
        errors["name"] = _("Give the technology's name (in English).")
    elif len(name) > MAX_NAME:
        errors["name"] = _("Keep the name to 200 characters.")
    if len(name_ja) > MAX_NAME:
        errors["name_ja"] = _("Keep the name to 200 characters.")
    category = values.get("category", "")
    if category not in {cat.slug for cat in catalogs.categories(session)}:
        errors["category"] = _("Choose a category from the list.")
    description = values.get("description", "").strip()
    description_ja = values.get("description_ja", "").strip()
    if len(description) < MIN_DESCRIPTION:
        errors["description"] = _("Describe the technology in at least 30 characters: what it does and for whom.")
    elif len(description) > MAX_DESCRIPTION:
        errors["description"] = _("Keep the description to 5,000 characters.")
    if len(description_ja) > MAX_DESCRIPTION:
        errors["description_ja"] = _("Keep the description to 5,000 characters.")
    products = [" ".join(p.split()) for p in values.get("products", []) if p.strip()]
    if len(products) > MAX_PRODUCTS or any(len(p) > MAX_PRODUCT for p in products):
        errors["products"] = _("Give at most 20 products or models of up to 200 characters each.")
    ghg = _figure(values, "ghg_reduction_t", errors, integer=False, positive=True, maximum=MAX_GHG_T,
                  too_big=_("More than 10 million tonnes a year is beyond any single installation: check the figure."),
                  too_small=_("Give a reduction above zero, or leave it empty."))
    investment = _figure(values, "investment_jpy", errors, integer=True, positive=True, maximum=MAX_INVESTMENT_JPY,
                         too_big=_("More than 1 trillion yen: check the figure (in yen, not thousands)."),
                         too_small=_("Give a cost above zero, or leave it empty."))
    savings = _figure(values, "annual_savings_jpy", errors, integer=True, positive=False, maximum=MAX_SAVINGS_JPY,
                      too_big=_("More than 100 billion yen a year: check the figure (in yen, not thousands)."),
                      too_small=_("Savings cannot be negative; leave the field empty if unknown."))
    years = _figure(values, "durable_years", errors, integer=True, positive=True, maximum=MAX_DURABLE_YEARS,
                    too_big=_("Legal durable years are at most 60."),
                    too_small=_("Give the legal durable years as a whole number from 1 to 60."))
    basis = values.get("figures_basis", "")
    if basis and basis not in FIGURE_BASES:
        errors["figures_basis"] = _("Choose what the figures are counted per.")
    elif not basis and any(v is not None for v in (ghg, investment, savings)):
        errors["figures_basis"] = _("Say what the figures are counted per: a unit, a site or a project.")
    languages = list(dict.fromkeys(values.get("languages", [])))
    if any(code not in MATERIAL_LANGUAGES for code in languages):
        errors["languages"] = _("Choose languages from the list.")
    tracks = _validate_tracks(session, values.get("track_records", []), errors)
    if errors:
        raise ValidationFailed(_("Please correct the marked fields. Nothing was saved yet."), field_errors=errors)
    return TechnologyInput(name, name_ja, category, description, description_ja, products,
                           float(ghg) if ghg is not None else None, basis,
                           int(investment) if investment is not None else None,
                           int(savings) if savings is not None else None, int(years) if years is not None else None,
                           languages, tracks)


def _validate_tracks(session: Session, rows: list[dict[str, str]], errors: dict[str, str]) -> list[TrackInput]:
    rows = [row for row in rows if any(str(row.get(k, "")).strip() for k in TRACK_FIELDS)]
    if len(rows) > MAX_TRACK_RECORDS:
        errors["track_records"] = _("Give at most 30 track records.")
        return []
    countries = {code for code, _name in country_choices("en")}
    methodologies = set(session.scalars(select(Methodology.number))) if rows else set()
    out, this_year = [], date.today().year
    for number, row in enumerate(rows, 1):
        country = str(row.get("country", "")).strip().upper()
        year_text = unicodedata.normalize("NFKC", str(row.get("year", ""))).strip()
        text = " ".join(str(row.get("description", "")).split())
        project = " ".join(str(row.get("project", "")).split())
        methodology = str(row.get("methodology", "")).strip() or None
        problem = ""
        if country not in countries:
            problem = _("Track record %(n)d: choose the country.") % {"n": number}
        elif year_text and not (year_text.isdigit() and 1950 <= int(year_text) <= this_year + 1):
            problem = _("Track record %(n)d: give the year as four digits, such as 2019.") % {"n": number}
        elif len(text) > MAX_TRACK_TEXT or len(project) > MAX_PROJECT:
            problem = _("Track record %(n)d: keep the text to 300 characters.") % {"n": number}
        elif methodology and methodology not in methodologies:
            problem = _("Track record %(n)d: choose a JCM methodology from the list.") % {"n": number}
        if problem:
            errors.setdefault("track_records", problem)
            continue
        out.append(TrackInput(country, int(year_text) if year_text else None, text, project, methodology))
    return out


def read_image(upload: Any, settings) -> ProcessedImage | None:
    """The uploaded image checked and re-encoded (None when no file was chosen)."""
    if upload is None or isinstance(upload, str) or not getattr(upload, "filename", ""):
        return None
    limit = int(settings.technology_image_max_mb * 1_000_000)
    content = upload.file.read(limit + 1)
    if not content:
        return None
    return process_image(content, limit)


@dataclass
class Checked:
    """A form that passed every check, with its image (a new upload, or one kept from a refused attempt)."""

    data: TechnologyInput
    image_key: str | None = None
    image: tuple[int, int] | None = None


def check_form(session: Session, settings, values: dict[str, Any], upload: Any = None) -> Checked:
    """Every field and the image checked together, so one refusal lists every problem.

    An image that passed while other fields did not is kept (its key goes back in values['image_upload']), so the
    person does not have to choose the file again.
    """
    store = ImageStore.from_settings(settings)
    errors: dict[str, str] = {}
    data = None
    try:
        data = validate(session, values)
    except ValidationFailed as exc:
        errors |= exc.field_errors
    key, size = None, None
    try:
        image = read_image(upload, settings)
    except ValidationFailed as exc:
        errors |= exc.field_errors
        image = None
    if image is not None:
        key, size = store.save(image), (image.width, image.height)
    elif values.get("image_upload"):
        key, size = kept_upload(store, str(values["image_upload"]))
    values["image_upload"] = key or ""
    if errors or data is None:
        raise ValidationFailed(_("Please correct the marked fields. Nothing was saved yet."), field_errors=errors)
    return Checked(data, key, size)


def kept_upload(store: ImageStore, key: str) -> tuple[str | None, tuple[int, int] | None]:
    """An image saved by an earlier refused attempt (its key came back in the form), if it is still there."""
    try:
        path = store.path(key)
    except ValueError:
        return None, None
    if not path.is_file():
        return None, None
    with Image.open(path) as image:
        return key, image.size
