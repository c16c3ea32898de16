"""The baseline: a bare aiohttp hello-world served the way `grassroots serve` serves (bot/serve.py:
`web.AppRunner` without access log, `TCPSite` with backlog 1024, the default asyncio loop).

GET and POST on / and /wechat/mp answer "success"; a POST reads its body first, as any callback
endpoint must, so the baseline receives exactly what the service receives (the runner sends it the
same pre-generated callbacks).

    python benchmarks/bare_server.py [--host 127.0.0.1] [--port 8081]
"""

import argparse
import asyncio
import signal

from aiohttp import web


async def get_success(request: web.Request) -> web.Response:
    return web.Response(text="success", content_type="text/plain")


async def post_success(request: web.Request) -> web.Response:
    await request.read()
    return web.Response(text="success", content_type="text/plain")


def create_app() -> web.Application:
    app = web.Application()
    for path in ("/", "/wechat/mp"):
        app.router.add_get(path, get_success)
        app.router.add_post(path, post_success)
    return app


async def serve(host: str, port: int) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    runner = web.AppRunner(create_app(), access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port, backlog=1024).start()
        print(f"bare server listening on http://{host}:{port}", flush=True)
        await stop.wait()
    finally:
        await runner.cleanup()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    args = parser.parse_args()
    asyncio.run(serve(args.host, args.port))
