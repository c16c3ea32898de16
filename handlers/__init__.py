"""What inbound messages mean. The order of ROUTERS is the precedence: binding before features,
the fallback last."""

from handlers import admin_link, binding, follow, help
from handlers.routing import HelpBook, Router

ROUTERS: tuple[Router, ...] = (
    follow.router,
    binding.router,
    help.router,
    admin_link.router,
    help.fallback_router,
)


def build_help_book() -> HelpBook:
    book = HelpBook()
    for module in (help, binding, follow, admin_link):
        module.register_help(book)
    return book
