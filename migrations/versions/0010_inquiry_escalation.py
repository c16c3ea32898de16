"""留言 unanswered for 2 working days are escalated to the organisation above

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 05:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # batch mode: SQLite cannot add a foreign key to an existing table in place.
    with op.batch_alter_table('inquiry') as batch:
        batch.add_column(sa.Column('escalated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
        batch.add_column(sa.Column('escalated_to', sa.Integer(), nullable=True))
        batch.create_foreign_key('fk_inquiry_escalated_to', 'organisation', ['escalated_to'], ['id'])


def downgrade() -> None:
    with op.batch_alter_table('inquiry') as batch:
        batch.drop_constraint('fk_inquiry_escalated_to', type_='foreignkey')
        batch.drop_column('escalated_to')
        batch.drop_column('escalated_at')
