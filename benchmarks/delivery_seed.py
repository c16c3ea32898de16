"""The delivery benchmark's roster, written through the models: a district of 20 branches whose members
are reached on three channels — WeCom members, Official Account users who wrote within the last 48 hours
(customer-service messages) and Official Account users who did not (template messages). The channels are
interleaved by person, so every batch the dispatcher claims holds some of each."""

from dataclasses import dataclass, field
from datetime import timedelta

from bot.db import create_engine, create_session_factory
from emulator import EmulatorConfig
from models import Identity, Membership, Organisation, OrgLevel, Person, PersonKind, Platform, Role, RoleKind
from models.clock import utcnow
from models.directory import bump_directory_version
from models.inbound import InboundMessage, InboundStatus
from models.organisation import child_path

BRANCHES = 20


@dataclass
class Roster:
    district_id: int = 0
    author_id: int = 0  # the district secretary who writes the notices
    work: list[str] = field(default_factory=list)  # WeCom userids
    window: list[str] = field(default_factory=list)  # openids inside the 48 h window
    template: list[str] = field(default_factory=list)  # openids outside it
    person_of: dict[str, int] = field(default_factory=dict)  # userid/openid -> person id

    @property
    def total(self) -> int:
        return len(self.work) + len(self.window) + len(self.template)


def channel_of(counts: dict[str, int], wanted: dict[str, int]) -> str:
    """The next person's channel: the one furthest behind its share (so the channels interleave)."""
    done = sum(counts.values()) + 1
    total = sum(wanted.values())
    return max(wanted, key=lambda k: wanted[k] * done / total - counts[k])


async def seed(database_url: str, *, work: int, window: int, template: int) -> Roster:
    config = EmulatorConfig()
    roster = Roster()
    engine = create_engine(database_url)
    sessions = create_session_factory(engine)
    now = utcnow()
    try:
        async with sessions() as s:
            district = Organisation(code="DD01", name="示范区", level=OrgLevel.district, path=child_path(None, "DD01"))
            s.add(district)
            await s.flush()
            branches = [
                Organisation(
                    code=f"DB{b:02d}",
                    name=f"第{b + 1}党支部",
                    level=OrgLevel.branch,
                    parent_id=district.id,
                    path=child_path(district, f"DB{b:02d}"),
                )
                for b in range(BRANCHES)
            ]
            s.add_all(branches)
            total = work + window + template
            people = [Person(name=f"党员{i:05d}", kind=PersonKind.member) for i in range(total + 1)]
            s.add_all(people)
            await s.flush()
            author, members = people[0], people[1:]
            s.add(Membership(person_id=author.id, org_id=district.id, is_primary=True))  # type: ignore[arg-type]
            s.add(Role(person_id=author.id, org_id=district.id, kind=RoleKind.secretary))  # type: ignore[arg-type]
            wanted = {"work": work, "window": window, "template": template}
            counts = dict.fromkeys(wanted, 0)
            for i, person in enumerate(members):
                kind = channel_of(counts, wanted)
                counts[kind] += 1
                s.add(Membership(person_id=person.id, org_id=branches[i % BRANCHES].id, is_primary=True))  # type: ignore[arg-type]
                if kind == "work":
                    external = f"member{i:05d}"
                    roster.work.append(external)
                    s.add(Identity(platform=Platform.work, app_id=config.work_corpid, external_id=external,
                                   person_id=person.id))
                else:
                    external = f"o_bench_member_{i:05d}"
                    (roster.window if kind == "window" else roster.template).append(external)
                    s.add(Identity(platform=Platform.mp, app_id=config.mp_appid, external_id=external,
                                   person_id=person.id))
                    if kind == "window":  # wrote to the Official Account an hour ago
                        s.add(InboundMessage(dedupe_key=f"bench-seed-{i}", platform="mp", from_user=external,
                                             msg_type="text", content="你好", received_at=now - timedelta(hours=1),
                                             status=InboundStatus.replied))
                roster.person_of[external] = person.id  # type: ignore[assignment]
            await bump_directory_version(session=s)
            await s.commit()
            roster.district_id, roster.author_id = district.id, author.id  # type: ignore[assignment]
    finally:
        await engine.dispose()
    if counts != wanted:
        raise RuntimeError(f"seeded {counts}, wanted {work}/{window}/{template}")
    return roster
