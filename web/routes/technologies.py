"""The public technology catalogue: the list with facets and 'describe your need', a page per technology, its
image, and the list as CSV or JSON. Open to everyone; nothing here needs a login."""

from __future__ import annotations

import threading
from collections import OrderedDict
from datetime import datetime, timezone
from typing import Any

from fastapi import Request
from fastapi.responses import FileResponse, HTMLResponse, StreamingResponse
from markupsafe import Markup

from sqlalchemy import select

from models import ORGANIZATION_KINDS, Methodology
from web.deps import DbSession, OptionalUser
from web.errors import NotFound
from web.i18n import _, country_name, current_language
from web.matching_state import embedder_of
from web.routing import feature_router
from web.services import catalogs, precheck, technologies, technology_catalogue, technology_search
from web.services.organizations import kind_label
from web.services.technologies import AREAS, Filters
from web.services.technology_export import iter_csv, iter_json
from web.services.technology_form import language_name
from web.services.technology_images import ImageStore
from web.templating import render
from web.values import DbId

router = feature_router()
MAX_PAGE = 10_000


def parse_page(value: Any) -> int:
    try:
        return max(1, min(int(str(value)), MAX_PAGE))
    except (TypeError, ValueError):
        return 1


def _filters(request: Request, session) -> Filters:
    return Filters.from_params(request.query_params).clean(cat.slug for cat in catalogs.categories(session))


def area_names(session, language: str) -> dict[str, str]:
    """The five areas' names (their own categories' names) in the language."""
    names = technologies.category_names(session, language)
    return {area: names.get(area, area) for area in AREAS}


class CardCache:
    """Rendered result cards, kept per catalogue version, language, searched words and reasons (a page of 20 cards
    is most of a list page's rendering time, and the same cards come back across filters and pages)."""

    def __init__(self, size: int = 8192) -> None:
        self.size = size
        self._lock = threading.Lock()
        self._html: OrderedDict[tuple, Markup] = OrderedDict()

    def render(self, env, cards, version: tuple, language: str, words: tuple, reasons: dict, context: dict) -> list:
        out, template = [], None
        for card in cards:
            card_reasons = tuple(reasons.get(card.id, ()))
            key = (version, language, card.id, words, card_reasons)
            with self._lock:
                html = self._html.get(key)
                if html is not None:
                    self._html.move_to_end(key)
            if html is None:
                template = template or env.get_template("technologies/_card.html")
                html = Markup(template.render(context | {"tech": card, "reasons": card_reasons}))
                with self._lock:
                    self._html[key] = html
                    while len(self._html) > self.size:
                        self._html.popitem(last=False)
            out.append(html)
        return out


_CARD_CACHE_LOCK = threading.Lock()


def card_cache(app) -> CardCache:
    with _CARD_CACHE_LOCK:
        cache = getattr(app.state, "technology_cards", None)
        if cache is None:
            cache = app.state.technology_cards = CardCache()
        return cache


def list_context(request: Request, session, user, filters: Filters) -> dict[str, Any]:
    """Everything the list page and its htmx swap show."""
    language = current_language()
    found = technology_search.search(session, filters, language, embedder_of(request.app))
    page = technologies.listing(found.catalogue, found.positions, found.facets,
                                parse_page(request.query_params.get("page")), request.app.state.settings.page_size)
    reasons = {}
    if found.ranked is not None and found.index is not None:
        reasons = {card.id: technology_search.explain(found.index, card, found.ranked, filters.country,
                                                      language=language) for card in page.cards}
    categories = catalogs.categories(session)
    names = {c.slug: c.name(language) for c in categories}
    card_context = {"language": language, "category_names": names, "words": filters.words(),
                    "snippet": technologies.snippet, "shown_products": technologies.shown_products}
    # Category names are reference data, refreshed by `matchmaker seed` without moving the catalogue's version.
    version = (found.catalogue.version, hash(tuple(sorted(names.items()))))
    cards = card_cache(request.app).render(request.app.state.renderer.env, page.cards, version, language,
                                           filters.words(), reasons, card_context)
    return {
        "active_tab": "technologies", "filters": filters, "language": language, "page": page, "card_html": cards,
        "reasons": reasons, "need_state": found.need_state, "words": filters.words(),
        "categories": categories, "category_names": names,
        "area_names": area_names(session, language), "areas": AREAS,
        "kinds": [(kind, kind_label(kind)) for kind in ORGANIZATION_KINDS],
        "country_choices": sorted(((code, country_name(code)) for code in page.facets.country),
                                  key=lambda item: item[1]),
        "can_list": user is not None and user.organization is not None and user.organization.is_approved
        and user.organization.kind in technologies.TECHNOLOGY_KINDS,
        "snippet": technologies.snippet, "shown_products": technologies.shown_products,
    }


@router.get("/technologies", response_class=HTMLResponse)
def show_technologies(request: Request, session: DbSession, user: OptionalUser):
    """The catalogue: facets with live counts, text search, and 'describe your need' ranked by the matching engine."""
    context = list_context(request, session, user, _filters(request, session))
    return render(request, "technologies/index.html", context, fragment="technologies/_swap.html",
                  headers={"Vary": "HX-Request"})


def export_response(request: Request, session, fmt: str) -> StreamingResponse:
    """The filtered list (all of it, in the page's order) as CSV or JSON."""
    filters = _filters(request, session)
    found = technology_search.search(session, filters, current_language(), embedder_of(request.app))
    cards = [found.catalogue.cards[i] for i in found.positions]
    base = request.app.state.settings.base_url
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d")
    headers = {"Content-Disposition": f'attachment; filename="technologies-{stamp}.{fmt}"'}
    if fmt == "csv":
        return StreamingResponse(iter_csv(cards, base), media_type="text/csv; charset=utf-8", headers=headers)
    meta = {"total": len(cards), "filters": {k: v for k, v in vars(filters).items() if v}}
    return StreamingResponse(iter_json(cards, base, meta), media_type="application/json", headers=headers)


@router.get("/technologies.csv", include_in_schema=False)
def export_csv(request: Request, session: DbSession):
    """The list as the page shows it, as CSV."""
    return export_response(request, session, "csv")


@router.get("/technologies.json", include_in_schema=False)
def export_json(request: Request, session: DbSession):
    """The list as the page shows it, as JSON."""
    return export_response(request, session, "json")


def detail_context(session, user, technology, language: str) -> dict[str, Any]:
    """What a technology's page shows (the public version; its owner and organizers also see what waits)."""
    categories = {c.slug: c for c in catalogs.categories(session)}
    category = categories.get(technology.category)
    areas = technology_catalogue.category_areas(session)
    rules = precheck.load_rules(session)
    partner = next((t.country for t in technology.track_records if t.country in rules.partner_countries), "")
    return {
        "active_tab": "technologies", "tech": technology, "org": technology.organization,
        "category": category, "area_name": technologies.category_names(session, language).get(
            areas.get(technology.category, ""), ""),
        "is_jcm_sector": category is not None and category.group == "jcm",
        "can_manage": technologies.can_manage(user, technology), "is_public": technologies.is_public(technology),
        "status_label": technologies.status_label(technology.status),
        "basis_label": technologies.basis_label(technology.figures_basis), "kind_label": kind_label,
        "methodologies": track_methodologies(session, technology),
        "own_org": user is not None and user.organization_id == technology.organization_id,
        "language_name": language_name,
        **precheck_form_context(session, language, precheck.prefill(technology, partner), {}, None, technology.id),
    }


def track_methodologies(session, technology) -> dict[str, Any]:
    """The JCM methodologies its track record names, by number (title and source link)."""
    numbers = {t.methodology for t in technology.track_records if t.methodology}
    if not numbers:
        return {}
    return {m.number: m for m in session.scalars(select(Methodology).where(Methodology.number.in_(numbers)))}


def precheck_form_context(session, language: str, values: dict, errors: dict, result, technology_id=None,
                          match_id=None) -> dict[str, Any]:
    """What the pre-check panel needs: its values and errors, the choices, and the result if any."""
    rules = precheck.load_rules(session)
    names = technologies.category_names(session, language)
    return {
        "pc_values": values, "pc_errors": errors, "pc_result": result, "pc_technology_id": technology_id,
        "pc_match_id": match_id,
        "pc_countries": sorted(((c, country_name(c)) for c in rules.partner_countries), key=lambda item: item[1]),
        "pc_categories": [(c.slug, c.name(language)) for c in catalogs.categories(session)],
        "pc_sectors": [(sector, f"{names.get(category, category)}: {sector}") for category, sectors in
                       sorted(rules.sectors.items(), key=lambda item: names.get(item[0], item[0]))
                       for sector in sectors],
        "pc_rules": rules, "pc_number": precheck.number, "pc_percent_of": precheck.percent_of,
    }


@router.get("/technologies/{technology_id}", response_class=HTMLResponse)
def show_technology(request: Request, session: DbSession, user: OptionalUser, technology_id: DbId):
    """One technology: its owner, figures, track record, 'Request a meeting' and the financing pre-check."""
    technology = technologies.get_technology(session, technology_id, user)
    return render(request, "technologies/show.html", detail_context(session, user, technology, current_language()))


@router.get("/technologies/{technology_id}/images/{key}.jpg", include_in_schema=False)
def technology_image(request: Request, session: DbSession, user: OptionalUser, technology_id: DbId, key: str,
                     size: str = "full"):
    """A technology's image: the published one to everyone (cached for good: a new image gets a new key), one
    waiting for review to its owner and organizers only."""
    technology = technologies.get_technology(session, technology_id, user)
    pending = (technology.pending_changes or {}).get("image_key")
    if key == technology.image_key and technologies.is_public(technology):
        cache = "public, max-age=31536000, immutable"
    elif key in (technology.image_key, pending) and technologies.can_manage(user, technology):
        cache = "private, no-cache"
    else:
        raise NotFound(_("There is no such image."))
    try:
        path = ImageStore.from_settings(request.app.state.settings).path(key, "thumb" if size == "thumb" else "full")
    except ValueError:
        raise NotFound(_("There is no such image.")) from None
    if not path.is_file():
        raise NotFound(_("There is no such image."))
    name = f"technology-{technology.id}{'-thumb' if size == 'thumb' else ''}.jpg"
    return FileResponse(path, media_type="image/jpeg", headers={
        "Cache-Control": cache, "Content-Disposition": f'inline; filename="{name}"',
        "X-Content-Type-Options": "nosniff"})
