"""Replies from phones are forgiving: full-width input, stray spaces and punctuation mean the same."""

import pytest

from handlers.context import Context, Inbound
from handlers.routing import Router, dispatch
from handlers.text import normalise, split_command
from models.directory import SenderProfile
from models.identity import Platform


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


def _msg(text: str) -> Inbound:
    return Inbound(Platform.mp, "wx", "o1", "text", 0, {}, content=text)


def _ctx() -> Context:
    return Context(open_session=None, sender=SenderProfile(identity_id=None, following=True), now=None,  # type: ignore[arg-type]
                   settings=None)  # type: ignore[arg-type]


async def test_the_first_router_in_the_list_wins_and_filters_pass_arguments() -> None:
    first, second = Router("first"), Router("second")

    @first.command("请假")
    async def leave(msg: Inbound, ctx: Context, args: str) -> str:
        return f"first:{args}"

    @second.command("请假")
    async def leave_too(msg: Inbound, ctx: Context, args: str) -> str:
        return "second"

    assert await dispatch([first, second], _msg("请假：因病"), _ctx()) == "first:因病"
    assert await dispatch([second, first], _msg("请假"), _ctx()) == "second"
    assert await dispatch([first], _msg("别的"), _ctx()) is None
