"""`grassroots api-token create | list | revoke`: bearer tokens for `POST /api/notices`. A token is
scoped to one organisation and sends on behalf of a secretary whose role covers it; the plaintext is
printed once and only its sha256 is kept."""

import argparse
import sys
from collections.abc import Awaitable, Callable

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.cli_session import EXIT_OK, EXIT_REFUSED, run_with_session
from bot.settings import Settings
from models.api_token import issue_token, list_tokens, revoke_token
from models.audit import record_audit
from models.notice_send import covering, role_orgs
from models.organisation import Organisation, get_org_by_code
from models.person import Person
from models.typed import id_of

ACTOR = "cli"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="token_command", required=True)
    create = sub.add_parser("create", help="新建令牌（只显示一次）")
    create.add_argument("--org", required=True, help="令牌可发通知的组织编码（含下级）")
    create.add_argument("--as", dest="phone", required=True, help="以哪位书记的名义发送（手机号）")
    create.add_argument("--name", required=True, help="谁在使用，如“区委办公室 OA”")
    sub.add_parser("list", help="列出全部令牌")
    revoke = sub.add_parser("revoke", help="撤销令牌")
    revoke.add_argument("id", type=int, help="令牌编号（见 list）")


def run_api_token_cli(settings: Settings, args: argparse.Namespace) -> int:
    command: Callable[[AsyncSession, argparse.Namespace], Awaitable[int]] = {
        "create": _create, "list": _list, "revoke": _revoke,
    }[args.token_command]

    return run_with_session(settings.database_url, lambda session: command(session, args))


def _refuse(message: str) -> int:
    print(message, file=sys.stderr)
    return EXIT_REFUSED


async def _create(session: AsyncSession, args: argparse.Namespace) -> int:
    org = await get_org_by_code(session=session, code=args.org)
    if org is None:
        return _refuse(f"没有编码为 {args.org} 的组织")
    phone = args.phone.replace(" ", "")
    person = (await session.exec(select(Person).where(Person.phone == phone))).first()
    if person is None:
        return _refuse(f"找不到手机号为 {phone} 的人员")
    if covering(await role_orgs(session, id_of(person)), org) is None:
        return _refuse(f"{person.name}不是{org.name}（或其上级）的书记、副书记或管理员，不能代表它发通知")
    name = args.name.strip()[:100]
    if not name:
        return _refuse("请用 --name 说明谁在使用这个令牌")
    token, plaintext = await issue_token(session=session, org_id=id_of(org), person_id=id_of(person),
                                         name=name, created_by=ACTOR)
    record_audit(session=session, action="api_token.create", actor=ACTOR, org_id=org.id, token_id=token.id,
                 name=name, person_id=person.id)
    await session.commit()
    print(f"已为 {org.name} 新建令牌 {token.id}（{name}，代表 {person.name}）。")
    print("令牌只显示这一次，请妥善保存：")
    print(plaintext)
    return EXIT_OK


async def _list(session: AsyncSession, args: argparse.Namespace) -> int:
    tokens = await list_tokens(session=session)
    if not tokens:
        print("还没有令牌。用 grassroots api-token create 新建。")
        return EXIT_OK
    orgs = {o.id: o for o in await session.exec(select(Organisation).where(
        col(Organisation.id).in_({t.org_id for t in tokens})))}
    people = {p.id: p for p in await session.exec(select(Person).where(
        col(Person.id).in_({t.person_id for t in tokens})))}
    for t in tokens:
        state = f"已撤销 {t.revoked_at:%Y-%m-%d}" if t.revoked_at else "有效"
        print(f"{t.id}\t{orgs[t.org_id].code} {orgs[t.org_id].name}\t{t.name}\t代表 {people[t.person_id].name}"
              f"\t创建于 {t.created_at:%Y-%m-%d}\t{state}")
    return EXIT_OK


async def _revoke(session: AsyncSession, args: argparse.Namespace) -> int:
    token = await revoke_token(session=session, token_id=args.id)
    if token is None:
        return _refuse(f"没有编号为 {args.id} 的令牌")
    record_audit(session=session, action="api_token.revoke", actor=ACTOR, org_id=token.org_id, token_id=token.id)
    await session.commit()
    print(f"令牌 {token.id}（{token.name}）已撤销，使用它的请求将被拒绝。")
    return EXIT_OK
