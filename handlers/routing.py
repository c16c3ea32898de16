"""Routers in the aiogram manner: one per feature module, decorators only register, filters are plain
callables (a dict result is passed to the handler as keyword arguments), and the order of the router
list is the precedence."""

from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from handlers.context import Context, Inbound
from handlers.text import split_command
from models.row_writes import RowWrite, Written

Reply = str | None  # text to answer with, or None for "success" (nothing to say)


def _nothing_after(_written: list[Written]) -> None:
    return None


@dataclass(frozen=True, slots=True)
class Finish:
    """A handler's last step as rows and the reply they decide (a 收到: the receipts, and "已确认" or
    "已确认过" by whether they were new). On the callback path the rows, the message's log entry and
    the reply travel in one group commit. `reply` only computes (it runs inside that commit's
    transaction); `after` runs once the rows are durable (tell this process's memory)."""

    rows: Sequence[RowWrite]
    reply: Callable[[list[Written]], Reply]
    after: Callable[[list[Written]], None] = _nothing_after


Outcome = Reply | Finish
Handler = Callable[..., Awaitable[Outcome]]
Filter = Callable[[Inbound, Context], bool | dict[str, Any]]


@dataclass(frozen=True, slots=True)
class Route:
    filters: tuple[Filter, ...]
    handler: Handler
    # Pure: no side effects and no slow I/O, the answer comes from memory (help, "not understood").
    # Batched: its only write is the Finish it returns (reads go through the context's batched access).
    # The callback path logs the message of either once, with its reply, after running the handler;
    # other handlers are claimed in the log first, so that they never run twice.
    pure: bool = False
    batched: bool = False

    @property
    def logged_after(self) -> bool:
        return self.pure or self.batched


Found = tuple[Route, dict[str, Any]]


class Router:
    def __init__(self, name: str) -> None:
        self.name = name
        self.routes: list[Route] = []

    def message(self, *filters: Filter, pure: bool = False, batched: bool = False) -> Callable[[Handler], Handler]:
        def register(fn: Handler) -> Handler:
            self.routes.append(Route(filters, fn, pure, batched))
            return fn

        return register

    def text(self, *words: str, pure: bool = False) -> Callable[[Handler], Handler]:
        return self.message(text_is(*words), pure=pure)

    def command(self, *words: str, pure: bool = False) -> Callable[[Handler], Handler]:
        return self.message(command(*words), pure=pure)

    def event(self, *names: str, pure: bool = False, batched: bool = False) -> Callable[[Handler], Handler]:
        return self.message(event_is(*names), pure=pure, batched=batched)


def text_is(*words: str) -> Filter:
    wanted = {w.lower() for w in words}
    return lambda msg, _ctx: msg.msg_type == "text" and msg.text.lower() in wanted


def command(*words: str) -> Filter:
    def match(msg: Inbound, _ctx: Context) -> bool | dict[str, Any]:
        if msg.msg_type != "text":
            return False
        for word in words:
            rest = split_command(msg.text, word)
            if rest is not None:
                return {"args": rest}
        return False

    return match


def event_is(*names: str) -> Filter:
    wanted = {n.lower() for n in names}
    return lambda msg, _ctx: msg.is_event and msg.event in wanted


def anything(_msg: Inbound, _ctx: Context) -> bool:
    return True


def _match(route: Route, msg: Inbound, ctx: Context) -> dict[str, Any] | None:
    kwargs: dict[str, Any] = {}
    for flt in route.filters:
        result = flt(msg, ctx)
        if result is False:
            return None
        if isinstance(result, dict):
            kwargs.update(result)
    return kwargs


def find_handler(routers: Iterable[Router], msg: Inbound, ctx: Context, *, after: Route | None = None) -> Found | None:
    """The first route that matches; with `after`, the first of the routes that come after that one."""
    searching = after is None
    for router in routers:
        for route in router.routes:
            if not searching:
                searching = route is after  # identity: two registrations may compare equal
                continue
            kwargs = _match(route, msg, ctx)
            if kwargs is not None:
                return route, kwargs
    return None


async def run_handler(found: Found, msg: Inbound, ctx: Context) -> Outcome:
    """Errors propagate to the caller, which logs them and answers with an apology (never a 5xx to
    WeChat); a refusal is an ordinary reply."""
    route, kwargs = found
    # Restored afterwards: a handler that passed the message on is again the one running when the
    # later handler returns.
    outer, ctx.route = ctx.route, route
    try:
        return await route.handler(msg, ctx, **kwargs)
    finally:
        ctx.route = outer


async def pass_on(msg: Inbound, ctx: Context, default: Reply = None) -> Reply:
    """For a handler that finds the message is not its business after all: the first matching route
    after the running one handles it. The search only moves forward, so the handler that passes on is
    never asked again and handing on ends, at the fallback at the latest. `default` is the answer when
    no later route matches, or when no route is running (a handler called directly)."""
    if ctx.route is None:  # searching from the top could find the caller again
        return default
    found = find_handler(ctx.routers, msg, ctx, after=ctx.route)
    if found is None:
        return default
    if not found[0].logged_after:
        await ctx.log_first()  # the route it goes to may have side effects: log the message first
    return await written_out(await run_handler(found, msg, ctx), ctx)


async def pass_on_if_pure(msg: Inbound, ctx: Context) -> tuple[bool, Reply]:
    """(True, the answer) when the route the message would be passed on to is pure (or there is none):
    its answer is known before anything is written. (False, None) otherwise, and nothing ran."""
    if ctx.route is None:
        return True, None
    found = find_handler(ctx.routers, msg, ctx, after=ctx.route)
    if found is None:
        return True, None
    if not found[0].pure:
        return False, None
    return True, await written_out(await run_handler(found, msg, ctx), ctx)


async def write_now(finish: Finish, ctx: Context) -> list[Written]:
    """A Finish's rows written on their own (the message is logged first), and its `after` run."""
    assert ctx.hot is not None, "a Finish comes from the callback path's batched handlers"
    await ctx.log_first()
    written = await ctx.hot.write(finish.rows)
    finish.after(written)
    return written


async def written_out(outcome: Outcome, ctx: Context) -> Reply:
    """A Finish inside another handler's answer: its rows are written now, on their own."""
    if not isinstance(outcome, Finish):
        return outcome
    return outcome.reply(await write_now(outcome, ctx))


async def dispatch(msg: Inbound, ctx: Context) -> Reply:
    """Run the first matching handler of the context's routers."""
    found = find_handler(ctx.routers, msg, ctx)
    return await written_out(await run_handler(found, msg, ctx), ctx) if found else None


# Who a help line is for; a secretary also sees the lines of their person kind.
AUDIENCES = ("unbound", "member", "resident", "unit_rep", "secretary")


class HelpBook:
    """Help lines contributed by each feature, so `帮助` lists exactly the commands that exist."""

    def __init__(self) -> None:
        self.lines: dict[str, list[str]] = {a: [] for a in AUDIENCES}

    def add(self, line: str, *audiences: str) -> None:
        for audience in audiences:
            self.lines[audience].append(line)

    def for_audiences(self, audiences: Sequence[str]) -> list[str]:
        seen: list[str] = []
        for audience in audiences:
            seen.extend(line for line in self.lines[audience] if line not in seen)
        return seen
