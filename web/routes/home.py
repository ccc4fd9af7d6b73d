"""The start page."""

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from web.deps import OptionalUser
from web.templating import render

router = APIRouter()


@router.get("/", response_class=HTMLResponse)
def home(request: Request, user: OptionalUser):
    """What the platform does and where to start."""
    return render(request, "home.html", {"active_tab": None})
