"""A member's 收到 finds their own outbox row of a notice by index

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 06:50:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = '0012'
down_revision: str | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index('ix_delivery_person_subject', 'delivery', ['person_id', 'subject_kind', 'subject_id', 'purpose'],
                    unique=False)


def downgrade() -> None:
    op.drop_index('ix_delivery_person_subject', table_name='delivery')
