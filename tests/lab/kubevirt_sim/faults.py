"""Faults declared in the topology, answered per node or VM.

Launch and migration failures are budgets (the next N attempts fail, counted
across restarts in the state file); delays and crash timers are plain numbers.
"""
from __future__ import annotations

import threading
import time

import labtopology

from .state import State


class Faults:
    def __init__(self, topology: labtopology.Topology, state: State) -> None:
        self._hosts = {h.name: h for h in topology.hosts}
        self._vms = {v.name: v for v in topology.vms}
        self._state = state
        self._lock = threading.Lock()
        self._decided: dict[str, bool] = {}  # attempt uid -> fails, so a retried write does not spend twice

    def launch_delay(self, node: str) -> float:
        host = self._hosts.get(node)
        return float(host.faults.get("launch_delay_s", 0)) if host else 0.0

    def crash_after(self, vm_name: str) -> float | None:
        vm = self._vms.get(vm_name)
        if vm is None or "crash_after_s" not in vm.faults:
            return None
        return float(vm.faults["crash_after_s"])

    def not_ready_at(self, node: str) -> float | None:
        """Wall-clock time the node stops being Ready (None: never)."""
        host = self._hosts.get(node)
        if host is None or "not_ready_after_s" not in host.faults:
            return None
        return self._state.started_at + float(host.faults["not_ready_after_s"])

    def node_ready(self, node: str, now: float | None = None) -> bool:
        host = self._hosts.get(node)
        if host is not None and host.status in ("down", "non_operational"):
            return False
        at = self.not_ready_at(node)
        return at is None or (now if now is not None else time.time()) < at

    def launch_fails(self, attempt_uid: str, node: str) -> tuple[bool, int]:
        """Whether this VMI's launch on ``node`` fails, and how many failures remain after it."""
        return self._spend(f"launch/{attempt_uid}", "fail_launches", node)

    def migration_fails(self, attempt_uid: str, target: str) -> tuple[bool, int]:
        return self._spend(f"migration/{attempt_uid}", "fail_migrations_in", target)

    def _spend(self, attempt: str, budget: str, node: str) -> tuple[bool, int]:
        with self._lock:
            if attempt not in self._decided:
                self._decided[attempt] = self._state.consume(budget, node) is not None
            return self._decided[attempt], self._state.remaining(budget, node)
