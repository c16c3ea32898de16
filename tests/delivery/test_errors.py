import random

import httpx
import pytest

from bot.delivery.errors import ErrorClass, backoff, classify, reason

T, K, R, W, P = (
    ErrorClass.transient,
    ErrorClass.token,
    ErrorClass.rate,
    ErrorClass.window,
    ErrorClass.permanent,
)


@pytest.mark.parametrize(
    ("platform", "errcode", "expected"),
    [
        ("mp", -1, T),
        ("work", -1, T),
        ("robot", -1, T),
        ("mp", 40001, K),
        ("work", 40014, K),
        ("work", 42001, K),
        ("mp", 45011, R),
        ("work", 45011, R),
        ("work", 45033, R),
        # The clash: daily template quota on MP, frequency limit on WeCom and its robots.
        ("mp", 45009, W),
        ("work", 45009, R),
        ("robot", 45009, R),
        ("mp", 45015, W),
        ("mp", 45047, W),
        ("mp", 43004, W),
        ("mp", 43101, W),
        ("mp", 40003, P),
        ("mp", 40164, P),
        ("work", 60020, P),
        ("work", 81013, P),
        ("mp", 40037, P),
        ("robot", 93000, P),
        ("robot", 40058, P),
        ("work", 40058, P),
        ("mp", 99999, P),
        ("work", 45015, P),  # the 48 h window is an MP notion
    ],
)
def test_classify_errcodes(platform: str, errcode: int, expected: ErrorClass) -> None:
    assert classify(platform, errcode) is expected


def _status_error(status: int) -> httpx.HTTPStatusError:
    request = httpx.Request("POST", "https://qyapi.weixin.qq.com/cgi-bin/message/send")
    return httpx.HTTPStatusError("boom", request=request, response=httpx.Response(status, request=request))


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"exc": httpx.ReadTimeout("slow")}, T),
        ({"exc": httpx.ConnectError("refused")}, T),
        ({"exc": httpx.RemoteProtocolError("closed")}, T),
        ({"exc": _status_error(502)}, T),
        ({"exc": _status_error(404)}, P),
        ({"http_status": 500}, T),
        ({"http_status": 503}, T),
        ({"exc": ValueError("not json")}, T),
    ],
)
def test_classify_transport(kwargs: dict[str, object], expected: ErrorClass) -> None:
    assert classify("work", None, **kwargs) is expected  # type: ignore[arg-type]


def test_classify_rejects_success_and_unknown_platform() -> None:
    with pytest.raises(ValueError):
        classify("mp", 0)
    with pytest.raises(ValueError):
        classify("sms", 45009)


@pytest.mark.parametrize(
    ("platform", "errcode", "expected"),
    [
        ("mp", 45015, "用户超过48小时未互动，客服消息无法送达"),
        ("work", 60020, "服务器IP不在企业微信可信IP列表（请管理员配置）"),
        ("mp", 43004, "用户未关注公众号"),
        ("mp", 45009, "模板消息今日额度已用完，明天再发"),
        ("work", 45009, "发送过于频繁，稍后重试"),
        ("mp", 12345, "微信返回错误 12345：strange"),
    ],
)
def test_reason(platform: str, errcode: int, expected: str) -> None:
    assert reason(platform, errcode, "strange") == expected


def test_every_known_code_has_a_chinese_reason() -> None:
    for code in (-1, 40001, 40014, 42001, 45011, 45033, 45047, 43101, 40003, 40164, 81013, 40037, 93000, 40058):
        for platform in ("mp", "work", "robot"):
            assert not reason(platform, code, "x").startswith("微信返回错误"), (platform, code)


def test_backoff_full_jitter_within_exponential_ceiling() -> None:
    rng = random.Random(7)
    for attempt, ceiling in [(0, 2.0), (1, 4.0), (3, 16.0), (9, 600.0), (10_000, 600.0)]:
        draws = [backoff(attempt, rng=rng) for _ in range(200)]
        assert all(0.0 <= d <= ceiling for d in draws)
        assert max(draws) > ceiling * 0.8  # jitter spreads over the whole range
    assert backoff(2, base=1.0, cap=3.0, rng=random.Random(1)) <= 3.0
    with pytest.raises(ValueError):
        backoff(-1)


def test_backoff_is_reproducible_with_a_seeded_rng() -> None:
    assert backoff(4, rng=random.Random(3)) == backoff(4, rng=random.Random(3))
