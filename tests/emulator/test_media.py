"""A phone's picture arrives as an `image` callback with its MediaId and PicUrl, and media/get hands
the file out as WeChat does: the bytes with their type and an attachment name, or a JSON error — a
bad or expired token, or 40007 for a media id that is unknown, another account's, or 3 days old."""

import httpx

from emulator import Emulator
from tests.emulator.fake_service import FakeService
from tests.emulator.helpers import mp_token, work_token

JPEG = b"\xff\xd8\xff\xe0" + b"\x00\x10JFIF" + bytes(range(256)) * 4
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


async def _get(http: httpx.AsyncClient, base: str, token: str | None, media_id: str | None) -> httpx.Response:
    params = {k: v for k, v in (("access_token", token), ("media_id", media_id)) if v is not None}
    return await http.get(base + "/cgi-bin/media/get", params=params)


async def test_a_picture_is_called_back_and_its_media_fetched_with_the_token(
    emulator: Emulator, http: httpx.AsyncClient, service: FakeService
) -> None:
    reply = await emulator.phone("mp", "o_1").send_image(JPEG)
    assert reply.status == 200
    [received] = service.received
    message = received.message
    assert message.type == "image" and message.media_id and message.image.startswith(emulator.base_url)

    fetched = await _get(http, emulator.mp_api_base, await mp_token(http, emulator), message.media_id)
    assert fetched.status_code == 200 and fetched.content == JPEG
    assert fetched.headers["content-type"] == "image/jpeg"
    assert fetched.headers["content-disposition"] == f'attachment; filename="{message.media_id}.jpg"'
    shown = await http.get(message.image)  # PicUrl: the picture itself, no token needed
    assert shown.status_code == 200 and shown.content == JPEG
    [call] = emulator.calls("media/get")
    assert call.args["media_id"] == message.media_id and call.http_status == 200 and call.errcode is None


async def test_a_wecom_picture_is_fetched_from_the_wecom_endpoint_only(
    emulator: Emulator, http: httpx.AsyncClient, service: FakeService
) -> None:
    await emulator.phone("work", "wangshuji").send_image(PNG, content_type="image/png")
    media_id = service.received[0].message.media_id
    fetched = await _get(http, emulator.work_api_base, await work_token(http, emulator), media_id)
    assert fetched.content == PNG and fetched.headers["content-type"] == "image/png"
    assert fetched.headers["content-disposition"] == f'attachment; filename="{media_id}.png"'
    # A WeCom media id means nothing to the Official Account.
    other = await _get(http, emulator.mp_api_base, await mp_token(http, emulator), media_id)
    assert other.json() == {"errcode": 40007, "errmsg": "invalid media_id"}


async def test_media_expires_after_three_days(
    emulator: Emulator, http: httpx.AsyncClient, service: FakeService
) -> None:
    await emulator.phone("mp", "o_1").send_image(JPEG)
    media_id = service.received[0].message.media_id
    emulator.advance_clock(3 * 86400 - 60)
    assert (await _get(http, emulator.mp_api_base, await mp_token(http, emulator), media_id)).content == JPEG
    emulator.advance_clock(61)
    gone = await _get(http, emulator.mp_api_base, await mp_token(http, emulator), media_id)
    assert gone.status_code == 200 and gone.json()["errcode"] == 40007


async def test_bad_requests_get_wechats_errors(
    emulator: Emulator, http: httpx.AsyncClient, service: FakeService
) -> None:
    await emulator.phone("mp", "o_1").send_image(JPEG)
    media_id = service.received[0].message.media_id
    mp, work = emulator.mp_api_base, emulator.work_api_base
    token = await mp_token(http, emulator)
    assert (await _get(http, mp, "forged", media_id)).json()["errcode"] == 40001
    assert (await _get(http, mp, None, media_id)).json()["errcode"] == 41001
    assert (await _get(http, mp, token, "no-such-media")).json()["errcode"] == 40007
    assert (await _get(http, mp, token, None)).json()["errcode"] == 41006
    assert (await _get(http, work, "forged", media_id)).json()["errcode"] == 40014
    emulator.advance_clock(7201)
    assert (await _get(http, mp, token, media_id)).json()["errcode"] == 42001
    assert [c.errcode for c in emulator.calls("media/get")] == [40001, 41001, 40007, 41006, 40014, 42001]
