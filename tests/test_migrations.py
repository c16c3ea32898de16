"""Upgrading a database that holds notices: 0007 moves every outbox row and reply to its subject, gives
each meaning of the old msgid its own column, and stores the audience by name."""

import json
from pathlib import Path

from alembic import command
from sqlalchemy import create_engine, text

from bot.migrate import alembic_config

BEFORE = """
INSERT INTO organisation (id, code, name, level, path) VALUES (1, 'C01', '阳光社区', 'community', '/C01/');
INSERT INTO person (id, name, kind, phone, is_mobile, is_in_service, is_retired)
  VALUES (1, '王书记', 'member', '13800000001', 0, 0, 0), (2, '李党员', 'member', '13800000002', 0, 0, 0);
INSERT INTO notice (id, org_id, author_person_id, text, urgency, wants_receipt, audience, status, created_at)
  VALUES (7, 1, 1, '周五开会', 'normal', 1, '{"org_ids": [1], "who": [1, 4]}', 'confirmed', '2026-11-30 08:00:00');
INSERT INTO delivery (id, notice_id, person_id, channel, recipient, status, attempts, next_attempt_at, reason,
                      purpose, round, msgid, sent_at)
  VALUES (1, 7, 2, 'mp_template', 'o_li', 'sent', 1, '2026-11-30 08:00:00', '', 'notice', 0, '5001',
          '2026-11-30 08:00:01'),
         (2, 7, 1, 'work_app', 'wang', 'sent', 1, '2026-11-30 08:00:00', '', 'notice', 0, 'digest:2',
          '2026-11-30 08:00:01'),
         (3, 7, 1, 'robot', 'key', 'sent', 1, '2026-11-30 08:00:00', '', 'reminder', 1, 'r:ab:1:cd',
          '2026-11-30 08:00:01');
INSERT INTO engagement (id, notice_id, person_id, kind, note, at) VALUES (1, 7, 2, 'acked', '', '2026-11-30 09:00:00');
"""


def test_an_upgraded_outbox_keeps_every_row_on_its_subject(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'old.db'}"
    command.upgrade(alembic_config(url), "0006")
    engine = create_engine(f"sqlite:///{tmp_path / 'old.db'}")
    with engine.begin() as conn:
        for statement in filter(str.strip, BEFORE.split(";")):
            conn.execute(text(statement))

    command.upgrade(alembic_config(url), "head")

    with engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT id, subject_kind, subject_id, template_msgid, work_msgid, digest_id, robot_message_id "
            "FROM delivery ORDER BY id"
        )).all()
        audience = json.loads(conn.execute(text("SELECT audience FROM notice WHERE id = 7")).scalar_one())
        reply = conn.execute(text("SELECT subject_kind, subject_id, person_id FROM engagement")).one()
    engine.dispose()
    assert [tuple(r) for r in rows] == [
        (1, "notice", 7, "5001", None, None, None),
        (2, "notice", 7, None, None, 2, None),
        (3, "notice", 7, None, None, None, 3),
    ]
    assert audience == {"org_ids": [1], "who": ["党员", "书记"]}
    assert tuple(reply) == ("notice", 7, 2)
