"""nothing lost after a crash: a row is marked sending just before its request goes; the resend window
is measured from the first attempt that went unanswered

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 02:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        # A new enum value can only be used once the ALTER TYPE has committed.
        with op.get_context().autocommit_block():
            op.execute("ALTER TYPE deliverystatus ADD VALUE IF NOT EXISTS 'sending'")
    with op.batch_alter_table('delivery', schema=None) as batch_op:
        # first_attempt_at was the first claim: no unanswered send can be older, so as the start of the
        # resend window it stays safe.
        batch_op.alter_column('first_attempt_at', new_column_name='unanswered_at',
                              existing_type=sa.DateTime(), existing_nullable=True)
        batch_op.add_column(sa.Column('sending_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
    # Before this revision a claimed row may already have been sent: it counts as sending.
    op.execute("UPDATE delivery SET status = 'sending', sending_at = unanswered_at WHERE status = 'in_flight'")


def downgrade() -> None:
    op.execute("UPDATE delivery SET status = 'in_flight' WHERE status = 'sending'")
    with op.batch_alter_table('delivery', schema=None) as batch_op:
        batch_op.drop_column('sending_at')
        batch_op.alter_column('unanswered_at', new_column_name='first_attempt_at',
                              existing_type=sa.DateTime(), existing_nullable=True)
