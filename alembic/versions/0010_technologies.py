"""technologies: the catalogue's own records (technology, its track record), the area of each technology
category, and the JCM financing reference data of the pre-check (projects per country and registry sector, the
registry sectors' categories, the subsidy rules)

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30
"""

from alembic import op
import sqlalchemy as sa


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('jcm_project_count',
    sa.Column('country', sa.String(length=2), nullable=False),
    sa.Column('registry_sector', sa.String(length=60), nullable=False),
    sa.Column('projects', sa.Integer(), nullable=False),
    sa.Column('source', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('country', 'registry_sector', name=op.f('pk_jcm_project_count'))
    )
    op.create_table('jcm_subsidy_rule',
    sa.Column('key', sa.String(length=60), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('similar_from', sa.Integer(), nullable=True),
    sa.Column('similar_to', sa.Integer(), nullable=True),
    sa.Column('value', sa.Float(), nullable=False),
    sa.Column('unit', sa.String(length=30), nullable=False),
    sa.Column('source', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_jcm_subsidy_rule'))
    )
    op.create_table('jcm_registry_sector',
    sa.Column('name', sa.String(length=60), nullable=False),
    sa.Column('category', sa.String(length=40), nullable=False),
    sa.Column('is_primary', sa.Boolean(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('source', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['category'], ['technology_category.slug'], name=op.f('fk_jcm_registry_sector_category_technology_category')),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_jcm_registry_sector'))
    )
    op.create_table('technology',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organization_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('status_reason', sa.Text(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('name_ja', sa.String(length=200), nullable=False),
    sa.Column('category', sa.String(length=40), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('description_ja', sa.Text(), nullable=False),
    sa.Column('products', sa.JSON(), nullable=False),
    sa.Column('ghg_reduction_t', sa.Float(), nullable=True),
    sa.Column('figures_basis', sa.String(length=20), nullable=False),
    sa.Column('investment_jpy', sa.BigInteger(), nullable=True),
    sa.Column('annual_savings_jpy', sa.BigInteger(), nullable=True),
    sa.Column('durable_years', sa.Integer(), nullable=True),
    sa.Column('languages', sa.JSON(), nullable=False),
    sa.Column('image_key', sa.String(length=40), nullable=True),
    sa.Column('image_width', sa.Integer(), nullable=True),
    sa.Column('image_height', sa.Integer(), nullable=True),
    sa.Column('pending_changes', sa.JSON(), nullable=True),
    sa.Column('review_note', sa.Text(), nullable=False),
    sa.Column('is_demo', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('published_at', sa.DateTime(), nullable=True),
    sa.Column('reviewed_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['category'], ['technology_category.slug'], name=op.f('fk_technology_category_technology_category')),
    sa.ForeignKeyConstraint(['organization_id'], ['organization.id'], name=op.f('fk_technology_organization_id_organization'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_technology'))
    )
    with op.batch_alter_table('technology', schema=None) as batch_op:
        batch_op.create_index('ix_technology_organization_status', ['organization_id', 'status'], unique=False)
        batch_op.create_index('ix_technology_status_category', ['status', 'category'], unique=False)
        batch_op.create_index(batch_op.f('ix_technology_updated_at'), ['updated_at'], unique=False)

    op.create_table('technology_track_record',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('technology_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('country', sa.String(length=2), nullable=False),
    sa.Column('year', sa.Integer(), nullable=True),
    sa.Column('description', sa.String(length=300), nullable=False),
    sa.Column('jcm_project', sa.String(length=200), nullable=False),
    sa.Column('methodology', sa.String(length=40), nullable=True),
    sa.ForeignKeyConstraint(['methodology'], ['methodology.number'], name=op.f('fk_technology_track_record_methodology_methodology')),
    sa.ForeignKeyConstraint(['technology_id'], ['technology.id'], name=op.f('fk_technology_track_record_technology_id_technology'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_technology_track_record'))
    )
    with op.batch_alter_table('technology_track_record', schema=None) as batch_op:
        batch_op.create_index('ix_technology_track_record_technology_position', ['technology_id', 'position'], unique=False)

    with op.batch_alter_table('technology_category', schema=None) as batch_op:
        # Existing rows get '' until the seed command fills the areas in.
        batch_op.add_column(sa.Column('area', sa.String(length=40), nullable=False, server_default=''))



def downgrade() -> None:
    with op.batch_alter_table('technology_track_record', schema=None) as batch_op:
        batch_op.drop_index('ix_technology_track_record_technology_position')

    op.drop_table('technology_track_record')
    with op.batch_alter_table('technology', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_technology_updated_at'))
        batch_op.drop_index('ix_technology_status_category')
        batch_op.drop_index('ix_technology_organization_status')

    op.drop_table('technology')
    op.drop_table('jcm_registry_sector')
    op.drop_table('jcm_subsidy_rule')
    op.drop_table('jcm_project_count')
    # A plain DROP COLUMN (SQLite 3.35+): a batch rebuild would drop the table, which ctcn_technology refers to.
    op.drop_column('technology_category', 'area')
