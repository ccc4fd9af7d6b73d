"""sectors: a controlled, translated vocabulary; free-text sectors mapped onto it, the rest kept as "other: <text>"

Free-text sectors made every word anyone typed a public filter option, and "Industry" and "industry" two. The
vocabulary (seeds/data/sectors.csv, loaded and refreshed by `matchmaker seed`) is written here too, frozen as of
this revision, so a migrated database is consistent before the next seed. Each organization's sectors become
slugs: a value that names a sector in English or Japanese, or one of its other names, in any case, becomes that
sector; anything else is kept, visible to its organization only, as "other: <text>" (never a filter option).
Downgrade writes the English names back and "other: <text>" as the text.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-10
"""

import unicodedata

import sqlalchemy as sa
from alembic import op


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

# (slug, position, name_en, name_ja, other names), as in seeds/data/sectors.csv at this revision.
SECTORS = (
    ("energy", 1, "Energy", "エネルギー",
     "power;electricity;power generation;utilities;energy industries;energy distribution;energy supply;renewable energy"),
    ("industry", 2, "Industry", "産業",
     "manufacturing;manufacturing industries;factories;chemical industries;chemicals;metal production;steel;cement;"
     "mining;food processing;textiles"),
    ("buildings", 3, "Buildings", "建築物",
     "building;commercial;commercial buildings;residential;households;hotels;hospitality;hospitals;offices;"
     "real estate;construction"),
    ("transport", 4, "Transport", "運輸", "transportation;mobility;logistics;vehicles;shipping;aviation"),
    ("waste", 5, "Waste", "廃棄物", "waste handling and disposal;waste management;wastewater;recycling"),
    ("afolu", 6, "Agriculture, forestry and land use", "農業・林業・土地利用",
     "agriculture;farming;livestock;forestry;forests;redd+;land use;afforestation and reforestation;"
     "agriculture forestry and other land use"),
    ("water", 7, "Water supply", "水道", "water;water utilities;drinking water"),
)
OTHER = "other:"
CHUNK = 1000

organization = sa.table("organization", sa.column("id", sa.Integer), sa.column("sectors", sa.JSON))
organization_tag = sa.table("organization_tag", sa.column("id", sa.Integer), sa.column("organization_id", sa.Integer),
                            sa.column("field", sa.String), sa.column("value", sa.String))


def _key(text):
    return " ".join(unicodedata.normalize("NFKC", text).replace("_", " ").casefold().split())


def _lookup():
    found = {}
    for slug, _position, name_en, name_ja, aliases in SECTORS:
        for name in (slug, name_en, name_ja, *aliases.split(";")):
            found.setdefault(_key(name), slug)
    return found


def to_vocabulary(values, lookup):
    """Slugs for the values that name a sector, "other: <text>" for the rest; order kept, duplicates dropped."""
    result = []
    for value in values or []:
        text = str(value).strip()
        if text[:len(OTHER)].casefold() == OTHER:
            text = text[len(OTHER):].strip()
        if not text:
            continue
        mapped = lookup.get(_key(text)) or f"other: {text}"[:200]
        if mapped not in result:
            result.append(mapped)
    return result


def to_free_text(values, names):
    result = []
    for value in values or []:
        text = names.get(value) or (value[len(OTHER):].strip() if value[:len(OTHER)].casefold() == OTHER else value)
        if text and text not in result:
            result.append(text)
    return result


def _rewrite(convert, tagged) -> None:
    """Rewrite every organization's sectors with convert(); its sector tags become tagged(values)."""
    bind = op.get_bind()
    rows = bind.execute(sa.select(organization.c.id, organization.c.sectors)).all()
    changed = [(org_id, convert(values)) for org_id, values in rows if values]
    for start in range(0, len(changed), CHUNK):
        chunk = changed[start:start + CHUNK]
        ids = [org_id for org_id, _values in chunk]
        bind.execute(sa.update(organization).where(organization.c.id == sa.bindparam("org_id"))
                     .values(sectors=sa.bindparam("new_sectors")),
                     [{"org_id": org_id, "new_sectors": values} for org_id, values in chunk])
        bind.execute(sa.delete(organization_tag).where(organization_tag.c.field == "sectors",
                                                       organization_tag.c.organization_id.in_(ids)))
        tags = [{"organization_id": org_id, "field": "sectors", "value": value[:200]}
                for org_id, values in chunk for value in tagged(values)]
        if tags:
            bind.execute(sa.insert(organization_tag), tags)


def upgrade() -> None:
    sector = op.create_table('sector',
    sa.Column('slug', sa.String(length=40), nullable=False),
    sa.Column('name_en', sa.String(length=100), nullable=False),
    sa.Column('name_ja', sa.String(length=100), nullable=False),
    sa.Column('description_en', sa.Text(), nullable=False),
    sa.Column('description_ja', sa.Text(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('aliases', sa.Text(), nullable=False),
    sa.Column('source', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('slug', name=op.f('pk_sector'))
    )
    op.bulk_insert(sector, [
        {"slug": slug, "position": position, "name_en": name_en, "name_ja": name_ja, "description_en": "",
         "description_ja": "", "aliases": aliases, "source": "migration 0011 (matchmaker seed adds the rest)"}
        for slug, position, name_en, name_ja, aliases in SECTORS])
    lookup = _lookup()
    # Only sectors of the vocabulary are filter options: "other: <text>" gets no tag.
    _rewrite(lambda values: to_vocabulary(values, lookup),
             lambda values: [value for value in values if not value.startswith(OTHER)])


def downgrade() -> None:
    names = {slug: name_en for slug, _position, name_en, _name_ja, _aliases in SECTORS}
    _rewrite(lambda values: to_free_text(values, names), lambda values: values)
    op.drop_table('sector')
