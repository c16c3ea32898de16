"""Parameterised QR codes (生成带参数的二维码): `POST /cgi-bin/qrcode/create` as WeChat answers it — a
ticket, its lifetime and the URL the code encodes — and the scan of one: a follower's arrives as
`SCAN` with the scene as EventKey, anyone else's as `subscribe` with `qrscene_<scene>`. An expired
temporary code scans to nothing (WeChat shows the user that it has expired; no callback is sent)."""

from typing import Any

from aiohttp import web

from emulator.answers import answer, read_json, token_errcode
from emulator.state import STATE_KEY, EmulatorState

TEMPORARY = {"QR_SCENE", "QR_STR_SCENE"}
PERMANENT = {"QR_LIMIT_SCENE", "QR_LIMIT_STR_SCENE"}
DEFAULT_EXPIRE = 60
MAX_EXPIRE = 2_592_000  # 30 days
SCENE_STR_MAX = 64
SCENE_ID_MAX_PERMANENT = 100_000


def _scene(action: str, data: dict[str, Any]) -> str | None:
    scene = (data.get("action_info") or {}).get("scene") or {}
    if action.endswith("STR_SCENE"):
        value = scene.get("scene_str")
        return value if isinstance(value, str) and 0 < len(value) <= SCENE_STR_MAX else None
    value = scene.get("scene_id")
    if not isinstance(value, int) or value <= 0 or (action in PERMANENT and value > SCENE_ID_MAX_PERMANENT):
        return None
    return str(value)


async def create_qr_code(request: web.Request) -> web.Response:
    state: EmulatorState = request.app[STATE_KEY]
    errcode = token_errcode(request, [state.mp_tokens, state.mp_stable_tokens], state.now(), 40001)
    if errcode:
        return answer(errcode)
    data = await read_json(request)
    if data is None:
        return answer(47001)
    action = data.get("action_name")
    if action not in TEMPORARY | PERMANENT:
        return answer(40097, "invalid args: action_name")
    scene = _scene(action, data)
    if scene is None:
        return answer(40097, "invalid args: scene")
    expire: int | None = None
    if action in TEMPORARY:
        expire = data.get("expire_seconds", DEFAULT_EXPIRE)
        if not isinstance(expire, int) or expire <= 0:
            return answer(40097, "invalid args: expire_seconds")
        expire = min(expire, MAX_EXPIRE)
    code = state.qr_codes.add(scene, None if expire is None else state.now() + expire)
    body: dict[str, Any] = {"ticket": code.ticket, "url": code.url}
    if expire is not None:
        body["expire_seconds"] = expire
    return web.json_response(body)


def qr_routes() -> list[web.RouteDef]:
    return [web.post("/mp/cgi-bin/qrcode/create", create_qr_code)]
