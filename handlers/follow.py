"""Follow, unfollow and QR-code scans (subscribe with qrscene_<community>, SCAN, WeCom enter_agent); a
scan of a meeting's sign-in code signs in (handlers/signin.py)."""

from handlers.binding import FirstContact
from handlers.context import Context, Inbound
from handlers.replies import UNBOUND_HINT, describe
from handlers.routing import Outcome, Router
from handlers.signin import sign_in_by_scan
from models.binding import bind_work_user, ensure_identity, join_community_by_scene, set_following
from models.identity import Identity

router = Router("follow")
WELCOME = "欢迎关注基层党建服务助手！"


async def _identity(msg: Inbound, ctx: Context) -> Identity:
    return await ensure_identity(
        session=ctx.session, platform=msg.platform, app_id=msg.app_id, external_id=msg.from_user
    )


async def _join(msg: Inbound, ctx: Context, scene: str) -> str:
    identity = await _identity(msg, ctx)
    result = await join_community_by_scene(session=ctx.session, identity=identity, scene=scene)
    await ctx.session.commit()
    ctx.forget_sender()
    if result.community is None:
        return "这个二维码已失效，请向社区索取新的二维码。"
    name = result.community.name
    if result.reason == "not_resident":
        return f"您已绑定为党员，无需以居民身份加入{name}。回复“帮助”查看可用指令。"
    if result.created:
        return f"您已加入{name}。社区服务结束后会邀请您评价，回复“帮助”查看可用指令。"
    return f"您的所在社区是{name}。回复“帮助”查看可用指令。"


@router.event("subscribe", "subscribe_scan")
async def welcome(msg: Inbound, ctx: Context) -> str:
    identity = await _identity(msg, ctx)
    if not identity.following:
        await set_following(session=ctx.session, identity=identity, following=True)
    await ctx.session.commit()
    ctx.forget_sender()
    if msg.event_key.startswith("qrscene_"):
        scene = msg.event_key.removeprefix("qrscene_")
        if (signed := await sign_in_by_scan(msg, ctx, scene)) is not None:
            return WELCOME + signed
        return WELCOME + await _join(msg, ctx, scene)
    if ctx.sender.is_bound:
        return f"{WELCOME}您好，{describe(ctx.sender)}。回复“帮助”查看可用指令。"
    return WELCOME + UNBOUND_HINT


@router.event("scan")
async def scanned(msg: Inbound, ctx: Context) -> str:
    if (signed := await sign_in_by_scan(msg, ctx, msg.event_key)) is not None:
        return signed
    return await _join(msg, ctx, msg.event_key)


@router.event("unsubscribe")
async def goodbye(msg: Inbound, ctx: Context) -> None:
    # Nothing can reach an unfollowed user; remember it so senders stop trying.
    identity = await _identity(msg, ctx)
    await set_following(session=ctx.session, identity=identity, following=False)
    await ctx.session.commit()
    ctx.forget_sender()


@router.event("enter_agent", batched=True)
async def entered_work_app(msg: Inbound, ctx: Context) -> Outcome:
    """Opening the WeCom app: bind from the roster on first visit, otherwise stay quiet."""
    if ctx.sender.is_bound:
        return None
    if (first := await FirstContact.of(msg, ctx)) is not None:
        return first.finish(f"您好，{first.person.name}！已按花名册自动关联您的账号。回复“帮助”查看可用指令。")
    await ctx.log_first()  # the session path writes: the message is logged first
    identity = await _identity(msg, ctx)
    person = await bind_work_user(session=ctx.session, identity=identity)
    await ctx.session.commit()
    ctx.forget_sender()
    if person is None:
        return "您的企业微信账号不在花名册中，请联系所在支部书记。"
    return f"您好，{person.name}！已按花名册自动关联您的账号。回复“帮助”查看可用指令。"
