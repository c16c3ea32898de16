"""Which channel first reaches each person (WECHAT.md): the WeCom app, then an Official Account
customer-service message inside the 48 h window, then a template message (short fields + link), and
last the organisation's group robot, which @-mentions the person's mobile. Every choice carries its
reason, shown on the progress page."""

from dataclasses import dataclass

from models.audience import Recipient
from models.delivery import Channel

UNREACHABLE = "未绑定微信或已取消关注，无法送达"
ROBOT_FIRST = "未绑定微信：通过组织群机器人@手机号提醒"
ROBOT_FALLBACK = "改用组织群机器人@手机号提醒"
NOTHING_LEFT = "所有渠道都无法送达"


@dataclass(frozen=True, slots=True)
class ChannelChoice:
    channel: Channel | None  # None: nobody can reach this person
    recipient: str
    reason: str


def _mp_choice(person: Recipient) -> ChannelChoice | None:
    if person.mp_openid and person.mp_last_seen is not None:
        return ChannelChoice(Channel.mp_custom, person.mp_openid, "48小时内互动过：公众号客服消息")
    if person.mp_openid:
        return ChannelChoice(Channel.mp_template, person.mp_openid, "超过48小时未互动：公众号模板消息")
    return None


def _robot_choice(person: Recipient, reason: str) -> ChannelChoice | None:
    if person.robot_reachable:
        return ChannelChoice(Channel.robot, person.robot_key or "", reason)
    return None


def first_choice(person: Recipient) -> ChannelChoice:
    if person.work_userid:
        return ChannelChoice(Channel.work_app, person.work_userid, "企业微信应用消息")
    return _mp_choice(person) or _robot_choice(person, ROBOT_FIRST) or ChannelChoice(None, "", UNREACHABLE)


def next_choice(person: Recipient, failed: Channel) -> ChannelChoice:
    """The fallback after `failed` could not reach the person (window, quota, block, not a member...)."""
    choice: ChannelChoice | None = None
    if failed == Channel.work_app:
        choice = _mp_choice(person)
    elif failed == Channel.mp_custom and person.mp_openid:
        choice = ChannelChoice(Channel.mp_template, person.mp_openid, "客服消息无法送达：改用模板消息")
    if choice is None and failed != Channel.robot:
        choice = _robot_choice(person, ROBOT_FALLBACK)
    return choice or ChannelChoice(None, "", NOTHING_LEFT)
