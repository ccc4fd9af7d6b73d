"""status and updated_at index: Pre-Matching's change check (approved organizations' count and newest update, asked
on every view) reads this index alone instead of every organization row

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-12
"""

from alembic import op


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('organization', schema=None) as batch_op:
        batch_op.create_index('ix_organization_status_updated_at', ['status', 'updated_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('organization', schema=None) as batch_op:
        batch_op.drop_index('ix_organization_status_updated_at')
