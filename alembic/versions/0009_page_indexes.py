"""page indexes: organizations by status and name (also per country and kind) for lists read in order, by
updated_at for change checks; organization tags by (organization_id, field, value) for index-only tag checks

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03
"""

from alembic import op


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('organization', schema=None) as batch_op:
        batch_op.create_index('ix_organization_status_name', ['status', 'name', 'id'], unique=False)
        batch_op.create_index('ix_organization_status_country_name', ['status', 'country', 'name', 'id'], unique=False)
        batch_op.create_index('ix_organization_status_kind_name', ['status', 'kind', 'name', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_organization_updated_at'), ['updated_at'], unique=False)
    with op.batch_alter_table('organization_tag', schema=None) as batch_op:
        batch_op.create_index('ix_organization_tag_org_field_value', ['organization_id', 'field', 'value'], unique=False)
        batch_op.drop_index(batch_op.f('ix_organization_tag_organization_id'))


def downgrade() -> None:
    with op.batch_alter_table('organization_tag', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_organization_tag_organization_id'), ['organization_id'], unique=False)
        batch_op.drop_index('ix_organization_tag_org_field_value')
    with op.batch_alter_table('organization', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_organization_updated_at'))
        batch_op.drop_index('ix_organization_status_kind_name')
        batch_op.drop_index('ix_organization_status_country_name')
        batch_op.drop_index('ix_organization_status_name')
