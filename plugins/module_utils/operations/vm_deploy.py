# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ovirt_kubevirt.bridge contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Declared VMs converged in one pass (the vm_deploy module's core).

A VM is declared on the oVirt side (name, cluster, template, memory, vCPUs)
and by where it should be (``present`` or ``running``). One pass reads every
VM, cluster and template once; creates the missing VMs from their templates
and updates the down ones whose size drifted, over a bounded pool of engine
connections; then starts the ``running`` ones through vm_run's core, which
sends each to oVirt or KubeVirt as its cluster's type says. A converged
datacenter costs reads only. A VM that fails is reported with its reason and
the others go on.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence

from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.clients.ovirt_service import run_parallel, status_of
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.common.errors import BridgeError, Failure, InputError, ItemsFailed
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.common.services import KubeApi, OvirtApi
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.operations import vm_run

STATES = ("present", "running")
MIB = 2**20

Obj = Dict[str, Any]


@dataclasses.dataclass
class Declared:
    name: str
    cluster: str
    template: str = "Blank"
    memory_mib: int = 1024
    cpus: int = 1
    state: str = "present"
    description: Optional[str] = None
    high_availability: bool = False
    action: str = "none"
    error: Optional[str] = None

    def result(self) -> Obj:
        result = {"name": self.name, "action": self.action, "changed": self.action != "none"}
        if self.error:
            result.update(failed=True, msg=self.error)
        return result


def parse(items: Sequence[Mapping[str, Any]]) -> List[Declared]:
    """The declarations, checked before anything is read or written."""
    declared: List[Declared] = []
    seen = set()
    known = {f.name for f in dataclasses.fields(Declared)} - {"action", "error"}
    for index, item in enumerate(items):
        if not isinstance(item, Mapping):
            raise InputError(f"vms[{index}] must be a mapping, got {type(item).__name__}")
        unknown = sorted(set(item) - known)
        if unknown:
            raise InputError(f"vms[{index}]: unknown key(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        if not item.get("name") or not item.get("cluster"):
            raise InputError(f"vms[{index}] needs a name and a cluster")
        vm = Declared(**{k: v for k, v in item.items() if v is not None})
        if vm.name in seen:
            raise InputError(f"VM {vm.name} is declared twice")
        seen.add(vm.name)
        if vm.state not in STATES:
            raise InputError(f"VM {vm.name}: state {vm.state!r} is invalid; use one of {', '.join(STATES)}")
        if int(vm.memory_mib) < 1 or int(vm.cpus) < 1:
            raise InputError(f"VM {vm.name}: memory_mib and cpus must be at least 1")
        declared.append(vm)
    return declared


def _size(vm: Any) -> tuple:
    topology = vm.cpu.topology if vm.cpu and vm.cpu.topology else None
    cpus = (topology.sockets or 1) * (topology.cores or 1) * (topology.threads or 1) if topology else 1
    return int((vm.memory or 0) // MIB), int(cpus)


def deploy(ovirt: OvirtApi, kube: KubeApi, items: Sequence[Mapping[str, Any]], *, storage_map: Mapping[str, Any],
           network_map: Mapping[str, Any], node_map: Optional[Mapping[str, str]] = None,
           connect: Optional[Callable[[], Any]] = None, max_workers: int = 4, check_mode: bool = False) -> Obj:
    """Converge every declared VM; ``connect`` opens more engine connections for parallel writes."""
    if max_workers < 1:
        raise InputError(f"max_workers must be at least 1, got {max_workers}")
    declared = parse(items)
    existing = {str(v.name): v for v in ovirt.vms()}
    clusters = {str(c.name): c for c in ovirt.clusters()}
    templates = {str(t.name): t for t in ovirt.templates()}

    writes: List[Callable[[Any], None]] = []
    for vm in declared:
        current = existing.get(vm.name)
        if vm.cluster not in clusters:
            vm.error = f"the oVirt engine has no cluster named {vm.cluster!r}"
        elif current is None:
            if vm.template not in templates:
                vm.error = f"the oVirt engine has no template named {vm.template!r}"
                continue
            vm.action = "create"
            writes.append(_adding(vm, str(clusters[vm.cluster].id), str(templates[vm.template].id)))
        elif str(current.cluster.id) != str(clusters[vm.cluster].id):
            vm.error = f"VM {vm.name} exists in another cluster; moving clusters is not done here"
        elif _size(current) != (int(vm.memory_mib), int(vm.cpus)):
            if status_of(current) != "down":
                vm.error = (f"VM {vm.name} runs with {_size(current)[0]} MiB and {_size(current)[1]} vCPUs; "
                            "its size changes only while it is down")
                continue
            vm.action = "update"
            writes.append(_resizing(vm, current))
    writers = [vm for vm in declared if vm.action in ("create", "update")]
    if writes and not check_mode:
        for vm, (_result, error) in zip(writers, run_parallel(ovirt, writes, connect, max_workers), strict=True):
            if isinstance(error, BridgeError):
                vm.error = str(error)
            elif error is not None:
                raise error

    # In check mode a VM still to be created cannot be planned to start; its result says it would be.
    to_run = [vm.name for vm in declared if vm.state == "running" and not vm.error
              and not (check_mode and vm.action == "create")]
    run_results: Dict[str, Obj] = {}
    if to_run:
        try:
            outcome = vm_run.run_vms(ovirt, kube, to_run, storage_map=storage_map, network_map=network_map,
                                     node_map=node_map, check_mode=check_mode, max_workers=max_workers,
                                     connect=connect)
            run_results = {r["name"]: r for r in outcome["results"]}
        except BridgeError as exc:
            not_started = set(exc.details.get("failed") or to_run)
            for vm in declared:
                if vm.name in not_started and not vm.error:
                    vm.error = f"starting it failed: {exc}"
    results = []
    for vm in declared:
        result = vm.result()
        started = run_results.get(vm.name)
        if started is not None:
            result.update(runtime=started["runtime"], host=started.get("host"), started=started["changed"])
            result["changed"] = result["changed"] or started["changed"]
        results.append(result)
    failed = [r for r in results if r.get("failed")]
    outcome = {"changed": any(r["changed"] for r in results), "results": results,
               "created": [vm.name for vm in declared if vm.action == "create" and not vm.error],
               "updated": [vm.name for vm in declared if vm.action == "update" and not vm.error],
               "failed": [r["name"] for r in failed]}
    if failed:  # the others converged; the task fails and names each failure
        raise ItemsFailed([Failure(r["name"], r["msg"]) for r in failed], len(results), **outcome)
    return outcome


def _adding(vm: Any, cluster_id: str, template_id: str) -> Callable[[Any], Any]:
    """The engine call that creates a declared VM, for run_parallel."""
    def add(svc: Any) -> Any:
        return svc.add_vm(vm.name, cluster_id, template_id, int(vm.memory_mib), int(vm.cpus), vm.description,
                          bool(vm.high_availability))
    return add


def _resizing(vm: Any, current: Any) -> Callable[[Any], Any]:
    """The engine call that gives a down VM its declared memory and vCPUs, for run_parallel."""
    def update(svc: Any) -> Any:
        return svc.update_vm(current, int(vm.memory_mib), int(vm.cpus))
    return update
