"""Top-level routing: each feature router is tried only for the paths it can serve.

FastAPI keeps an included router as one entry of the app's route list and, to match a request, walks every route
of every router before it (and then the chosen router's routes once more), with a few dictionary operations per
route: 1.7 microseconds each. With 28 routers and about 140 routes, `/api/v1/me` (the 25th router) spent 0.24 ms
finding its route, twice, out of a 1.4 ms request. A guarded router first compares the path with the literal
beginnings of its routes' paths (the part before the first parameter), one `str.startswith`, and only then walks
its routes. Which route serves a path does not change: the guard only skips routers that cannot match it.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any, Callable, Iterable

from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute, _IncludedRouter
from starlette._utils import get_route_path
from starlette.routing import Match
from starlette.types import Scope

from web.deps import commit_in_route_thread


class UnitOfWorkRoute(APIRoute):
    """A path operation whose sync endpoint commits the request's session in its own worker thread (web.deps)."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        if not (inspect.iscoroutinefunction(endpoint) or inspect.isgeneratorfunction(endpoint)
                or inspect.isasyncgenfunction(endpoint)):
            endpoint = commit_in_route_thread(endpoint)
        super().__init__(path, endpoint, **kwargs)


def feature_router(**kwargs: Any) -> APIRouter:
    """An APIRouter of UnitOfWorkRoute path operations (include_routers accepts no other)."""
    return APIRouter(route_class=UnitOfWorkRoute, **kwargs)


def literal_prefix(path: str) -> str:
    """The part of a route path before its first parameter, without a trailing slash ("" for "/")."""
    return path.split("{", 1)[0].rstrip("/")


@dataclass(eq=False)
class GuardedRouter(_IncludedRouter):
    """An included router that answers "no match" at once for a path none of its routes begins with."""

    prefixes: tuple[str, ...] = ("",)

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] != "http" or get_route_path(scope).startswith(self.prefixes):
            return super().matches(scope)
        return Match.NONE, {}


def route_prefixes(included: _IncludedRouter) -> tuple[str, ...] | None:
    """The literal beginnings of the router's route paths; None when some route is not a plain path operation."""
    prefixes = set()
    for context in included.effective_route_contexts():
        if not isinstance(context.original_route, APIRoute) or not context.path.startswith("/"):
            return None
        prefixes.add(literal_prefix(context.path))
    if included.effective_low_priority_routes():
        return None
    return tuple(sorted(prefixes))


def include_routers(app: FastAPI, routers: Iterable[APIRouter]) -> None:
    """Include the routers in order, each behind a guard on its paths' beginnings."""
    for router in routers:
        plain = [route.path for route in router.routes
                 if isinstance(route, APIRoute) and not isinstance(route, UnitOfWorkRoute)]
        if plain:
            raise TypeError(f"routes {plain} would not commit in their own thread: use feature_router()")
        app.include_router(router)
    routes = app.router.routes
    for index, route in enumerate(routes):
        if type(route) is not _IncludedRouter:
            continue
        prefixes = route_prefixes(route)
        if prefixes:
            routes[index] = GuardedRouter(original_router=route.original_router,
                                          include_context=route.include_context, prefixes=prefixes)
    app.router._mark_routes_changed()
