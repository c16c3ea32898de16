"""A 请假's approval by the secretary (批准 / 不批准), kept on the leave's engagement row

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-04 19:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0017'
down_revision: str | None = '0016'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('engagement') as batch_op:
        batch_op.add_column(sa.Column('approval', sa.String(length=10), nullable=True))
        batch_op.add_column(sa.Column('approved_by_person_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('approved_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('approval_note', sa.String(length=200), nullable=False, server_default=''))


def downgrade() -> None:
    with op.batch_alter_table('engagement') as batch_op:
        batch_op.drop_column('approval_note')
        batch_op.drop_column('approved_at')
        batch_op.drop_column('approved_by_person_id')
        batch_op.drop_column('approval')
