"""Classify a WeChat send outcome into a retry class (WECHAT.md "Error classes"), per platform.

The same errcode can mean different things on MP and WeCom (45009: daily quota vs. frequency limit),
so every lookup takes the platform ("mp", "work", or "robot" for the WeCom group-robot webhook).
"""

import random
from enum import StrEnum

import httpx

PLATFORMS = frozenset({"mp", "work", "robot"})


class ErrorClass(StrEnum):
    transient = "transient"  # retry with back-off + jitter
    token = "token"  # refresh the shared token, retry once
    rate = "rate"  # retry later, slow the channel
    window = "window"  # do not retry on this channel (quota, 48 h window, not following)
    permanent = "permanent"  # mark failed with a readable reason


TOKEN_CODES = frozenset({40001, 40014, 42001})
RATE_CODES = frozenset({45011, 45033})
# Only MP has the customer-service window and the template daily quota.
MP_WINDOW_CODES = frozenset({45009, 45015, 45047, 43004, 43101})

_REASONS: dict[int, str] = {
    -1: "微信系统繁忙，稍后重试",
    40001: "访问令牌无效或已被刷新",
    40014: "访问令牌不合法",
    42001: "访问令牌已过期",
    45011: "接口调用过于频繁，稍后重试",
    45033: "接口并发调用超过上限，稍后重试",
    45015: "用户超过48小时未互动，客服消息无法送达",
    45047: "客服消息条数已达上限，需等待用户再次互动",
    43004: "用户未关注公众号",
    43101: "用户拒绝接收此消息",
    40003: "用户标识（openid）无效",
    40164: "服务器IP不在公众号IP白名单（请管理员配置）",
    60020: "服务器IP不在企业微信可信IP列表（请管理员配置）",
    81013: "接收人均无效（不是企业微信成员或已离职）",
    40037: "模板ID无效（请管理员检查配置）",
    93000: "群机器人 webhook key 无效（请管理员检查配置）",
    40058: "消息内容过长或参数不合法",
}
# Codes whose meaning depends on the platform.
_PLATFORM_REASONS: dict[tuple[str, int], str] = {
    ("mp", 45009): "模板消息今日额度已用完，明天再发",
    ("work", 45009): "发送过于频繁，稍后重试",
    ("robot", 45009): "群机器人发送过于频繁（每分钟最多20条），稍后重试",
    ("work", 40003): "成员账号（UserID）无效",
    ("work", 43004): "成员未激活企业微信或未关注微信插件",
}


def _check_platform(platform: str) -> None:
    if platform not in PLATFORMS:
        raise ValueError(f"unknown platform {platform!r}; expected one of {sorted(PLATFORMS)}")


def _status_of(exc: BaseException | None, http_status: int | None) -> int | None:
    if isinstance(exc, httpx.HTTPStatusError):
        return exc.response.status_code
    return http_status


def classify(
    platform: str, errcode: int | None, *, http_status: int | None = None, exc: BaseException | None = None
) -> ErrorClass:
    """The retry class of one failed send. Raises ValueError when nothing failed."""
    _check_platform(platform)
    if isinstance(exc, httpx.TimeoutException | httpx.TransportError):
        return ErrorClass.transient
    status = _status_of(exc, http_status)
    if status is not None and status >= 500:
        return ErrorClass.transient
    if status is not None and status >= 400:
        # WeChat answers errors as HTTP 200 + errcode; a 4xx means a wrong URL or request: retry won't fix it.
        return ErrorClass.permanent
    if not errcode:
        if exc is not None:
            # No errcode but an exception (e.g. an HTML page where JSON was due): a proxy or outage.
            return ErrorClass.transient
        raise ValueError("nothing to classify: errcode is 0/None and no error was given")
    if errcode == -1:
        return ErrorClass.transient
    if errcode in TOKEN_CODES:
        return ErrorClass.token
    if errcode in RATE_CODES:
        return ErrorClass.rate
    if platform == "mp" and errcode in MP_WINDOW_CODES:
        return ErrorClass.window
    if errcode == 45009:  # WeCom app or robot: a frequency limit, not a daily quota
        return ErrorClass.rate
    return ErrorClass.permanent


def reason(platform: str, errcode: int | None, errmsg: str = "") -> str:
    """A short Chinese reason for people (admins, the sender) to read."""
    _check_platform(platform)
    if errcode is None:
        return f"网络错误，稍后重试：{errmsg}" if errmsg else "网络错误，稍后重试"
    known = _PLATFORM_REASONS.get((platform, errcode)) or _REASONS.get(errcode)
    return known or f"微信返回错误 {errcode}：{errmsg}"


def backoff(attempt: int, *, base: float = 2.0, cap: float = 600.0, rng: random.Random | None = None) -> float:
    """Seconds to wait before retry number `attempt` (0-based): exponential with full jitter.

    Full jitter (uniform in [0, min(cap, base·2^attempt)]) spreads retries of many senders that
    failed together, so they do not hit a busy WeChat again in lockstep.
    """
    if attempt < 0:
        raise ValueError("attempt must be >= 0")
    # Clamp the exponent: 2**attempt for a large attempt would overflow the float multiplication.
    ceiling = cap if attempt >= 64 else min(cap, base * 2.0**attempt)
    return (rng or random).uniform(0.0, ceiling)
