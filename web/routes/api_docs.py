"""The API documentation page: Swagger UI served from the site itself (works offline, no inline script)."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import HTMLResponse, JSONResponse

from web.deps import OptionalUser
from web.routing import feature_router
from web.templating import render

router = feature_router()
API_PREFIX = "/api/v1/"


@router.get("/api/docs", response_class=HTMLResponse, include_in_schema=False)
def api_docs(request: Request, user: OptionalUser):
    """Interactive documentation of the JSON API, read from /api/v1/openapi.json."""
    return render(request, "api_docs/page.html", {"active_tab": None})


@router.get("/api/v1/openapi.json", include_in_schema=False)
def api_description(request: Request):
    """The OpenAPI description of the JSON API alone (/api/openapi.json also lists the HTML pages)."""
    schema = getattr(request.app.state, "api_v1_openapi", None)
    if schema is None:
        full = request.app.openapi()
        schema = full | {
            "info": full["info"] | {"title": "JCM Matchmaker API", "description": (
                "Meeting requests, matches and messages. Log in on the site first; send the X-CSRF-Token header "
                "(from GET /api/v1/me) with every write.")},
            "paths": {path: item for path, item in full["paths"].items() if path.startswith(API_PREFIX)},
        }
        request.app.state.api_v1_openapi = schema
    return JSONResponse(schema)
