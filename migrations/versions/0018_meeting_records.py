"""Meetings recorded as held (已召开: host, recorder, minutes, attendance) and 已补课 answers

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-04 20:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0018'
down_revision: str | None = '0017'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('meeting_record',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('meeting_id', sa.Integer(), nullable=False),
    sa.Column('held_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('held_month', sa.Integer(), nullable=False),
    sa.Column('owner_org_id', sa.Integer(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('host', sqlmodel.sql.sqltypes.AutoString(length=50), nullable=False),
    sa.Column('recorder', sqlmodel.sql.sqltypes.AutoString(length=50), nullable=False),
    sa.Column('minutes', sa.Text(), nullable=False),
    sa.Column('invited', sa.Integer(), nullable=False),
    sa.Column('present', sa.Integer(), nullable=False),
    sa.Column('on_leave', sa.Integer(), nullable=False),
    sa.Column('absent', sa.Integer(), nullable=False),
    sa.Column('present_names', sa.Text(), nullable=False),
    sa.Column('leave_names', sa.Text(), nullable=False),
    sa.Column('absent_names', sa.Text(), nullable=False),
    sa.Column('recorded_by_person_id', sa.Integer(), nullable=True),
    sa.Column('recorded_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['meeting_id'], ['meeting.id'], ),
    sa.ForeignKeyConstraint(['owner_org_id'], ['organisation.id'], ),
    sa.ForeignKeyConstraint(['recorded_by_person_id'], ['person.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('meeting_id')
    )
    op.create_index('ix_meeting_record_month', 'meeting_record', ['held_month', 'owner_org_id', 'kind'],
                    unique=False)
    # SQLite keeps the kind as text without a constraint; PostgreSQL has an enum type to extend.
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TYPE engagementkind ADD VALUE IF NOT EXISTS 'made_up'")


def downgrade() -> None:
    op.execute("DELETE FROM engagement WHERE kind = 'made_up'")
    op.drop_index('ix_meeting_record_month', table_name='meeting_record')
    op.drop_table('meeting_record')
