"""Linking WeChat identities to people: follow/unfollow, invite codes, WeCom roster match, QR join."""

from dataclasses import dataclass

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.audit import audit_row, record_audit
from models.bulk import insert_ignoring_conflicts
from models.clock import utcnow
from models.directory import note_directory_change
from models.directory_version import directory_change
from models.identity import Identity, Platform
from models.organisation import Organisation, OrgLevel
from models.person import Membership, Person, PersonKind
from models.row_writes import PARENT_ID, RowWrite, table_of
from models.typed import id_of


async def ensure_identity(*, session: AsyncSession, platform: Platform, app_id: str, external_id: str) -> Identity:
    """The identity row for a sender, created on first contact (concurrent first contacts are fine)."""
    values = {
        "platform": platform.name,
        "app_id": app_id,
        "external_id": external_id,
        "following": True,
        "followed_at": utcnow(),
        "created_at": utcnow(),
    }
    created = await insert_ignoring_conflicts(session=session, table=Identity, rows=[values],
                                              key=("platform", "app_id", "external_id"))
    identity = (
        await session.exec(
            select(Identity).where(
                Identity.platform == platform, Identity.app_id == app_id, Identity.external_id == external_id
            )
        )
    ).one()
    if created:  # every process learns the new follower from the directory's log
        await note_directory_change(session=session, identity_ids=[id_of(identity)])
    return identity


async def set_following(*, session: AsyncSession, identity: Identity, following: bool) -> None:
    identity.following = following
    if following:
        identity.followed_at = utcnow()
    else:
        identity.unfollowed_at = utcnow()
    session.add(identity)
    await note_directory_change(session=session, identity_ids=[id_of(identity)])


@dataclass(frozen=True, slots=True)
class BindResult:
    ok: bool
    person: Person | None = None
    reason: str = ""  # "unknown_code", "already_bound", "code_used"


async def _link(session: AsyncSession, identity: Identity, person: Person, *, via: str) -> None:
    identity.person_id = person.id
    session.add(identity)
    record_audit(
        session=session,
        action="identity.bind",
        actor=f"wechat:{identity.platform}:{identity.external_id}",
        actor_person_id=person.id,
        via=via,
    )
    await note_directory_change(session=session, identity_ids=[id_of(identity)], person_ids=[id_of(person)])


async def bind_by_invite_code(*, session: AsyncSession, identity: Identity, code: str) -> BindResult:
    if identity.person_id is not None:
        return BindResult(False, await session.get(Person, identity.person_id), "already_bound")
    person = (await session.exec(select(Person).where(Person.invite_code == code.upper()))).first()
    if person is None:
        return BindResult(False, None, "unknown_code")
    # One code binds one identity: a forwarded code cannot be used again.
    person.invite_code = None
    session.add(person)
    await _link(session, identity, person, via="invite_code")
    return BindResult(True, person)


async def bind_work_user(*, session: AsyncSession, identity: Identity) -> Person | None:
    """A WeCom userid that the roster knows binds by itself."""
    if identity.person_id is not None or identity.platform != Platform.work:
        return None
    person = (await session.exec(select(Person).where(Person.work_userid == identity.external_id))).first()
    if person is None:
        return None
    await _link(session, identity, person, via="work_userid")
    return person


def first_contact_binding(*, platform: Platform, app_id: str, external_id: str, person_id: int) -> RowWrite:
    """A WeCom member's first contact as a row of the inbound log's batch: their identity, created
    bound to the roster entry unless it exists (then the session path binds it), with the audit entry
    and the directory change a session's `ensure_identity` + `bind_work_user` would write."""
    now = utcnow()
    return RowWrite(
        table_of(Identity),
        {"platform": platform, "app_id": app_id, "external_id": external_id, "person_id": person_id,
         "following": True, "followed_at": now, "created_at": now},
        conflict=("platform", "app_id", "external_id"),
        then=(
            audit_row(action="identity.bind", actor=f"wechat:{platform}:{external_id}", actor_person_id=person_id,
                      via="work_userid"),
            directory_change(identity_id=PARENT_ID),
        ),
    )


@dataclass(frozen=True, slots=True)
class JoinResult:
    community: Organisation | None
    person: Person | None = None
    created: bool = False  # a new resident was registered
    reason: str = ""  # "unknown_scene", "already_member_elsewhere", "not_resident"


async def join_community_by_scene(*, session: AsyncSession, identity: Identity, scene: str) -> JoinResult:
    """A parameterised QR code (qrscene_<community code>) registers a follower as a resident there."""
    community = (
        await session.exec(
            select(Organisation).where(Organisation.code == scene, Organisation.level == OrgLevel.community)
        )
    ).first()
    if community is None:
        return JoinResult(None, reason="unknown_scene")
    if identity.person_id is not None:
        person = await session.get(Person, identity.person_id)
        assert person is not None
        if person.kind != PersonKind.resident:
            return JoinResult(community, person, reason="not_resident")
        primary = (
            await session.exec(select(Membership).where(Membership.person_id == person.id, col(Membership.is_primary)))
        ).first()
        if primary and primary.org_id == community.id:
            return JoinResult(community, person)
        # A resident who moved: the newest scan decides the home community.
        if primary:
            primary.org_id = id_of(community)
            session.add(primary)
        else:
            session.add(Membership(person_id=id_of(person), org_id=id_of(community), is_primary=True))
        await note_directory_change(session=session, person_ids=[id_of(person)])
        return JoinResult(community, person)
    person = Person(name="居民", kind=PersonKind.resident)
    session.add(person)
    await session.flush()
    session.add(Membership(person_id=id_of(person), org_id=id_of(community), is_primary=True))
    identity.person_id = person.id
    session.add(identity)
    record_audit(
        session=session,
        action="resident.join",
        actor=f"wechat:{identity.platform}:{identity.external_id}",
        actor_person_id=person.id,
        org_id=community.id,
        scene=scene,
    )
    await note_directory_change(session=session, identity_ids=[id_of(identity)], person_ids=[id_of(person)])
    return JoinResult(community, person, created=True)
