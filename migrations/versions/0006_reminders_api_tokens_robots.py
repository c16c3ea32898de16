"""reminders, escalations and digests in the outbox; API tokens; group robots

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23 17:09:35.346435
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# 0003 left the unique constraint unnamed: PostgreSQL named it itself, SQLite's batch mode needs a
# naming convention to find it.
OLD_UNIQUE_PG = 'delivery_notice_id_person_id_channel_key'
NAMING = {'uq': 'uq_%(table_name)s_%(column_0_N_name)s'}
OLD_UNIQUE_SQLITE = 'uq_delivery_notice_id_person_id_channel'


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == 'postgresql'
    if postgres:
        op.execute("ALTER TYPE deliverystatus ADD VALUE IF NOT EXISTS 'unknown'")
    op.create_table('apitoken',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('token_sha256', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('created_by', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('revoked_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['org_id'], ['organisation.id'], ),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('token_sha256')
    )
    with op.batch_alter_table('apitoken', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_apitoken_org_id'), ['org_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_apitoken_person_id'), ['person_id'], unique=False)

    with op.batch_alter_table('delivery', schema=None, naming_convention=NAMING) as batch_op:
        batch_op.drop_constraint(OLD_UNIQUE_PG if postgres else OLD_UNIQUE_SQLITE, type_='unique')
        batch_op.add_column(sa.Column('purpose', sa.String(length=20), nullable=False, server_default='notice'))
        batch_op.add_column(sa.Column('round', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('body', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('msgid', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))
        batch_op.add_column(sa.Column('org_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_delivery_msgid'), ['msgid'], unique=False)
        batch_op.create_index(batch_op.f('ix_delivery_org_id'), ['org_id'], unique=False)
        batch_op.create_unique_constraint(
            'uq_delivery_message', ['notice_id', 'person_id', 'channel', 'purpose', 'round']
        )
        batch_op.create_foreign_key('fk_delivery_org_id', 'organisation', ['org_id'], ['id'])

    with op.batch_alter_table('organisation', schema=None) as batch_op:
        batch_op.add_column(sa.Column('robot_key', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True))


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == 'postgresql'
    with op.batch_alter_table('organisation', schema=None) as batch_op:
        batch_op.drop_column('robot_key')

    op.execute("DELETE FROM delivery WHERE purpose <> 'notice'")
    op.execute("UPDATE delivery SET status = 'failed' WHERE status = 'unknown'")
    with op.batch_alter_table('delivery', schema=None) as batch_op:
        batch_op.drop_constraint('fk_delivery_org_id', type_='foreignkey')
        batch_op.drop_constraint('uq_delivery_message', type_='unique')
        batch_op.drop_index(batch_op.f('ix_delivery_org_id'))
        batch_op.drop_index(batch_op.f('ix_delivery_msgid'))
        batch_op.drop_column('org_id')
        batch_op.drop_column('msgid')
        batch_op.drop_column('body')
        batch_op.drop_column('round')
        batch_op.drop_column('purpose')
        batch_op.create_unique_constraint(
            OLD_UNIQUE_PG if postgres else OLD_UNIQUE_SQLITE, ['notice_id', 'person_id', 'channel']
        )

    with op.batch_alter_table('apitoken', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_apitoken_person_id'))
        batch_op.drop_index(batch_op.f('ix_apitoken_org_id'))

    op.drop_table('apitoken')
