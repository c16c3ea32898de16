"""An outbox without the rest of the roster: one notice of 阳光社区 and one pending row per member,
for the tests of claiming, recovering and settling rows."""

from bot.db import SessionFactory
from models import Delivery, Notice, Organisation, OrgLevel, Person, PersonKind
from models.delivery import Channel


async def seed_outbox(sessions: SessionFactory, count: int, channel: Channel = Channel.work_app) -> None:
    async with sessions() as s:
        org = Organisation(code="C01", name="阳光社区", level=OrgLevel.community, path="/C01/")
        author = Person(name="王书记", kind=PersonKind.member)
        s.add_all([org, author])
        await s.flush()
        notice = Notice(org_id=org.id, author_person_id=author.id, text="周五下午开支部党员大会")  # type: ignore[arg-type]
        s.add(notice)
        people = [Person(name=f"党员{i}", kind=PersonKind.member) for i in range(count)]
        s.add_all(people)
        await s.flush()
        s.add_all(
            Delivery(subject_id=notice.id, person_id=p.id, channel=channel, recipient=f"u{i}")  # type: ignore[arg-type]
            for i, p in enumerate(people)
        )
        await s.commit()
