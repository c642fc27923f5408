# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ovirt_kubevirt.bridge contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Wait until VMs run, with a monitoring timeout (the vm_run_wait module's core).

KubeVirt-run VMs are followed with one watch per namespace on their VMIs
(resumed after 410 Gone or a dropped connection by KubeService.watch), never a
sleep loop. A VM not Running at the timeout, or whose VMI failed, is a failed
run; its result says the phase it reached, the VMI's (or VM's) conditions and
the Kubernetes events that explain it.

VMs that oVirt runs are followed through the engine, which has no watch API:
their status is read once a second until up or the timeout.
"""
from __future__ import annotations

import datetime
import threading
import time
from typing import Any, Dict, List, Mapping, Optional, Sequence

from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.errors import BridgeError
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.naming import kubernetes_name
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.ovirt_service import status_of
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.vm_run_core import KUBEVIRT_API, host_name, plan_targets

OVIRT_POLL_S = 1.0
EVENTS_PER_VM = 10


class RunFailed(BridgeError):
    """Some VMs did not reach Running; ``details['results']`` has every VM's outcome."""


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


def wait_kubevirt(kube: Any, namespace: str, names: Sequence[str], deadline: float) -> Dict[str, Dict[str, Any]]:
    """The last state seen of each named VMI: stops when all are Running or Failed, or at the deadline."""
    wanted = set(names)
    seen: Dict[str, Dict[str, Any]] = {}
    settled: set = set()
    remaining = deadline - time.monotonic()
    if remaining > 0:
        for event_type, vmi in kube.watch(KUBEVIRT_API, "VirtualMachineInstance", namespace, timeout_s=remaining):
            name = (vmi.get("metadata") or {}).get("name")
            if name not in wanted:
                continue
            if event_type == "DELETED":
                seen.pop(name, None)
                settled.discard(name)
                continue
            seen[name] = vmi
            if ((vmi.get("status") or {}).get("phase")) in ("Running", "Failed"):
                settled.add(name)
            else:
                settled.discard(name)
            if settled >= wanted:
                break
    return seen


def _events(kube: Any, namespace: str, name: str) -> List[Dict[str, Any]]:
    try:
        items, _rv = kube.list("v1", "Event", namespace, field_selector=f"involvedObject.name={name}")
    except BridgeError:
        return []
    items.sort(key=lambda e: e.get("lastTimestamp") or e.get("eventTime") or "")
    return [{"type": e.get("type"), "reason": e.get("reason"), "message": e.get("message"),
             "object": (e.get("involvedObject") or {}).get("kind")} for e in items[-EVENTS_PER_VM:]]


def _kubevirt_result(kube: Any, name: str, namespace: str, k8s_name: str, vmi: Optional[Mapping[str, Any]]) -> Dict[str, Any]:
    status = (vmi or {}).get("status") or {}
    phase = status.get("phase")
    result: Dict[str, Any] = {"name": name, "runtime": "kubevirt", "namespace": namespace, "phase": phase or "NoVMI",
                              "node": status.get("nodeName"), "seconds_to_running": None}
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


def _wait_legacy(ovirt: Any, targets: Sequence[Any], hosts: Sequence[Any], deadline: float) -> Dict[str, Dict[str, Any]]:
    results: Dict[str, Dict[str, Any]] = {}
    pending = {t.name: t for t in targets}
    started = time.monotonic()
    while pending:
        for name in list(pending):
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


def wait_vms(ovirt: Any, kube: Any, names: Sequence[str], timeout_s: float) -> Dict[str, Any]:
    started = time.monotonic()
    deadline = started + timeout_s
    targets, _vms, hosts = plan_targets(ovirt, kube, names)
    by_namespace: Dict[str, List[Any]] = {}
    legacy = []
    for target in targets:
        namespace = target.record.get("namespace") if target.record.get("type") == "kubevirt" else None
        k8s_name = kubernetes_name(target.name)[0]
        if namespace and kube.get(KUBEVIRT_API, "VirtualMachine", k8s_name, namespace) is not None:
            by_namespace.setdefault(namespace, []).append((target.name, k8s_name))
        else:
            legacy.append(target)

    outcomes: Dict[str, Dict[str, Any]] = {}
    errors: List[BaseException] = []

    def follow(namespace: str, pairs: Sequence[Any]) -> None:
        try:
            seen = wait_kubevirt(kube, namespace, [k for _n, k in pairs], deadline)
            for name, k8s_name in pairs:
                outcomes[name] = _kubevirt_result(kube, name, namespace, k8s_name, seen.get(k8s_name))
        except BaseException as exc:  # pylint: disable=broad-except  # re-raised in the caller's thread
            errors.append(exc)

    threads = [threading.Thread(target=follow, args=item, daemon=True) for item in by_namespace.items()]
    for thread in threads:
        thread.start()
    if legacy:
        outcomes.update(_wait_legacy(ovirt, legacy, hosts, deadline))
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]

    results = [outcomes[t.name] for t in targets]
    failed = [r for r in results if r["phase"] not in ("Running", "up")]
    summary = {"results": results, "changed": False, "waited_seconds": round(time.monotonic() - started, 3)}
    if failed:
        detail = "; ".join(f"{r['name']}: {r.get('reason')}" for r in failed)
        raise RunFailed(f"{len(failed)} of {len(results)} VM(s) not running within {timeout_s:g} s: {detail}",
                        results=results, waited_seconds=summary["waited_seconds"])
    return summary
