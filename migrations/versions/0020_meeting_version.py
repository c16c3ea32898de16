"""A meeting's version, bumped when it is rescheduled (its reminders' rounds carry it), and the rounds queued

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-04 20:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0020'
down_revision: str | None = '0019'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('meeting') as batch_op:
        batch_op.add_column(sa.Column('version', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('reminded', sa.Integer(), nullable=False, server_default='0'))
    op.create_index('ix_meeting_status_starts', 'meeting', ['status', 'starts_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_meeting_status_starts', table_name='meeting')
    with op.batch_alter_table('meeting') as batch_op:
        batch_op.drop_column('reminded')
        batch_op.drop_column('version')
