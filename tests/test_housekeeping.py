"""Old inbound messages and spent login links are pruned; recent ones stay for dedupe and the 48 h window."""

from datetime import timedelta

from sqlmodel import select

from bot.db import SessionFactory
from models import InboundMessage, LoginToken, Organisation, OrgLevel, Person, PersonKind
from models.clock import utcnow
from schedules.housekeeping import prune_old_records


async def test_pruning_keeps_what_is_still_needed(session_factory: SessionFactory) -> None:
    async with session_factory() as s:
        org = Organisation(code="D1", name="区", level=OrgLevel.district, path="/D1/")
        person = Person(name="王", kind=PersonKind.member)
        s.add_all([org, person])
        await s.flush()
        s.add_all([
            InboundMessage(dedupe_key="old", platform="mp", from_user="o", msg_type="text",
                           received_at=utcnow() - timedelta(days=31)),
            InboundMessage(dedupe_key="new", platform="mp", from_user="o", msg_type="text"),
            LoginToken(token_hash="a", person_id=person.id, org_id=org.id, expires_at=utcnow() - timedelta(seconds=1)),
            LoginToken(token_hash="b", person_id=person.id, org_id=org.id, expires_at=utcnow() + timedelta(minutes=5)),
        ])
        await s.commit()

    await prune_old_records(session_factory)

    async with session_factory() as s:
        assert [m.dedupe_key for m in await s.exec(select(InboundMessage))] == ["new"]
        assert [t.token_hash for t in await s.exec(select(LoginToken))] == ["b"]
