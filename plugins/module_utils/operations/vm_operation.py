# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ovirt_kubevirt.bridge contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""oVirt's VM operations carried out through KubeVirt (the vm_operation module's core).

Every operation reads the VirtualMachine and its VMI first and decides from
them: already in the target state is ``changed: false``; a precondition that
fails (not running, not paused) is refused with the reason. Then it calls
virt-api's subresource (with ``dryRun`` in check mode), or writes the object,
and waits by watch for the outcome, with a timeout. A 409 from KubeVirt is
reported as KubeVirt's refusal, never as unchanged.

oVirt keeps the static state (templates, host deployment, imports); the
runtime state of a VM that runs in KubeVirt belongs to KubeVirt, and a VM that
still runs under oVirt (started before its cluster changed type) is refused
here: oVirt's tools handle it until it next starts in KubeVirt.
"""
from __future__ import annotations

import dataclasses
import json
import time
from typing import Any, Callable, Dict, List, Mapping, Optional

from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.clients.ovirt_service import status_of
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.common import labels
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.common.errors import (
    ApiError,
    BridgeError,
    ConflictError,
    InputError,
    UnsupportedError,
)
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.common.kubevirt_api import (
    KUBEVIRT_API,
    SUBRESOURCES,
)
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.common.naming import (
    is_dns1123_label,
    kubernetes_name,
)
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.common.services import KubeApi, OvirtApi
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.model import vm_state
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.operations import targets
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.records import provider
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.scheduling import rerun

OPERATIONS_ANNOTATION = labels.OPERATIONS
OPERATIONS = ("hotplug_disk", "hotunplug_disk", "hotplug_nic", "hotunplug_nic", "hibernate", "restore", "pause",
              "resume", "migrate", "cancel_migration", "shutdown", "reboot", "power_off")
ACTIVE_MIGRATION_PHASES = ("", "Pending", "Scheduling", "Scheduled", "PreparingTarget", "TargetReady", "Running")
DEFAULT_TIMEOUT_S = 300
HOTPLUG_DISK_BUSES = ("scsi", "virtio")

Obj = Dict[str, Any]


def is_paused(vmi: Optional[Mapping[str, Any]]) -> bool:
    return any(c.get("type") == "Paused" and c.get("status") == "True"
               for c in ((vmi or {}).get("status") or {}).get("conditions") or [])


class OperationRefused(BridgeError):
    """The VM is not in a state the operation can start from, or KubeVirt refused it."""


@dataclasses.dataclass
class Context:
    kube: KubeApi
    name: str
    namespace: str
    kubernetes_name: str
    vm: Obj
    vmi: Optional[Obj]
    params: Mapping[str, Any]
    check_mode: bool
    timeout_s: float
    details: Obj = dataclasses.field(default_factory=dict)

    # -- reading --
    @property
    def phase(self) -> Optional[str]:
        return ((self.vmi or {}).get("status") or {}).get("phase")

    @property
    def running(self) -> bool:
        return self.phase == "Running" and not (self.vmi or {}).get("metadata", {}).get("deletionTimestamp")

    @property
    def paused(self) -> bool:
        return is_paused(self.vmi)

    def require_running(self, operation: str) -> None:
        if not self.running:
            raise OperationRefused(f"cannot {operation} VM {self.name}: it is not running in KubeVirt "
                                   f"(VMI phase {self.phase or 'none'})")

    # -- writing --
    def call(self, resource: str, action: str, body: Optional[Obj] = None) -> None:
        """PUT a virt-api subresource; dryRun in check mode; a 409 is KubeVirt refusing."""
        payload = dict(body or {})
        if self.check_mode:
            payload["dryRun"] = ["All"]
        path = f"{SUBRESOURCES}/namespaces/{self.namespace}/{resource}/{self.kubernetes_name}/{action}"
        try:
            self.kube.request("PUT", path, body=payload, what=f"{action} of {resource} {self.namespace}/{self.kubernetes_name}")
        except (ConflictError, ApiError) as exc:
            if not targets.change_refused(exc):
                raise
            raise OperationRefused(f"KubeVirt refused {action} of VM {self.name}: {exc}") from exc

    def wait_vmi(self, what: str, done: Callable[[Optional[Obj]], bool]) -> Obj:
        """Watch the VMI until ``done(vmi)``; a deleted VMI is passed as None."""
        deadline = time.monotonic() + self.timeout_s
        last: Optional[Obj] = None
        for event_type, obj in self.kube.watch(KUBEVIRT_API, "VirtualMachineInstance", self.namespace,
                                               field_selector=f"metadata.name={self.kubernetes_name}",
                                               timeout_s=self.timeout_s):
            last = None if event_type == "DELETED" else obj
            if done(last):
                return last or {}
            if time.monotonic() >= deadline:
                break
        raise BridgeError(f"VM {self.name}: {what} did not happen within {self.timeout_s:g} s "
                          f"(VMI phase {((last or {}).get('status') or {}).get('phase') or 'none'})")

    def wait_vmi_gone(self) -> None:
        left = self.kube.wait_gone(KUBEVIRT_API, "VirtualMachineInstance", self.namespace,
                                   field_selector=f"metadata.name={self.kubernetes_name}", timeout_s=self.timeout_s)
        if left:
            raise BridgeError(f"VM {self.name}: its VMI still exists after {self.timeout_s:g} s")

    def served(self, resource: str) -> bool:
        names, _warnings = provider.served_subresources(self.kube)
        return resource in names


# -- operations: each returns False when the VM is already in the target state ------------

def _pause(ctx: Context) -> bool:
    ctx.require_running("pause")
    if ctx.paused:
        return False
    ctx.call("virtualmachineinstances", "pause")
    if not ctx.check_mode:
        ctx.wait_vmi("pause", is_paused)
    return True


def _resume(ctx: Context) -> bool:
    if not ctx.paused:
        if not ctx.running:
            raise OperationRefused(f"cannot resume VM {ctx.name}: it is not running in KubeVirt (VMI phase {ctx.phase or 'none'})")
        return False
    ctx.call("virtualmachineinstances", "unpause")
    if not ctx.check_mode:
        ctx.wait_vmi("resume", lambda vmi: vmi is not None and not is_paused(vmi))
    return True


def _stop(ctx: Context, grace: Optional[int]) -> bool:
    if ctx.vmi is None or ctx.phase in ("Succeeded", "Failed"):
        return False
    ctx.call("virtualmachines", "stop", {} if grace is None else {"gracePeriod": grace})
    if not ctx.check_mode:
        ctx.wait_vmi_gone()
    return True


def _reboot(ctx: Context) -> bool:
    ctx.require_running("reboot")
    if _already_done(ctx, "reboot"):
        return False
    old_uid = ctx.vmi["metadata"]["uid"]  # type: ignore[index]
    ctx.call("virtualmachines", "restart")
    if not ctx.check_mode:
        ctx.wait_vmi("restart", lambda vmi: vmi is not None and vmi["metadata"].get("uid") != old_uid
                     and (vmi.get("status") or {}).get("phase") == "Running")
        _remember(ctx, "reboot")
    return True


def _migrations(ctx: Context) -> List[Obj]:
    items, _rv = ctx.kube.list(KUBEVIRT_API, "VirtualMachineInstanceMigration", ctx.namespace)
    return [m for m in items if (m.get("spec") or {}).get("vmiName") == ctx.kubernetes_name]


def _active(migrations: List[Obj]) -> List[Obj]:
    return [m for m in migrations if ((m.get("status") or {}).get("phase") or "") in ACTIVE_MIGRATION_PHASES
            and not (m.get("metadata") or {}).get("deletionTimestamp")]


def _migrate(ctx: Context) -> bool:
    ctx.require_running("migrate")
    target = ctx.params.get("target_node")
    node = (ctx.vmi.get("status") or {}).get("nodeName")  # type: ignore[union-attr]
    if target and node == target:
        return False
    if _active(_migrations(ctx)):
        return False  # already migrating; cancel_migration stops it
    if not target and _already_done(ctx, "migrate"):
        return False
    migratable = next((c for c in (ctx.vmi.get("status") or {}).get("conditions") or []  # type: ignore[union-attr]
                       if c.get("type") == "LiveMigratable"), None)
    if migratable and migratable.get("status") == "False":
        raise OperationRefused(f"cannot migrate VM {ctx.name}: KubeVirt says it is not live-migratable "
                               f"({migratable.get('reason')}: {migratable.get('message')})")
    # The target pod must match the VMI's own node binding: refuse what KubeVirt would only fail after a while.
    allowed = rerun.pinned_nodes(ctx.vmi.get("spec") or {})  # type: ignore[union-attr]
    if allowed is not None and (not set(allowed) - {node} or (target and target not in allowed)):
        raise OperationRefused(
            f"cannot migrate VM {ctx.name}: its running instance may only run on {', '.join(allowed) or 'no node'} "
            f"(it is bound to the host it started on, as VMs started under milestone 1 are, or pinned); "
            f"it can migrate after its next start in a cluster at milestone 2 or later, or within its pinned hosts")
    body: Obj = {"apiVersion": KUBEVIRT_API, "kind": "VirtualMachineInstanceMigration",
                 "metadata": {"generateName": f"{ctx.kubernetes_name[:40]}-migration-", "namespace": ctx.namespace,
                              "labels": {labels.MANAGED_BY_LABEL: labels.MANAGED_BY}},
                 "spec": {"vmiName": ctx.kubernetes_name}}
    if target:
        body["spec"]["addedNodeSelector"] = {labels.HOSTNAME: target}
    created = ctx.kube.create(body, dry_run=ctx.check_mode)
    if ctx.check_mode:
        return True
    name = created["metadata"]["name"]
    ctx.details["migration"] = name
    phase = _wait_migration(ctx, name)
    vmi = ctx.kube.get(KUBEVIRT_API, "VirtualMachineInstance", ctx.kubernetes_name, ctx.namespace) or {}
    ctx.details.update(source_node=node, node=(vmi.get("status") or {}).get("nodeName"))
    if phase != "Succeeded":
        state = (vmi.get("status") or {}).get("migrationState") or {}
        raise BridgeError(f"the migration of VM {ctx.name} from {node} failed ({state.get('failureReason') or phase}); "
                          f"the VM runs on {ctx.details['node']}", **ctx.details)
    _remember(ctx, "migrate")
    return True


def _wait_migration(ctx: Context, name: str) -> str:
    for _event_type, obj in ctx.kube.watch(KUBEVIRT_API, "VirtualMachineInstanceMigration", ctx.namespace,
                                           field_selector=f"metadata.name={name}", timeout_s=ctx.timeout_s):
        phase = (obj.get("status") or {}).get("phase") or ""
        if phase in ("Succeeded", "Failed"):
            return phase
    raise BridgeError(f"the migration {name} of VM {ctx.name} did not finish within {ctx.timeout_s:g} s; "
                      "cancel_migration stops it")


def _cancel_migration(ctx: Context) -> bool:
    active = _active(_migrations(ctx))
    if not active:
        return False
    for migration in active:
        ctx.kube.delete(KUBEVIRT_API, "VirtualMachineInstanceMigration", migration["metadata"]["name"], ctx.namespace,
                        dry_run=ctx.check_mode)
    ctx.details["cancelled"] = [m["metadata"]["name"] for m in active]
    if not ctx.check_mode:
        ctx.wait_vmi("migration cancel", lambda vmi: vmi is not None and not vm_state.migration_in_progress(vmi))
        vmi = ctx.kube.get(KUBEVIRT_API, "VirtualMachineInstance", ctx.kubernetes_name, ctx.namespace) or {}
        ctx.details["node"] = (vmi.get("status") or {}).get("nodeName")
    return True


def _disk_spec(ctx: Context) -> Obj:
    disk = ctx.params.get("disk") or {}
    name = disk.get("name")
    if not name or not is_dns1123_label(str(name)):
        raise InputError("disk.name is required and must be a DNS-1123 label (lowercase letters, digits, '-')")
    return disk


def _template_volumes(vm: Obj) -> List[str]:
    spec = ((vm.get("spec") or {}).get("template") or {}).get("spec") or {}
    return [v.get("name") for v in spec.get("volumes") or []]


def _hotplug_disk(ctx: Context) -> bool:
    disk = _disk_spec(ctx)
    name = disk["name"]
    if name in _template_volumes(ctx.vm):
        return False
    claim, data_volume = disk.get("claim_name"), disk.get("data_volume")
    if bool(claim) == bool(data_volume):
        raise InputError("hotplug_disk needs exactly one of disk.claim_name (a PVC) or disk.data_volume")
    source = {"persistentVolumeClaim": {"claimName": claim}} if claim else {"dataVolume": {"name": data_volume}}
    bus = disk.get("bus") or "scsi"
    if bus not in HOTPLUG_DISK_BUSES:
        # virt-api refuses any other bus for a hotplugged disk (pkg/storage/admitters/storagehotplug.go,
        # ValidateHotplugDiskConfiguration).
        raise InputError(f"disk.bus {bus!r}: KubeVirt hotplugs disks only on {' or '.join(HOTPLUG_DISK_BUSES)}")
    target: Obj = {"bus": bus}
    ctx.call("virtualmachines", "addvolume", {"name": name, "disk": {"disk": target}, "volumeSource": source})
    if not ctx.check_mode and ctx.running:
        ctx.wait_vmi(f"attaching disk {name}", lambda vmi: _volume_phase(vmi, name) == "Ready")
    return True


def _hotunplug_disk(ctx: Context) -> bool:
    name = _disk_spec(ctx)["name"]
    if name not in _template_volumes(ctx.vm) and _volume_phase(ctx.vmi, name) is None:
        return False
    ctx.call("virtualmachines", "removevolume", {"name": name})
    if not ctx.check_mode and ctx.running:
        ctx.wait_vmi(f"detaching disk {name}", lambda vmi: _volume_phase(vmi, name) is None)
    return True


def _volume_phase(vmi: Optional[Obj], name: str) -> Optional[str]:
    for volume in ((vmi or {}).get("status") or {}).get("volumeStatus") or []:
        if volume.get("name") == name:
            return volume.get("phase") or "Present"
    return None


def _nic_spec(ctx: Context) -> Obj:
    nic = ctx.params.get("nic") or {}
    if not nic.get("name") or not is_dns1123_label(str(nic["name"])):
        raise InputError("nic.name is required and must be a DNS-1123 label (lowercase letters, digits, '-')")
    return nic


def _interfaces(vm: Obj) -> List[Obj]:
    spec = ((vm.get("spec") or {}).get("template") or {}).get("spec") or {}
    return list(((spec.get("domain") or {}).get("devices") or {}).get("interfaces") or [])


def _vmi_interface(vmi: Optional[Obj], name: str) -> bool:
    return any(i.get("name") == name for i in ((vmi or {}).get("status") or {}).get("interfaces") or [])


def _hotplug_nic(ctx: Context) -> bool:
    nic = _nic_spec(ctx)
    name = nic["name"]
    present = next((i for i in _interfaces(ctx.vm) if i.get("name") == name), None)
    if present is not None and present.get("state") != "absent":
        return False
    network = nic.get("network")
    if not network:
        raise InputError("hotplug_nic needs nic.network, the Multus network attachment definition (NAMESPACE/NAME)")
    binding = nic.get("binding") or "bridge"
    if binding not in ("bridge", "sriov"):
        raise InputError(f"nic.binding {binding!r}: KubeVirt hot-plugs only bridge and sriov interfaces")

    def mutate(vm: Obj) -> Optional[Obj]:
        spec = vm["spec"]["template"].setdefault("spec", {})
        interfaces = spec.setdefault("domain", {}).setdefault("devices", {}).setdefault("interfaces", [])
        interfaces[:] = [i for i in interfaces if i.get("name") != name]
        interface: Obj = {"name": name, binding: {}}
        if nic.get("mac"):
            interface["macAddress"] = nic["mac"]
        interfaces.append(interface)
        networks = spec.setdefault("networks", [])
        networks[:] = [n for n in networks if n.get("name") != name]
        networks.append({"name": name, "multus": {"networkName": network}})
        return vm

    _update_vm(ctx, mutate)
    if not ctx.check_mode and ctx.running:
        ctx.wait_vmi(f"plugging NIC {name}", lambda vmi: _vmi_interface(vmi, name))
    return True


def _hotunplug_nic(ctx: Context) -> bool:
    name = _nic_spec(ctx)["name"]
    present = next((i for i in _interfaces(ctx.vm) if i.get("name") == name), None)
    if present is None or present.get("state") == "absent":
        if not _vmi_interface(ctx.vmi, name):
            return False
    if present is not None and present.get("masquerade") is not None:
        raise OperationRefused(f"cannot unplug NIC {name} of VM {ctx.name}: KubeVirt unplugs only bridge and sriov "
                               "interfaces, not the pod network's masquerade one")

    def mutate(vm: Obj) -> Optional[Obj]:
        # KubeVirt unplugs an interface marked absent; the mark stays until the VM restarts.
        devices = vm["spec"]["template"]["spec"]["domain"]["devices"]
        devices["interfaces"] = [dict(i, state="absent") if i.get("name") == name else i for i in devices.get("interfaces") or []]
        return vm

    _update_vm(ctx, mutate)
    if not ctx.check_mode and ctx.running:
        ctx.wait_vmi(f"unplugging NIC {name}", lambda vmi: not _vmi_interface(vmi, name))
    return True


def _update_vm(ctx: Context, mutate: Callable[[Obj], Optional[Obj]]) -> None:
    try:
        ctx.kube.update(KUBEVIRT_API, "VirtualMachine", ctx.kubernetes_name, ctx.namespace, mutate,
                        dry_run=ctx.check_mode)
    except ConflictError as exc:
        raise OperationRefused(f"KubeVirt refused the change of VM {ctx.name}: {exc}") from exc


def _suspend_to_disk(ctx: Context, operation: str) -> bool:
    """oVirt's hibernate and restore: only where the server offers suspend-to-disk."""
    action = "hibernate" if operation == "hibernate" else "restore"
    if not ctx.served(f"virtualmachines/{action}"):
        raise UnsupportedError(
            f"cannot {operation} VM {ctx.name}: this KubeVirt ({SUBRESOURCES}) offers no suspend-to-disk "
            f"(no virtualmachines/{action} subresource). Alternatives: operation pause keeps the guest's memory on "
            "its node, and resume continues it; operation shutdown stops the guest, and vm_run starts it afresh. "
            "Nothing was changed.")
    ctx.call("virtualmachines", action)
    if not ctx.check_mode:
        if operation == "hibernate":
            ctx.wait_vmi_gone()
        else:
            ctx.wait_vmi("restore", lambda vmi: (vmi or {}).get("status", {}).get("phase") == "Running")
    return True


HANDLERS: Dict[str, Callable[[Context], bool]] = {
    "pause": _pause,
    "resume": _resume,
    "shutdown": lambda ctx: _stop(ctx, None),
    "power_off": lambda ctx: _stop(ctx, 0),
    "reboot": _reboot,
    "migrate": _migrate,
    "cancel_migration": _cancel_migration,
    "hotplug_disk": _hotplug_disk,
    "hotunplug_disk": _hotunplug_disk,
    "hotplug_nic": _hotplug_nic,
    "hotunplug_nic": _hotunplug_nic,
    "hibernate": lambda ctx: _suspend_to_disk(ctx, "hibernate"),
    "restore": lambda ctx: _suspend_to_disk(ctx, "restore"),
}


# -- request ids: the idempotence of operations that are not a target state -----------

def _done_requests(vm: Obj) -> Obj:
    raw = ((vm.get("metadata") or {}).get("annotations") or {}).get(OPERATIONS_ANNOTATION)
    try:
        return dict(json.loads(raw)) if raw else {}
    except (ValueError, TypeError):
        return {}


def _already_done(ctx: Context, operation: str) -> bool:
    request_id = ctx.params.get("request_id")
    return bool(request_id) and _done_requests(ctx.vm).get(operation) == request_id


def _remember(ctx: Context, operation: str) -> None:
    request_id = ctx.params.get("request_id")
    if not request_id:
        return

    def mutate(vm: Obj) -> Optional[Obj]:
        done = _done_requests(vm)
        if done.get(operation) == request_id:
            return None
        done[operation] = request_id
        vm["metadata"].setdefault("annotations", {})[OPERATIONS_ANNOTATION] = json.dumps(done, sort_keys=True)
        return vm

    ctx.kube.update(KUBEVIRT_API, "VirtualMachine", ctx.kubernetes_name, ctx.namespace, mutate)


# -- entry point --------------------------------------------------------------------------

def operate(ovirt: OvirtApi, kube: KubeApi, vm_name: str, operation: str, *, params: Optional[Mapping[str, Any]] = None,
            timeout_s: float = DEFAULT_TIMEOUT_S, check_mode: bool = False) -> Obj:
    if operation not in HANDLERS:
        raise InputError(f"unknown operation {operation!r}; use one of {', '.join(OPERATIONS)}")
    if timeout_s <= 0:
        raise InputError(f"timeout must be greater than 0, got {timeout_s:g}")
    (target,), _vms, hosts = targets.plan_targets(ovirt, kube, [vm_name])
    if not target.cluster_type.is_kubevirt:
        raise OperationRefused(f"VM {vm_name} is in a legacy cluster: oVirt runs it, so {operation} belongs to oVirt "
                               "(ovirt.ovirt.ovirt_vm); this module operates VMs that KubeVirt runs")
    namespace = str(target.cluster_type.namespace)
    k8s_name = kubernetes_name(vm_name)[0]
    vm = kube.get(KUBEVIRT_API, "VirtualMachine", k8s_name, namespace)
    if vm is None:
        ovirt_status = status_of(target.vm)
        if ovirt_status not in ("down", ""):
            host = targets.host_name(hosts, target.vm)
            raise OperationRefused(
                f"VM {vm_name} still runs under oVirt (status {ovirt_status} on {host}), started before its cluster "
                f"became kubevirt; its runtime state stays oVirt's until it next starts, in KubeVirt. Use oVirt's "
                f"tools for {operation} until then.")
        raise OperationRefused(f"VM {vm_name} has never run in KubeVirt (no VirtualMachine {namespace}/{k8s_name}); "
                               "start it with vm_run first")
    vmi = kube.get(KUBEVIRT_API, "VirtualMachineInstance", k8s_name, namespace)
    ctx = Context(kube=kube, name=vm_name, namespace=namespace, kubernetes_name=k8s_name, vm=vm, vmi=vmi,
                  params=dict(params or {}), check_mode=check_mode, timeout_s=timeout_s)
    before = vm_state.ovirt_status(vm, vmi)[0]
    changed = HANDLERS[operation](ctx)
    after = before
    if changed and not check_mode:
        vm_now = kube.get(KUBEVIRT_API, "VirtualMachine", k8s_name, namespace)
        vmi_now = kube.get(KUBEVIRT_API, "VirtualMachineInstance", k8s_name, namespace)
        after = vm_state.ovirt_status(vm_now, vmi_now)[0]
    return {"changed": changed, "vm": vm_name, "operation": operation, "namespace": namespace,
            "kubernetes_name": k8s_name, "status_before": before, "status": after,
            "diff": {"before": {"status": before}, "after": {"status": after if not check_mode else f"after {operation}"}},
            **ctx.details}
