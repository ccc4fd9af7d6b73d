"""page indexes: organizations by (status, name, id) for ordered lists, and by updated_at for change checks

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03
"""

from alembic import op


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('organization', schema=None) as batch_op:
        batch_op.create_index('ix_organization_status_name', ['status', 'name', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_organization_updated_at'), ['updated_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('organization', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_organization_updated_at'))
        batch_op.drop_index('ix_organization_status_name')
