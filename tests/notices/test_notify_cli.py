"""`grassroots notify`: 王书记 sends a notice from a terminal. The preview comes first, a question
before sending (unless --yes), and the running service delivers it. Refusals are one Chinese line on
stderr, a non-zero exit code and an audit entry."""

import asyncio
import io
from pathlib import Path

import pytest
from sqlmodel import func, select

from bot.cli import main
from models import AuditEntry, Notice
from tests.framing import bodies
from tests.seed import Roster
from tests.stack import Stack

TEXT = "今晚防汛值班，请党员19点到社区集合，带好雨具和手电"
WANG, LI = "13900000001", "13900000002"


@pytest.fixture
def cli(stack: Stack, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """Runs `grassroots ...` in-process against the stack's database (in a thread: it has its own loop)."""
    monkeypatch.setenv("GRASSROOTS_DATABASE_URL", stack.settings.database_url)

    async def run(*argv: str, answer: str | None = None) -> int:
        if answer is not None:
            monkeypatch.setattr("sys.stdin", io.StringIO(answer + "\n"))
        return await asyncio.to_thread(main, list(argv))

    return run


async def _count(stack: Stack, model, *where) -> int:  # type: ignore[no-untyped-def]
    async with stack.sessions() as s:
        return (await s.exec(select(func.count()).select_from(model).where(*where))).one()


async def test_a_secretary_sends_from_the_terminal_and_the_members_phone_gets_it(
    stack: Stack, roster: Roster, cli, capsys: pytest.CaptureFixture[str]  # type: ignore[no-untyped-def]
) -> None:
    assert "绑定成功" in (await stack.phone("mp", "o_li").send_text("绑定 LI2345")).content

    code = await cli("notify", "--org", "C01", "--who", "党员", "--text", TEXT, "--urgent", "--as", WANG, "--yes")

    out = capsys.readouterr().out
    async with stack.sessions() as s:
        notice = (await s.exec(select(Notice))).one()
    assert code == 0
    assert "共 3 人，可送达 3 人" in out and "· 48小时内互动过：公众号客服消息：1 人" in out
    assert "· 企业微信应用消息：2 人" in out  # the roster names 王书记's and 赵党员's WeCom accounts
    assert f"已确认，正在发送给 3 人（编号 {notice.id}）" in out
    assert notice.author_person_id == roster.people["wang"].id and notice.org_id == roster.orgs["C01"].id
    on_mp = await stack.emulator.wait_for_messages("mp", "o_li", within=5)
    assert bodies(on_mp) == [TEXT]
    assert await _count(stack, AuditEntry, AuditEntry.action == "notice.cli") == 1


async def test_without_yes_it_asks_and_sends_only_on_y(
    stack: Stack, roster: Roster, cli, capsys: pytest.CaptureFixture[str]  # type: ignore[no-untyped-def]
) -> None:
    args = ("notify", "--org", "C01", "--text", TEXT, "--as", WANG)
    assert await cli(*args, answer="n") == 1
    assert "已取消，未发送。" in capsys.readouterr().out
    assert await _count(stack, Notice) == 0

    assert await cli(*args, answer="y") == 0
    assert "确认发送？[y/N]" in capsys.readouterr().out
    assert await _count(stack, Notice) == 1


async def test_a_dry_run_prints_the_preview_and_writes_nothing(
    stack: Stack, roster: Roster, cli, capsys: pytest.CaptureFixture[str]  # type: ignore[no-untyped-def]
) -> None:
    assert await cli("notify", "--org", "C01", "--text", TEXT, "--as", WANG, "--dry-run") == 0
    out = capsys.readouterr().out
    assert "共 3 人" in out and "试运行" in out
    assert await _count(stack, Notice) == 0
    assert await _count(stack, AuditEntry) == 0


async def test_a_task_from_a_file_keeps_its_text_deadline_and_receipt(
    stack: Stack, roster: Roster, cli, tmp_path: Path  # type: ignore[no-untyped-def]
) -> None:
    (tmp_path / "task.txt").write_text("请各支部于月底前报送党费收缴情况。\n", encoding="utf-8")
    code = await cli("notify", "--org", "B01", "--who", "党员,书记", "--text-file", str(tmp_path / "task.txt"),
                     "--deadline", "2099-12-01T18:00", "--no-receipt", "--as", WANG, "--yes")
    assert code == 0
    async with stack.sessions() as s:
        notice = (await s.exec(select(Notice))).one()
    assert notice.text == "请各支部于月底前报送党费收缴情况。"
    assert notice.deadline is not None and notice.deadline.astimezone(stack.settings.tz).hour == 18
    assert notice.wants_receipt is False
    assert notice.audience == {"org_ids": [roster.orgs["B01"].id], "who": ["党员", "书记"]}


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        (("--org", "C01", "--text", TEXT, "--as", LI), "李党员不是书记、副书记或管理员，不能发通知"),
        (("--org", "C01", "--org", "C02", "--text", TEXT, "--as", WANG), "和平社区不在您的管理范围内"),
        (("--org", "C01", "--text", TEXT, "--as", "13800000000"), "找不到手机号为 13800000000 的人员"),
        (("--org", "X99", "--text", TEXT, "--as", WANG), "没有编码为 X99 的组织"),
        (("--org", "C01", "--who", "群众", "--text", TEXT, "--as", WANG), "不认识的对象“群众”"),
        (("--org", "C01", "--text", " ", "--as", WANG), "通知内容不能为空"),
        (("--org", "C01", "--text", TEXT, "--deadline", "2020-01-01T18:00", "--as", WANG),
         "截止时间 2020-01-01 18:00 已经过去"),
    ],
)
async def test_a_refusal_is_one_line_exit_1_and_audited(
    stack: Stack, roster: Roster, cli, capsys: pytest.CaptureFixture[str],  # type: ignore[no-untyped-def]
    args: tuple[str, ...], reason: str,
) -> None:
    assert await cli("notify", *args, "--yes") == 1
    err = capsys.readouterr().err.strip()
    assert reason in err and "\n" not in err
    assert await _count(stack, Notice) == 0
    assert await _count(stack, AuditEntry, AuditEntry.action == "notice.refused") == 1


async def test_a_near_duplicate_needs_force_or_an_interactive_yes(
    stack: Stack, roster: Roster, cli, capsys: pytest.CaptureFixture[str]  # type: ignore[no-untyped-def]
) -> None:
    args = ("notify", "--org", "C01", "--text", TEXT, "--as", WANG)
    assert await cli(*args, "--yes") == 0
    async with stack.sessions() as s:
        first = (await s.exec(select(Notice))).one()
    capsys.readouterr()

    assert await cli(*args, "--yes") == 1
    captured = capsys.readouterr()
    assert f"注意：24小时内已向相同组织发过相似通知（第 {first.id} 号，今天 " in captured.out
    assert captured.err.strip().startswith(f"24小时内已向相同组织发过相似通知（第 {first.id} 号，今天 ")
    assert captured.err.strip().endswith("。确需再发请加 --force")
    assert await _count(stack, Notice) == 1

    assert await cli(*args, answer="y") == 0  # the secretary saw the warning and said yes
    assert await cli(*args, "--yes", "--force") == 0
    assert await _count(stack, Notice) == 3


async def test_a_missing_text_file_is_one_line_and_exit_2(
    stack: Stack, roster: Roster, cli, tmp_path: Path, capsys: pytest.CaptureFixture[str]  # type: ignore[no-untyped-def]
) -> None:
    code = await cli("notify", "--org", "C01", "--text-file", str(tmp_path / "nope.txt"), "--as", WANG, "--yes")
    assert code == 2
    assert capsys.readouterr().err.strip() == f"无法读取文件：{tmp_path / 'nope.txt'}"
