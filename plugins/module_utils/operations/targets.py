# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ovirt_kubevirt.bridge contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the VM use cases share: the named VMs resolved to targets, and a fresh start in KubeVirt.

Kept light on purpose: vm_operation and vm_run_wait import this, not vm_run,
so they do not ship the translation and the scheduler.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.common.errors import (
    ApiError,
    BridgeError,
    ConflictError,
    InputError,
    NotFoundError,
)
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.common.kubevirt_api import (
    ACTIVE_PHASES,
    KUBEVIRT_API,
    SUBRESOURCES,
)
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.common.services import KubeApi, OvirtApi
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.records import registry

VMI_DELETE_TIMEOUT_S = 60.0
# virt-api answers a start, stop or restart while another is queued with 500 "unable to complete request:
# stop/start already underway" (pkg/virt-api/rest/lifecycle.go, getChangeRequestJson wrapped in
# errors.NewInternalError); only a failed JSON-patch test, a VM already running, or a run strategy that
# takes no manual start gives 409.
CHANGE_UNDERWAY = "already underway"


def change_refused(exc: BridgeError) -> bool:
    """Whether virt-api refused a lifecycle request because of the VM's state (409), or one already queued (500)."""
    if isinstance(exc, ConflictError):
        return True
    return isinstance(exc, ApiError) and exc.status == 500 and CHANGE_UNDERWAY in str(exc)


@dataclasses.dataclass
class Target:
    """One VM to run, and what we know of it."""

    name: str
    vm: Any
    cluster_id: str
    cluster_type: registry.ClusterType
    runtime: str = "legacy"
    action: str = "none"
    host: Optional[str] = None
    namespace: Optional[str] = None
    kubernetes_name: Optional[str] = None
    current_vm: Optional[Dict[str, Any]] = None
    current_vmi: Optional[Dict[str, Any]] = None
    manifest: Optional[Dict[str, Any]] = None
    representation: Optional[Dict[str, Any]] = None
    # The enabled KubeVirt feature gates of the target's cluster; None when not known.
    feature_gates: Optional[List[str]] = None
    error: Optional[str] = None
    # What the translation could not carry (warnings; info concerns stay in vm_representation's output).
    concerns: List[Dict[str, Any]] = dataclasses.field(default_factory=list)

    def read_representation(self) -> Dict[str, Any]:
        """The representation run_vms read from the engine for this target."""
        if self.representation is None:
            raise BridgeError(f"VM {self.name}: its representation was not read")
        return self.representation

    def kubevirt_names(self) -> Tuple[str, str]:
        """The namespace and name of the target's VirtualMachine, set for every target KubeVirt runs."""
        if not self.namespace or not self.kubernetes_name:
            raise BridgeError(f"VM {self.name} has no KubeVirt namespace and name")
        return self.namespace, self.kubernetes_name

    def result(self) -> Dict[str, Any]:
        result: Dict[str, Any] = {"name": self.name, "runtime": self.runtime, "host": self.host,
                                  "changed": self.action != "none", "action": self.action}
        if self.runtime == "kubevirt":
            result.update(namespace=self.namespace, kubernetes_name=self.kubernetes_name, concerns=self.concerns)
        return result


def by_name(items: Sequence[Mapping[str, Any]]) -> Dict[str, Dict[str, Any]]:
    return {str((i.get("metadata") or {}).get("name")): dict(i) for i in items}


def plan_targets(ovirt: OvirtApi, kube: KubeApi, names: Sequence[str]) -> Tuple[List[Target], List[Any], List[Any]]:
    """Resolve every named VM and its cluster's type; unknown VMs fail before anything is written."""
    if not names:
        raise InputError("vms is empty: name at least one VM")
    all_vms = list(ovirt.vms())
    by_name = {v.name: v for v in all_vms}
    unknown = [n for n in names if n not in by_name]
    if unknown:
        raise NotFoundError(f"the oVirt engine has no VM named {', '.join(repr(n) for n in unknown)}")
    records = registry.current_records(kube)
    targets = []
    for name in dict.fromkeys(names):
        vm = by_name[name]
        cid = vm.cluster.id
        cluster_type = registry.ClusterType.of(records.get(cid))
        targets.append(Target(name=name, vm=vm, cluster_id=cid, cluster_type=cluster_type))
    return targets, all_vms, list(ovirt.hosts())


def host_name(hosts: Sequence[Any], vm: Any) -> Optional[str]:
    if vm.host is None:
        return None
    return next((h.name for h in hosts if h.id == vm.host.id), vm.host.name or vm.host.id)


def milestone_of(target: Target) -> int:
    return target.cluster_type.milestone


def _start_queued(vm: Optional[Mapping[str, Any]]) -> bool:
    """Whether the VirtualMachine holds a start request its controller has not carried out yet."""
    requests = ((vm or {}).get("status") or {}).get("stateChangeRequests") or []
    return any(r.get("action") == "Start" for r in requests)


def start_fresh(kube: KubeApi, namespace: str, name: str, run_strategy: Optional[str], has_vmi: bool) -> None:
    """Start a VirtualMachine on a new VMI; an old (finished or stuck) VMI is deleted first and seen gone."""
    if has_vmi:
        kube.delete(KUBEVIRT_API, "VirtualMachineInstance", name, namespace)
        if kube.wait_gone(KUBEVIRT_API, "VirtualMachineInstance", namespace, field_selector=f"metadata.name={name}",
                          timeout_s=VMI_DELETE_TIMEOUT_S):
            raise BridgeError(f"the old VMI {namespace}/{name} was not deleted within {VMI_DELETE_TIMEOUT_S:g} s; "
                              "not starting it twice")
    if run_strategy == "Manual":
        try:
            kube.request("PUT", f"{SUBRESOURCES}/namespaces/{namespace}/virtualmachines/{name}/start", body={},
                         what=f"starting VirtualMachine {namespace}/{name}")
        except (ConflictError, ApiError) as exc:
            if not change_refused(exc):
                raise
            # KubeVirt refuses a second start: fine when a concurrent run's start made the VMI, or is queued
            # on the VirtualMachine for its controller to make it; never otherwise.
            # The VirtualMachine first: its controller clears a start request only after creating the VMI,
            # so a request gone by then means the VMI exists when read next.
            if _start_queued(kube.get(KUBEVIRT_API, "VirtualMachine", name, namespace)):
                return
            vmi = kube.get(KUBEVIRT_API, "VirtualMachineInstance", name, namespace)
            phase = ((vmi or {}).get("status") or {}).get("phase") or ""  # "": created, no status yet
            if vmi is None or phase not in ACTIVE_PHASES + ("",):
                raise
