# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ovirt_kubevirt.bridge contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Wait until VMs run, with a monitoring timeout (the vm_run_wait module's core).

KubeVirt-run VMs are followed with one watch per namespace on their VMIs
(resumed after 410 Gone or a dropped connection by KubeService.watch), never a
sleep loop. A VM not Running at the timeout, or whose VMI failed, is a failed
run; its result says the phase it reached, the VMI's (or VM's) conditions and
the Kubernetes events that explain it.

Reruns: in a milestone-2 (or later) cluster the collection reruns a failed VM
on a node not tried yet, as oVirt would. In a milestone-1 cluster oVirt's side
chooses the host, so a rerun (asked for with ``ovirt_rerun``) schedules the VM
again with vm_run's oVirt-side scheduler, excluding every host tried, as the
engine's RunVmCommand reruns on the next-best host.

VMs that oVirt runs are followed through the engine, which has no watch API:
their status is read once a second until up or the timeout.
"""
from __future__ import annotations

import concurrent.futures
import copy
import dataclasses
import datetime
import queue
import threading
import time
from typing import Any, Dict, List, Mapping, Optional, Sequence, Set, Tuple

from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.clients.ovirt_service import status_of
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.common.errors import BridgeError
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.common.kubevirt_api import KUBEVIRT_API
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.common.naming import kubernetes_name
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.common.services import KubeApi, OvirtApi
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.operations import vm_run
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.operations.targets import (
    by_name,
    host_name,
    plan_targets,
    start_fresh,
)
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.records import node_health
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.scheduling import rerun, scheduler

OVIRT_POLL_S = 1.0
# Beyond every attempt's timeout: room for the reruns' own API calls.
RERUN_SLACK_S = 60.0
RERUN_WORKERS = 8
# Attempts' deadlines are also checked at least this often, whatever the queue does.
MAX_IDLE_S = 5.0
EVENTS_PER_VM = 10


class RunFailed(BridgeError):
    """Some VMs did not reach Running; ``details['results']`` has every VM's outcome."""


@dataclasses.dataclass(frozen=True)
class OvirtRerun:
    """What a milestone-1 rerun needs to place a VM again: vm_run's maps and scheduling policy."""

    storage_map: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    network_map: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    node_map: Mapping[str, str] = dataclasses.field(default_factory=dict)
    host_device_map: Mapping[str, str] = dataclasses.field(default_factory=dict)
    policy: str = scheduler.DEFAULT_POLICY

    def hosts_of(self, nodes: Sequence[str]) -> List[str]:
        """The oVirt hosts behind Kubernetes nodes (node_map read backwards)."""
        host_by_node = {str(node): str(host) for host, node in self.node_map.items()}
        return [host_by_node.get(node, node) for node in nodes]

    def rerun(self, ovirt: OvirtApi, kube: KubeApi, name: str, tried_nodes: Sequence[str]) -> None:
        """Run the VM again where oVirt's scheduler puts it, avoiding every host tried."""
        vm_run.run_vms(ovirt, kube, [name], storage_map=self.storage_map, network_map=self.network_map,
                       policy=self.policy, node_map=self.node_map, host_device_map=self.host_device_map,
                       exclude_hosts={name: self.hosts_of(tried_nodes)})


def _timestamp(value: Optional[str]) -> Optional[datetime.datetime]:
    if not value:
        return None
    return datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))


def seconds_to_running(vmi: Mapping[str, Any]) -> Optional[float]:
    """From the VMI's creation to its Running transition, as the cluster recorded them."""
    status = vmi.get("status") or {}
    created = _timestamp((vmi.get("metadata") or {}).get("creationTimestamp"))
    running = next((_timestamp(t.get("phaseTransitionTimestamp")) for t in status.get("phaseTransitionTimestamps") or []
                    if t.get("phase") == "Running"), None)
    if created is None or running is None:
        return None
    return max(0.0, (running - created).total_seconds())


def _events(kube: KubeApi, namespace: str, name: str) -> List[Dict[str, Any]]:
    try:
        items, _rv = kube.list("v1", "Event", namespace, field_selector=f"involvedObject.name={name}")
    except BridgeError:
        return []
    items.sort(key=lambda e: e.get("lastTimestamp") or e.get("eventTime") or "")
    return [{"type": e.get("type"), "reason": e.get("reason"), "message": e.get("message"),
             "object": (e.get("involvedObject") or {}).get("kind")} for e in items[-EVENTS_PER_VM:]]


def _kubevirt_result(kube: KubeApi, name: str, namespace: str, k8s_name: str, vmi: Optional[Mapping[str, Any]]) -> Dict[str, Any]:
    status = (vmi or {}).get("status") or {}
    phase = status.get("phase")
    result: Dict[str, Any] = {"name": name, "runtime": "kubevirt", "namespace": namespace, "phase": phase or "NoVMI",
                              "node": rerun.placed_node(vmi), "seconds_to_running": None}
    if phase == "Running":
        result["seconds_to_running"] = seconds_to_running(vmi or {})
        return result
    conditions = status.get("conditions")
    if vmi is None:
        vm = kube.get(KUBEVIRT_API, "VirtualMachine", k8s_name, namespace) or {}
        conditions = (vm.get("status") or {}).get("conditions")
        result["phase"] = (vm.get("status") or {}).get("printableStatus") or "NoVirtualMachine"
    result["conditions"] = [{k: c.get(k) for k in ("type", "status", "reason", "message")} for c in conditions or []]
    result["events"] = _events(kube, namespace, k8s_name)
    result["reason"] = _reason(result)
    return result


def _reason(result: Mapping[str, Any]) -> str:
    for condition in result.get("conditions") or []:
        if condition.get("status") == "False" and condition.get("message"):
            return f"{condition.get('reason')}: {condition['message']}"
    warnings = [e for e in result.get("events") or [] if e.get("type") == "Warning"]
    if warnings:
        return f"{warnings[-1]['reason']}: {warnings[-1]['message']}"
    return f"reached phase {result['phase']}"


def _wait_legacy(ovirt: OvirtApi, targets: Sequence[Any], hosts: Sequence[Any], deadline: float,
                 ovirt_lock: threading.Lock) -> Dict[str, Dict[str, Any]]:
    results: Dict[str, Dict[str, Any]] = {}
    pending = {t.name: t for t in targets}
    started = time.monotonic()
    while pending:
        for name in list(pending):
            with ovirt_lock:  # per read, so the reruns of other threads are not held up for the whole wait
                vm = ovirt.vm(name, all_content=False)
            status = status_of(vm)
            results[name] = {"name": name, "runtime": "legacy", "phase": status, "node": host_name(hosts, vm),
                             "seconds_to_running": None}
            if status == "up":
                results[name]["seconds_to_running"] = round(time.monotonic() - started, 3)
                del pending[name]
        if not pending or time.monotonic() >= deadline:
            break
        time.sleep(min(OVIRT_POLL_S, max(0.0, deadline - time.monotonic())))
    for name in pending:
        results[name]["reason"] = f"oVirt reports status {results[name]['phase']}"
    return results


class _Follow:
    """One namespace's VMs: watch each attempt, record it, rerun failed VMs within the budget."""

    def __init__(self, ovirt: OvirtApi, kube: KubeApi, namespace: str, pairs: Sequence[Any], timeout_s: float,
                 max_attempts: int, health: Mapping[str, Any], ovirt_lock: threading.Lock,
                 check_mode: bool = False, ovirt_rerun: Optional[OvirtRerun] = None) -> None:
        self.ovirt, self.kube, self.namespace = ovirt, kube, namespace
        self.timeout_s, self.max_attempts, self.health, self.ovirt_lock = timeout_s, max_attempts, health, ovirt_lock
        self.check_mode, self.ovirt_rerun = check_mode, ovirt_rerun
        self.last_results: Dict[str, Dict[str, Any]] = {}
        self.pending = {k8s_name: target for target, k8s_name, _vm in pairs}
        self.records: Dict[str, Dict[str, Any]] = {}
        for _target, k8s_name, vm in pairs:
            record = rerun.read_attempts(vm)
            # A finished cycle is history; an interrupted one is resumed.
            self.records[k8s_name] = record if record["outcome"] is None else {"attempts": [], "outcome": None,
                                                                               "previous": record["outcome"]}
        self.outcomes: Dict[str, Dict[str, Any]] = {}
        self.reruns = 0

    def run(self) -> Dict[str, Dict[str, Any]]:
        """Settle each VM as soon as its VMI is Running or Failed, or its attempt times out.

        One watch feeds a queue from its own thread, so every attempt keeps its
        own deadline; a failed VMI's rerun starts at once on a worker, and the
        watch goes on meanwhile.
        """
        events: "queue.Queue[Tuple[str, Any, float]]" = queue.Queue()
        stop = threading.Event()
        horizon = self.timeout_s * self.max_attempts + RERUN_SLACK_S
        self.kube.watch_into(events, stop, KUBEVIRT_API, "VirtualMachineInstance", self.namespace, timeout_s=horizon)
        deadlines = {name: time.monotonic() + self.timeout_s for name in self.pending}
        latest: Dict[str, Mapping[str, Any]] = {}
        retired: set = set()  # uids of VMIs a rerun replaced; their late events are history
        pool = concurrent.futures.ThreadPoolExecutor(max_workers=RERUN_WORKERS)
        try:
            while self.pending:
                wait = max(0.0, min(deadlines[n] for n in self.pending) - time.monotonic())
                due: Set[str] = set()
                try:
                    event_type, item, _seen = events.get(timeout=min(wait, MAX_IDLE_S))
                except queue.Empty:
                    event_type, item = "", None
                if event_type == "ERROR":
                    raise item
                if event_type == "RERUN":
                    name, error = item
                    if isinstance(error, scheduler.NoHostError):
                        self._no_host_left(name, error)
                    elif error is not None:
                        raise error
                    if name in self.pending:
                        deadlines[name] = time.monotonic() + self.timeout_s
                elif item is not None:
                    meta = item.get("metadata") or {}
                    name = str(meta.get("name"))
                    if name in self.pending and meta.get("uid") not in retired:
                        if event_type == "DELETED":
                            latest.pop(name, None)
                        else:
                            latest[name] = item
                            if (item.get("status") or {}).get("phase") in ("Running", "Failed"):
                                due.add(name)
                now = time.monotonic()
                due |= {n for n in self.pending if deadlines[n] <= now}
                for name in sorted(due):
                    vmi = latest.pop(name, None)
                    if not self._settle(name, self.pending[name], vmi):
                        continue
                    retired.add(((vmi or {}).get("metadata") or {}).get("uid"))
                    deadlines[name] = float("inf")  # until the rerun has started
                    record = copy.deepcopy(self.records[name])
                    future = pool.submit(self._rerun, name, record, vmi)

                    def rerun_started(done: "concurrent.futures.Future[None]", rerun_name: str = name) -> None:
                        events.put(("RERUN", (rerun_name, done.exception()), time.monotonic()))

                    future.add_done_callback(rerun_started)
        finally:
            stop.set()
            pool.shutdown(wait=True)
        return self.outcomes

    def _records(self, target: Any) -> bool:
        """Milestone 2 and later: the collection keeps the attempts and node health; never in check mode."""
        return target.cluster_type.milestone >= 2 and not self.check_mode

    def _reruns(self, target: Any) -> bool:
        """Milestone 2 and later always; milestone 1 when asked to rerun on oVirt's side; never in check mode."""
        return self._records(target) or (self.ovirt_rerun is not None and not self.check_mode)

    def _settle(self, k8s_name: str, target: Any, vmi: Optional[Mapping[str, Any]]) -> bool:
        """Record the attempt's end; True when the VM was rerun (a new attempt began)."""
        result = _kubevirt_result(self.kube, target.name, self.namespace, k8s_name, vmi)
        record = self.records[k8s_name]
        multi = self._records(target)
        if result["phase"] == "Running":
            if record.get("previous") != "Running" or record["attempts"]:
                record["attempts"].append({"node": result["node"], "reason": "running"})
            record["outcome"] = "Running"
            self._finish(k8s_name, target, result, record, write=multi)
            return False
        kind = rerun.classify(vmi, timed_out=(result["phase"] != "Failed"))
        record["attempts"].append({"node": result["node"], "reason": result.get("reason"), "kind": kind})
        result["failure"] = kind
        if multi and kind == rerun.LAUNCH_FAILED and result["node"]:
            with self.ovirt_lock:
                node_health.record_launch_failure(self.kube, self.ovirt, result["node"], target.name,
                                                  result.get("reason") or kind, **self.health)
        # No node fits: another attempt excludes more nodes, so it cannot fit either. (At milestone 1
        # the VM was pinned to oVirt's choice, so another host may fit.)
        if (not self._reruns(target) or (multi and kind == rerun.NOT_SCHEDULED)
                or len(record["attempts"]) >= self.max_attempts):
            record["outcome"] = "Failed"
            self._finish(k8s_name, target, result, record, write=multi)
            return False
        self.last_results[k8s_name] = result
        self.reruns += 1
        return True

    def _no_host_left(self, k8s_name: str, error: scheduler.NoHostError) -> None:
        """A milestone-1 rerun found no other host: the VM failed, with the scheduler's reasons."""
        target, result, record = self.pending[k8s_name], self.last_results.pop(k8s_name), self.records[k8s_name]
        result["reason"] = f"{result.get('reason')}; then {error}"
        record["outcome"] = "Failed"
        self._finish(k8s_name, target, result, record, write=False)

    def _finish(self, k8s_name: str, target: Any, result: Dict[str, Any], record: Dict[str, Any], write: bool) -> None:
        result["attempts"] = [{"node": a.get("node"), "reason": a.get("reason")} for a in record["attempts"]]
        if write:
            self._save(k8s_name, record, None)
        self.outcomes[target.name] = result
        del self.pending[k8s_name]

    def _save(self, k8s_name: str, record: Mapping[str, Any], spec_change: Optional[Any]) -> Dict[str, Any]:
        encoded = rerun.encode_attempts(record)

        def mutate(vm: Dict[str, Any]) -> Optional[Dict[str, Any]]:
            annotations = vm["metadata"].setdefault("annotations", {})
            template = vm["spec"]["template"]
            new_spec = spec_change(template["spec"]) if spec_change else template["spec"]
            if annotations.get(rerun.ATTEMPTS_ANNOTATION) == encoded and new_spec == template["spec"]:
                return None
            annotations[rerun.ATTEMPTS_ANNOTATION] = encoded
            template["spec"] = new_spec
            return vm

        vm, _changed = self.kube.update(KUBEVIRT_API, "VirtualMachine", k8s_name, self.namespace, mutate)
        return vm

    def _rerun(self, k8s_name: str, record: Dict[str, Any], vmi: Optional[Mapping[str, Any]]) -> None:
        tried = rerun.tried_nodes(record)
        target = self.pending[k8s_name]
        if not self._records(target) and self.ovirt_rerun is not None:
            with self.ovirt_lock:
                self.ovirt_rerun.rerun(self.ovirt, self.kube, target.name, tried)
            return
        vm = self._save(k8s_name, record,
                        lambda spec: rerun.exclude_nodes(spec, rerun.nodes_to_exclude(spec, tried)))
        start_fresh(self.kube, self.namespace, k8s_name, vm["spec"].get("runStrategy"), vmi is not None)


def wait_vms(ovirt: OvirtApi, kube: KubeApi, names: Sequence[str], timeout_s: float,
             max_attempts: int = rerun.DEFAULT_MAX_ATTEMPTS, health: Optional[Mapping[str, Any]] = None,
             check_mode: bool = False, ovirt_rerun: Optional[OvirtRerun] = None) -> Dict[str, Any]:
    """Wait for every VM; failed ones are rerun elsewhere within ``max_attempts``.

    Milestone-2 VMs always are; milestone-1 VMs only with ``ovirt_rerun``, on the next-best host oVirt's side picks.
    """
    if max_attempts < 1:
        raise BridgeError(f"max_attempts must be at least 1, got {max_attempts}")
    started = time.monotonic()
    targets, _vms, hosts = plan_targets(ovirt, kube, names)
    kubevirt_namespaces = {str(t.cluster_type.namespace) for t in targets if t.cluster_type.is_kubevirt}
    # One list per namespace: the VirtualMachines say which VMs KubeVirt runs, and carry their attempts.
    vms = {ns: by_name(kube.list(KUBEVIRT_API, "VirtualMachine", ns)[0]) for ns in sorted(kubevirt_namespaces)}
    by_namespace: Dict[str, List[Any]] = {}
    legacy = []
    for target in targets:
        namespace = target.cluster_type.namespace if target.cluster_type.is_kubevirt else None
        k8s_name = kubernetes_name(target.name)[0]
        if namespace and k8s_name in vms[namespace]:
            by_namespace.setdefault(namespace, []).append((target, k8s_name, vms[namespace][k8s_name]))
        else:
            legacy.append(target)

    outcomes: Dict[str, Dict[str, Any]] = {}
    errors: List[BaseException] = []
    ovirt_lock = threading.Lock()  # one engine connection, used from every namespace's thread
    follows = [_Follow(ovirt, kube, ns, pairs, timeout_s, max_attempts, dict(health or {}), ovirt_lock, check_mode,
                       ovirt_rerun) for ns, pairs in by_namespace.items()]

    def follow(item: _Follow) -> None:
        try:
            outcomes.update(item.run())
        except BaseException as exc:  # pylint: disable=broad-except  # re-raised in the caller's thread
            errors.append(exc)

    threads = [threading.Thread(target=follow, args=(item,), daemon=True) for item in follows]
    for thread in threads:
        thread.start()
    if legacy:
        outcomes.update(_wait_legacy(ovirt, legacy, hosts, started + timeout_s, ovirt_lock))
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]

    results = [outcomes[t.name] for t in targets]
    for result in results:
        result.setdefault("attempts", [{"node": result.get("node"), "reason": result.get("reason") or "running"}])
    failed = [r for r in results if r["phase"] not in ("Running", "up")]
    summary = {"results": results, "changed": any(f.reruns for f in follows),
               "waited_seconds": round(time.monotonic() - started, 3)}
    if failed:
        detail = "; ".join(_failure_text(r) for r in failed)
        raise RunFailed(f"{len(failed)} of {len(results)} VM(s) not running within {timeout_s:g} s: {detail}",
                        results=results, waited_seconds=summary["waited_seconds"])
    return summary


def _failure_text(result: Mapping[str, Any]) -> str:
    """A VM's failure for the task message, listing its attempts when there were several."""
    text = f"{result['name']}: {result.get('reason')}"
    if len(result["attempts"]) > 1:
        text += f" (attempts: {', '.join(_attempt_text(a) for a in result['attempts'])})"
    return text


def _attempt_text(attempt: Mapping[str, Any]) -> str:
    return f"{attempt.get('node') or 'no node'}: {attempt.get('reason')}"
