"""Replies from phones are forgiving: full-width input, stray spaces and punctuation mean the same."""

from dataclasses import dataclass
from datetime import datetime, time
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from pydantic import SecretStr

from bot.db import SessionFactory
from handlers import ROUTERS, binding, build_help_book
from handlers.context import Context, Inbound
from handlers.replies import UNBOUND_HINT
from handlers.routing import HelpBook, Router, anything, dispatch, pass_on
from handlers.text import normalise, split_command
from models.directory import SenderProfile, load_sender_profile
from models.identity import Platform
from tests.seed import seed_small_roster


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("  帮助  ", "帮助"),
        ("帮助！", "帮助"),
        ("【后台】", "后台"),
        ("ＨＥＬＰ", "HELP"),
        ("绑定　Ａ３Ｋ９", "绑定 A3K9"),
        ("请假   因病\n住院", "请假 因病 住院"),
        ("？", "?"),
        ("", ""),
        (None, ""),
    ],
)
def test_normalise(raw: str | None, expected: str) -> None:
    assert normalise(raw) == expected


@pytest.mark.parametrize("text", ["绑定 ab12cd", "绑定ab12cd", "绑定：ab12cd", "绑定, ab12cd。"])
def test_a_command_word_takes_its_argument_however_it_is_written(text: str) -> None:
    assert split_command(normalise(text), "绑定") == "ab12cd"


def test_not_the_command() -> None:
    assert split_command("帮助", "绑定") is None


def _msg(text: str, platform: Platform = Platform.mp, user: str = "o1") -> Inbound:
    return Inbound(platform, "wx", user, "text", 0, {}, content=text)


_SECRET = SecretStr("test-secret-key")


@dataclass(frozen=True)
class _Settings:
    """The handlers' SettingsView, without reading the environment."""

    public_url: str = "http://bot.test"
    timezone: str = "Asia/Shanghai"
    secret_key: SecretStr = _SECRET
    digest_minutes: int = 0
    quiet_window: tuple[time, time] | None = None


UNBOUND = SenderProfile(identity_id=None, following=True)


def _ctx(*routers: Router, help_book: HelpBook | None = None, **fields: Any) -> Context:
    return Context(open_session=fields.pop("open_session", None), sender=fields.pop("sender", UNBOUND),
                   now=datetime(2026, 3, 2, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai")), settings=_Settings(),
                   help_book=help_book or HelpBook(), routers=routers, **fields)


async def test_the_first_router_in_the_list_wins_and_filters_pass_arguments() -> None:
    first, second = Router("first"), Router("second")

    @first.command("请假")
    async def leave(msg: Inbound, ctx: Context, args: str) -> str:
        return f"first:{args}"

    @second.command("请假")
    async def leave_too(msg: Inbound, ctx: Context, args: str) -> str:
        return "second"

    assert await dispatch(_msg("请假：因病"), _ctx(first, second)) == "first:因病"
    assert await dispatch(_msg("请假"), _ctx(second, first)) == "second"
    assert await dispatch(_msg("别的"), _ctx(first)) is None


async def test_a_handler_that_passes_a_message_on_hands_it_to_the_next_router_and_never_to_itself_again() -> None:
    calls: list[str] = []
    first, second, third = Router("first"), Router("second"), Router("third")

    @first.message(anything)
    async def not_mine(msg: Inbound, ctx: Context) -> str | None:
        calls.append("first")
        reply = await pass_on(msg, ctx, default="无人处理")
        assert ctx.route is first.routes[0]  # running again once the later handlers are done
        return reply

    @second.message(anything)
    async def not_mine_either(msg: Inbound, ctx: Context) -> str | None:
        calls.append("second")
        return await pass_on(msg, ctx, default="无人处理")

    @third.text("好")
    async def mine(msg: Inbound, ctx: Context) -> str:
        calls.append("third")
        return "third"

    ctx = _ctx(first, second, third)
    assert await dispatch(_msg("好"), ctx) == "third"
    assert calls == ["first", "second", "third"] and ctx.route is None

    # Nothing after them wants it: every filter still matches, yet each handler ran once.
    calls.clear()
    assert await dispatch(_msg("别的"), _ctx(first, second, third)) == "无人处理"
    assert calls == ["first", "second"]

    # Called directly, with no route running, a handler cannot pass on (the search would find it again).
    calls.clear()
    assert await not_mine_either(_msg("好"), _ctx(first, second, third)) == "无人处理"
    assert calls == ["second"]


async def _reloaded(sessions: SessionFactory, msg: Inbound) -> SenderProfile:
    async with sessions() as session:
        return await load_sender_profile(session=session, platform=msg.platform, app_id=msg.app_id,
                                         external_id=msg.from_user)


async def test_after_binding_the_members_first_message_is_answered_as_a_bound_member_once(
    session_factory: SessionFactory,
) -> None:
    await seed_small_roster(session_factory)
    msg = _msg("帮助", Platform.work, "zhaody")
    ctx = _ctx(*ROUTERS, help_book=build_help_book(), open_session=session_factory,
               reload_sender=lambda: _reloaded(session_factory, msg))
    try:
        reply = await dispatch(msg, ctx)
    finally:
        await ctx.close()

    assert reply is not None and ctx.sender.name == "赵党员"
    greeting, help_answer = reply.split("\n", 1)
    assert "已按花名册自动关联" in greeting and "赵党员" in greeting
    assert help_answer.startswith("您好，") and "赵党员" in help_answer  # the 帮助 of a bound member
    assert UNBOUND_HINT not in reply and reply.count("可用指令") == 1


async def test_a_sender_still_unbound_after_binding_is_answered_once_not_bound_again(
    session_factory: SessionFactory,
) -> None:
    # A stale reload (the directory not yet showing the binding) must not send the message back to
    # the binding: the routes after it answer, once.
    await seed_small_roster(session_factory)
    seen: list[bool] = []
    later = Router("later")

    @later.message(anything)
    async def answer(msg: Inbound, ctx: Context) -> str:
        seen.append(ctx.sender.is_bound)
        return "答"

    async def stale() -> SenderProfile:
        return UNBOUND

    ctx = _ctx(binding.router, later, open_session=session_factory, reload_sender=stale)
    try:
        reply = await dispatch(_msg("你好", Platform.work, "wangshuji"), ctx)
    finally:
        await ctx.close()

    assert seen == [False]
    assert reply is not None and reply.startswith("已按花名册自动关联") and reply.endswith("\n答")
