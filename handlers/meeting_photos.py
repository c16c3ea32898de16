"""Meeting photos (纪实): a picture a secretary sends during a meeting in their scope or within 3 hours
after it ends is noted for that meeting's record; the photo itself is fetched from WeChat by the
service afterwards (bot/media_fetcher.py — handlers make no HTTP calls), while WeChat still keeps it.
Anyone else's picture goes on to the routes after this one (the help's "text only")."""

from handlers.context import Context, Inbound
from handlers.routing import HelpBook, Router
from models.meeting import Meeting, title_of
from models.meeting_photo import meeting_for_photos, note_photo
from models.typed import id_of

router = Router("meeting_photos")
NO_MEETING = "没有找到刚结束的会议：照片需在会议结束后 3 小时内发送。"
NO_MEDIA = "没有收到照片内容，请重新发送。"


def secretarys_picture(msg: Inbound, ctx: Context) -> bool:
    return msg.msg_type == "image" and bool(ctx.sender.roles) and ctx.sender.person_id is not None


def _named(meeting: Meeting, ctx: Context) -> str:
    """第 3 号会议（12月15日 主题党日）."""
    day = meeting.starts_at.astimezone(ctx.now.tzinfo)
    return f"第 {meeting.id} 号会议（{day.month}月{day.day}日 {title_of(meeting)}）"


@router.message(secretarys_picture)
async def meeting_photo(msg: Inbound, ctx: Context) -> str:
    media_id = msg.raw.get("MediaId", "").strip()
    if not media_id:
        return NO_MEDIA
    assert ctx.sender.person_id is not None  # the filter's
    found = await meeting_for_photos(session=ctx.session, scope_paths=[g.org_path for g in ctx.sender.roles],
                                     now=ctx.now)
    if found is None:
        return NO_MEETING
    meeting = found[0]
    new = await note_photo(session=ctx.session, meeting_id=id_of(meeting), platform=msg.platform, media_id=media_id,
                           person_id=ctx.sender.person_id, now=ctx.now)
    await ctx.session.commit()
    if not new:
        return f"这张照片已收到过，将存入{_named(meeting, ctx)}的纪实。"
    return f"已收到照片，将存入{_named(meeting, ctx)}的纪实。"


def register_help(book: HelpBook) -> None:
    book.add("照片 — 会后 3 小时内发来，存入会议纪实", "secretary")
