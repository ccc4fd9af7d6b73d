"""events: events, registrations, availability, timetable, proposals

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29
"""

from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table('event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('title_en', sa.String(length=200), nullable=False),
    sa.Column('title_ja', sa.String(length=200), nullable=False),
    sa.Column('description_en', sa.Text(), nullable=False),
    sa.Column('description_ja', sa.Text(), nullable=False),
    sa.Column('venue', sa.String(length=300), nullable=False),
    sa.Column('online_url', sa.String(length=500), nullable=False),
    sa.Column('time_zone', sa.String(length=64), nullable=False),
    sa.Column('starts_at', sa.DateTime(), nullable=False),
    sa.Column('ends_at', sa.DateTime(), nullable=False),
    sa.Column('meeting_minutes', sa.Integer(), nullable=False),
    sa.Column('table_count', sa.Integer(), nullable=True),
    sa.Column('registration_deadline', sa.DateTime(), nullable=False),
    sa.Column('capacity', sa.Integer(), nullable=False),
    sa.Column('places_taken', sa.Integer(), nullable=False),
    sa.Column('auto_approve', sa.Boolean(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('published_at', sa.DateTime(), nullable=True),
    sa.Column('timetable_published_at', sa.DateTime(), nullable=True),
    sa.Column('is_demo', sa.Boolean(), nullable=False),
    sa.Column('created_by_user_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['created_by_user_id'], ['user_account.id'], name=op.f('fk_event_created_by_user_id_user_account'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_event'))
    )
    with op.batch_alter_table('event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_event_starts_at'), ['starts_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_event_status'), ['status'], unique=False)

    op.create_table('event_break',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('starts_at', sa.DateTime(), nullable=False),
    sa.Column('ends_at', sa.DateTime(), nullable=False),
    sa.Column('label', sa.String(length=100), nullable=False),
    sa.ForeignKeyConstraint(['event_id'], ['event.id'], name=op.f('fk_event_break_event_id_event'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_event_break'))
    )
    with op.batch_alter_table('event_break', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_event_break_event_id'), ['event_id'], unique=False)

    op.create_table('event_registration',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('organization_id', sa.Integer(), nullable=False),
    sa.Column('registered_by_user_id', sa.Integer(), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('status_reason', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('decided_at', sa.DateTime(), nullable=True),
    sa.Column('withdrawn_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['event_id'], ['event.id'], name=op.f('fk_event_registration_event_id_event'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['organization_id'], ['organization.id'], name=op.f('fk_event_registration_organization_id_organization'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['registered_by_user_id'], ['user_account.id'], name=op.f('fk_event_registration_registered_by_user_id_user_account'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_event_registration')),
    sa.UniqueConstraint('event_id', 'organization_id', name='uq_event_registration_event_org')
    )
    with op.batch_alter_table('event_registration', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_event_registration_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_event_registration_event_id'), ['event_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_event_registration_organization_id'), ['organization_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_event_registration_status'), ['status'], unique=False)

    op.create_table('event_attendee',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('registration_id', sa.Integer(), nullable=False),
    sa.Column('full_name', sa.String(length=200), nullable=False),
    sa.Column('job_title', sa.String(length=200), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=False),
    sa.ForeignKeyConstraint(['registration_id'], ['event_registration.id'], name=op.f('fk_event_attendee_registration_id_event_registration'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_event_attendee'))
    )
    with op.batch_alter_table('event_attendee', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_event_attendee_registration_id'), ['registration_id'], unique=False)

    op.create_table('event_meeting',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('request_id', sa.Integer(), nullable=False),
    sa.Column('starts_at', sa.DateTime(), nullable=True),
    sa.Column('table_number', sa.Integer(), nullable=True),
    sa.Column('pinned', sa.Boolean(), nullable=False),
    sa.Column('unplaced_reason', sa.String(length=40), nullable=False),
    sa.Column('published_starts_at', sa.DateTime(), nullable=True),
    sa.Column('published_table_number', sa.Integer(), nullable=True),
    sa.Column('published_at', sa.DateTime(), nullable=True),
    sa.Column('sequence', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['event_id'], ['event.id'], name=op.f('fk_event_meeting_event_id_event'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['request_id'], ['meeting_request.id'], name=op.f('fk_event_meeting_request_id_meeting_request'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_event_meeting')),
    sa.UniqueConstraint('event_id', 'starts_at', 'table_number', name='uq_event_meeting_table_slot'),
    sa.UniqueConstraint('request_id', name=op.f('uq_event_meeting_request_id'))
    )
    with op.batch_alter_table('event_meeting', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_event_meeting_event_id'), ['event_id'], unique=False)

    op.create_table('event_unavailable_slot',
    sa.Column('registration_id', sa.Integer(), nullable=False),
    sa.Column('starts_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['registration_id'], ['event_registration.id'], name=op.f('fk_event_unavailable_slot_registration_id_event_registration'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('registration_id', 'starts_at', name=op.f('pk_event_unavailable_slot'))
    )
    op.create_table('meeting_proposal',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('request_id', sa.Integer(), nullable=False),
    sa.Column('proposed_by_org_id', sa.Integer(), nullable=False),
    sa.Column('proposed_by_user_id', sa.Integer(), nullable=True),
    sa.Column('active_key', sa.Integer(), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('time_zone', sa.String(length=64), nullable=False),
    sa.Column('confirmed_option_id', sa.Integer(), nullable=True),
    sa.Column('confirmed_at', sa.DateTime(), nullable=True),
    sa.Column('sequence', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['proposed_by_org_id'], ['organization.id'], name=op.f('fk_meeting_proposal_proposed_by_org_id_organization'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['proposed_by_user_id'], ['user_account.id'], name=op.f('fk_meeting_proposal_proposed_by_user_id_user_account'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['request_id'], ['meeting_request.id'], name=op.f('fk_meeting_proposal_request_id_meeting_request'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_meeting_proposal')),
    sa.UniqueConstraint('active_key', name=op.f('uq_meeting_proposal_active_key'))
    )
    with op.batch_alter_table('meeting_proposal', schema=None) as batch_op:
        batch_op.create_index('ix_meeting_proposal_request_status', ['request_id', 'status'], unique=False)
        batch_op.create_index(batch_op.f('ix_meeting_proposal_status'), ['status'], unique=False)

    op.create_table('event_meeting_seat',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('meeting_id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('organization_id', sa.Integer(), nullable=False),
    sa.Column('starts_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['event_id'], ['event.id'], name=op.f('fk_event_meeting_seat_event_id_event'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['meeting_id'], ['event_meeting.id'], name=op.f('fk_event_meeting_seat_meeting_id_event_meeting'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['organization_id'], ['organization.id'], name=op.f('fk_event_meeting_seat_organization_id_organization'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_event_meeting_seat')),
    sa.UniqueConstraint('event_id', 'starts_at', 'organization_id', name='uq_event_meeting_seat_org_slot')
    )
    with op.batch_alter_table('event_meeting_seat', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_event_meeting_seat_meeting_id'), ['meeting_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_event_meeting_seat_organization_id'), ['organization_id'], unique=False)

    op.create_table('meeting_proposal_option',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('proposal_id', sa.Integer(), nullable=False),
    sa.Column('starts_at', sa.DateTime(), nullable=False),
    sa.Column('ends_at', sa.DateTime(), nullable=False),
    sa.Column('location', sa.String(length=300), nullable=False),
    sa.Column('online_url', sa.String(length=500), nullable=False),
    sa.ForeignKeyConstraint(['proposal_id'], ['meeting_proposal.id'], name=op.f('fk_meeting_proposal_option_proposal_id_meeting_proposal'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_meeting_proposal_option'))
    )
    with op.batch_alter_table('meeting_proposal_option', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_meeting_proposal_option_proposal_id'), ['proposal_id'], unique=False)

    with op.batch_alter_table('meeting_request', schema=None) as batch_op:
        batch_op.create_foreign_key(batch_op.f('fk_meeting_request_event_id_event'), 'event', ['event_id'], ['id'], ondelete='SET NULL')

    op.create_table('calendar_feed',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('nonce', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_calendar_feed_user_id_user_account'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_calendar_feed'))
    )

    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.add_column(sa.Column('event_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('organization_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_notification_event_id'), ['event_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_notification_event_id_event'), 'event', ['event_id'], ['id'], ondelete='CASCADE')
        batch_op.create_foreign_key(batch_op.f('fk_notification_organization_id_organization'), 'organization', ['organization_id'], ['id'], ondelete='CASCADE')




def downgrade() -> None:

    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_notification_organization_id_organization'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_notification_event_id_event'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_notification_event_id'))
        batch_op.drop_column('organization_id')
        batch_op.drop_column('event_id')

    op.drop_table('calendar_feed')

    with op.batch_alter_table('meeting_request', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_meeting_request_event_id_event'), type_='foreignkey')

    with op.batch_alter_table('meeting_proposal_option', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_meeting_proposal_option_proposal_id'))

    op.drop_table('meeting_proposal_option')
    with op.batch_alter_table('event_meeting_seat', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_event_meeting_seat_organization_id'))
        batch_op.drop_index(batch_op.f('ix_event_meeting_seat_meeting_id'))

    op.drop_table('event_meeting_seat')
    with op.batch_alter_table('meeting_proposal', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_meeting_proposal_status'))
        batch_op.drop_index('ix_meeting_proposal_request_status')

    op.drop_table('meeting_proposal')
    op.drop_table('event_unavailable_slot')
    with op.batch_alter_table('event_meeting', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_event_meeting_event_id'))

    op.drop_table('event_meeting')
    with op.batch_alter_table('event_attendee', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_event_attendee_registration_id'))

    op.drop_table('event_attendee')
    with op.batch_alter_table('event_registration', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_event_registration_status'))
        batch_op.drop_index(batch_op.f('ix_event_registration_organization_id'))
        batch_op.drop_index(batch_op.f('ix_event_registration_event_id'))
        batch_op.drop_index(batch_op.f('ix_event_registration_created_at'))

    op.drop_table('event_registration')
    with op.batch_alter_table('event_break', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_event_break_event_id'))

    op.drop_table('event_break')
    with op.batch_alter_table('event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_event_status'))
        batch_op.drop_index(batch_op.f('ix_event_starts_at'))

    op.drop_table('event')

