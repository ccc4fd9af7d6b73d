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
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.sessions import SessionMiddleware

from models.session import make_engine, make_session_factory
from web import i18n
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


def create_app(settings: Settings | None = None, embedder: Any = None) -> FastAPI:
    """Build the application from settings; the embedder is injected (tests pass a small one)."""
    settings = settings or Settings()
    if not settings.secret_key:
        log.warning("MATCHMAKER_SECRET_KEY is not set: using a random key, sessions end on restart")
        settings = settings.model_copy(update={"secret_key": secrets.token_urlsafe(32)})

    engine = make_engine(settings.database_url)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        from web.jobs import start_scheduler

        scheduler = start_scheduler(app) if settings.run_scheduler else None
        try:
            yield
        finally:
            if scheduler is not None:
                scheduler.shutdown(wait=False)
            cache = getattr(app.state, "matching_cache", None)
            if cache is not None:
                cache.close()
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
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    for router in ROUTERS:
        app.include_router(router)
    return app
