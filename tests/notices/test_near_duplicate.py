"""社区减负: a secretary about to send what the same organisations already got in the last 24 hours is
warned in the preview (and may still send it); other organisations, older notices and other texts
are not flagged."""

from datetime import UTC, datetime, timedelta

from sqlmodel import col, select

from emulator import Phone
from models import Notice
from models.notice_similarity import is_similar, normalise
from tests.seed import Roster
from tests.stack import Stack

TEXT = "明天上午9点在社区活动室开支部党员大会，请准时参加。"
WARNING = "注意：24小时内已向相同组织发过相似通知（第 {id} 号，今天 {hm}）。仍要发送请回复“确认”，不发请回复“取消”。"


async def _preview(phone: Phone, text: str, orgs: str = "1") -> str:
    """Composes a plain notice to the chosen organisations (by number) for members; returns the preview."""
    for answer in (f"通知：{text}", orgs, "好", "1", "否"):
        await phone.send_text(answer)
    return (await phone.send_text("无")).content


async def _send(stack: Stack, phone: Phone, text: str, orgs: str = "1") -> Notice:
    await _preview(phone, text, orgs)
    assert "已确认" in (await phone.send_text("确认")).content
    async with stack.sessions() as s:
        return (await s.exec(select(Notice).order_by(col(Notice.id).desc()))).first()  # type: ignore[return-value]


def _hm(notice: Notice, stack: Stack) -> str:
    assert notice.confirmed_at is not None
    return f"{notice.confirmed_at.astimezone(stack.settings.tz):%H:%M}"


async def test_the_preview_warns_about_a_near_duplicate_and_it_can_still_be_sent(stack: Stack, roster: Roster) -> None:
    wang = stack.phone("work", "wangshuji")
    first = await _send(stack, wang, TEXT)

    # Spacing, full-width punctuation and a changed word or two, to the branch inside 阳光社区: still the same.
    preview = await _preview(wang, "明天上午9点 在社区活动室开支部党员大会！请大家准时参加", orgs="2")

    assert preview.splitlines()[-1] == WARNING.format(id=first.id, hm=_hm(first, stack))
    assert "回复“确认”发送，“取消”放弃" not in preview
    assert "已确认" in (await wang.send_text("确认")).content


async def test_a_notice_to_another_community_is_not_a_duplicate(stack: Stack, roster: Roster) -> None:
    await _send(stack, stack.phone("work", "wangshuji"), TEXT)
    he = stack.phone("mp", "o_he")
    assert "绑定成功" in (await he.send_text("绑定 HE2345")).content

    preview = await _preview(he, TEXT)

    assert "和平社区" in preview and "注意" not in preview
    assert preview.endswith("回复“确认”发送，“取消”放弃")


async def test_the_same_text_more_than_24_hours_later_is_not_flagged(stack: Stack, roster: Roster) -> None:
    wang = stack.phone("work", "wangshuji")
    first = await _send(stack, wang, TEXT)
    async with stack.sessions() as s:
        old = await s.get(Notice, first.id)
        assert old is not None
        old.confirmed_at = datetime.now(UTC) - timedelta(hours=25)
        s.add(old)
        await s.commit()

    assert "注意" not in await _preview(wang, TEXT)


async def test_a_different_text_to_the_same_community_is_not_flagged(stack: Stack, roster: Roster) -> None:
    wang = stack.phone("work", "wangshuji")
    await _send(stack, wang, TEXT)

    assert "注意" not in await _preview(wang, "本周六上午开展垃圾分类志愿服务，请党员到小区门口集合。")


async def test_a_cancelled_draft_is_not_a_notice_that_was_sent(stack: Stack, roster: Roster) -> None:
    wang = stack.phone("work", "wangshuji")
    await _preview(wang, TEXT)
    assert "已取消" in (await wang.send_text("取消")).content

    assert "注意" not in await _preview(wang, TEXT)


def test_texts_are_compared_without_spacing_punctuation_or_full_width_forms() -> None:
    assert normalise("明天 停水！ＡＢＣ，１２点") == normalise("明天停水!abc,12点")
    assert is_similar("今晚防汛值班，请党员19点到社区集合", "今晚防汛值班，请党员20点到社区集合")
    assert not is_similar("今晚防汛值班，请党员19点到社区集合", "周末义诊，请居民带好医保卡")
