"""Jinja2 environment and the render helper that picks page or fragment by HX-Request."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import HTMLResponse
from functools import lru_cache

from jinja2 import Environment, FileSystemLoader, pass_context, select_autoescape
from jinja2.runtime import Context
from markupsafe import Markup, escape

from web import i18n
from web.dates import format_local
from web.flash import take_flash

TEMPLATES_DIR = Path(__file__).parent / "templates"
# Distinct (language, message, autoescape) results kept by template_gettext; past it the cache starts over.
GETTEXT_CACHE_SIZE = 20_000


def is_htmx(request: Request) -> bool:
    """True for an htmx request that swaps part of a page (not a boosted navigation)."""
    # A history-restore request (back button after hx-push-url, cache miss) needs the full page.
    return (request.headers.get("HX-Request") == "true" and request.headers.get("HX-Boosted") != "true"
            and request.headers.get("HX-History-Restore-Request") != "true")


def format_datetime(value: datetime | None, time_zone: str = "UTC", fmt: str = "medium") -> str:
    """A UTC datetime shown in a time zone and the current language."""
    if value is None:
        return ""
    return _format_datetime(value, time_zone, fmt, i18n.current_language())


@lru_cache(maxsize=8192)
def _format_datetime(value: datetime, time_zone: str, fmt: str, language: str) -> str:
    # Kept: a requests tab shows two or three dates per row, the same ones to both sides and on every visit, and
    # converting and formatting them was a twelfth of the page (py-spy at 8 clients).
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    local = value.astimezone(ZoneInfo(time_zone))
    return format_local(local, fmt, language) + " " + local.strftime("%Z")


def template_gettext() -> Any:
    """`_` and `gettext` for templates, as Jinja's newstyle gettext does it, with each message's result kept.

    Newstyle: the translation is Markup when the template autoescapes, and always %-formatted with the keyword
    arguments (so "%%" is a percent sign even without any). A page says a few hundred fixed messages (a
    Pre-Matching page 20 cards of them): building the Markup and formatting it each time was a tenth of the
    server's CPU under load (py-spy over benchmarks/load.py). Messages without arguments are kept per
    language; messages with arguments are formatted each time.
    """
    cache: dict[tuple[str, str, bool], str] = {}

    @pass_context
    def gettext(context: Context, message: str, **variables: Any) -> str:
        autoescape = context.eval_ctx.autoescape
        if variables:
            return (Markup(i18n.gettext(message)) if autoescape else i18n.gettext(message)) % variables
        key = (i18n.current_language(), message, autoescape)
        text = cache.get(key)
        if text is None:
            text = Markup(i18n.gettext(message)) if autoescape else i18n.gettext(message)
            text = text % {} if "%" in text else text
            if len(cache) >= GETTEXT_CACHE_SIZE:
                cache.clear()
            cache[key] = text
        return text

    return gettext


@lru_cache(maxsize=256)
def _option_tags(options: tuple[tuple[str, str, bool], ...]) -> tuple[tuple[str, str, str], ...]:
    """(value, the option's tag, the tag selected) for each (value, text, whether text is Markup), escaped once."""
    tags = []
    for value, text, markup in options:
        head, tail = '<option value="%s"' % escape(value), ">%s</option>" % (text if markup else escape(text))
        tags.append((value, head + tail, head + " selected" + tail))
    return tuple(tags)


# Tags kept by the identity of the tuple they were made from: {id(options): (options, tags)}. The entry holds the
# tuple, so its id cannot pass to another object while the entry lives; a tuple of (value, text) pairs of strings
# cannot change.
_TAGS_BY_TUPLE: dict[int, tuple[tuple, tuple[tuple[str, str, str], ...]]] = {}
_TAGS_BY_TUPLE_SIZE = 64


def option_tags(options: Any, selected: Any = None) -> Markup:
    """The <option> tags of a select, the `selected` value's marked.

    The profile form alone lists 400 time zones and 250 countries: a template loop escaped and tested each on every
    view. The escaped tags are kept per list (the lists are reference data: countries, zones, kinds), so a view
    only joins them. The reference lists are kept tuples (web.i18n), found here by identity: building the key
    of 650 options on every view was, after the escaping went, a sixth of /profile (py-spy at 8 clients).
    """
    kept = _TAGS_BY_TUPLE.get(id(options)) if type(options) is tuple else None
    if kept is not None and kept[0] is options:
        tags = kept[1]
    else:
        tags = _option_tags(tuple((str(value), text, isinstance(text, Markup)) for value, text in options))
        if type(options) is tuple:
            if len(_TAGS_BY_TUPLE) >= _TAGS_BY_TUPLE_SIZE:
                _TAGS_BY_TUPLE.clear()
            _TAGS_BY_TUPLE[id(options)] = (options, tags)
    selected = None if selected is None else str(selected)
    return Markup("".join(on if value == selected else off for value, off, on in tags))


def make_environment() -> Environment:
    """The one Jinja2 environment: autoescaping on, gettext from the request's language."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=select_autoescape(["html", "xml", "txt"], default_for_string=True),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_callables(i18n.gettext, i18n.ngettext, newstyle=True)  # type: ignore[attr-defined]
    env.globals["gettext"] = env.globals["_"] = template_gettext()
    env.globals["country_name"] = i18n.country_name
    env.globals["LANGUAGE_NAMES"] = i18n.LANGUAGE_NAMES
    env.globals["time_zone_choices"] = i18n.time_zone_choices
    env.globals["option_tags"] = option_tags
    # Labels every area shows, available to every template instead of passed by hand per route.
    from web.services.event_times import day_text, place_text, span_text, when_text
    from web.services.organizations import kind_label

    env.globals.update(kind_label=kind_label, day_text=day_text, place_text=place_text, span_text=span_text,
                       when_text=when_text)
    env.globals["now"] = lambda: datetime.now(timezone.utc)
    env.filters["datetime"] = format_datetime
    return env


def _unread_notifications(request: Request) -> int:
    """Unread notifications of the logged-in user, for the navigation, read through the request's own session.

    Pages rendered after that session closed (error pages) show no count rather than open a second connection.
    """
    from web.services.notifications import unread_count  # late: keeps templating free of services at import

    user = getattr(request.state, "user", None)
    session = getattr(request.state, "db_session", None)
    if user is None or session is None:
        return 0
    return unread_count(session, user)


def _pending_applications(request: Request) -> int:
    """Organizations waiting for review, for an organizer's navigation, read with the request's own session."""
    from web.services.applications import count_pending  # late, like the unread count

    user = getattr(request.state, "user", None)
    session = getattr(request.state, "db_session", None)
    if user is None or not user.is_organizer or session is None:
        return 0
    return count_pending(session)


class Renderer:
    """Renders templates with the context every page needs."""

    def __init__(self) -> None:
        self.env = make_environment()
        self._reload_checked = False

    def base_context(self, request: Request) -> dict[str, Any]:
        user = getattr(request.state, "user", None)
        return {
            "request": request,
            "user": user,
            "csrf_token": request.session.get("csrf", "") if "session" in request.scope else "",
            "language": i18n.current_language(),
            "time_zone": (user.time_zone if user else request.app.state.settings.default_time_zone),
            "settings": request.app.state.settings,
            # Counted only when base.html calls it (fragments skip the query); routes may pass their own.
            "unread_notifications": lambda: _unread_notifications(request),
            "pending_applications": lambda: _pending_applications(request),
        }

    def render_string(self, template: str, context: dict[str, Any]) -> str:
        return self.env.get_template(template).render(context)

    def render(self, request: Request, template: str, context: dict[str, Any] | None = None, *,
               fragment: str | None = None, status_code: int = 200,
               headers: dict[str, str] | None = None) -> HTMLResponse:
        """The full page, or only its fragment when htmx asks for it."""
        if not self._reload_checked:
            # Settings reach the renderer with the first request (the app makes it before it has them at hand).
            self.env.auto_reload = bool(getattr(request.app.state.settings, "templates_auto_reload", True))
            self._reload_checked = True
        name = fragment if fragment and is_htmx(request) else template
        full = self.base_context(request)
        if name == template:
            full |= take_flash(request)  # a full page shows the message a redirect left (web.flash)
        full |= context or {}
        return HTMLResponse(self.render_string(name, full), status_code=status_code, headers=headers)


def render(request: Request, template: str, context: dict[str, Any] | None = None, **kwargs: Any) -> HTMLResponse:
    """Shortcut: render with the app's renderer."""
    return request.app.state.renderer.render(request, template, context, **kwargs)
