# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ovirt_kubevirt.bridge contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Datacenter upgrades: the pre-flight plan, and the runtime snapshots that prove no VM was disturbed.

``preflight`` reads everything a move of clusters to KubeVirt depends on and
changes nothing: each oVirt host maps to a Ready node; the VMs fit under
KubeVirt's requests; each VM's translation and its concerns (a disk or NIC the
storage and network maps miss is critical); the provider's capabilities for the
target milestone. Each finding blocks the upgrade or only warns.

``snapshot`` records every running VM (runtime, status, host, start time);
``disturbed`` compares two snapshots and names each VM that was running before
and was stopped, restarted or moved.
"""
from __future__ import annotations

import json
import os
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence

from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.clients.ovirt_service import run_parallel, status_of
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.common import labels
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.common.errors import (
    BridgeError,
    InputError,
    NotFoundError,
)
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.common.kubevirt_api import KUBEVIRT_API
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.common.naming import kubernetes_name
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.common.ovirt_status import MAY_RUN
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.common.quantities import millicores, parse_quantity
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.common.services import KubeApi, OvirtApi
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.domxml.engine_vm import representation_reader
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.kubevirt import vm_manifest
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.records import provider, registry

VM_ID_LABEL = labels.VM_ID
# KubeVirt's default cpuAllocationRatio (10): a vCPU without an explicit request asks for 100m.
VCPU_REQUEST_MILLICORES = 100
# What each milestone needs of virt-api: blockers when missing, then what only warns.
MILESTONE_NEEDS = {
    1: (("start", "stop"), ()),
    2: (("start", "stop"), ()),
    3: (("start", "stop"), ("pause", "unpause", "migrate", "restart", "addvolume", "removevolume")),
}

Obj = Dict[str, Any]


def _target(value: Any, cluster: str) -> Obj:
    text = str(value).strip().lower()
    if text == "legacy":
        return {"type": "legacy", "milestone": None}
    if text in ("1", "2", "3"):
        return {"type": "kubevirt", "milestone": int(text)}
    raise InputError(f"cluster {cluster}: target {value!r} is invalid; use legacy or a milestone 1, 2 or 3")


def _describe(state: Mapping[str, Any]) -> str:
    return "legacy" if state.get("type") != "kubevirt" else f"kubevirt milestone {state.get('milestone')}"


def _vm_requests(manifest: Mapping[str, Any]) -> Dict[str, int]:
    domain = manifest["spec"]["template"]["spec"]["domain"]
    requests = (domain.get("resources") or {}).get("requests") or {}
    memory = requests.get("memory") or (domain.get("memory") or {}).get("guest") or "0"
    cpu = domain.get("cpu") or {}
    vcpus = int(cpu.get("sockets") or 1) * int(cpu.get("cores") or 1) * int(cpu.get("threads") or 1)
    cpu_request = millicores(requests["cpu"]) if "cpu" in requests else vcpus * VCPU_REQUEST_MILLICORES
    return {"memory": parse_quantity(memory), "millicores": cpu_request}


def _node_allocatable(node: Optional[Mapping[str, Any]]) -> Dict[str, int]:
    allocatable = ((node or {}).get("status") or {}).get("allocatable") or {}
    return {"memory": parse_quantity(allocatable.get("memory", "0")), "millicores": millicores(allocatable.get("cpu", "0"))}


class _Cluster:
    def __init__(self, cluster: Any, current: Obj, target: Obj) -> None:
        self.cluster = cluster
        self.current, self.target = current, target
        self.blockers: List[str] = []
        self.warnings: List[str] = []
        self.vms: List[Obj] = []
        self.capacity: Obj = {}

    @property
    def moves_to_kubevirt(self) -> bool:
        return self.target["type"] == "kubevirt"

    def report(self) -> Obj:
        change = "none" if _describe(self.current) == _describe(self.target) else \
            f"{_describe(self.current)} -> {_describe(self.target)}"
        return {"name": str(self.cluster.name), "id": str(self.cluster.id), "current": _describe(self.current),
                "target": _describe(self.target), "change": change, "blockers": self.blockers,
                "warnings": self.warnings, "vms": self.vms, "capacity": self.capacity}


def preflight(ovirt: OvirtApi, kube: KubeApi, *, datacenter: str, targets: Mapping[str, Any], provider_name: str,
              namespace: str, storage_map: Mapping[str, Any], network_map: Mapping[str, Any],
              node_map: Optional[Mapping[str, str]] = None, connect: Optional[Callable[[], Any]] = None,
              max_workers: int = 4) -> Obj:
    """The upgrade plan: per cluster, what changes, what blocks and what warns. Reads only."""
    dc = ovirt.datacenter(datacenter)
    clusters = {str(c.name): c for c in ovirt.clusters()
                if str(getattr(getattr(c, "data_center", None), "id", "")) == str(dc.id)}
    unknown = sorted(set(targets) - set(clusters))
    if unknown:
        raise NotFoundError(f"datacenter {dc.name} has no cluster named {', '.join(unknown)} "
                            f"(its clusters: {', '.join(sorted(clusters)) or 'none'})")
    records = registry.current_records(kube)
    found_provider: Optional[Obj] = None
    provider_error = None
    try:
        found_provider = provider.load_provider(kube, provider_name, namespace)
    except BridgeError as exc:
        provider_error = str(exc)
    host_list = registry.host_nodes(ovirt, kube)
    nodes = {str((n.get("metadata") or {}).get("name")): n for n in _nodes(kube)}
    node_of = dict(node_map or {})
    vmis = {(v.get("metadata") or {}).get("name") for v in _vmis(kube, namespace)}

    plans = []
    for name in sorted(targets):
        cluster = clusters[name]
        record = records.get(str(cluster.id)) or {}
        current = {"type": record.get("type") or "legacy",
                   "milestone": int(record["milestone"]) if str(record.get("milestone") or "").isdigit() else None}
        plan = _Cluster(cluster, current, _target(targets[name], name))
        if plan.moves_to_kubevirt:
            if provider_error:
                plan.blockers.append(provider_error)
            _check_hosts(plan, [h for h in host_list if h["cluster_id"] == str(cluster.id)])
            _check_vms(plan, ovirt, namespace, storage_map, network_map, node_of, vmis, connect, max_workers)
            _check_capacity(plan, [h for h in host_list if h["cluster_id"] == str(cluster.id)], nodes, node_of)
            if found_provider is not None:
                _check_capabilities(plan, found_provider)
        elif current["type"] == "kubevirt":
            running = registry.running_vmis(kube, record.get("namespace") or namespace, str(cluster.id))
            if running:
                plan.blockers.append(f"back to legacy needs its VMs out of KubeVirt first: {', '.join(running)} run there")
        plans.append(plan.report())
    blockers = sum(len(p["blockers"]) for p in plans)
    return {"datacenter": str(dc.name), "provider": provider_name, "namespace": namespace, "clusters": plans,
            "blockers": blockers, "warnings": sum(len(p["warnings"]) for p in plans), "ready": blockers == 0,
            "changes": [p["name"] for p in plans if p["change"] != "none"]}


def _nodes(kube: KubeApi) -> List[Obj]:
    try:
        return kube.list("v1", "Node")[0]
    except BridgeError:
        return []


def _vmis(kube: KubeApi, namespace: str) -> List[Obj]:
    try:
        return kube.list(KUBEVIRT_API, "VirtualMachineInstance", namespace)[0]
    except (NotFoundError, BridgeError):
        return []


def _check_hosts(plan: _Cluster, hosts: Sequence[Obj]) -> None:
    if not hosts:
        plan.blockers.append("the cluster has no hosts: KubeVirt would have no node to run its VMs")
    for host in hosts:
        if host["status"] != "up":
            plan.warnings.append(f"host {host['name']} is {host['status']}; it is not checked")
        elif host["node_ready"] is None:
            plan.warnings.append(f"host {host['name']}: nodes are not readable with these credentials")
        elif not host["node"]:
            plan.blockers.append(f"host {host['name']} has no Kubernetes node of that name (or in node_map)")
        elif not host["node_ready"]:
            plan.blockers.append(f"host {host['name']}'s node is not Ready")


def _check_vms(plan: _Cluster, ovirt: OvirtApi, namespace: str, storage_map: Mapping[str, Any],
               network_map: Mapping[str, Any], node_of: Mapping[str, str], vmis: set,
               connect: Optional[Callable[[], Any]], max_workers: int) -> None:
    totals = {"memory": 0, "millicores": 0}
    vms = list(ovirt.vms(str(plan.cluster.name)))
    reads = run_parallel(ovirt, [representation_reader(str(vm.name)) for vm in vms], connect, max_workers)
    for vm, (rep, error) in zip(vms, reads, strict=True):
        status = status_of(vm)
        entry: Obj = {"name": str(vm.name), "status": status,
                      "runs_under": "ovirt" if status in MAY_RUN else
                      "kubevirt" if kubernetes_name(str(vm.name))[0] in vmis else "nothing"}
        try:
            if error is not None or rep is None:
                raise error or BridgeError(f"VM {vm.name}: its representation was not read")
            manifest, concerns = vm_manifest.representation_to_vm(rep, storage_map, network_map, namespace=namespace,
                                                                  node_map=node_of)
        except BridgeError as exc:
            plan.blockers.append(f"VM {vm.name} cannot be translated: {exc}")
            entry["concerns"] = []
            plan.vms.append(entry)
            continue
        entry["concerns"] = [c for c in concerns if c["category"] != "info"]
        for concern in entry["concerns"]:
            text = f"VM {vm.name}: {concern['message']}"
            (plan.blockers if concern["category"] == "critical" else plan.warnings).append(text)
        requests = _vm_requests(manifest)
        entry["requests"] = requests
        for key in totals:
            totals[key] += requests[key]
        plan.vms.append(entry)
    plan.capacity["requested"] = totals


def _check_capacity(plan: _Cluster, hosts: Sequence[Obj], nodes: Mapping[str, Obj], node_of: Mapping[str, str]) -> None:
    available = {"memory": 0, "millicores": 0}
    for host in hosts:
        node = nodes.get(node_of.get(host["name"], host["name"]))
        for key, value in _node_allocatable(node).items():
            available[key] += value
    plan.capacity["allocatable"] = available
    requested = plan.capacity.get("requested") or {}
    for key, unit, scale in (("memory", "GiB", 2**30), ("millicores", "CPUs", 1000)):
        if requested.get(key, 0) > available[key]:
            plan.blockers.append(f"the VMs request {requested[key] / scale:.1f} {unit} of {key if key == 'memory' else 'CPU'}"
                                 f" and the cluster's nodes offer {available[key] / scale:.1f}")


def _check_capabilities(plan: _Cluster, found: Obj) -> None:
    operations = (found.get("capabilities") or {}).get("operations") or {}
    needed, wanted = MILESTONE_NEEDS[plan.target["milestone"]]
    for op in needed:
        if not operations.get(op):
            plan.blockers.append(f"provider {found.get('name')} cannot {op} VMs (virt-api serves no {op} subresource)")
    for op in wanted:
        if not operations.get(op):
            plan.warnings.append(f"provider {found.get('name')} has no {op}: vm_operation will refuse it")


def markdown(plan: Mapping[str, Any]) -> str:
    """The plan as a Markdown report."""
    state = "ready" if plan["ready"] else f"blocked ({plan['blockers']} blocker(s))"
    lines = [f"# Upgrade plan for datacenter {plan['datacenter']}", "",
             f"Provider `{plan['provider']}`, namespace `{plan['namespace']}`: **{state}**, "
             f"{plan['warnings']} warning(s).", "",
             "| cluster | now | target | VMs | blockers | warnings |", "|---|---|---|---|---|---|"]
    for c in plan["clusters"]:
        lines.append(f"| {c['name']} | {c['current']} | {c['target']} | {len(c['vms'])} | {len(c['blockers'])} | "
                     f"{len(c['warnings'])} |")
    for c in plan["clusters"]:
        lines += ["", f"## {c['name']}: {c['change']}"]
        capacity = c.get("capacity") or {}
        if capacity.get("allocatable"):
            req, alloc = capacity["requested"], capacity["allocatable"]
            lines.append(f"Requests {req['memory'] / 2**30:.1f} GiB and {req['millicores'] / 1000:.1f} CPUs of "
                         f"{alloc['memory'] / 2**30:.1f} GiB and {alloc['millicores'] / 1000:.1f} CPUs allocatable.")
        for title, items in (("Blocks", c["blockers"]), ("Warns", c["warnings"])):
            if items:
                lines += ["", f"{title}:", *[f"- {item}" for item in items]]
    return "\n".join(lines) + "\n"


def summary_lines(plan: Mapping[str, Any]) -> List[str]:
    """A few readable lines for the task output."""
    lines = [f"datacenter {plan['datacenter']}: {'ready' if plan['ready'] else 'BLOCKED'}, "
             f"{plan['blockers']} blocker(s), {plan['warnings']} warning(s)"]
    for c in plan["clusters"]:
        lines.append(f"{c['name']}: {c['change']} ({len(c['vms'])} VMs, {len(c['blockers'])} blockers, "
                     f"{len(c['warnings'])} warnings)")
        lines += [f"  BLOCKS: {b}" for b in c["blockers"]]
    return lines


def dump_json(plan: Mapping[str, Any]) -> str:
    return json.dumps(plan, indent=2, sort_keys=True) + "\n"


# -- runtime snapshots ---------------------------------------------------------------

def snapshot(ovirt: OvirtApi, kube: KubeApi, datacenter: str) -> Dict[str, Obj]:
    """Every running VM of the datacenter: where it runs, on which host or node, since when."""
    dc = ovirt.datacenter(datacenter)
    cluster_ids = {str(c.id) for c in ovirt.clusters()
                   if str(getattr(getattr(c, "data_center", None), "id", "")) == str(dc.id)}
    hosts = {str(h.id): str(h.name) for h in ovirt.hosts()}
    records = registry.current_records(kube)
    result: Dict[str, Obj] = {}
    vms = list(ovirt.vms())
    names_by_id = {str(vm.id): str(vm.name) for vm in vms}
    for vm in vms:
        cluster_id = str(getattr(getattr(vm, "cluster", None), "id", ""))
        if cluster_id not in cluster_ids or status_of(vm) not in MAY_RUN:
            continue
        host_id = str(getattr(getattr(vm, "host", None), "id", "") or "")
        result[str(vm.name)] = {"runtime": "ovirt", "status": status_of(vm), "host": hosts.get(host_id, host_id),
                                "start_time": vm.start_time.isoformat() if getattr(vm, "start_time", None) else None}
    namespaces = {r.get("namespace") for cid, r in records.items() if cid in cluster_ids and r.get("type") == "kubevirt"}
    for ns in sorted(n for n in namespaces if n):
        for vmi in _vmis(kube, ns):
            vmi_labels = (vmi.get("metadata") or {}).get("labels") or {}
            if vmi_labels.get(registry.CLUSTER_ID_LABEL) not in cluster_ids:
                continue
            status = vmi.get("status") or {}
            if status.get("phase") != "Running":
                continue
            stamps = [t.get("phaseTransitionTimestamp") for t in status.get("phaseTransitionTimestamps") or []
                      if t.get("phase") == "Running"]
            name = names_by_id.get(vmi_labels.get(VM_ID_LABEL, ""), vmi["metadata"]["name"])
            result[name] = {"runtime": "kubevirt", "status": "up", "host": status.get("nodeName"),
                            "start_time": stamps[-1] if stamps else None, "uid": vmi["metadata"].get("uid")}
    return result


def disturbed(before: Mapping[str, Obj], after: Mapping[str, Obj]) -> List[str]:
    """Each VM that ran before and was stopped, restarted or moved, with what changed."""
    problems = []
    for name, was in sorted(before.items()):
        now = after.get(name)
        if now is None:
            problems.append(f"VM {name} was running ({was['runtime']} on {was['host']}) and is not running now")
            continue
        for key, what in (("runtime", "moved between oVirt and KubeVirt"), ("host", "moved"),
                          ("start_time", "restarted"), ("uid", "restarted")):
            if was.get(key) != now.get(key):
                problems.append(f"VM {name} was {what}: {key} {was.get(key)} -> {now.get(key)}")
                break
    return problems


def plan_result(plan: Dict[str, Any], report_dir: Optional[str]) -> Dict[str, Any]:
    """datacenter_upgrade_plan's result; with ``report_dir``, the plan also goes to a JSON and a Markdown file there."""
    result: Dict[str, Any] = {"changed": False, "plan": plan, "summary": summary_lines(plan)}
    if report_dir:
        os.makedirs(report_dir, exist_ok=True)
        base = os.path.join(report_dir, f"upgrade-plan-{plan['datacenter']}")
        for suffix, text in ((".json", dump_json(plan)), (".md", markdown(plan))):
            with open(base + suffix, "w", encoding="utf-8") as handle:
                handle.write(text)
        result["report_files"] = [base + ".json", base + ".md"]
    return result


def runtime_info(ovirt: OvirtApi, kube: KubeApi, datacenter: str, compare_to: Optional[Mapping[str, Obj]],
                 fail_on_change: bool) -> Dict[str, Any]:
    """vm_runtime_info's result: where each VM runs; with ``compare_to``, which running VMs were disturbed since."""
    vms = snapshot(ovirt, kube, datacenter)
    result: Dict[str, Any] = {"changed": False, "vms": vms}
    if compare_to is not None:
        result["disturbed"] = disturbed(compare_to, vms)
        if result["disturbed"] and fail_on_change:
            raise BridgeError(f"{len(result['disturbed'])} running VM(s) were disturbed: "
                              + "; ".join(result["disturbed"]), vms=vms, disturbed=result["disturbed"])
    return result
