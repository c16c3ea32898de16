"""Who is who, for the callback hot path: one query loads a sender's profile, and a version counter
tells every process when its in-memory copy is stale (bumped by any change to people, identities,
memberships or roles)."""

from dataclasses import dataclass

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.conversation import Conversation
from models.directory_version import DirectoryVersion, bump_directory_version, read_directory_version
from models.identity import Identity, Platform
from models.organisation import Organisation
from models.person import Membership, Person, PersonKind, Role, RoleKind
from models.typed import id_of


@dataclass(frozen=True, slots=True)
class RoleGrant:
    kind: RoleKind
    org_id: int
    org_code: str
    org_name: str
    org_path: str


@dataclass(frozen=True, slots=True)
class SenderProfile:
    """What a handler needs to know about the sender, without touching the database."""

    identity_id: int | None
    following: bool
    person_id: int | None = None
    name: str = ""
    kind: PersonKind | None = None
    primary_org_id: int | None = None
    primary_org_name: str = ""
    roles: tuple[RoleGrant, ...] = ()
    conversation: str | None = None  # the kind of step-by-step chat the person is in ("notice")

    @property
    def is_bound(self) -> bool:
        return self.person_id is not None

    @property
    def is_secretary(self) -> bool:
        return bool(self.roles)


async def load_sender_profile(
    *, session: AsyncSession, platform: Platform, app_id: str, external_id: str
) -> SenderProfile:
    identity = (
        await session.exec(
            select(Identity).where(
                Identity.platform == platform, Identity.app_id == app_id, Identity.external_id == external_id
            )
        )
    ).first()
    if identity is None:
        return SenderProfile(identity_id=None, following=False)
    if identity.person_id is None:
        return SenderProfile(identity_id=identity.id, following=identity.following)
    person = await session.get(Person, identity.person_id)
    assert person is not None
    primary = (
        await session.exec(
            select(Organisation)
            .join(Membership, col(Membership.org_id) == Organisation.id)
            .where(Membership.person_id == person.id, Membership.is_primary)
        )
    ).first()
    grants = await session.exec(
        select(Role, Organisation)
        .join(Organisation, col(Organisation.id) == Role.org_id)
        .where(Role.person_id == person.id)
        .order_by(Organisation.path)
    )
    return SenderProfile(
        identity_id=identity.id,
        following=identity.following,
        person_id=person.id,
        name=person.name,
        kind=person.kind,
        primary_org_id=primary.id if primary else None,
        primary_org_name=primary.name if primary else "",
        roles=tuple(RoleGrant(r.kind, id_of(o), o.code, o.name, o.path) for r, o in grants),
        conversation=conversation.kind if (conversation := await session.get(Conversation, person.id)) else None,
    )


__all__ = [
    "DirectoryVersion",
    "RoleGrant",
    "SenderProfile",
    "bump_directory_version",
    "load_sender_profile",
    "read_directory_version",
]
