"""Mounts the demo on the service's app: the chat page at `/` and the JSON API under /demo/api.
Only the demo calls this; `grassroots serve` has neither."""

from importlib.resources import files

from aiohttp import web

from bot.demo.api import DEMO, MAX_TEXT, inbox, json_errors, personas, send
from bot.demo.state import DemoState

PAGE = files("bot.demo") / "page.html"


async def chat_page(request: web.Request) -> web.Response:
    # Read per request: the file is small, and an edited page shows on reload.
    text = PAGE.read_text(encoding="utf-8").replace("__MAX_TEXT__", str(MAX_TEXT))
    return web.Response(text=text, content_type="text/html", headers={"Cache-Control": "no-store"})


def add_demo_routes(app: web.Application, state: DemoState) -> None:
    """Call before the app starts."""
    app.router.add_get("/", chat_page)
    api = web.Application(middlewares=[json_errors])
    api[DEMO] = state
    api.router.add_get("/personas", personas)
    api.router.add_post("/send", send)
    api.router.add_get("/inbox", inbox)
    api.on_shutdown.append(state.close)
    app.add_subapp("/demo/api", api)
