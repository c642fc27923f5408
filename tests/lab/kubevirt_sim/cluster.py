"""What each node has allocated, kept incrementally from the VMI cache.

Scheduling decisions are "assumed" (as kube-scheduler does) the moment they are
made, so concurrent workers never double-book a node while their status writes
are still in flight; an assumption ends when the VMI object shows the node.
"""
from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from . import scheduler
from labkube.informer import Store, uid_of
from labkube.objects import meta, spec, status

FINAL_PHASES = ("Succeeded", "Failed")


@dataclass(frozen=True)
class Claim:
    nodes: tuple[str, ...]
    resources: Mapping[str, int]
    placed: scheduler.PlacedVmi


def migration_target(vmi: Mapping[str, Any] | None) -> str | None:
    """The target node of a migration still in flight, if any."""
    state = status(vmi).get("migrationState") or {}
    if state.get("targetNode") and not state.get("completed") and not state.get("failed"):
        return str(state["targetNode"])
    return None


def node_ready(node: Mapping[str, Any]) -> bool:
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in status(node).get("conditions") or [])


class ClusterView:
    def __init__(self, nodes: Store, vmis: Store, on_freed: Callable[[], None]) -> None:
        self._nodes, self._vmis = nodes, vmis
        self._on_freed = on_freed
        self._lock = threading.RLock()
        self._claims: dict[str, Claim] = {}
        self._used: dict[str, Counter[str]] = {}
        self._on_node: dict[str, set[str]] = {}
        self._assumed: dict[str, tuple[str, str]] = {}  # vmi key -> (vmi uid, node)
        self._targets: dict[str, tuple[str, str]] = {}  # vmi key -> (migration uid, node)
        self._node_base: dict[str, tuple[str, scheduler.NodeInfo]] = {}

    # ------------------------------------------------------------ claims

    def refresh(self, key: str) -> None:
        """Recompute what the VMI ``key`` occupies (call on every VMI change)."""
        vmi = self._vmis.get(key)
        with self._lock:
            claim = self._claim_for(key, vmi)
            old = self._claims.pop(key, None)
            if old is not None:
                self._account(key, old, -1)
            if claim is not None:
                self._claims[key] = claim
                self._account(key, claim, +1)
        if old is not None and (claim is None or set(claim.nodes) < set(old.nodes)):
            self._on_freed()

    def _claim_for(self, key: str, vmi: Mapping[str, Any] | None) -> Claim | None:
        uid = uid_of(vmi)
        if vmi is None or status(vmi).get("phase") in FINAL_PHASES:
            self._assumed.pop(key, None)
            self._targets.pop(key, None)
            return None
        node = status(vmi).get("nodeName")
        assumed = self._assumed.get(key)
        if assumed and (assumed[0] != uid or node):
            del self._assumed[key]  # the object caught up (or it is another VMI now)
            assumed = None
        nodes = [node] if node else ([assumed[1]] if assumed else [])
        target = migration_target(vmi) or (self._targets[key][1] if key in self._targets else None)
        if target and target not in nodes:
            nodes.append(target)
        if not nodes:
            return None
        m = meta(vmi)
        placed = scheduler.PlacedVmi(m.get("namespace") or "default", dict(m.get("labels") or {}))
        return Claim(tuple(nodes), scheduler.vmi_resources(spec(vmi)), placed)

    def _account(self, key: str, claim: Claim, sign: int) -> None:
        for node in claim.nodes:
            used = self._used.setdefault(node, Counter())
            for name, amount in claim.resources.items():
                used[name] += sign * amount
            members = self._on_node.setdefault(node, set())
            if sign > 0:
                members.add(key)
            else:
                members.discard(key)

    def vmis_on(self, node: str) -> list[str]:
        with self._lock:
            return sorted(self._on_node.get(node, ()))

    # ------------------------------------------------------------- nodes

    def _base(self, node: Mapping[str, Any]) -> scheduler.NodeInfo:
        m = meta(node)
        rv = m.get("resourceVersion", "")
        cached = self._node_base.get(m["name"])
        if cached and cached[0] == rv:
            return cached[1]
        allocatable = {}
        for name, value in (status(node).get("allocatable") or {}).items():
            try:
                allocatable[name] = scheduler.resource_amount(name, value)
            except ValueError:
                continue
        info = scheduler.NodeInfo(
            name=m["name"], labels=dict(m.get("labels") or {}), taints=list(spec(node).get("taints") or []),
            unschedulable=bool(spec(node).get("unschedulable")), ready=node_ready(node), allocatable=allocatable,
        )
        self._node_base[m["name"]] = (rv, info)
        return info

    def node_infos(self, with_vmis: bool = False) -> list[scheduler.NodeInfo]:
        """Scheduler input: every node with its current usage (and VMIs, for pod affinity)."""
        with self._lock:
            infos = []
            for node in sorted(self._nodes.values(), key=lambda n: meta(n)["name"]):
                base = self._base(node)
                name = base.name
                placed = [self._claims[k].placed for k in self._on_node.get(name, ()) if k in self._claims] if with_vmis else []
                infos.append(scheduler.NodeInfo(
                    name=name, labels=base.labels, taints=base.taints, unschedulable=base.unschedulable,
                    ready=base.ready, allocatable=base.allocatable, used=dict(self._used.get(name, {})), vmis=placed,
                ))
            return infos

    # ---------------------------------------------------------- decisions

    def place(self, key: str, vmi: Mapping[str, Any]) -> scheduler.Decision:
        """Schedule a new VMI and hold its place until its status names the node."""
        req = scheduler.request_from_vmi(vmi)
        with self._lock:
            decision = scheduler.schedule(req, self.node_infos(bool(req.pod_affinity or req.pod_anti_affinity)))
            if decision.node:
                self._assumed[key] = (uid_of(vmi), decision.node)
        if decision.node:
            self.refresh(key)
        return decision

    def forget(self, key: str) -> None:
        """Drop an assumption whose status write failed."""
        with self._lock:
            self._assumed.pop(key, None)
        self.refresh(key)

    def place_target(self, key: str, vmi: Mapping[str, Any], migration_uid: str,
                     added_selector: Mapping[str, str] | None) -> scheduler.Decision:
        """Pick a migration target other than the source and hold it for that migration."""
        req = scheduler.request_from_vmi(vmi, added_selector)
        source = status(vmi).get("nodeName") or ""
        with self._lock:
            held = self._targets.get(key)
            if held and held[0] == migration_uid:
                return scheduler.Decision(held[1])
            nodes = self.node_infos(bool(req.pod_affinity or req.pod_anti_affinity))
            # The VMI itself sits on the source; do not count it against the target.
            decision = scheduler.schedule(req, nodes, {source: "node(s) were the migration source"})
            if decision.node:
                self._targets[key] = (migration_uid, decision.node)
        if decision.node:
            self.refresh(key)
        return decision

    def release_target(self, key: str, migration_uid: str) -> None:
        with self._lock:
            held = self._targets.get(key)
            if held and held[0] == migration_uid:
                del self._targets[key]
        self.refresh(key)
