# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ovirt_kubevirt.bridge contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run VMs the way their cluster's type says (the vm_run module's core).

legacy cluster: start through the oVirt engine, as ovirt.ovirt does.
kubevirt cluster (milestone 1): oVirt-side scheduling chooses the host, the
VM's representation becomes a VirtualMachine pinned to that node with a
``kubernetes.io/hostname`` nodeSelector, and it is started.

Nothing running is ever touched: a VM that runs under oVirt keeps running
there until its next start (even in a kubevirt cluster), and a VM whose VMI is
active is left alone, so a second run writes nothing. Reads are batched: one
list of oVirt VMs and hosts, one list of registry records, VirtualMachines and
VMIs per namespace; writes to Kubernetes run concurrently under a bound.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Set

from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.clients.ovirt_service import run_parallel, status_of
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.common.errors import (
    BridgeError,
    ConflictError,
    InputError,
)
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.common.kubevirt_api import (
    ACTIVE_PHASES,
    KUBEVIRT_API,
)
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.common.naming import kubernetes_name
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.common.ovirt_status import MAY_RUN
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.common.quantities import parse_quantity
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.common.services import KubeApi, OvirtApi
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.domxml.engine_vm import representation_reader
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.kubevirt.vm_manifest import representation_to_vm
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.operations.targets import (
    Target,
    by_name,
    host_name,
    milestone_of,
    plan_targets,
    start_fresh,
)
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.records import provider, registry
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.scheduling import rerun, scheduler


def vmi_load(vmi: Mapping[str, Any]) -> Dict[str, Any]:
    """A VMI's CPU and memory in the scheduler's terms."""
    domain = (vmi.get("spec") or {}).get("domain") or {}
    cpu = domain.get("cpu") or {}
    cpus = int(cpu.get("sockets", 1)) * int(cpu.get("cores", 1)) * int(cpu.get("threads", 1))
    requests = (domain.get("resources") or {}).get("requests") or {}
    memory = requests.get("memory") or (domain.get("memory") or {}).get("guest") or "0"
    meta = vmi.get("metadata") or {}
    return {"id": (meta.get("labels") or {}).get(registry.VM_ID_LABEL) or meta.get("uid"), "name": meta.get("name"),
            "cpus": cpus, "memory_mib": parse_quantity(memory) // (1024 * 1024)}


def cpu_count(obj: Any) -> int:
    """The CPUs of an oVirt VM or host, from its CPU topology."""
    topology = obj.cpu.topology if obj.cpu and obj.cpu.topology else None
    return (topology.sockets or 1) * (topology.cores or 1) * (topology.threads or 1) if topology else 1


def ovirt_load(vm: Any) -> Dict[str, Any]:
    cpus = cpu_count(vm)
    ha = bool(vm.high_availability and vm.high_availability.enabled)
    return {"id": vm.id, "name": vm.name, "cpus": cpus, "memory_mib": (vm.memory or 0) // (1024 * 1024),
            "high_availability": ha}


def host_inventory(hosts: Sequence[Any], ovirt_vms: Sequence[Any], vmis: Sequence[Mapping[str, Any]],
                   node_map: Mapping[str, str], node_pods: Optional[Mapping[str, int]] = None) -> List[Dict[str, Any]]:
    """oVirt hosts with the load of both runtimes: oVirt VMs on the host, active VMIs on its node.

    ``node_pods`` is each node's allocatable pod count; only the VMIs' pods are counted against it.
    """
    by_node: Dict[str, List[Dict[str, Any]]] = {}
    for vmi in vmis:
        status = vmi.get("status") or {}
        if status.get("phase") in ACTIVE_PHASES and status.get("nodeName"):
            by_node.setdefault(status["nodeName"], []).append(vmi_load(vmi))
    inventory = []
    for host in hosts:
        loads = [ovirt_load(v) for v in ovirt_vms if v.host is not None and v.host.id == host.id
                 and status_of(v) in MAY_RUN]
        loads += by_node.get(node_map.get(host.name, host.name), [])
        inventory.append({
            "name": host.name, "status": status_of(host), "cpus": cpu_count(host),
            "memory_mib": (host.memory or 0) // (1024 * 1024),
            "cpu_model": host.cpu.type if host.cpu else None, "vms": loads,
            "max_pods": (node_pods or {}).get(node_map.get(host.name, host.name)),
        })
    return inventory


def _decide_kubevirt(target: Target, vms: Mapping[str, Dict[str, Any]], vmis: Mapping[str, Dict[str, Any]],
                     excluded_nodes: Set[str]) -> None:
    target.runtime = "kubevirt"
    target.namespace = target.cluster_type.namespace
    target.kubernetes_name = kubernetes_name(target.name)[0]
    target.current_vm = vms.get(target.kubernetes_name)
    target.current_vmi = vmis.get(target.kubernetes_name)
    status = (target.current_vmi or {}).get("status") or {}
    # An active VMI is left alone, unless it is stuck on (or pinned to) a node the caller is rerunning away from.
    stuck = status.get("phase") != "Running" and rerun.placed_node(target.current_vmi) in excluded_nodes
    if status.get("phase") in ACTIVE_PHASES and not stuck:
        target.host = status.get("nodeName")
        return
    target.action = "start"


@dataclasses.dataclass(frozen=True)
class Maps:
    """Where oVirt storage, networks, host devices and hosts go in Kubernetes (see kubevirt_vm)."""

    storage: Mapping[str, Any]
    network: Mapping[str, Any]
    host_device: Mapping[str, str] = dataclasses.field(default_factory=dict)
    node: Mapping[str, str] = dataclasses.field(default_factory=dict)


def run_vms(ovirt: OvirtApi, kube: KubeApi, names: Sequence[str], *, storage_map: Mapping[str, Any],
            network_map: Mapping[str, Any], policy: str = scheduler.DEFAULT_POLICY,
            node_map: Optional[Mapping[str, str]] = None, host_device_map: Optional[Mapping[str, str]] = None,
            exclude_hosts: Optional[Mapping[str, Sequence[str]]] = None,
            check_mode: bool = False, max_workers: int = 8,
            connect: Optional[Callable[[], Any]] = None) -> Dict[str, Any]:
    maps = Maps(storage_map, network_map, dict(host_device_map or {}), dict(node_map or {}))
    exclude_hosts = dict(exclude_hosts or {})
    targets, all_vms, hosts = plan_targets(ovirt, kube, names)
    namespaces = sorted({str(t.cluster_type.namespace) for t in targets if t.cluster_type.is_kubevirt})
    vms_by_ns, vmis_by_ns = {}, {}
    for ns in namespaces:
        vms_by_ns[ns] = by_name(kube.list(KUBEVIRT_API, "VirtualMachine", ns)[0])
        vmis_by_ns[ns] = by_name(kube.list(KUBEVIRT_API, "VirtualMachineInstance", ns)[0])

    for target in targets:
        ovirt_status = status_of(target.vm)
        if ovirt_status in MAY_RUN:
            # Running under oVirt: it stays there until its next start, whatever the cluster type.
            target.host = host_name(hosts, target.vm)
        elif target.cluster_type.is_kubevirt:
            namespace = str(target.cluster_type.namespace)
            excluded = {str(maps.node.get(h, h)) for h in exclude_hosts.get(target.name) or ()}
            _decide_kubevirt(target, vms_by_ns[namespace], vmis_by_ns[namespace], excluded)
        else:
            target.action = "start"

    to_start = [t for t in targets if t.runtime == "kubevirt" and t.action == "start"]
    _read_representations(ovirt, to_start, connect, max_workers)
    _read_feature_gates(kube, to_start)
    # Milestone 1: oVirt chooses the host. Milestone 2 and later: the Kubernetes scheduler does.
    ovirt_scheduled = [t for t in to_start if milestone_of(t) < 2]
    if ovirt_scheduled:
        _schedule(ovirt, kube, ovirt_scheduled, all_vms, hosts, namespaces, policy, maps, exclude_hosts)
    for target in to_start:
        if milestone_of(target) >= 2:
            target.manifest = _manifest(target, maps, cluster_nodes(hosts, target.cluster_id, maps.node))

    if not check_mode:
        _start_legacy(ovirt, [t for t in targets if t.runtime == "legacy" and t.action == "start"])
        _apply_kubevirt(kube, to_start, max_workers)
    return {
        "changed": any(t.action != "none" for t in targets),
        "results": [t.result() for t in targets],
        "diff": {"before": {t.name: _before(t) for t in targets if t.action != "none"},
                 "after": {t.name: f"{t.runtime}: running on {t.host or 'a host the engine picks'}"
                           for t in targets if t.action != "none"}},
    }


def _read_feature_gates(kube: KubeApi, targets: Sequence[Target]) -> None:
    """Each target's cluster feature gates, from its provider's record (one read per provider)."""
    gates: Dict[Any, Optional[List[str]]] = {}
    for target in targets:
        key = (target.cluster_type.provider, target.cluster_type.namespace)
        if key not in gates:
            record = provider.load_provider(kube, str(key[0]), str(key[1]))
            gates[key] = provider.known_feature_gates(record["capabilities"])
        target.feature_gates = gates[key]


def _read_representations(ovirt: OvirtApi, targets: Sequence[Target],
                          connect: Optional[Callable[[], Any]], max_workers: int) -> None:
    """Every target's representation, read from the engine over up to ``max_workers`` connections."""
    calls = [representation_reader(t.name) for t in targets]
    for target, (representation, error) in zip(targets, run_parallel(ovirt, calls, connect, max_workers), strict=True):
        if error is not None:
            raise error
        target.representation = representation


def _before(target: Target) -> str:
    phase = ((target.current_vmi or {}).get("status") or {}).get("phase")
    return f"kubevirt VMI {phase}" if phase else f"oVirt status {status_of(target.vm)}"


def _schedule(ovirt: OvirtApi, kube: KubeApi, targets: Sequence[Target], all_vms: Sequence[Any], hosts: Sequence[Any],
              namespaces: Sequence[str], policy: str, maps: Maps, exclude_hosts: Mapping[str, Sequence[str]]) -> None:
    """oVirt-side scheduling of every VM to start, as one batch per cluster; then their manifests."""
    vmis = _all_vmis(kube, namespaces)
    node_pods = allocatable_pods(kube)
    by_cluster: Dict[str, List[Target]] = {}
    for target in targets:
        by_cluster.setdefault(target.cluster_id, []).append(target)
    for cluster_id, group in by_cluster.items():
        cluster_hosts = [h for h in hosts if h.cluster is not None and h.cluster.id == cluster_id]
        inventory = [scheduler.parse_host(h) for h in host_inventory(cluster_hosts, all_vms, vmis, maps.node, node_pods)]
        for target in group:
            excluded = set(exclude_hosts.get(target.name) or ())
            candidates = [h for h in inventory if h.name not in excluded]
            request = scheduler.parse_request(target.read_representation())
            result = scheduler.schedule(candidates, request, policy)
            result["rejected"] += [{"host": h, "filter": "Rerun", "reason": "an earlier attempt failed on it"}
                                   for h in sorted(excluded)]
            if result["host"] is None:
                raise scheduler.no_host_error(target.name, result)
            target.host = result["host"]
            scheduler.reserve(inventory, target.host, request)
            target.manifest = _manifest(target, maps)


def allocatable_pods(kube: KubeApi) -> Dict[str, int]:
    """Each node's allocatable pod count (a kubelet takes 110 by default)."""
    found = {}
    for node in kube.list("v1", "Node")[0]:
        pods = ((node.get("status") or {}).get("allocatable") or {}).get("pods")
        if pods is not None and str(pods).isdigit():
            found[str((node.get("metadata") or {}).get("name"))] = int(pods)
    return found


def _all_vmis(kube: KubeApi, namespaces: Sequence[str]) -> List[Dict[str, Any]]:
    """VMIs on every node (the load of the hosts), or only our namespaces' without cluster-wide read access."""
    try:
        return kube.list(KUBEVIRT_API, "VirtualMachineInstance")[0]
    except BridgeError:
        found: List[Dict[str, Any]] = []
        for ns in namespaces:
            found += kube.list(KUBEVIRT_API, "VirtualMachineInstance", ns)[0]
        return found


def cluster_nodes(hosts: Sequence[Any], cluster_id: str, node_map: Mapping[str, str]) -> List[str]:
    """The nodes of a cluster's hosts: as in oVirt, a VM runs only on hosts of its own cluster."""
    return sorted(str(node_map.get(h.name, h.name)) for h in hosts if h.cluster is not None and h.cluster.id == cluster_id)


def _manifest(target: Target, maps: Maps, nodes: Optional[Sequence[str]] = None) -> Dict[str, Any]:
    rep = dict(target.representation or {})
    if milestone_of(target) < 2:
        # Milestone 1: oVirt chose the host; the VM starts on exactly that node.
        rep["scheduling"] = dict(rep["scheduling"], host=target.host, host_pinning=False, cluster_id=target.cluster_id)
    else:
        # Milestone 2: only the VM's own pinning binds it; the Kubernetes scheduler places it.
        pinned = bool(rep["scheduling"].get("pinned_hosts"))
        rep["scheduling"] = dict(rep["scheduling"], host=None, host_pinning=pinned, cluster_id=target.cluster_id)
    ha = bool((rep["scheduling"].get("high_availability") or {}).get("enabled"))
    manifest, concerns = representation_to_vm(rep, maps.storage, maps.network, namespace=target.namespace,
                                              name=target.kubernetes_name, run_strategy="Always" if ha else "Manual",
                                              host_device_map=maps.host_device, node_map=maps.node,
                                              feature_gates=target.feature_gates)
    target.concerns = [c for c in concerns if c["category"] != "info"]
    critical = [c["message"] for c in concerns if c["category"] == "critical"]
    if critical:
        raise InputError(f"VM {target.name} cannot run in KubeVirt as it is: {'; '.join(critical)}")
    if milestone_of(target) >= 2:
        if nodes is not None:
            template = manifest["spec"]["template"]
            if not nodes:
                raise InputError(f"VM {target.name}: its oVirt cluster has no hosts, so no node may run it")
            template["spec"] = rerun.restrict_to_nodes(template["spec"], list(nodes))
        # An interrupted rerun cycle resumes: keep its attempts and keep avoiding the nodes it tried.
        record = rerun.read_attempts(target.current_vm)
        if record["outcome"] is None and record["attempts"]:
            template = manifest["spec"]["template"]
            template["spec"] = rerun.exclude_nodes(
                template["spec"], rerun.nodes_to_exclude(template["spec"], rerun.tried_nodes(record)))
            manifest["metadata"].setdefault("annotations", {})[rerun.ATTEMPTS_ANNOTATION] = rerun.encode_attempts(record)
    return manifest


def _start_legacy(ovirt: OvirtApi, targets: Sequence[Target]) -> None:
    for target in targets:
        ovirt.vm_action(target.vm, "start")


def _apply_kubevirt(kube: KubeApi, targets: Sequence[Target], max_workers: int) -> None:
    calls = [lambda t=t: _apply_one(kube, t) for t in targets]
    failures = [(t, err) for t, (_res, err) in zip(targets, kube.run_batch(calls, max_workers), strict=True) if err is not None]
    if failures:
        detail = "; ".join(f"{t.name}: {err}" for t, err in failures)
        raise BridgeError(f"{len(failures)} of {len(targets)} VM(s) could not be started in KubeVirt: {detail}",
                          failed=[target.name for target, _error in failures])


def _apply_one(kube: KubeApi, target: Target) -> None:
    manifest = target.manifest or {}
    ns, name = target.kubevirt_names()
    created = False
    if target.current_vm is None:
        try:
            kube.create(manifest)
            created = True
        except ConflictError:
            pass  # a concurrent run created it first: converge it like an existing one
    if not created:
        def desired(current: Dict[str, Any]) -> Optional[Dict[str, Any]]:
            meta = current.setdefault("metadata", {})
            labels = dict(meta.get("labels") or {}, **manifest["metadata"].get("labels", {}))
            annotations = dict(meta.get("annotations") or {}, **manifest["metadata"].get("annotations", {}))
            if current.get("spec") == manifest["spec"] and labels == meta.get("labels") and annotations == meta.get("annotations"):
                return None
            meta["labels"], meta["annotations"] = labels, annotations
            current["spec"] = manifest["spec"]
            return current
        kube.update(KUBEVIRT_API, "VirtualMachine", name, ns, desired)
    start_fresh(kube, ns, name, manifest["spec"].get("runStrategy"), target.current_vmi is not None)
