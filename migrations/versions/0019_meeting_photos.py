"""Meeting photos (纪实): pictures a secretary sends after a meeting, fetched from WeChat's temporary media

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-04 21:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0019'
down_revision: str | None = '0018'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('meeting_photo',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('meeting_id', sa.Integer(), nullable=False),
    sa.Column('platform', sa.String(length=10), nullable=False),
    sa.Column('media_id', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('sent_by_person_id', sa.Integer(), nullable=False),
    sa.Column('received_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('lease_until', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('content_type', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('size', sa.Integer(), nullable=True),
    sa.Column('data', sa.LargeBinary(), nullable=True),
    sa.Column('error', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
    sa.Column('fetched_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['meeting_id'], ['meeting.id'], ),
    sa.ForeignKeyConstraint(['sent_by_person_id'], ['person.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('platform', 'media_id', name='uq_meeting_photo_media')
    )
    op.create_index(op.f('ix_meeting_photo_meeting_id'), 'meeting_photo', ['meeting_id'], unique=False)
    op.create_index('ix_meeting_photo_due', 'meeting_photo', ['status', 'next_attempt_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_meeting_photo_due', table_name='meeting_photo')
    op.drop_index(op.f('ix_meeting_photo_meeting_id'), table_name='meeting_photo')
    op.drop_table('meeting_photo')
