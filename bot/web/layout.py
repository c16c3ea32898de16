"""A phone-first HTML shell; every value is escaped by the caller with `esc`."""

from html import escape

from aiohttp import web

esc = escape

_CSS = """
*{box-sizing:border-box}body{margin:0;font:15px/1.5 -apple-system,"PingFang SC","Microsoft YaHei",sans-serif;
background:#f4f4f4;color:#222}header{background:#c8161d;color:#fff;padding:12px 16px;font-size:17px}
main{max-width:480px;margin:0 auto;padding:12px}.card{background:#fff;border-radius:8px;padding:12px;margin:0 0 10px}
a{color:#c8161d;text-decoration:none}.muted{color:#666;font-size:13px}.bar{height:6px;background:#eee;border-radius:3px}
.bar i{display:block;height:6px;background:#c8161d;border-radius:3px}table{width:100%;border-collapse:collapse}
td,th{padding:6px 4px;border-bottom:1px solid #eee;text-align:left;font-size:14px}.tag{font-size:12px;
background:#fdecea;color:#b0141a;border-radius:3px;padding:0 4px;margin-left:4px}
.links a,p>a{display:inline-flex;align-items:center;min-height:44px}.card>a:first-child{display:flex;
align-items:center;min-height:44px}.links{display:flex;
flex-wrap:wrap;gap:0 16px}textarea{display:block;width:100%;font:inherit;padding:8px;margin:4px 0 8px;
border:1px solid #ccc;border-radius:6px}button{min-height:44px;min-width:44px;padding:0 16px;font:inherit;
border:0;border-radius:6px;background:#c8161d;color:#fff}.flash{background:#e9f7ef;color:#1d6b3a}
.text{white-space:pre-wrap;margin:8px 0}.answer{background:#f6f6f6;border-radius:6px;padding:8px;margin-top:8px}
"""


def page(title: str, body: str, *, status: int = 200, head: str = "") -> web.Response:
    """`head`: extra trusted markup for <head> (a refresh, a page's own styles)."""
    html = (
        '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{esc(title)}</title><style>{_CSS}</style>{head}</head>"
        f"<body><header>{esc(title)}</header><main>{body}</main></body></html>"
    )
    return web.Response(text=html, content_type="text/html", status=status)


def message_page(title: str, text: str, *, status: int) -> web.Response:
    return page(title, f'<div class="card">{esc(text)}</div>', status=status)
