"""Temporary media (获取临时素材): `GET /cgi-bin/media/get?access_token=&media_id=` on MP and WeCom
alike, answered as WeChat does — the file itself with its image content type and
`Content-disposition: attachment; filename="<media_id>.jpg"`, or a JSON error instead of the file: a
bad or expired token first, then 40007 for a media id that is unknown, another account's or older
than 3 days. The picture's PicUrl (an image message carries both) is served under /mmbiz."""

from collections.abc import Awaitable, Callable

from aiohttp import web

from emulator.answers import answer, token_errcode
from emulator.media_book import PIC_PATH, StoredMedia
from emulator.state import STATE_KEY, EmulatorState

INVALID_MEDIA_ID = 40007
MEDIA_ID_MISSING = 41006


def _file(media: StoredMedia) -> web.Response:
    return web.Response(body=media.data, content_type=media.content_type,
                        headers={"Content-disposition": f'attachment; filename="{media.filename}"'})


def _media_get(platform: str) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def media_get(request: web.Request) -> web.Response:
        state: EmulatorState = request.app[STATE_KEY]
        # Each platform's token check as its other endpoints do it (MP 40001, WeCom 40014; 42001 expired).
        if platform == "mp":
            errcode = token_errcode(request, [state.mp_tokens, state.mp_stable_tokens], state.now(), 40001)
        else:
            errcode = token_errcode(request, [state.work_tokens], state.now(), 40014)
        if errcode:
            return answer(errcode)
        media_id = request.query.get("media_id", "")
        if not media_id:
            return answer(MEDIA_ID_MISSING, "media_id missing")
        media = state.media.find(platform, media_id, state.now())
        if media is None:
            return answer(INVALID_MEDIA_ID, "invalid media_id")
        return _file(media)

    return media_get


async def pic_url(request: web.Request) -> web.Response:
    """What a PicUrl shows: the picture, without a token (it is a public link at WeChat too)."""
    media = request.app[STATE_KEY].media.by_key.get(request.match_info["key"])
    if media is None:
        raise web.HTTPNotFound()
    return web.Response(body=media.data, content_type=media.content_type)


def media_routes() -> list[web.RouteDef]:
    return [
        web.get("/mp/cgi-bin/media/get", _media_get("mp")),
        web.get("/work/cgi-bin/media/get", _media_get("work")),
        web.get(PIC_PATH + "/{key}/0", pic_url),
    ]
