"""Meeting answers (参加, 请假, 签到) are replies like 收到: three more kinds of engagement

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-04 03:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = '0016'
down_revision: str | None = '0015'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KINDS = ("attending", "leave", "signed_in")


def upgrade() -> None:
    # SQLite keeps the kind as text without a constraint; PostgreSQL has an enum type to extend.
    if op.get_bind().dialect.name == "postgresql":
        for kind in KINDS:
            op.execute(f"ALTER TYPE engagementkind ADD VALUE IF NOT EXISTS '{kind}'")


def downgrade() -> None:
    # PostgreSQL cannot drop an enum value; rows of these kinds are removed so that nothing uses them.
    op.execute("DELETE FROM engagement WHERE kind IN ('attending', 'leave', 'signed_in')")
