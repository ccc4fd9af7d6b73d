"""In-app notifications and the email preferences page."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse

from models import NOTIFICATION_KINDS
from web.deps import CurrentUser, DbSession, Form
from web.flash import flash
from web.i18n import _
from web.routing import feature_router
from web.services import notifications
from web.templating import is_htmx, render
from web.urls import safe_next
from web.values import DbId

router = feature_router()


@router.get("/notifications", response_class=HTMLResponse)
def notification_list(request: Request, session: DbSession, user: CurrentUser):
    """The user's notifications, newest first."""
    items = notifications.list_notifications(session, user)
    return render(request, "notifications/index.html", {"items": items, "active_tab": ""},
                  fragment="notifications/_list.html", headers={"Vary": "HX-Request"})


@router.post("/notifications/read-all", response_class=HTMLResponse)
def read_all(request: Request, session: DbSession, user: CurrentUser, form: Form):
    """Mark every notification read."""
    notifications.mark_all_read(session, user)
    if is_htmx(request):
        return render(request, "notifications/_list.html", {"items": notifications.list_notifications(session, user)})
    return RedirectResponse("/notifications", status_code=303)


@router.post("/notifications/{notification_id}/read", response_class=HTMLResponse)
def read_one(request: Request, session: DbSession, user: CurrentUser, form: Form, notification_id: DbId):
    """Mark one notification read; a plain post then follows its link."""
    item = notifications.mark_read(session, user, notification_id)
    if is_htmx(request):
        return render(request, "notifications/_item.html", {"item": item})
    target = safe_next(str(form.get("next", "")), item["link"])
    return RedirectResponse(target, status_code=303)


def _settings_page(request: Request, prefs: dict):
    kinds = [(kind, notifications.kind_label(kind), prefs[kind]) for kind in NOTIFICATION_KINDS]
    return render(request, "notifications/settings.html", {"kinds": kinds, "active_tab": ""})


@router.get("/notifications/settings", response_class=HTMLResponse)
def settings_form(request: Request, session: DbSession, user: CurrentUser):
    """Which notifications also come by email."""
    return _settings_page(request, notifications.email_preferences(session, user))


@router.post("/notifications/settings", response_class=HTMLResponse)
def save_settings(request: Request, session: DbSession, user: CurrentUser, form: Form):
    """Save the email choices (a checked box keeps that email on)."""
    notifications.set_email_preferences(session, user, set(form.getlist("email")))
    flash(request, _("Your email choices were saved."))
    return RedirectResponse("/notifications/settings", status_code=303)
