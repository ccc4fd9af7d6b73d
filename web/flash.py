"""The one way to tell a person what just happened after a redirect (post/redirect/get).

A route calls `flash(request, message)` before redirecting; the next full page rendered for that browser shows the
message once, above its content (web.templating pops it; base.html shows it). An htmx action that answers with a
fragment puts its message in the fragment's context instead (`notice`, shown with the same `notice` macro), since
a swapped fragment has no base.html around it.
"""

from __future__ import annotations

from typing import Any

KEY = "flash"
KINDS = ("info", "warn", "error")


def flash(request: Any, message: str, kind: str = "info") -> None:
    """Keep a message for the next full page this browser loads."""
    request.session[KEY] = [message, kind if kind in KINDS else "info"]


def take_flash(request: Any) -> dict[str, str]:
    """The waiting message as page context ({"flash", "flash_kind"}), removed so it shows once; {} if none."""
    session = request.scope.get("session")
    if not session or KEY not in session:
        return {}
    message, kind = session.pop(KEY)
    return {"flash": message, "flash_kind": kind}
