"""The guarded top-level routing (web.routing): the same route for every path, with routers skipped by a prefix."""

from __future__ import annotations

import inspect
import re

import pytest
from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute, _IncludedRouter, iter_route_contexts
from starlette.routing import Match

from web.routing import GuardedRouter, UnitOfWorkRoute, feature_router, include_routers, literal_prefix

PARAM = re.compile(r"{([^}:]+)(?::[^}]+)?}")


def unguarded(routes):
    """The app's route list as FastAPI builds it, each router a plain included router."""
    return [_IncludedRouter(original_router=r.original_router, include_context=r.include_context)
            if isinstance(r, GuardedRouter) else r for r in routes]


def resolve(routes, method: str, path: str):
    """(the endpoint that serves method and path, or None; the match kind) as the app's router chooses."""
    scope = {"type": "http", "method": method, "path": path, "root_path": "", "headers": [], "query_string": b""}
    partial = None
    for route in routes:
        match, child = route.matches(scope)
        if match == Match.NONE:
            continue
        chosen = route._match(scope)[2] if isinstance(route, _IncludedRouter) else route
        if match == Match.FULL:
            return getattr(chosen, "endpoint", chosen), "full"
        partial = partial or (getattr(chosen, "endpoint", chosen), "partial")
    return partial or (None, "none")


def sample_paths(app):
    """(method, a concrete path) for every route of the app, parameters filled in, plus their near misses."""
    for context in iter_route_contexts(app.routes):
        if not isinstance(context.original_route, APIRoute):
            continue
        path = PARAM.sub("7", context.path)
        for method in sorted(context.methods):
            yield method, path
            yield method, path + "/"  # the trailing-slash redirect looks for a route without it
            yield ("GET" if method != "GET" else "DELETE"), path  # the 405 answer looks for a partial match
        yield "GET", path + "/more/9"


def test_literal_prefix():
    assert literal_prefix("/events/{event_id:int}/dashboard") == "/events"
    assert literal_prefix("/api/v1/me") == "/api/v1/me"
    assert literal_prefix("/") == ""
    assert literal_prefix("/technologies.csv") == "/technologies.csv"


def test_every_router_but_the_home_page_is_guarded(app):
    guarded = [route for route in app.router.routes if isinstance(route, GuardedRouter)]
    assert len(guarded) >= 25
    assert [route.prefixes for route in guarded if "" in route.prefixes] == [("", "/favicon.ico")]


def test_guards_choose_the_same_route_for_every_path(app):
    plain = unguarded(app.router.routes)
    checked = 0
    for method, path in sample_paths(app):
        assert resolve(app.router.routes, method, path) == resolve(plain, method, path), (method, path)
        checked += 1
    assert checked > 400


def test_requests_reach_their_routes_through_the_guards(client):
    assert client.get("/api/v1/me").status_code == 401
    assert client.get("/directory").status_code == 200
    assert client.get("/no-such-page").status_code == 404
    assert client.get("/technologies.json").status_code == 200


def test_every_sync_route_commits_in_its_own_thread_and_a_plain_router_is_refused(app):
    sync = [context.original_route for context in iter_route_contexts(app.routes)
            if isinstance(context.original_route, APIRoute)
            and not inspect.iscoroutinefunction(inspect.unwrap(context.original_route.endpoint))]
    assert len(sync) > 100
    assert all(isinstance(route, UnitOfWorkRoute) and route.endpoint is not inspect.unwrap(route.endpoint)
               for route in sync), [route.path for route in sync if not isinstance(route, UnitOfWorkRoute)]
    # A router made without feature_router() would commit after its routes, one hop later: refused at start.
    plain = APIRouter()

    @plain.get("/plain")
    def plain_page() -> dict:
        return {}

    with pytest.raises(TypeError, match="feature_router"):
        include_routers(FastAPI(), [plain])
    include_routers(FastAPI(), [feature_router()])
