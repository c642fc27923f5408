"""The engine state: one lock, timed status transitions, atomic persistence.

Transitions (wait_for_launch -> powering_up -> up, ...) are stored as
timestamped steps on the record and applied by settle(), which runs before
every request and from a small timer thread. Keeping them as data rather than
as pending timers means a restarted fake finishes them too.
"""
from __future__ import annotations

import json
import os
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from . import seed

STATE_FILE = "state.json"
# Records that may carry "pending" transition steps.
TRANSITIONING = ("vms", "hosts")


def now_ms() -> int:
    return int(time.time() * 1000)


class Store:
    """All engine data; every access goes through transaction()."""

    def __init__(self, state_dir: Path, state: dict[str, Any]) -> None:
        self.path = state_dir / STATE_FILE
        self.state = state
        self.lock = threading.RLock()
        self._dirty = False

    @classmethod
    def open(cls, state_dir: Path, topology_path: Path) -> "Store":
        """Resume DIR/state.json if present, else seed it from the topology."""
        state_dir.mkdir(parents=True, exist_ok=True)
        path = state_dir / STATE_FILE
        if path.exists():
            with open(path, encoding="utf-8") as handle:
                return cls(state_dir, json.load(handle))
        import labtopology  # late: only a fresh lab needs the topology
        store = cls(state_dir, seed.build_state(labtopology.load(topology_path), now_ms()))
        store.save()
        return store

    @contextmanager
    def transaction(self) -> Iterator[dict[str, Any]]:
        """Lock, apply due transitions, yield the state, save if it changed."""
        with self.lock:
            self.settle()
            try:
                yield self.state
            finally:
                if self._dirty:
                    self.save()

    def mark_dirty(self) -> None:
        self._dirty = True

    def settle(self, at_ms: int | None = None) -> None:
        """Apply every transition step whose time has come, in order."""
        at_ms = now_ms() if at_ms is None else at_ms
        with self.lock:
            for kind in TRANSITIONING:
                for record in self.state[kind].values():
                    if _apply_due(record, at_ms):
                        self._dirty = True

    def has_pending(self) -> bool:
        with self.lock:
            return any(r.get("pending") for kind in TRANSITIONING for r in self.state[kind].values())

    def save(self) -> None:
        """Write state.json atomically: a reader never sees a half-written file."""
        with self.lock:
            tmp = self.path.with_name(self.path.name + ".tmp")
            with open(tmp, "w", encoding="utf-8") as handle:
                json.dump(self.state, handle, indent=1)  # insertion order = listing order
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, self.path)
            self._dirty = False

    def dump(self) -> str:
        with self.transaction() as state:
            return json.dumps(state, indent=1)


def _apply_due(record: dict[str, Any], at_ms: int) -> bool:
    steps = record.get("pending") or []
    due = [s for s in steps if s["at"] <= at_ms]
    if not due:
        return False
    for step in due:
        record.update(step["set"])
    record["pending"] = [s for s in steps if s["at"] > at_ms]
    return True


def schedule(record: dict[str, Any], start_ms: int, step_ms: int, steps: list[tuple[float, dict[str, Any]]]) -> None:
    """Apply steps at offset 0 now and queue the rest (offsets in steps)."""
    record["pending"] = []
    for offset, changes in steps:
        if offset <= 0:
            record.update(changes)
        else:
            record["pending"].append({"at": start_ms + int(offset * step_ms), "set": changes})


class Settler(threading.Thread):
    """Timer thread: finishes transitions even when nobody is asking."""

    def __init__(self, store: Store, interval_s: float = 0.05) -> None:
        super().__init__(name="ovirt-fake-settler", daemon=True)
        self.store = store
        self.interval_s = interval_s
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(self.interval_s):
            if self.store.has_pending():
                with self.store.transaction():
                    pass
