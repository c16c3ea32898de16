"""Helpers of the delivery tests: outbox rows written as a confirmed notice leaves them, and
dispatchers of the test's own (each one like another `serve` process sharing the database)."""

import random

from bot.delivery.dispatcher import Dispatcher
from bot.keys import API
from models import Delivery, Notice
from models.delivery import Channel
from tests.seed import Roster
from tests.stack import Stack


def dispatcher_of(stack: Stack, **kwargs: object) -> Dispatcher:
    return Dispatcher(
        sessions=stack.sessions,
        api=stack.app[API],
        public_url=stack.settings.public_url,
        secret=stack.settings.secret_key.get_secret_value(),
        rng=random.Random(3),
        **kwargs,  # type: ignore[arg-type]
    )


async def notices(
    stack: Stack, roster: Roster, count: int, rows: list[tuple[str, Channel, str]], first: int = 0
) -> None:
    """`count` notices from 王书记 (each its own text), each with one row per (person key, channel, recipient)."""
    async with stack.sessions() as s:
        for number in range(first, first + count):
            notice = Notice(
                org_id=roster.orgs["C01"].id,  # type: ignore[arg-type]
                author_person_id=roster.people["wang"].id,  # type: ignore[arg-type]
                text=f"第{number + 1}号通知：请按时参加组织生活",
            )
            s.add(notice)
            await s.flush()
            s.add_all(
                Delivery(subject_id=notice.id, person_id=roster.people[key].id, channel=channel, recipient=recipient)  # type: ignore[arg-type]
                for key, channel, recipient in rows
            )
        await s.commit()
