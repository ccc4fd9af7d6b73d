"""Pre-Matching: recommended partners (the matching engine fills this tab)."""

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from web.deps import Member
from web.templating import render

router = APIRouter()


@router.get("/prematching", response_class=HTMLResponse)
def prematching(request: Request, user: Member):
    """Recommended partners for the member's organization."""
    return render(request, "prematching/index.html", {"active_tab": "prematching"})
