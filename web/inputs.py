"""Input checked at the edge, for every route: ids that fit the database, text without control characters.

PostgreSQL's INTEGER is 32-bit and SQLite's 64-bit, and PostgreSQL refuses NUL in text: left to the database,
an id of 2**63 in a URL or a NUL in a form field was a 500. The app-level dependency `guard_input` (registered
before every other) refuses them for every route, including routes added later, as 404 in a path and 422 in a
query, a form or a JSON body; `DbId` states the range on a parameter or a model field so the OpenAPI schema says it.
"""

from __future__ import annotations

import json
import re
from typing import Any

from fastapi import Request
from starlette.datastructures import UploadFile

from web.errors import NotFound, ValidationFailed
from web.i18n import _
from web.values import MAX_DB_ID, DbId, has_control_characters

__all__ = ["DbId", "guard_input"]
_INTEGER = re.compile(r"^\s*[-+]?\d+\s*$")


def _out_of_range(value: str) -> bool:
    return bool(_INTEGER.match(value)) and abs(int(value)) > MAX_DB_ID


def _control_message() -> str:
    return _("Contains an invisible control character (such as NUL) that cannot be stored. Remove it and send again.")


def _range_message() -> str:
    return _("Must be a number from 1 to %(max)d.") % {"max": MAX_DB_ID}


_INT_QUERY_NAMES: dict[int, frozenset[str]] = {}


def _int_query_names(route: Any) -> frozenset[str]:
    """Query parameters the route declares as integers (in its own signature or its dependencies), cached."""
    known = _INT_QUERY_NAMES.get(id(route))
    if known is not None:
        return known
    names, stack = set(), [route.dependant]
    while stack:
        dependant = stack.pop()
        for param in dependant.query_params:
            annotation = getattr(param.field_info, "annotation", None)
            if annotation is int or int in getattr(annotation, "__args__", ()):
                names.add(param.alias)
        stack.extend(dependant.dependencies)
    _INT_QUERY_NAMES[id(route)] = frozenset(names)
    return _INT_QUERY_NAMES[id(route)]


def _check_json(value: Any, location: str, errors: dict[str, str]) -> None:
    if isinstance(value, str):
        if has_control_characters(value):
            errors.setdefault(location or "body", _control_message())
    elif isinstance(value, bool):
        return
    elif isinstance(value, int):
        if abs(value) > MAX_DB_ID:
            errors.setdefault(location or "body", _range_message())
    elif isinstance(value, dict):
        for key, item in value.items():
            if has_control_characters(str(key)):
                errors.setdefault(location or "body", _control_message())
            _check_json(item, f"{location}.{key}" if location else str(key), errors)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _check_json(item, f"{location}.{index}" if location else str(index), errors)


async def guard_input(request: Request) -> None:
    """Refuse ids past the database's range and text with control characters, before any route code runs."""
    for value in request.path_params.values():
        if isinstance(value, str) and (_out_of_range(value) or has_control_characters(value)):
            raise NotFound(_("Page not found."))
    errors: dict[str, str] = {}
    route = request.scope.get("route")
    int_names = _int_query_names(route) if route is not None and hasattr(route, "dependant") else frozenset()
    for name, value in request.query_params.multi_items():
        if has_control_characters(name) or has_control_characters(value):
            errors.setdefault(name, _control_message())
        elif name in int_names and _out_of_range(value):
            errors.setdefault(name, _range_message())
    content_type = request.headers.get("content-type", "")
    if request.method in ("POST", "PUT", "PATCH", "DELETE"):
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            form = await request.form()
            for name, value in form.multi_items():
                if has_control_characters(name) or (not isinstance(value, UploadFile)
                                                    and has_control_characters(value)):
                    errors.setdefault(name, _control_message())
        elif content_type.startswith("application/json"):
            body = await request.body()
            try:
                _check_json(json.loads(body), "", errors) if body else None
            except ValueError:
                pass  # FastAPI answers malformed JSON itself (422)
    if errors:
        raise ValidationFailed(next(iter(errors.values())), field_errors=errors)
