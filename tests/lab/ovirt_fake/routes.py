"""Routing of API requests to handlers, and the request/response types they share."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Callable

from . import API_PREFIX, render
from .errors import ApiFault
from .seed import State
from .store import Store

XML = "application/xml;charset=UTF-8"


@dataclass
class Reply:
    status: int
    body: bytes = b""
    content_type: str = XML
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Call:
    """One API request, handled inside the store's transaction."""

    method: str
    path: str
    query: dict[str, str]
    body: bytes
    store: Store
    state: State
    now: int
    user: str
    params: dict[str, str] = field(default_factory=dict)

    def changed(self) -> None:
        """Handlers call this after mutating state, so the store saves it."""
        self.store.mark_dirty()

    def flag(self, name: str, default: bool = False) -> bool:
        value = self.query.get(name)
        return default if value is None else value.lower() in {"true", "1", "yes", ""}

    def integer(self, name: str) -> int | None:
        value = self.query.get(name)
        if value is None:
            return None
        try:
            return int(value)
        except ValueError as error:
            raise ApiFault(400, f"Value '{value}' of parameter '{name}' isn't a valid integer",
                           reason="Invalid value") from error


Handler = Callable[[Call], Reply]


class Router:
    def __init__(self) -> None:
        self.routes: list[tuple[str, re.Pattern[str], Handler]] = []

    def add(self, method: str, template: str) -> Callable[[Handler], Handler]:
        pattern = re.compile("^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", template) + "$")

        def register(handler: Handler) -> Handler:
            self.routes.append((method, pattern, handler))
            return handler

        return register

    def dispatch(self, call: Call) -> Reply:
        path_known = False
        for method, pattern, handler in self.routes:
            match = pattern.match(call.path)
            if not match:
                continue
            path_known = True
            if method == call.method:
                call.params = match.groupdict()
                return handler(call)
        if path_known:
            raise ApiFault(405, f"Method {call.method} is not allowed on {API_PREFIX}{call.path}",
                           reason="Method Not Allowed")
        raise ApiFault(404, f"Resource {API_PREFIX}{call.path} does not exist", reason="Not Found")


ROUTER = Router()


def ok(obj: Any, links: tuple[str, ...] = (), status: int = 200) -> Reply:
    reply = Reply(status, render.to_xml(obj, links))
    if status == 201 and getattr(obj, "href", None):
        reply.headers["Location"] = obj.href
    return reply


def listing(cls: type, objs: list[Any], links: tuple[str, ...] = ()) -> Reply:
    return Reply(200, render.list_to_xml(cls, objs, links))


def action_done(action: Any) -> Reply:
    """The engine echoes the action with status 'complete'."""
    action.status = "complete"
    return ok(action)


def lookup(call: Call, table: str, entity_id: str, kind: str) -> dict[str, Any]:
    record = call.state[table].get(entity_id)
    if record is None:
        raise ApiFault(404, f"Entity not found: {kind}: id={entity_id}")
    return record
