"""What the dispatcher needs to say about each subject its claimed rows carry: the frame of a row
without a body of its own (who sends it, what, by when, how to answer: models/message_frame.py), the
bare text (for a digest), and whether the subject is urgent (never merged into a digest) and asks for
收到. One query per kind; a new kind (a meeting, an invitation) adds its own branch here."""

from collections.abc import Iterable
from dataclasses import dataclass, replace

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.message_frame import Frame, answer_lines
from models.notice import Notice, Urgency
from models.organisation import Organisation
from models.person import ROLE_NAMES, Person, Role, RoleKind
from models.subject import Subject, SubjectKind

ROLE_ORDER = (RoleKind.secretary, RoleKind.deputy, RoleKind.admin)


@dataclass(frozen=True, slots=True)
class SubjectText:
    text: str
    urgent: bool
    wants_receipt: bool
    frame: Frame | None = None

    def frame_for(self, *, passes_down: bool = False) -> Frame | None:
        """The frame of one row: a task's target secretary is also told how to pass it down (下发)."""
        if self.frame is None or not passes_down or self.frame.kind != "任务":
            return self.frame
        answers = answer_lines(number=self.frame.number, task=True, wants_receipt=self.wants_receipt,
                               can_pass_down=True)
        return replace(self.frame, answers=answers)


def sender_words(org_name: str, person_name: str, role: RoleKind | None) -> str:
    """`阳光社区 · 书记 王建国`; a name that already says the role (王书记) is not told it twice."""
    title = ROLE_NAMES.get(role, "") if role is not None else ""
    who = person_name if not title or person_name.endswith(title) else f"{title} {person_name}"
    return f"{org_name} · {who}"


async def subject_texts(*, session: AsyncSession, subjects: Iterable[Subject]) -> dict[Subject, SubjectText]:
    notice_ids = sorted({s.id for s in subjects if s.kind == SubjectKind.notice})
    found: dict[Subject, SubjectText] = {}
    if not notice_ids:
        return found
    rows = list(await session.exec(
        select(Notice, Organisation.name, Person.name)
        .join(Organisation, col(Organisation.id) == Notice.org_id)
        .join(Person, col(Person.id) == Notice.author_person_id)
        .where(col(Notice.id).in_(notice_ids))
    ))
    roles = await _author_roles(session, {(n.author_person_id, n.org_id) for n, _, _ in rows})
    for notice, org_name, author_name in rows:
        assert notice.id is not None
        task = notice.deadline is not None
        frame = Frame(
            kind="任务" if task else "通知", number=notice.id,
            sender=sender_words(org_name, author_name, roles.get((notice.author_person_id, notice.org_id))),
            text=notice.text, urgent=notice.urgency == Urgency.urgent, deadline=notice.deadline,
            answers=answer_lines(number=notice.id, task=task, wants_receipt=notice.wants_receipt),
        )
        found[Subject.notice(notice.id)] = SubjectText(notice.text, frame.urgent, notice.wants_receipt, frame)
    return found


async def _author_roles(session: AsyncSession, pairs: set[tuple[int, int]]) -> dict[tuple[int, int], RoleKind]:
    """The author's role on the issuing organisation, else their highest role anywhere."""
    people = sorted({person for person, _ in pairs})
    query = select(Role.person_id, Role.org_id, Role.kind).where(col(Role.person_id).in_(people))
    held = list(await session.exec(query))
    found: dict[tuple[int, int], RoleKind] = {}
    for person, org in pairs:
        mine = [(o, RoleKind(k)) for p, o, k in held if p == person]
        here = [k for o, k in mine if o == org] or [k for _, k in mine]
        if here:
            found[(person, org)] = min(here, key=ROLE_ORDER.index)
    return found
