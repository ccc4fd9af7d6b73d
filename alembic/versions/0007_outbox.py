"""outbox: a stable Message-ID per email and a flag for bodies that hold secrets

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02
"""

from email.utils import make_msgid

from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('email_outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('message_id', sa.String(length=250), nullable=True))
        batch_op.add_column(sa.Column('sensitive', sa.Boolean(), server_default=sa.false(), nullable=False))
    outbox = sa.table('email_outbox', sa.column('id', sa.Integer()), sa.column('status', sa.String()),
                      sa.column('message_id', sa.String()))
    connection = op.get_bind()
    # Done emails are never sent again: one statement names them for the record.
    done = outbox.c.status.in_(['sent', 'failed'])
    connection.execute(outbox.update().where(done).values(
        message_id='<outbox.' + sa.cast(outbox.c.id, sa.String()) + '.before-0007@jcm-matchmaker>'))
    # Emails still to send get a unique Message-ID now and keep it for their retries.
    ids = connection.execute(sa.select(outbox.c.id).where(outbox.c.message_id.is_(None))).scalars().all()
    for email_id in ids:
        connection.execute(outbox.update().where(outbox.c.id == email_id)
                           .values(message_id=make_msgid(domain='jcm-matchmaker')))
    with op.batch_alter_table('email_outbox', schema=None) as batch_op:
        batch_op.alter_column('message_id', existing_type=sa.String(length=250), nullable=False)
        batch_op.create_unique_constraint(batch_op.f('uq_email_outbox_message_id'), ['message_id'])


def downgrade() -> None:
    with op.batch_alter_table('email_outbox', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_email_outbox_message_id'), type_='unique')
        batch_op.drop_column('sensitive')
        batch_op.drop_column('message_id')
