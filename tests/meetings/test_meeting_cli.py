"""`grassroots meeting`: an administrator sets up the branch's monthly 主题党日 for the first half of
2027 from the command line (a dry run first, then for real), lists it, and cancels one; bad input
gets the API's reasons and creates nothing."""

import asyncio

import pytest
from sqlmodel import select

from bot.cli import main
from bot.db import SessionFactory
from models import Meeting
from models.meeting import MeetingStatus
from tests.seed import seed_small_roster


@pytest.fixture
def cli(database_url: str, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("GRASSROOTS_DATABASE_URL", database_url)
    monkeypatch.setenv("GRASSROOTS_QUIET_HOURS", "")

    async def run(*argv: str) -> int:
        return await asyncio.to_thread(main, list(argv))  # the CLI runs its own event loop

    return run


SERIES = ("meeting", "create", "--org", "B01", "--kind", "主题党日", "--at", "2027-01-15T19:30", "--place", "会议室",
          "--repeat", "month:15", "--until", "2027-06-30")


async def test_a_series_is_tried_created_listed_and_one_cancelled(
    cli, session_factory: SessionFactory, capsys: pytest.CaptureFixture[str]  # type: ignore[no-untyped-def]
) -> None:
    await seed_small_roster(session_factory)
    assert await cli(*SERIES, "--dry-run") == 0
    out = capsys.readouterr().out
    assert "主题党日，阳光社区第一党支部，共 6 次，参会 2 人" in out and "（试运行，未创建）" in out
    assert "2027 年的法定节假日尚未导入" in out
    async with session_factory() as s:
        assert (await s.exec(select(Meeting))).all() == []

    assert await cli(*SERIES) == 0
    assert "已创建第 1–6 号会议" in capsys.readouterr().out
    assert await cli("meeting", "list", "--org", "C01", "--days", "400") == 0
    listed = capsys.readouterr().out.splitlines()
    assert listed[-1] == "共 6 个会议" and "主题党日  阳光社区第一党支部  会议室  待召开" in listed[0]
    assert await cli("meeting", "cancel", "2", "--reason", "与区里会议冲突") == 0
    assert "已取消第 2 号会议，已通知 1 名参会人员" in capsys.readouterr().out  # 赵党员 on WeCom; 李党员 not bound
    async with session_factory() as s:
        second = await s.get(Meeting, 2)
    assert second is not None and second.status == MeetingStatus.cancelled
    assert await cli("meeting", "cancel", "2") == 1
    assert capsys.readouterr().out.strip() == "第 2 号会议已取消。"


@pytest.mark.parametrize(("args", "said"), [
    (("--kind", "茶话会"), "kind 应为"),
    (("--at", "下周五"), "starts_at 应为"),
    (("--at", "2020-01-01T19:30"), "开始时间已过"),
    (("--repeat", "week"), "repeat.every 应为"),
    (("--org", "NOPE"), "没有组织编码 NOPE"),
])
async def test_bad_input_is_refused_with_the_reason(
    cli, session_factory: SessionFactory, capsys: pytest.CaptureFixture[str],  # type: ignore[no-untyped-def]
    args: tuple[str, str], said: str,
) -> None:
    await seed_small_roster(session_factory)
    argv = list(SERIES)
    flag, value = args
    argv[argv.index(flag) + 1] = value
    assert await cli(*argv) == 1
    assert said in capsys.readouterr().out
    async with session_factory() as s:
        assert (await s.exec(select(Meeting))).all() == []
