"""Shared fixtures: a real migrated database (SQLite, or PostgreSQL via MATCHMAKER_TEST_DATABASE_URL)."""

from __future__ import annotations

import os
import re

import pytest
from sqlalchemy import delete
from fastapi.testclient import TestClient

from models import Base
from models.session import make_engine, make_session_factory, session_scope
from seeds.reference import load_reference
from web.app import create_app
from web.db import upgrade_database
from web.settings import Settings

REFERENCE_TABLES = {"country", "technology_category", "sector", "ctcn_technology", "methodology", "alembic_version",
                    "jcm_project_count", "jcm_registry_sector", "jcm_subsidy_rule"}
CSRF_RE = re.compile(r'name="csrf-token" content="([^"]+)"')


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> str:
    """The test database: MATCHMAKER_TEST_DATABASE_URL, or a fresh SQLite file."""
    return os.environ.get("MATCHMAKER_TEST_DATABASE_URL") or f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"


@pytest.fixture(scope="session")
def engine(database_url):
    """Migrated once per run through Alembic, with the reference data loaded."""
    engine = make_engine(database_url, pool_size=5)
    with engine.begin() as conn:
        # A PostgreSQL test database may hold an earlier run's schema: start clean.
        Base.metadata.drop_all(conn)
        conn.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
    upgrade_database(engine)
    with session_scope(make_session_factory(engine)) as session:
        load_reference(session)
    yield engine
    engine.dispose()


@pytest.fixture(autouse=False)
def clean_db(engine):
    """Empty every non-reference table after the test (and forget the embedding job's last clean pass over them)."""
    yield
    from web.services import matching_vectors

    matching_vectors._CLEAN.clear()
    with engine.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            if table.name not in REFERENCE_TABLES:
                conn.execute(delete(table))


@pytest.fixture
def session_factory(engine, clean_db):
    return make_session_factory(engine)


@pytest.fixture
def session(session_factory):
    """A session for arranging and checking data; committed by the test when needed."""
    with session_factory() as s:
        yield s


@pytest.fixture
def settings(database_url) -> Settings:
    return Settings(database_url=database_url, secret_key="test-secret-key-not-for-production",
                    run_scheduler=False, smtp_host="", base_url="http://testserver",
                    # The page builds the index itself (no refresher thread in tests) and checks it on every view.
                    matching_inline_refresh=True, matching_check_seconds=0)


@pytest.fixture
def embedder():
    """A small deterministic embedder (the real model only in slow-marked tests)."""
    from matchmaker.embedding import HashingEmbedder

    return HashingEmbedder()


@pytest.fixture
def app(settings, engine, clean_db, embedder):
    return create_app(settings, embedder=embedder)


@pytest.fixture
def client(app):
    with TestClient(app) as c:
        yield c


def csrf_token(client: TestClient, path: str = "/") -> str:
    """The session's CSRF token, read from a page's meta tag."""
    response = client.get(path)
    match = CSRF_RE.search(response.text)
    assert match, "page has no csrf-token meta tag"
    return match.group(1)
