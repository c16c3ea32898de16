"""Meetings (三会一课, 主题党日) and the series they repeat in

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-04 02:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0015'
down_revision: str | None = '0014'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('meeting_series',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('every', sa.String(length=10), nullable=False),
    sa.Column('day', sa.Integer(), nullable=True),
    sa.Column('weekday', sa.Integer(), nullable=True),
    sa.Column('nth', sa.Integer(), nullable=True),
    sa.Column('until', sa.Date(), nullable=True),
    sa.Column('holiday_policy', sa.String(length=20), nullable=False),
    sa.Column('created_by_person_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['created_by_person_id'], ['person.id'], ),
    sa.ForeignKeyConstraint(['org_id'], ['organisation.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_meeting_series_org_id'), 'meeting_series', ['org_id'], unique=False)
    op.create_table('meeting',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('series_id', sa.Integer(), nullable=True),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.Column('group_org_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('title', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('topic', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('starts_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('minutes', sa.Integer(), nullable=False),
    sa.Column('place', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('moved_from', sa.Date(), nullable=True),
    sa.Column('holiday', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('created_by_person_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['created_by_person_id'], ['person.id'], ),
    sa.ForeignKeyConstraint(['group_org_id'], ['organisation.id'], ),
    sa.ForeignKeyConstraint(['org_id'], ['organisation.id'], ),
    sa.ForeignKeyConstraint(['series_id'], ['meeting_series.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_meeting_org_starts', 'meeting', ['org_id', 'starts_at'], unique=False)
    op.create_index(op.f('ix_meeting_series_id'), 'meeting', ['series_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_meeting_series_id'), table_name='meeting')
    op.drop_index('ix_meeting_org_starts', table_name='meeting')
    op.drop_table('meeting')
    op.drop_index(op.f('ix_meeting_series_org_id'), table_name='meeting_series')
    op.drop_table('meeting_series')
