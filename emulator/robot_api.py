"""WeCom group robot (群机器人): one-way messages to a group chat through a webhook key."""

from aiohttp import web

from emulator.answers import answer, read_json, text_of
from emulator.state import STATE_KEY

ROBOT_TYPES = {"text", "markdown", "image", "news", "file", "voice", "template_card"}


async def webhook_send(request: web.Request) -> web.Response:
    state = request.app[STATE_KEY]
    config = state.config
    key = request.query.get("key", "")
    if key not in config.robot_keys:
        return answer(93000)
    data = await read_json(request)
    if data is None:
        return answer(47001)
    msgtype = data.get("msgtype")
    if msgtype not in ROBOT_TYPES:
        return answer(40008)
    content = text_of(data, msgtype)
    size = len(content.encode())
    if msgtype in ("text", "markdown") and not content:
        return answer(44004)
    if msgtype == "text" and size > config.robot_text_max_bytes:
        return answer(40058, f"content exceed max length {config.robot_text_max_bytes}")
    if msgtype == "markdown" and size > config.robot_markdown_max_bytes:
        return answer(40058, f"markdown.content exceed max length {config.robot_markdown_max_bytes}")
    now = state.now()
    if state.robot_minute.count(key, now) >= config.robot_per_minute:
        return answer(45009, "api freq out of limit")
    state.robot_minute.add(key, now)
    state.log.add(
        time=now,
        platform="robot",
        api="webhook",
        recipient=key,
        msgtype=msgtype,
        content=content,
        payload=data,
        msgid=str(state.next_msg_id()),
    )
    return answer(0)


def robot_routes() -> list[web.RouteDef]:
    return [web.post("/work/cgi-bin/webhook/send", webhook_send)]
