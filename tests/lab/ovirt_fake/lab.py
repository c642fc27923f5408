"""The lab's control plane: injected faults and request counters (JSON under /lab/)."""
from __future__ import annotations

import json
import re
import threading
from collections import Counter, deque
from dataclasses import dataclass
from typing import Any

WRITE_METHODS = {"POST", "PUT", "DELETE", "PATCH"}


class LabError(ValueError):
    """A bad control request; answered with 400 and the message."""


@dataclass
class FaultRule:
    """Make the next `count` matching requests fail (or stall for delay_s)."""

    id: int
    path: str
    method: str | None
    status: int | None
    count: int | None
    delay_s: float
    hits: int = 0

    def matches(self, method: str, path: str) -> bool:
        return (self.method is None or self.method == method) and re.search(self.path, path) is not None

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "path": self.path, "method": self.method, "status": self.status,
                "count": self.count, "delay_s": self.delay_s, "hits": self.hits}


class FaultBook:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rules: list[FaultRule] = []
        self._next_id = 1

    def add(self, spec: Any) -> FaultRule:
        rule = _rule_from(spec, self._next_id)
        with self._lock:
            self._next_id += 1
            self._rules.append(rule)
        return rule

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    def rules(self) -> list[dict[str, Any]]:
        with self._lock:
            return [r.to_json() for r in self._rules]

    def take(self, method: str, path: str) -> FaultRule | None:
        """The first matching rule, consuming one of its uses."""
        with self._lock:
            for rule in self._rules:
                if rule.matches(method, path):
                    rule.hits += 1
                    if rule.count is not None:
                        rule.count -= 1
                        if rule.count <= 0:
                            self._rules.remove(rule)
                    return rule
        return None


def _rule_from(spec: Any, rule_id: int) -> FaultRule:
    if not isinstance(spec, dict):
        raise LabError("expected a JSON object")
    unknown = set(spec) - {"path", "method", "status", "count", "delay_s"}
    if unknown:
        raise LabError(f"unknown key(s) {sorted(unknown)}")
    path = spec.get("path")
    if not isinstance(path, str) or not path:
        raise LabError("'path' (a regular expression) is required")
    try:
        re.compile(path)
    except re.error as error:
        raise LabError(f"'path' is not a valid regular expression: {error}") from error
    status, count, delay = spec.get("status"), spec.get("count", 1), spec.get("delay_s", 0)
    if status is not None and (not isinstance(status, int) or not 100 <= status <= 599):
        raise LabError("'status' must be an HTTP status code or null")
    if count is not None and (not isinstance(count, int) or count < 1):
        raise LabError("'count' must be a positive integer or null (until cleared)")
    if not isinstance(delay, (int, float)) or delay < 0:
        raise LabError("'delay_s' must be a non-negative number")
    if status is None and not delay:
        raise LabError("give 'status', 'delay_s' or both")
    method = spec.get("method")
    return FaultRule(rule_id, path, method.upper() if isinstance(method, str) else None, status, count, float(delay))


class RequestLog:
    """Counts API requests by method, so tests can assert 'no write calls'."""

    def __init__(self, keep: int = 2000) -> None:
        self._lock = threading.Lock()
        self._by_method: Counter[str] = Counter()
        self._recent: deque[list[str]] = deque(maxlen=keep)

    def record(self, method: str, path: str) -> None:
        with self._lock:
            self._by_method[method] += 1
            self._recent.append([method, path])

    def reset(self) -> None:
        with self._lock:
            self._by_method.clear()
            self._recent.clear()

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            by_method = dict(self._by_method)
            return {"total": sum(by_method.values()), "by_method": by_method,
                    "writes": sum(n for m, n in by_method.items() if m in WRITE_METHODS),
                    "requests": list(self._recent)}


def dumps(data: Any) -> bytes:
    return json.dumps(data, indent=1, sort_keys=True).encode()
