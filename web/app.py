"""The FastAPI application factory."""

from __future__ import annotations

import logging
import secrets
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import DataError, IntegrityError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.sessions import SessionMiddleware
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from models.session import make_engine, make_session_factory
from web import i18n
from web.deps import csrf_protect, load_user
from web.inputs import guard_input
from web.errors import DomainError, NotAuthenticated
from web.headers import SecurityHeadersMiddleware, add_api_docs
from web.routes import ROUTERS
from web.settings import Settings
from web.templating import Renderer, is_htmx

log = logging.getLogger(__name__)
STATIC_DIR = Path(__file__).parent / "static"
BUSY_RETRY_AFTER_SECONDS = 2


class LanguageMiddleware:
    """Sets the request's UI language: session choice, then Accept-Language, then the default."""

    def __init__(self, app: Any, default_language: str) -> None:
        self.app = app
        self.default_language = default_language

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        language = scope.get("session", {}).get("lang")
        if not language:
            headers = dict(scope.get("headers") or [])
            accept = headers.get(b"accept-language", b"").decode("latin-1").lower()
            language = "ja" if accept.startswith("ja") else self.default_language
        token = i18n.set_language(language)
        try:
            await self.app(scope, receive, send)
        finally:
            i18n._language.reset(token)


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/") or request.headers.get("accept", "").startswith("application/json")


def _error_response(request: Request, status_code: int, code: str, message: str,
                    field_errors: dict[str, str] | None = None) -> Response:
    if _wants_json(request):
        return JSONResponse({"error": {"code": code, "message": message, "fields": field_errors or {}}},
                            status_code=status_code)
    return request.app.state.renderer.render(
        request, "error.html", {"status_code": status_code, "message": message},
        fragment="_error.html", status_code=status_code,
    )


async def handle_domain_error(request: Request, exc: DomainError) -> Response:
    if isinstance(exc, NotAuthenticated) and not _wants_json(request):
        target = "/login?next=" + quote(request.url.path + (("?" + request.url.query) if request.url.query else ""))
        if is_htmx(request):
            return Response(status_code=204, headers={"HX-Redirect": target})
        return RedirectResponse(target, status_code=303)
    response = _error_response(request, exc.status_code, exc.code, exc.message, exc.field_errors)
    if getattr(exc, "retry_after", None):
        response.headers["Retry-After"] = str(exc.retry_after)
    return response


async def handle_http_error(request: Request, exc: StarletteHTTPException) -> Response:
    messages = {404: i18n.N_("Page not found."), 405: i18n.N_("This action is not allowed here.")}
    message = i18n.gettext(messages.get(exc.status_code, str(exc.detail)))
    return _error_response(request, exc.status_code, "http_%d" % exc.status_code, message)


async def handle_validation_error(request: Request, exc: RequestValidationError) -> Response:
    if any(err["loc"] and err["loc"][0] == "path" for err in exc.errors()):
        # /requests/abc or /requests/0: no such page, as for an id that does not exist.
        return _error_response(request, 404, "not_found", i18n.gettext("Page not found."))
    fields = {".".join(str(p) for p in err["loc"][1:]): err["msg"] for err in exc.errors()}
    message = i18n.gettext("Some of the values sent are not valid.")
    return _error_response(request, 422, "validation_failed", message, fields)


def _is_busy(exc: OperationalError) -> bool:
    """A lock or serialization wait that ran out (SQLite "database is locked", PostgreSQL deadlock/serialization)."""
    text = str(exc.orig).lower()
    return ("database is locked" in text or "database is busy" in text or "deadlock detected" in text
            or "could not serialize" in text)


async def handle_operational_error(request: Request, exc: OperationalError) -> Response:
    if not _is_busy(exc):
        raise exc
    log.warning("busy database answered 503: %s %s: %s", request.method, request.url.path, exc.orig)
    response = _error_response(request, 503, "busy",
                               i18n.gettext("The site is busy. Nothing was changed; please try again in a moment."))
    response.headers["Retry-After"] = str(BUSY_RETRY_AFTER_SECONDS)
    return response


async def handle_pool_timeout(request: Request, exc: PoolTimeout) -> Response:
    log.warning("no database connection free, answered 503: %s %s", request.method, request.url.path)
    response = _error_response(request, 503, "busy",
                               i18n.gettext("The site is busy. Nothing was changed; please try again in a moment."))
    response.headers["Retry-After"] = str(BUSY_RETRY_AFTER_SECONDS)
    return response


async def handle_integrity_error(request: Request, exc: IntegrityError) -> Response:
    # The safety net for a race no service turned into its own 409: two requests made the same row at once.
    log.warning("unique or foreign-key conflict answered 409: %s %s: %s", request.method, request.url.path, exc.orig)
    return _error_response(request, 409, "conflict",
                           i18n.gettext("This changed at the same moment somewhere else. Reload the page to see "
                                        "the current state, then try again if it is still needed."))


async def handle_data_error(request: Request, exc: Exception) -> Response:
    # The safety net behind web.inputs.guard_input: a value the database refused (an integer out of range, text
    # too long for its column, a NUL) is the client's bad input, not a server fault.
    if isinstance(exc, OverflowError) and "INTEGER" not in str(exc):
        raise exc
    log.warning("database refused a value, answered 422: %s %s: %s", request.method, request.url.path, exc)
    return _error_response(request, 422, "validation_failed", i18n.gettext("Some of the values sent are not valid."))


def create_app(settings: Settings | None = None, embedder: Any = None) -> FastAPI:
    """Build the application from settings; the embedder is injected (tests pass a small one)."""
    settings = settings or Settings()
    if not settings.secret_key:
        log.warning("MATCHMAKER_SECRET_KEY is not set: using a random key, sessions end on restart")
        settings = settings.model_copy(update={"secret_key": secrets.token_urlsafe(32)})

    engine = make_engine(settings.database_url, busy_timeout=settings.sqlite_busy_timeout)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        from web.jobs import start_scheduler

        scheduler = start_scheduler(app) if settings.run_scheduler else None
        try:
            yield
        finally:
            if scheduler is not None:
                scheduler.shutdown(wait=False)
            engine.dispose()

    app = FastAPI(
        title="JCM Matchmaker",
        lifespan=lifespan,
        # guard_input first: no route (nor the CSRF check or the login lookup) sees an id or text the database
        # cannot hold.
        dependencies=[Depends(guard_input), Depends(csrf_protect), Depends(load_user)],
        docs_url=None,  # web.headers.add_api_docs: the same page with a policy that lets Swagger UI run
        openapi_url="/api/openapi.json",
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.session_factory = make_session_factory(engine)
    app.state.renderer = Renderer()
    app.state.embedder = embedder

    app.add_middleware(SecurityHeadersMiddleware, hsts=settings.secure_cookies)
    app.add_middleware(LanguageMiddleware, default_language=i18n.normalize_language(settings.default_language))
    app.add_middleware(
        SessionMiddleware,
        secret_key=settings.secret_key,
        session_cookie="mm_session",
        max_age=settings.session_max_age,
        same_site="lax",
        https_only=settings.secure_cookies,
    )
    proxies = [item.strip() for item in settings.trusted_proxies.split(",") if item.strip()]
    if proxies:
        # Outermost: everything after it (throttling, the sessions list, Secure cookies) sees the real client.
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=proxies)
    app.add_exception_handler(DomainError, handle_domain_error)
    app.add_exception_handler(StarletteHTTPException, handle_http_error)
    app.add_exception_handler(RequestValidationError, handle_validation_error)
    app.add_exception_handler(OperationalError, handle_operational_error)
    app.add_exception_handler(PoolTimeout, handle_pool_timeout)
    app.add_exception_handler(IntegrityError, handle_integrity_error)
    app.add_exception_handler(DataError, handle_data_error)
    app.add_exception_handler(OverflowError, handle_data_error)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    add_api_docs(app)
    for router in ROUTERS:
        app.include_router(router)
    return app
