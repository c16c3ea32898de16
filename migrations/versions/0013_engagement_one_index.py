"""A 收到 checks "already confirmed?" by the whole reply key, not by scanning the notice's replies

The index on (subject_kind, subject_id) is a prefix of the unique reply key's index, so it served no
query the key's index does not. With it, PostgreSQL planned the burst's look-up of "has this member
confirmed?" on the shorter index while the table's statistics were young, and filtered every earlier
receipt of the notice for each member: a cost that grew with each 收到 (1,300 rows read per member
at the burst's midpoint).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02 17:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = '0013'
down_revision: str | None = '0012'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index('ix_engagement_subject', table_name='engagement')


def downgrade() -> None:
    op.create_index('ix_engagement_subject', 'engagement', ['subject_kind', 'subject_id'], unique=False)
