"""The public technology list: what approved organizations offer, by technology category."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from web.deps import DbSession, OptionalUser
from web.i18n import country_name, current_language
from web.services import directory, technologies
from web.templating import render

router = APIRouter()


@router.get("/technologies", response_class=HTMLResponse)
def show_technologies(request: Request, session: DbSession, user: OptionalUser):
    """Open to everyone: offers grouped by category, or one category paginated when it is chosen."""
    filters = directory.Filters.from_params(request.query_params)
    filters.kind = filters.sector = ""  # not filters of this page
    categories = directory.categories(session)
    known = {cat.slug for cat in categories} | {technologies.UNCATEGORIZED}
    if filters.category not in known:
        filters.category = ""
    partners = directory.partner_countries(session)
    if filters.country not in partners:
        filters.country = ""
    language = current_language()
    context = {
        "active_tab": "technologies", "filters": filters, "language": language,
        "link_profiles": directory.can_view_profiles(user), "per_group": technologies.TECHNOLOGIES_PER_GROUP,
        "categories": [(cat.slug, cat.name(language)) for cat in categories],
        "category_by_slug": {cat.slug: cat for cat in categories},
        "countries": sorted(((code, country_name(code)) for code in partners),
                            key=lambda item: item[1]),
        "groups": [], "results": None, "uncategorized": technologies.UNCATEGORIZED,
    }
    if filters.category:
        context["results"] = technologies.technology_page(session, filters,
                                                       directory.parse_page(request.query_params.get("page")),
                                                       request.app.state.settings.page_size)
    else:
        context["groups"] = technologies.technology_groups(session, filters)
    return render(request, "technologies/index.html", context, fragment="technologies/_results.html",
                  headers={"Vary": "HX-Request"})
