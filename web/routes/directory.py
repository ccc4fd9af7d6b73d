"""The member directory: approved organizations, filtered and paginated."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import HTMLResponse

from web.deps import DbSession, Member
from web.i18n import country_name, current_language
from web.routing import feature_router
from web.services import directory, invitations, sectors
from web.services.organizations import kind_choices
from web.templating import render

router = feature_router()


@router.get("/directory", response_class=HTMLResponse)
def show_directory(request: Request, session: DbSession, user: Member):
    """Approved organizations with filters; htmx gets only the results fragment."""
    settings = request.app.state.settings
    filters = directory.Filters.from_params(request.query_params)
    language = current_language()
    vocabulary = sectors.vocabulary(session)
    # ?sector=Industry, ?sector=industry and ?sector=産業 are one filter; a name that is no sector filters nothing.
    filters.sector = vocabulary.resolve(filters.sector) or ""
    choices = directory.directory_choices(session)
    results = directory.search_directory(session, filters, directory.parse_page(request.query_params.get("page")),
                                         settings.page_size, choices)
    categories = directory.categories(session)
    countries = sorted(((code, country_name(code)) for code in choices.countries), key=lambda item: item[1])
    return render(request, "directory/index.html", {
        "active_tab": "directory", "filters": filters, "results": results,
        "kinds": kind_choices(), "countries": countries,
        "categories": [(cat.slug, cat.name(language)) for cat in categories],
        "category_names": {cat.slug: cat.name(language) for cat in categories},
        "sectors": vocabulary.choices(language),
        "unclaimed_ids": invitations.unclaimed_ids(session, [org.id for org in results.items]),
    }, fragment="directory/_results.html", headers={"Vary": "HX-Request"})
