"""one outbox for every message: rows and replies carry a subject; msgid split; audience by name

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 00:40:00
"""

import json
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# SQLite's batch mode reflects the unnamed constraints of 0003/0005 under these names.
NAMING = {
    'uq': 'uq_%(table_name)s_%(column_0_N_name)s',
    'fk': 'fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s',
}
WHO = {1: '党员', 2: '居民', 3: '驻区单位代表', 4: '书记', 5: '流动党员'}  # the chat menu's old numbers


def _names(who: object) -> object:
    if not isinstance(who, list):
        return who
    return [WHO.get(w, w) if isinstance(w, int) else w for w in who]


def _rewrite_who(table: str, key_column: str, column: str) -> None:
    bind = op.get_bind()
    rows = bind.execute(sa.text(f'SELECT {key_column}, {column} FROM {table}')).all()
    for key, value in rows:
        data = json.loads(value) if isinstance(value, str) else value
        if not isinstance(data, dict) or 'who' not in data:
            continue
        data = {**data, 'who': _names(data['who'])}
        bind.execute(sa.text(f'UPDATE {table} SET {column} = :data WHERE {key_column} = :key'),
                     {'data': json.dumps(data, ensure_ascii=False), 'key': key})


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == 'postgresql'

    with op.batch_alter_table('delivery', schema=None, naming_convention=NAMING) as batch_op:
        batch_op.drop_constraint('uq_delivery_message', type_='unique')
        batch_op.drop_constraint('delivery_notice_id_fkey' if postgres else 'fk_delivery_notice_id_notice',
                                 type_='foreignkey')
        batch_op.drop_index('ix_delivery_notice_id')
        batch_op.drop_index('ix_delivery_msgid')
        batch_op.alter_column('notice_id', new_column_name='subject_id', existing_type=sa.Integer(),
                              existing_nullable=False)
        batch_op.add_column(sa.Column('subject_kind', sa.String(length=20), nullable=False, server_default='notice'))
        batch_op.add_column(sa.Column('first_attempt_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('template_msgid', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))
        batch_op.add_column(sa.Column('work_msgid', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))
        batch_op.add_column(sa.Column('digest_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('robot_message_id', sa.Integer(), nullable=True))

    # Each meaning of the old msgid to its own column.
    op.execute("UPDATE delivery SET digest_id = CAST(SUBSTR(msgid, 8) AS INTEGER) WHERE msgid LIKE 'digest:%'")
    op.execute("UPDATE delivery SET template_msgid = msgid WHERE channel = 'mp_template' AND msgid IS NOT NULL "
               "AND msgid NOT LIKE 'digest:%'")
    # A template digest's rows shared the template's msgid.
    op.execute("UPDATE delivery SET digest_id = (SELECT MIN(d.id) FROM delivery d WHERE d.template_msgid = "
               "delivery.template_msgid AND d.recipient = delivery.recipient) WHERE template_msgid IS NOT NULL "
               "AND (SELECT COUNT(*) FROM delivery d WHERE d.template_msgid = delivery.template_msgid "
               "AND d.recipient = delivery.recipient) > 1")
    op.execute("UPDATE delivery SET work_msgid = msgid WHERE channel = 'work_app' AND msgid IS NOT NULL "
               "AND msgid NOT LIKE 'digest:%'")
    op.execute("UPDATE delivery SET robot_message_id = id WHERE channel = 'robot' AND msgid IS NOT NULL")
    op.execute("UPDATE delivery SET first_attempt_at = COALESCE(sent_at, next_attempt_at) WHERE attempts > 0")

    with op.batch_alter_table('delivery', schema=None) as batch_op:
        batch_op.drop_column('msgid')
        batch_op.create_unique_constraint(
            'uq_delivery_message', ['subject_kind', 'subject_id', 'person_id', 'channel', 'purpose', 'round']
        )
        batch_op.create_index('ix_delivery_subject', ['subject_kind', 'subject_id'], unique=False)
        batch_op.create_index('ix_delivery_recipient_sent', ['recipient', 'sent_at'], unique=False)
        batch_op.create_index('ix_delivery_template_msgid', ['template_msgid'], unique=False)

    with op.batch_alter_table('engagement', schema=None, naming_convention=NAMING) as batch_op:
        batch_op.drop_constraint('engagement_notice_id_person_id_kind_key' if postgres
                                 else 'uq_engagement_notice_id_person_id_kind', type_='unique')
        batch_op.drop_constraint('engagement_notice_id_fkey' if postgres else 'fk_engagement_notice_id_notice',
                                 type_='foreignkey')
        batch_op.drop_index('ix_engagement_notice_id')
        batch_op.alter_column('notice_id', new_column_name='subject_id', existing_type=sa.Integer(),
                              existing_nullable=False)
        batch_op.add_column(sa.Column('subject_kind', sa.String(length=20), nullable=False, server_default='notice'))
    with op.batch_alter_table('engagement', schema=None) as batch_op:
        batch_op.create_unique_constraint('uq_engagement_reply', ['subject_kind', 'subject_id', 'person_id', 'kind'])
        batch_op.create_index('ix_engagement_subject', ['subject_kind', 'subject_id'], unique=False)

    op.create_table('waitingreport',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('openid', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('msgid', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('received_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('openid', 'msgid', name='uq_waitingreport_message')
    )
    op.create_index('ix_waitingreport_received_at', 'waitingreport', ['received_at'], unique=False)

    # The audience by name, not by the chat menu's numbers (notices, and open 发通知 conversations).
    _rewrite_who('notice', 'id', 'audience')
    _rewrite_who('conversation', 'person_id', 'data')


def downgrade() -> None:
    raise NotImplementedError("0007 moves data between columns; restore a backup to go back")
