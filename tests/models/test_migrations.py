"""The schema made by Alembic matches the models, on SQLite and PostgreSQL alike."""

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import func, insert, inspect, select

from models import Base
from models.organization import compared_in_schema
from models.base import utcnow
from web.db import alembic_config, upgrade_database

COMPARE = {"compare_type": True, "include_object": compared_in_schema}


def test_migrations_match_models(engine):
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts=COMPARE)
        diff = compare_metadata(context, Base.metadata)
    assert diff == []


def test_migrations_have_a_single_head(database_url):
    script = ScriptDirectory.from_config(alembic_config(database_url))
    assert len(script.get_heads()) == 1


def test_every_model_table_exists_after_upgrade(engine):
    tables = set(inspect(engine).get_table_names())
    assert set(Base.metadata.tables) <= tables


# --- downgrades: every migration can be undone, and its data comes back -------------------------------------------

def _restore_head(engine) -> None:
    """Back to head with the reference data, as the session's other tests expect the database."""
    from models.session import make_session_factory, session_scope
    from seeds.reference import load_reference

    upgrade_database(engine)
    with session_scope(make_session_factory(engine)) as session:
        load_reference(session)


def _alembic(engine, action: str, revision: str) -> None:
    config = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.connect() as connection:
        config.attributes["connection"] = connection
        getattr(command, action)(config, revision)


def test_downgrade_to_base_then_upgrade_again(engine, clean_db):
    script = ScriptDirectory.from_config(alembic_config(engine.url.render_as_string(hide_password=False)))
    revisions = [rev.revision for rev in script.walk_revisions()]  # head first, each one's downgrade runs
    assert len(revisions) >= 9
    try:
        _alembic(engine, "downgrade", "base")
        assert set(inspect(engine).get_table_names()) - {"alembic_version"} == set()
        upgrade_database(engine)
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts=COMPARE)
            assert compare_metadata(context, Base.metadata) == []
            assert context.get_current_revision() == script.get_current_head()
    finally:
        _restore_head(engine)


def test_sectors_migration_maps_free_text_onto_the_vocabulary_and_back(engine, clean_db):
    before = ScriptDirectory.from_config(alembic_config(str(engine.url))).get_revision("0011").down_revision
    organization, tag = Base.metadata.tables["organization"], Base.metadata.tables["organization_tag"]
    now = utcnow()
    row = {"name": "Old Co", "kind": "partner_company", "country": "VN", "description": "", "offers": [], "needs": [],
           "technology_categories": [], "target_countries": [], "website": "", "contact_name": "",
           "contact_email": "", "contact_phone": "", "status": "approved", "status_reason": "", "is_demo": False,
           "source": "", "search_text": "", "created_at": now, "updated_at": now}
    legacy = ["Industry", "hotels", "INDUSTRY", "農業・林業・土地利用", "Ski resorts", " "]
    try:
        _alembic(engine, "downgrade", before)
        with engine.begin() as conn:
            first = conn.execute(insert(organization).values(row | {"sectors": legacy})).inserted_primary_key[0]
            empty = conn.execute(insert(organization)
                                 .values(row | {"name": "Empty", "sectors": []})).inserted_primary_key[0]
            conn.execute(insert(tag), [{"organization_id": first, "field": "sectors", "value": v} for v in legacy[:5]])
        _alembic(engine, "upgrade", "0011")
        with engine.connect() as conn:
            assert conn.scalar(select(organization.c.sectors).where(organization.c.id == first)) == [
                "industry", "buildings", "afolu", "other: Ski resorts"]
            assert conn.scalar(select(organization.c.sectors).where(organization.c.id == empty)) == []
            tags = conn.scalars(select(tag.c.value).where(tag.c.organization_id == first, tag.c.field == "sectors"))
            assert sorted(tags) == ["afolu", "buildings", "industry"]  # "other:" is never a filter option
            assert conn.scalar(select(func.count()).select_from(Base.metadata.tables["sector"])) == 7
        _alembic(engine, "downgrade", before)
        with engine.connect() as conn:
            assert conn.scalar(select(organization.c.sectors).where(organization.c.id == first)) == [
                "Industry", "Buildings", "Agriculture, forestry and land use", "Ski resorts"]
            tags = conn.scalars(select(tag.c.value).where(tag.c.organization_id == first, tag.c.field == "sectors"))
            assert sorted(tags) == ["Agriculture, forestry and land use", "Buildings", "Industry", "Ski resorts"]
            assert "sector" not in inspect(conn).get_table_names()
    finally:
        _restore_head(engine)
