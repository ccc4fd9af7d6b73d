"""URL helpers."""

from urllib.parse import urlsplit


def safe_next(target: str | None, default: str = "/") -> str:
    """A local path to go to after a form, never another site (open-redirect guard)."""
    if not target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    return target
