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
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import DataError, IntegrityError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.sessions import SessionMiddleware
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from matchmaker.engine import set_blas_threads
from models.session import make_engine, make_session_factory
from web import i18n
from web.balance import ConnectionBalancer, ProcessTable
from web.capacity import ConcurrencyGate, limit_request_threads, pool_size, retry_after_seconds
from web.deps import csrf_protect, load_user
from web.inputs import guard_input
from web.errors import DomainError, NotAuthenticated
from web.headers import SecurityHeadersMiddleware
from web.routes import ROUTERS
from web.routing import include_routers
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


def _busy_response(request: Request) -> Response:
    """503 with Retry-After, made without the database: past capacity, or no connection came in time."""
    settings = request.app.state.settings
    retry = retry_after_seconds(settings)
    headers = {"Retry-After": str(retry)}
    message = i18n.gettext("The site is very busy right now. Please try again in a few seconds.")
    if _wants_json(request):
        return JSONResponse({"error": {"code": "busy", "message": message, "fields": {}}}, status_code=503,
                            headers=headers)
    html = request.app.state.renderer.render_string("busy.html", {
        "language": i18n.current_language(), "message": message, "retry_after": retry,
        "reload": request.method == "GET"})
    return HTMLResponse(html, status_code=503, headers=headers)


async def handle_pool_timeout(request: Request, exc: PoolTimeout) -> Response:
    log.warning("no database connection within %.1f s: %s", request.app.state.settings.database_pool_timeout, exc)
    return _busy_response(request)


async def reject_busy(scope, receive, send) -> None:
    """What the concurrency gate answers past capacity (an ASGI app)."""
    await _busy_response(Request(scope, receive))(scope, receive, send)


def _is_busy(exc: OperationalError) -> bool:
    """A lock or serialization wait that ran out (SQLite "database is locked", PostgreSQL deadlock/serialization)."""
    text = str(exc.orig).lower()
    return ("database is locked" in text or "database is busy" in text or "deadlock detected" in text
            or "could not serialize" in text)


async def handle_operational_error(request: Request, exc: OperationalError) -> Response:
    # connection_invalidated: the database server closed the connection (a restart, a failover, an idle timeout
    # while the connection was in use or was used moments before: models.session pings only idle ones).
    # SQLAlchemy has dropped the pool's older connections and the next request gets a fresh connection: as
    # temporary as a lock wait. The server rolls back an open transaction; only a connection lost during COMMIT
    # itself leaves the outcome unknown (rare; a retry of such a write may then repeat it).
    if not (_is_busy(exc) or exc.connection_invalidated):
        raise exc
    log.warning("%s answered 503: %s %s: %s", "lost database connection" if exc.connection_invalidated
                else "busy database", request.method, request.url.path, exc.orig)
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


async def handle_unexpected_error(request: Request, exc: Exception) -> Response:
    """Any other error: logged with a request id that the page, fragment or JSON (and a header) carry."""
    request_id = secrets.token_hex(6)
    log.error("unexpected error, request id %s: %s %s", request_id, request.method, request.url.path, exc_info=exc)
    headers = {"X-Request-ID": request_id}
    # The language middleware has already unwound here: take the language again from the session or the browser.
    session = request.scope.get("session") or {}
    accept = request.headers.get("accept-language", "").lower()
    language = session.get("lang") or ("ja" if accept.startswith("ja") else request.app.state.settings.default_language)
    with i18n.use_language(language):
        message = i18n.gettext("Something went wrong on our side. Try again in a moment.")
        if _wants_json(request):
            return JSONResponse({"error": {"code": "internal_error", "message": message, "fields": {},
                                           "request_id": request_id}}, status_code=500, headers=headers)
        if is_htmx(request):
            # htmx leaves error responses unswapped: app.js swaps this one into the page's error slot.
            headers |= {"HX-Retarget": "#htmx-error", "HX-Reswap": "innerHTML show:window:top"}
        context = {"status_code": 500, "message": message, "request_id": request_id}
        try:
            return request.app.state.renderer.render(request, "error.html", context, fragment="_error.html",
                                                     status_code=500, headers=headers)
        except Exception:  # the layout itself failed (the database is down, say): the bare fragment still helps
            log.exception("error page failed, request id %s", request_id)
            body = request.app.state.renderer.render_string("_error.html", context | {"user": None})
            return HTMLResponse(body, status_code=500, headers=headers)


def create_app(settings: Settings | None = None, embedder: Any = None) -> FastAPI:
    """Build the application from settings; the embedder is injected (tests pass a small one)."""
    settings = settings or Settings()
    if not settings.secret_key:
        log.warning("MATCHMAKER_SECRET_KEY is not set: using a random key, sessions end on restart")
        settings = settings.model_copy(update={"secret_key": secrets.token_urlsafe(32)})

    # One connection per request thread plus the jobs' (web.capacity); a pool wait is a misconfiguration: keep it short.
    engine = make_engine(settings.database_url, pool_size=pool_size(settings), max_overflow=0,
                         pool_timeout=settings.database_pool_timeout, busy_timeout=settings.sqlite_busy_timeout)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        from web.jobs import start_scheduler, stop_scheduler
        from web.matching_state import preload_index

        limit_request_threads(settings.request_threads)
        set_blas_threads(settings.blas_threads)  # once, before any request scores: never changed while BLAS runs
        preload_index(app)  # a kept match index, read before the first request (seconds at 100k; no build)
        scheduler = start_scheduler(app) if settings.run_scheduler else None
        try:
            yield
        finally:
            if scheduler is not None:
                stop_scheduler(app, settings.shutdown_timeout)
            cache = getattr(app.state, "matching_cache", None)
            if cache is not None:
                cache.close()
            engine.dispose()

    app = FastAPI(
        title="JCM Matchmaker",
        lifespan=lifespan,
        # guard_input first: no route (nor the CSRF check or the login lookup) sees an id or text the database
        # cannot hold.
        dependencies=[Depends(guard_input), Depends(csrf_protect), Depends(load_user)],
        docs_url=None,  # web/routes/api_docs.py serves /api/docs from local files (FastAPI's loads a CDN)
        openapi_url="/api/openapi.json",
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.session_factory = make_session_factory(engine)
    app.state.reads_on_loop = engine.dialect.name == "sqlite"  # web.deps.get_session: where a page's reads run
    # "Send the email just queued", "embed the profile just saved": asked for by services, run by the in-process
    # scheduler once the request's unit of work commits (none when the scheduler runs in `matchmaker worker`).
    from web.jobs import install_job_nudges

    install_job_nudges(app.state.session_factory, lambda: getattr(app.state, "scheduler", None))
    app.state.renderer = Renderer()
    app.state.embedder = embedder

    # Innermost of ours: the busy page knows the language, and the slot covers the whole request.
    app.add_middleware(ConcurrencyGate, limit=settings.request_threads, queue_seconds=settings.request_queue_seconds,
                       queue_size=settings.request_queue_size, reject=reject_busy)
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
    # Around everything but the proxy headers: the gate's 503 and error pages get the headers too.
    app.add_middleware(SecurityHeadersMiddleware, hsts=settings.secure_cookies)
    if proxies:
        # Outermost: everything after it (throttling, the sessions list, Secure cookies) sees the real client.
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=proxies)
    table = ProcessTable.from_environment()
    if table is not None:
        # Outermost of all: it counts connections by the address they come from, before proxy headers rewrite it.
        app.add_middleware(ConnectionBalancer, table=table)
    app.add_exception_handler(DomainError, handle_domain_error)
    app.add_exception_handler(StarletteHTTPException, handle_http_error)
    app.add_exception_handler(RequestValidationError, handle_validation_error)
    app.add_exception_handler(OperationalError, handle_operational_error)
    app.add_exception_handler(PoolTimeout, handle_pool_timeout)
    app.add_exception_handler(IntegrityError, handle_integrity_error)
    app.add_exception_handler(DataError, handle_data_error)
    app.add_exception_handler(OverflowError, handle_data_error)
    app.add_exception_handler(Exception, handle_unexpected_error)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    include_routers(app, ROUTERS)
    return app
