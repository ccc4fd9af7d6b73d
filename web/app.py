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
from starlette.exceptions import HTTPException as StarletteHTTPException
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.middleware.sessions import SessionMiddleware

from matchmaker.engine import set_blas_threads
from models.session import make_engine, make_session_factory
from web import i18n
from web.capacity import ConcurrencyGate, limit_request_threads, pool_size, retry_after_seconds
from web.deps import csrf_protect, load_user
from web.errors import DomainError, NotAuthenticated
from web.routes import ROUTERS
from web.settings import Settings
from web.templating import Renderer, is_htmx

log = logging.getLogger(__name__)
STATIC_DIR = Path(__file__).parent / "static"


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
    return _error_response(request, exc.status_code, exc.code, exc.message, exc.field_errors)


async def handle_http_error(request: Request, exc: StarletteHTTPException) -> Response:
    messages = {404: i18n.N_("Page not found."), 405: i18n.N_("This action is not allowed here.")}
    message = i18n.gettext(messages.get(exc.status_code, str(exc.detail)))
    return _error_response(request, exc.status_code, "http_%d" % exc.status_code, message)


async def handle_validation_error(request: Request, exc: RequestValidationError) -> Response:
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


def create_app(settings: Settings | None = None, embedder: Any = None) -> FastAPI:
    """Build the application from settings; the embedder is injected (tests pass a small one)."""
    settings = settings or Settings()
    if not settings.secret_key:
        log.warning("MATCHMAKER_SECRET_KEY is not set: using a random key, sessions end on restart")
        settings = settings.model_copy(update={"secret_key": secrets.token_urlsafe(32)})

    # One connection per request thread plus the jobs' (web.capacity); a pool wait is a misconfiguration: keep it short.
    engine = make_engine(settings.database_url, pool_size=pool_size(settings), max_overflow=0,
                         pool_timeout=settings.database_pool_timeout)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        from web.jobs import start_scheduler, stop_scheduler

        limit_request_threads(settings.request_threads)
        set_blas_threads(settings.blas_threads)  # once, before any request scores: never changed while BLAS runs
        scheduler = start_scheduler(app) if settings.run_scheduler else None
        try:
            yield
        finally:
            if scheduler is not None:
                stop_scheduler(app, settings.shutdown_timeout)
            engine.dispose()

    app = FastAPI(
        title="JCM Matchmaker",
        lifespan=lifespan,
        dependencies=[Depends(csrf_protect), Depends(load_user)],
        docs_url="/api/docs",
        openapi_url="/api/openapi.json",
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.session_factory = make_session_factory(engine)
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
    app.add_exception_handler(DomainError, handle_domain_error)
    app.add_exception_handler(StarletteHTTPException, handle_http_error)
    app.add_exception_handler(RequestValidationError, handle_validation_error)
    app.add_exception_handler(PoolTimeout, handle_pool_timeout)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    for router in ROUTERS:
        app.include_router(router)
    return app
