"""What must survive a simulator restart, in DIR/state.json.

Only the lab's start time and the remaining fault budgets live here; every
other piece of state is in the Kubernetes objects themselves.
"""
from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import labtopology


class State:
    def __init__(self, state_dir: Path, topology: labtopology.Topology) -> None:
        self._path = state_dir / "state.json"
        self._lock = threading.Lock()
        state_dir.mkdir(parents=True, exist_ok=True)
        data: dict[str, Any] = json.loads(self._path.read_text()) if self._path.exists() else {}
        self.started_at: float = float(data.get("started_at") or time.time())
        self._budgets: dict[str, dict[str, int]] = {}
        for budget in ("fail_launches", "fail_migrations_in"):
            saved = data.get(budget) or {}
            # Hosts new to the topology start with their full budget; known ones keep what is left.
            self._budgets[budget] = {
                h.name: int(saved.get(h.name, h.faults.get(budget, 0))) for h in topology.hosts
            }
        self._save()

    def _save(self) -> None:
        data = {"started_at": self.started_at, **self._budgets}
        tmp = self._path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
        tmp.replace(self._path)

    def remaining(self, budget: str, host: str) -> int:
        with self._lock:
            return self._budgets[budget].get(host, 0)

    def consume(self, budget: str, host: str) -> int | None:
        """Use one unit of a fault budget; the units left after it, or None when none was left."""
        with self._lock:
            left = self._budgets[budget].get(host, 0)
            if left <= 0:
                return None
            self._budgets[budget][host] = left - 1
            self._save()
            return left - 1
