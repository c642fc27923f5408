# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ovirt_kubevirt.bridge contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Report KubeVirt's runtime state of VMs to oVirt (the vm_state_sync module's core).

For every VM of a kubevirt-type cluster that KubeVirt runs, the VMI gives the
dynamic data (see vm_state). What oVirt was last told is kept on the
VirtualMachine, in the ``ovirt-kubevirt.io/reported-state`` annotation with a
report sequence number; each real change since then becomes one oVirt event
tied to the VM, whose custom_id is derived from the VM, the sequence and the
change. A sync interrupted between posting and recording the annotation
therefore posts the same ids again, and the engine keeps one of each.

``follow`` keeps one watch per namespace open for a duration and reports
changes as they come. Memory holds one state per VM and at most
``max_changes`` recent changes, whatever the duration; the watch resumes after
410 Gone or a dropped connection (KubeService.watch).
"""
from __future__ import annotations

import collections
import dataclasses
import json
import queue
import threading
import time
from typing import Any, Deque, Dict, List, Mapping, Optional, Sequence, Tuple

from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.common import labels
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.common.errors import InputError, NotFoundError
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.common.kubevirt_api import KUBEVIRT_API
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.common.naming import kubernetes_name
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.common.services import KubeApi, OvirtApi
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.model import vm_state
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.records import registry

REPORTED_ANNOTATION = labels.REPORTED_STATE
DEFAULT_MAX_CHANGES = 1000

Obj = Dict[str, Any]


@dataclasses.dataclass
class Tracked:
    """One VM whose state is synced, and what oVirt was last told."""

    name: str
    vm_id: str
    cluster_id: str
    namespace: str
    kubernetes_name: str
    vm: Optional[Obj] = None
    vmi: Optional[Obj] = None
    sequence: int = 0
    reported: Optional[Obj] = None
    dynamic: Optional[Obj] = None
    changes: int = 0

    def result(self) -> Obj:
        return {"name": self.name, "id": self.vm_id, "namespace": self.namespace,
                "kubernetes_name": self.kubernetes_name, "in_kubevirt": self.vm is not None,
                "dynamic": self.dynamic, "changes": self.changes}


def read_reported(vm: Optional[Mapping[str, Any]]) -> Tuple[int, Optional[Obj]]:
    raw = (((vm or {}).get("metadata") or {}).get("annotations") or {}).get(REPORTED_ANNOTATION)
    if not raw:
        return 0, None
    try:
        data = json.loads(raw)
        return int(data.get("sequence") or 0), dict(data.get("state") or {})
    except (ValueError, TypeError, AttributeError):
        return 0, None  # unreadable: report afresh; the custom_ids keep the engine from doubling events


def encode_reported(sequence: int, state: Mapping[str, Any]) -> str:
    return json.dumps({"sequence": sequence, "state": dict(state)}, sort_keys=True, separators=(",", ":"))


class Sync:
    def __init__(self, ovirt: OvirtApi, kube: KubeApi, tracked: Sequence[Tracked], host_ids: Mapping[str, str],
                 check_mode: bool, max_changes: int) -> None:
        self.ovirt, self.kube = ovirt, kube
        self.by_key = {(t.namespace, t.kubernetes_name): t for t in tracked}
        self.host_ids = host_ids
        self.host_names = {host_id: node for node, host_id in host_ids.items()}
        self.check_mode = check_mode
        self.recent: Deque[Obj] = collections.deque(maxlen=max_changes)
        self.events_posted = 0
        self.annotations_written = 0
        self.lags: Deque[float] = collections.deque(maxlen=max_changes)

    def report(self, tracked: Tracked, seen_at: Optional[float] = None) -> None:
        """Compare the VM's state with what oVirt was told; post each change and record the new state."""
        if tracked.vm is None and tracked.vmi is not None:
            # First seen while following: its VirtualMachine (and any earlier report) now exists.
            tracked.vm = self.kube.get(KUBEVIRT_API, "VirtualMachine", tracked.kubernetes_name, tracked.namespace)
            tracked.sequence, tracked.reported = read_reported(tracked.vm)
        tracked.dynamic = vm_state.dynamic_data(tracked.vm, tracked.vmi, self.host_ids)
        current = vm_state.reported(tracked.dynamic)
        found = vm_state.changes(tracked.reported, current)
        if not found:
            return
        sequence = tracked.sequence + 1
        for change in found:
            custom_id, severity, description = vm_state.change_event(
                tracked.vm_id, tracked.name, sequence, change, tracked.dynamic.get("node"), self.host_names)
            if self.ovirt.post_event(custom_id, description, severity, cluster_id=tracked.cluster_id,
                                     vm_id=tracked.vm_id, host_id=tracked.dynamic.get("run_on_vds"),
                                     check_mode=self.check_mode, likely_new=True):
                self.events_posted += 1
            self.recent.append({"vm": tracked.name, **change})
        if seen_at is not None:
            self.lags.append(time.monotonic() - seen_at)
        tracked.changes += len(found)
        if not self.check_mode and tracked.vm is not None:
            self._record(tracked, sequence, current)
        tracked.sequence, tracked.reported = sequence, current

    def _record(self, tracked: Tracked, sequence: int, current: Obj) -> None:
        # A merge patch: one call, and a concurrent sync writing the same report writes the same value.
        patch = {"metadata": {"annotations": {REPORTED_ANNOTATION: encode_reported(sequence, current)}}}
        try:
            tracked.vm = self.kube.patch_merge(KUBEVIRT_API, "VirtualMachine", tracked.kubernetes_name,
                                               tracked.namespace, patch)
        except NotFoundError:
            return  # the VirtualMachine is gone; its events are posted all the same
        self.annotations_written += 1

    def follow(self, duration_s: float) -> None:
        """Report changes as the VMIs change, for ``duration_s``; one watch per namespace."""
        events: "queue.Queue[Tuple[str, Any, float]]" = queue.Queue()
        stop = threading.Event()
        for namespace in sorted({ns for ns, _name in self.by_key}):
            self.kube.watch_into(events, stop, KUBEVIRT_API, "VirtualMachineInstance", namespace, timeout_s=duration_s)
        deadline = time.monotonic() + duration_s
        try:
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return
                try:
                    event_type, vmi, seen_at = events.get(timeout=remaining)
                except queue.Empty:
                    return
                if event_type == "ERROR":
                    raise vmi
                meta = vmi.get("metadata") or {}
                tracked = self.by_key.get((str(meta.get("namespace")), str(meta.get("name"))))
                if tracked is None:
                    continue
                tracked.vmi = None if event_type == "DELETED" else vmi
                self.report(tracked, seen_at)
        finally:
            stop.set()


def _select(ovirt: OvirtApi, kube: KubeApi, vms: Optional[Sequence[str]], clusters: Optional[Sequence[str]],
            warnings: List[str]) -> List[Tracked]:
    records = {cid: r for cid, r in registry.current_records(kube).items() if r.get("type") == "kubevirt"}
    all_clusters = {str(c.id): str(c.name) for c in ovirt.clusters()}
    if clusters:
        unknown = [c for c in clusters if c not in all_clusters.values() and c not in all_clusters]
        if unknown:
            raise NotFoundError(f"the oVirt engine has no cluster named {', '.join(repr(c) for c in unknown)}")
        wanted = {cid for cid, name in all_clusters.items() if name in clusters or cid in clusters}
        legacy = sorted(all_clusters[cid] for cid in wanted if cid not in records)
        if legacy:
            warnings.append(f"cluster(s) {', '.join(legacy)} are not of type kubevirt; oVirt owns their VMs' state")
        records = {cid: r for cid, r in records.items() if cid in wanted}
    ovirt_vms = list(ovirt.vms())
    if vms:
        known = {str(v.name) for v in ovirt_vms}
        unknown = [n for n in vms if n not in known]
        if unknown:
            raise NotFoundError(f"the oVirt engine has no VM named {', '.join(repr(n) for n in unknown)}")
        ovirt_vms = [v for v in ovirt_vms if str(v.name) in set(vms)]
    tracked = []
    for vm in ovirt_vms:
        record = records.get(str(getattr(getattr(vm, "cluster", None), "id", "")))
        if record is None:
            if vms:
                warnings.append(f"VM {vm.name} is in a legacy cluster; oVirt owns its state")
            continue
        if not record.get("namespace"):
            raise InputError(f"the registry record of cluster {record.get('cluster_name') or vm.cluster.id} names no namespace")
        tracked.append(Tracked(name=str(vm.name), vm_id=str(vm.id), cluster_id=str(vm.cluster.id),
                               namespace=record["namespace"], kubernetes_name=kubernetes_name(str(vm.name))[0]))
    return tracked


def sync_states(ovirt: OvirtApi, kube: KubeApi, *, vms: Optional[Sequence[str]] = None,
                clusters: Optional[Sequence[str]] = None, node_map: Optional[Mapping[str, str]] = None,
                follow: bool = False, duration_s: float = 0.0, max_changes: int = DEFAULT_MAX_CHANGES,
                check_mode: bool = False) -> Obj:
    if follow and duration_s <= 0:
        raise InputError("follow needs a duration greater than 0 seconds")
    if max_changes < 1:
        raise InputError(f"max_changes must be at least 1, got {max_changes}")
    started = time.monotonic()
    warnings: List[str] = []
    tracked = _select(ovirt, kube, vms, clusters, warnings)
    node_of = dict(node_map or {})
    host_ids = {node_of.get(str(h.name), str(h.name)): str(h.id) for h in ovirt.hosts()}
    for namespace in sorted({t.namespace for t in tracked}):
        vm_objs = {(o.get("metadata") or {}).get("name"): o for o in kube.list(KUBEVIRT_API, "VirtualMachine", namespace)[0]}
        vmi_objs = {(o.get("metadata") or {}).get("name"): o
                    for o in kube.list(KUBEVIRT_API, "VirtualMachineInstance", namespace)[0]}
        for item in (t for t in tracked if t.namespace == namespace):
            item.vm, item.vmi = vm_objs.get(item.kubernetes_name), vmi_objs.get(item.kubernetes_name)
            item.sequence, item.reported = read_reported(item.vm)
    sync = Sync(ovirt, kube, tracked, host_ids, check_mode, max_changes)
    for item in tracked:
        if item.vm is not None:
            sync.report(item)
    if follow and tracked:
        # VMs not yet in KubeVirt are followed too: they may start meanwhile.
        sync.follow(duration_s)
    lags = sorted(sync.lags)
    return {
        "changed": sync.events_posted > 0 or sync.annotations_written > 0,
        "vms": [t.result() for t in tracked],
        "events_posted": sync.events_posted,
        "changes": list(sync.recent),
        "report_lag_seconds": {"median": lags[len(lags) // 2], "max": lags[-1]} if lags else None,
        "seconds": round(time.monotonic() - started, 3),
        "warnings": warnings,
    }
