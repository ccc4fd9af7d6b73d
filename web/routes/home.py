"""The start page and the site icon."""

from pathlib import Path

from fastapi import Request
from fastapi.responses import FileResponse, HTMLResponse

from web.deps import OptionalUser
from web.routing import feature_router
from web.templating import render

router = feature_router()
FAVICON = Path(__file__).resolve().parents[1] / "static" / "favicon.ico"


@router.get("/", response_class=HTMLResponse)
def home(request: Request, user: OptionalUser):
    """What the platform does and where to start."""
    return render(request, "home.html", {"active_tab": None})


@router.get("/favicon.ico", include_in_schema=False)
def favicon():
    """The site icon where browsers look for it by default (pages also link the SVG one)."""
    return FileResponse(FAVICON, media_type="image/x-icon", headers={"Cache-Control": "public, max-age=86400"})
