"""The language switch, remembered in the session and on the user's account."""

from typing import Annotated

from fastapi import Form, Request
from fastapi.responses import RedirectResponse

from web.deps import DbSession, OptionalUser
from web.i18n import normalize_language
from web.routing import feature_router
from web.urls import safe_next

router = feature_router()


@router.post("/language")
def switch_language(request: Request, session: DbSession, user: OptionalUser,
                    language: Annotated[str, Form()], next: Annotated[str, Form()] = "/"):
    """Switch the UI language and go back to the page the user was on."""
    chosen = normalize_language(language)
    request.session["lang"] = chosen
    if user is not None:
        user.language = chosen
    return RedirectResponse(safe_next(next), status_code=303)
