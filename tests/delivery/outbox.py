"""The one outbox seed of the tests: notices whose rows are queued exactly as confirming leaves them
(through `queue_messages`, on the channel and recipient the test names), and dispatchers of the test's
own (each one like another `serve` process sharing the database)."""

import random
from collections.abc import Iterable

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.db import SessionFactory
from bot.delivery.dispatcher import Dispatcher
from bot.keys import API
from models import Notice, NoticeStatus, Organisation, OrgLevel, Person, PersonKind
from models.audience import Recipient
from models.channel_plan import ChannelChoice
from models.clock import utcnow
from models.delivery import Channel
from models.outbox import queue_messages
from models.subject import Subject
from tests.seed import Roster
from tests.stack import Stack

Row = tuple[int, Channel, str]  # person id, channel, recipient


def dispatcher_of(stack: Stack, **kwargs: object) -> Dispatcher:
    return Dispatcher(
        sessions=stack.sessions,
        api=stack.app[API],
        public_url=stack.settings.public_url,
        secret=stack.settings.secret_key.get_secret_value(),
        rng=random.Random(3),
        **kwargs,  # type: ignore[arg-type]
    )


async def queue_rows(session: AsyncSession, notice: Notice, rows: Iterable[Row]) -> int:
    """One pending row per (person, channel, recipient), due now."""
    written = 0
    for person_id, channel, recipient in rows:
        choice = ChannelChoice(channel, recipient, "测试")
        queued = await queue_messages(session=session, subject=Subject.notice(notice.id),
                                      recipients=[Recipient(person_id, "")], not_before=utcnow(),
                                      choose=lambda _person, c=choice: c)
        written += queued.rows
    return written


async def confirmed_notice(session: AsyncSession, roster: Roster, text: str, rows: Iterable[tuple[str, Channel, str]],
                           *, org: str = "C01", author: str = "wang") -> Notice:
    """A notice of `author` (a person key of the roster), confirmed, with rows per (person key, channel, recipient)."""
    notice = Notice(org_id=roster.orgs[org].id, author_person_id=roster.people[author].id, text=text,  # type: ignore[arg-type]
                    status=NoticeStatus.confirmed, confirmed_at=utcnow())
    session.add(notice)
    await session.flush()
    await queue_rows(session, notice, [(roster.people[key].id, channel, recipient)  # type: ignore[misc]
                                       for key, channel, recipient in rows])
    return notice


async def notices(
    stack: Stack, roster: Roster, count: int, rows: list[tuple[str, Channel, str]], first: int = 0
) -> None:
    """`count` notices from 王书记 (each its own text), each with one row per (person key, channel, recipient)."""
    async with stack.sessions() as s:
        for number in range(first, first + count):
            await confirmed_notice(s, roster, f"第{number + 1}号通知：请按时参加组织生活", rows)
        await s.commit()


async def seed_outbox(sessions: SessionFactory, count: int, channel: Channel = Channel.work_app) -> None:
    """An outbox without the rest of the roster: one notice of 阳光社区 and one pending row per member,
    for the tests of claiming, recovering and settling rows."""
    async with sessions() as s:
        org = Organisation(code="C01", name="阳光社区", level=OrgLevel.community, path="/C01/")
        author = Person(name="王书记", kind=PersonKind.member)
        s.add_all([org, author])
        await s.flush()
        notice = Notice(org_id=org.id, author_person_id=author.id, text="周五下午开支部党员大会",  # type: ignore[arg-type]
                        status=NoticeStatus.confirmed)
        s.add(notice)
        people = [Person(name=f"党员{i}", kind=PersonKind.member) for i in range(count)]
        s.add_all(people)
        await s.flush()
        await queue_rows(s, notice, [(p.id, channel, f"u{i}") for i, p in enumerate(people)])  # type: ignore[misc]
        await s.commit()
