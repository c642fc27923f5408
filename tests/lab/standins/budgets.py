"""Fault budgets of the topology ("the next N launches on this node fail"), kept across restarts.

A budget is spent once per attempt (a VMI uid, a migration uid), so a retried
sync of the same attempt does not spend it twice; what is left lives in
STATE_DIR/budgets.json with the lab's start time, which the time-based
faults (``not_ready_after_s``) count from.
"""
from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import labtopology

NODE_BUDGETS = ("fail_launches", "fail_migrations_in")


class Budgets:
    def __init__(self, state_dir: Path, topology: labtopology.Topology) -> None:
        self._path = state_dir / "budgets.json"
        self._lock = threading.Lock()
        state_dir.mkdir(parents=True, exist_ok=True)
        saved = json.loads(self._path.read_text()) if self._path.exists() else {}
        self.started_at = float(saved.get("started_at") or time.time())
        self._left: dict[str, dict[str, int]] = {
            budget: {h.name: int((saved.get(budget) or {}).get(h.name, h.faults.get(budget, 0)))
                     for h in topology.hosts}
            for budget in NODE_BUDGETS}
        self._left["fail_imports"] = {"": int((saved.get("fail_imports") or {}).get("", topology.kubevirt.fail_imports))}
        self._decided: dict[str, bool] = {}
        self._save()

    def decide(self, attempt: str, budget: str, node: str = "") -> bool:
        """Whether this attempt fails; the first call for an attempt spends one unit if any is left."""
        with self._lock:
            if attempt not in self._decided:
                left = self._left[budget].get(node, 0)
                self._decided[attempt] = left > 0
                if left > 0:
                    self._left[budget][node] = left - 1
                    self._save()
            return self._decided[attempt]

    def left(self, budget: str, node: str = "") -> int:
        with self._lock:
            return self._left[budget].get(node, 0)

    def _save(self) -> None:
        tmp = self._path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"started_at": self.started_at, **self._left}, indent=2, sort_keys=True) + "\n")
        tmp.replace(self._path)
