"""JSON API v1 for the public technology catalogue and the JCM financing pre-check (no login needed)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from fastapi import Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from models import Technology
from web.deps import DbSession, OptionalUser
from web.i18n import current_language
from web.matching_state import embedder_of
from web.routes.api import ERRORS
from web.routes.technologies import export_response
from web.routing import feature_router
from web.services import catalogs, precheck, technologies, technology_catalogue, technology_search
from web.services.technologies import Filters
from web.services.technology_export import record
from web.values import DbId

router = feature_router(prefix="/api/v1", tags=["technologies"], responses=ERRORS)


class TechnologyOut(BaseModel):
    id: int
    name: str
    name_ja: str = Field(description="The Japanese name, or empty.")
    organization_id: int
    organization: str
    organization_country: str = Field(description="ISO 3166 alpha-2.")
    organization_kind: str
    category: str = Field(description="A technology category slug (see the site's categories).")
    area: Literal["climate", "waste_recycling", "water", "soil", "air", ""]
    description: str
    description_ja: str
    products: list[str]
    track_record_countries: list[str] = Field(description="ISO codes of countries with an installation.")
    has_jcm_track_record: bool
    ghg_reduction_t_per_year: float | None = Field(description="Expected reduction in tCO2 a year, per figures_basis.")
    figures_basis: Literal["unit", "site", "project"] | None
    investment_jpy: int | None = Field(description="Indicative investment, in yen, per figures_basis.")
    annual_savings_jpy: int | None
    durable_years: int | None = Field(description="Legal durable years of the main equipment.")
    material_languages: list[str] = Field(description="Language codes of the material (brochures, manuals).")
    url: str
    published_at: datetime | None
    score: float | None = Field(default=None, description="With `need`: how well it answers the need (0-1).")
    reasons: list[str] = Field(default_factory=list, description="With `need`: why, in the caller's language.")


class Facets(BaseModel):
    area: dict[str, int]
    category: dict[str, int]
    country: dict[str, int] = Field(description="Track-record countries with at least one technology.")
    kind: dict[str, int]
    jcm: int = Field(description="Technologies with a JCM track record.")


class TechnologyPage(BaseModel):
    total: int = Field(description="Technologies matching the filters.")
    companies: int = Field(description="Organizations those technologies belong to.")
    limit: int
    offset: int
    need_state: Literal["", "ranked", "wording", "preparing"] = Field(
        description="With `need`: ranked (meaning and wording), wording (the model could not be used), preparing "
        "(the index is being built: the list is by name).")
    facets: Facets = Field(description="Per facet value, the count under the other filters.")
    items: list[TechnologyOut]


class TrackRecordOut(BaseModel):
    country: str
    year: int | None
    description: str
    jcm_project: str
    methodology: str | None


class TechnologyDetail(TechnologyOut):
    track_record: list[TrackRecordOut]


def _filters(request: Request, session) -> Filters:
    return Filters.from_params(request.query_params).clean(c.slug for c in catalogs.categories(session))


@router.get("/technologies", response_model=TechnologyPage)
def list_technologies(
    request: Request, session: DbSession,
    q: str = Query("", description="Words that must all appear in what the list shows (names, organization, "
                   "description, products, category, track-record countries)."),
    area: str = "", category: str = "", country: str = Query("", description="Track-record country (ISO code)."),
    kind: str = Query("", description="Organization kind."), jcm: bool = Query(False, description="Only with a JCM "
                      "track record."),
    need: str = Query("", max_length=1000, description="Describe your need: ranks by the matching engine."),
    limit: int = Query(20, ge=1, le=100), offset: int = Query(0, ge=0, le=1_000_000),
):
    """Public technologies matching the filters, by name (or by how well they answer `need`), with facet counts."""
    filters = _filters(request, session)
    language = current_language()
    found = technology_search.search(session, filters, language, embedder_of(request.app))
    shown = found.positions[offset:offset + limit]
    base = request.app.state.settings.base_url
    items = []
    for position in shown:
        card = found.catalogue.cards[int(position)]
        out = record(card, base)
        if found.ranked is not None and found.index is not None:
            out["score"] = round(found.ranked.scores.get(int(position), 0.0), 4)
            out["reasons"] = technology_search.explain(found.index, card, found.ranked, filters.country,
                                                       language=language)
        items.append(out)
    companies = int(len(set(found.catalogue.organization[found.positions].tolist()))) if len(found.positions) else 0
    return {"total": len(found.positions), "companies": companies, "limit": limit, "offset": offset,
            "need_state": found.need_state, "facets": vars(found.facets), "items": items}


@router.get("/technologies/export", response_class=StreamingResponse,
            responses={200: {"content": {"text/csv": {}, "application/json": {}},
                             "description": "The whole filtered list as a file."}})
def export_technologies(request: Request, session: DbSession, format: Literal["csv", "json"] = "json",
                        q: str = "", area: str = "", category: str = "", country: str = "", kind: str = "",
                        jcm: bool = False, need: str = Query("", max_length=1000)):
    """The whole filtered list as CSV or JSON (the same file as the page's download links)."""
    return export_response(request, session, format)


@router.get("/technologies/{technology_id}", response_model=TechnologyDetail)
def get_technology(request: Request, session: DbSession, user: OptionalUser, technology_id: DbId):
    """One public technology with its track record (its owner and organizers also get it unpublished)."""
    technology: Technology = technologies.get_technology(session, technology_id, user)
    catalogue = technologies.get_catalogue(session)
    position = catalogue.position.get(technology.id)
    if position is not None:
        out = record(catalogue.cards[position], request.app.state.settings.base_url)
    else:  # not public: its owner or an organizer
        out = {"id": technology.id, "name": technology.name, "name_ja": technology.name_ja,
               "organization_id": technology.organization_id, "organization": technology.organization.name,
               "organization_country": technology.organization.country,
               "organization_kind": technology.organization.kind, "category": technology.category,
               "area": technology_catalogue.category_areas(session).get(technology.category, ""),
               "description": technology.description, "description_ja": technology.description_ja,
               "products": list(technology.products or []),
               "track_record_countries": list(dict.fromkeys(t.country for t in technology.track_records)),
               "has_jcm_track_record": any(t.is_jcm for t in technology.track_records),
               "ghg_reduction_t_per_year": technology.ghg_reduction_t,
               "figures_basis": technology.figures_basis or None,
               "investment_jpy": technology.investment_jpy, "annual_savings_jpy": technology.annual_savings_jpy,
               "durable_years": technology.durable_years, "material_languages": list(technology.languages or []),
               "url": f"{request.app.state.settings.base_url.rstrip('/')}/technologies/{technology.id}",
               "published_at": technology.published_at}
    out["track_record"] = [{"country": t.country, "year": t.year, "description": t.description,
                            "jcm_project": t.jcm_project, "methodology": t.methodology}
                           for t in technology.track_records]
    return out


class PrecheckOut(BaseModel):
    eligible: bool = Field(description="False at 10 or more similar technologies adopted in the country.")
    similar_projects: int
    similar_from_registry: bool = Field(description="False when the caller gave the count (`similar`).")
    similar_by_sector: dict[str, int]
    rate_cap_percent: int = Field(description="The subsidy-rate cap for that many similar technologies (0: none).")
    subsidy_ceiling_jpy: int = Field(description="investment x rate cap, rounded down to the yen.")
    cost_per_tonne_jpy: float | None = Field(description="subsidy / (annual reductions x durable years).")
    cost_effectiveness_guideline_jpy: int
    meets_cost_effectiveness: bool | None
    max_subsidy_for_guideline_jpy: int = Field(description="The subsidy at which the cost per tonne is the guideline.")
    payback_years_without_subsidy: float | None = Field(description="investment / annual savings (None: no savings).")
    payback_years_with_subsidy: float | None
    payback_guideline_years: int
    meets_payback_guideline: bool | None = Field(description="Payback without the subsidy of at least the guideline.")
    note: str = Field(description="The result is an estimate under the stated rules, not a decision.")


@router.get("/precheck", response_model=PrecheckOut)
def api_precheck(session: DbSession, investment: str = Query(..., description="Initial investment in yen."),
                 reductions: str = Query(..., description="Emission reductions, tCO2 a year."),
                 years: str = Query(..., description="Legal durable years of the equipment."),
                 savings: str = Query(..., description="Annual cost savings in yen."),
                 country: str = Query(..., description="JCM partner country (ISO code)."),
                 category: str = Query(..., description="Technology category slug."),
                 sector: str = Query("", description="JCM registry sector (default: the category's main one)."),
                 similar: str = Query("", description="Your own count of similar technologies adopted "
                                                      "in the country.")):
    """The JCM financing pre-check of a project idea, under the MOEJ JCM model project rules."""
    values = {"investment": investment, "reductions": reductions, "years": years, "savings": savings,
              "country": country, "category": category, "sector": sector, "similar": similar}
    result = precheck.run_precheck(session, values)  # bad figures: 422 with a message per field
    rules = result.rules
    return {
        "eligible": result.eligible, "similar_projects": result.similar,
        "similar_from_registry": result.similar_from_registry, "similar_by_sector": dict(result.similar_detail),
        "rate_cap_percent": result.rate_percent, "subsidy_ceiling_jpy": result.subsidy,
        "cost_per_tonne_jpy": float(result.cost_per_t) if result.cost_per_t is not None else None,
        "cost_effectiveness_guideline_jpy": rules.cost_effectiveness_jpy,
        "meets_cost_effectiveness": result.meets_cost_effectiveness,
        "max_subsidy_for_guideline_jpy": result.max_subsidy_for_guideline,
        "payback_years_without_subsidy": float(result.payback_without) if result.payback_without is not None else None,
        "payback_years_with_subsidy": float(result.payback_with) if result.payback_with is not None else None,
        "payback_guideline_years": rules.payback_years, "meets_payback_guideline": result.meets_payback,
        "note": "An estimate under the MOEJ JCM model project rules as stated in the reference data; not a decision.",
    }
