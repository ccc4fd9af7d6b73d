"""invitations: a single-use link for an organization's contact to claim it

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04
"""

from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('organization_invitation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organization_id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('reason', sa.String(length=20), nullable=False),
    sa.Column('invited_by_user_id', sa.Integer(), nullable=True),
    sa.Column('request_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('expires_at', sa.DateTime(), nullable=False),
    sa.Column('used_at', sa.DateTime(), nullable=True),
    sa.Column('used_by_user_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['invited_by_user_id'], ['user_account.id'], name=op.f('fk_organization_invitation_invited_by_user_id_user_account'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['organization_id'], ['organization.id'], name=op.f('fk_organization_invitation_organization_id_organization'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['request_id'], ['meeting_request.id'], name=op.f('fk_organization_invitation_request_id_meeting_request'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['used_by_user_id'], ['user_account.id'], name=op.f('fk_organization_invitation_used_by_user_id_user_account'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_organization_invitation')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_organization_invitation_token_hash'))
    )
    with op.batch_alter_table('organization_invitation', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_organization_invitation_organization_id'), ['organization_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('organization_invitation', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_organization_invitation_organization_id'))
    op.drop_table('organization_invitation')
