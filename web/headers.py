"""Security headers on every response, and the API docs page with a policy of its own."""

from __future__ import annotations

import base64
import hashlib
import re
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse

# Scripts only from our own files: no inline <script>, no on* attributes, no eval (htmx runs with allowEval
# false, and behaviour lives in static/js/app.js). Style *attributes* are allowed (style-src-attr): a few
# widths and grid positions are data (the profile-completeness bar) and a style attribute cannot run script;
# <style> elements and other sites' stylesheets stay blocked. frame-ancestors 'none' refuses framing
# (clickjacking); form-action 'self' keeps a page's forms from posting elsewhere.
CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "style-src-attr 'unsafe-inline'",
    "img-src 'self' data:",
    "font-src 'self'",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])
SWAGGER_CDN = "https://cdn.jsdelivr.net"


class SecurityHeadersMiddleware:
    """Adds the security headers to every HTTP response that does not set its own (pure ASGI)."""

    def __init__(self, app: Any, hsts: bool) -> None:
        self.app = app
        self.headers = [
            (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
            (b"x-content-type-options", b"nosniff"),
            # Reset and confirmation links carry their token in the path: never send it to another site.
            (b"referrer-policy", b"same-origin"),
            (b"x-frame-options", b"DENY"),
            (b"cross-origin-opener-policy", b"same-origin"),
            (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
        ]
        if hsts:  # only when cookies are Secure, i.e. the site is served over HTTPS
            self.headers.append((b"strict-transport-security", b"max-age=31536000; includeSubDomains"))

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _value in message.get("headers", [])}
                extra = [(name, value) for name, value in self.headers if name not in present]
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _script_hashes(html: str) -> list[str]:
    return ["'sha256-%s'" % base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
            for body in re.findall(r"<script>(.*?)</script>", html, re.S)]


def add_api_docs(app: FastAPI, path: str = "/api/docs") -> None:
    """Swagger UI for the API: its files come from a CDN and it starts with one inline script, allowed by hash."""

    @app.get(path, include_in_schema=False)
    def api_docs() -> HTMLResponse:
        page = get_swagger_ui_html(openapi_url=app.openapi_url or "/api/openapi.json", title=f"{app.title} API")
        html = page.body.decode()
        policy = CONTENT_SECURITY_POLICY.replace(
            "script-src 'self'", " ".join(["script-src 'self'", SWAGGER_CDN, *_script_hashes(html)])
        ).replace("style-src 'self'", f"style-src 'self' {SWAGGER_CDN}").replace(
            "img-src 'self' data:", "img-src 'self' data: https://fastapi.tiangolo.com")
        return HTMLResponse(html, headers={"Content-Security-Policy": policy})
