"""The API documentation page: Swagger UI served from the site itself (works offline, no inline script)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from web.deps import OptionalUser
from web.templating import render

router = APIRouter()


@router.get("/api/docs", response_class=HTMLResponse, include_in_schema=False)
def api_docs(request: Request, user: OptionalUser):
    """Interactive documentation of the JSON API, read from /api/openapi.json."""
    return render(request, "api_docs/page.html", {"active_tab": None})
