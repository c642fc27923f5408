# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ovirt_kubevirt.bridge contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""oVirt-side VM scheduling (milestone 1): filter the hosts, then weigh them.

The model is the engine's scheduling policy: a host passes every filter or is
rejected with the first filter that refuses it and why; the hosts left are
ranked by the policy's weight. Deterministic: equal scores are broken by host
name, in ascending order.

A host's load counts every VM placed on it, whether oVirt runs it or KubeVirt
runs it as a VMI on the node of the same name (the caller lists both in
``vms``). ``schedule_batch`` places VMs one after another, each placement
reserving its capacity, so a batch never overcommits a host.

Host shape (extra keys are ignored)::

    {name, status: up|maintenance|non_operational|..., cpus, memory_mib,
     reserved_memory_mib (default 0), cpu_model, labels: [..], devices: [..],
     vms: [{id, name, cpus, memory_mib, high_availability}]}

ovirt.ovirt's ``ovirt_host_info`` host dicts are accepted too (``memory`` in
bytes, ``cpu.topology``, ``cpu.type``, ``status``).
"""
from __future__ import annotations

import dataclasses
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.common.errors import BridgeError, InputError

POLICIES = ("even_distribution", "power_saving", "vm_count")
DEFAULT_POLICY = "even_distribution"
# oVirt's Intel and AMD CPU types, oldest first: a VM needs a host whose CPU
# is at least as new as the VM's model (the engine's CPU-Level filter).
CPU_LEVELS: Tuple[Tuple[str, ...], ...] = (
    ("Conroe", "Opteron_G1"),
    ("Penryn", "Opteron_G2"),
    ("Nehalem", "Opteron_G3"),
    ("Westmere", "Opteron_G4"),
    ("SandyBridge", "Opteron_G5"),
    ("IvyBridge",),
    ("Haswell", "Haswell-noTSX", "EPYC"),
    ("Broadwell", "Broadwell-noTSX"),
    ("Skylake-Client", "Skylake-Client-IBRS", "EPYC-IBPB"),
    ("Skylake-Server", "Skylake-Server-IBRS", "EPYC-Rome"),
    ("Cascadelake-Server", "EPYC-Milan"),
    ("Icelake-Server", "Icelake-Client"),
    ("SapphireRapids", "EPYC-Genoa"),
)
_CPU_LEVEL = {name.lower(): level for level, names in enumerate(CPU_LEVELS) for name in names}
_SCHEDULABLE_STATUSES = ("up",)


class NoHostError(BridgeError):
    """No host passes the filters; ``details['rejected']`` says why for each."""


@dataclasses.dataclass
class Load:
    vm_id: str
    name: str
    cpus: int
    memory_mib: int
    high_availability: bool = False


@dataclasses.dataclass
class Host:
    name: str
    status: str
    cpus: int
    memory_mib: int
    reserved_memory_mib: int = 0
    cpu_model: Optional[str] = None
    labels: Tuple[str, ...] = ()
    devices: Tuple[str, ...] = ()
    vms: List[Load] = dataclasses.field(default_factory=list)
    # Pods the host's Kubernetes node takes (its allocatable "pods"); None where it is not a node.
    max_pods: Optional[int] = None

    @property
    def used_cpus(self) -> int:
        return sum(v.cpus for v in self.vms)

    @property
    def free_memory_mib(self) -> int:
        return self.memory_mib - self.reserved_memory_mib - sum(v.memory_mib for v in self.vms)


@dataclasses.dataclass
class Request:
    """What one VM needs, read from its representation."""

    vm_id: str
    name: str
    vcpus: int
    memory_mib: int
    cpu_model: Optional[str]
    pinned_hosts: Tuple[str, ...]
    host_devices: Tuple[str, ...]
    labels: Tuple[str, ...]
    affinity_groups: Tuple[Mapping[str, Any], ...]
    high_availability: bool


# -- input normalisation -------------------------------------------------------


def parse_host(data: Mapping[str, Any]) -> Host:
    if not isinstance(data, Mapping) or not data.get("name"):
        raise InputError(f"a host must be a mapping with a name, got {data!r:.120}")
    cpus = data.get("cpus")
    if cpus is None and isinstance(data.get("cpu"), Mapping):
        topology = data["cpu"].get("topology") or {}
        cpus = int(topology.get("sockets", 1)) * int(topology.get("cores", 1)) * int(topology.get("threads", 1))
    memory_mib = data.get("memory_mib")
    if memory_mib is None and data.get("memory") is not None:
        memory_mib = int(data["memory"]) // (1024 * 1024)
    if not isinstance(cpus, int) or not isinstance(memory_mib, int):
        raise InputError(f"host {data['name']!r}: cpus and memory_mib (or cpu.topology and memory) are required")
    cpu_model = data.get("cpu_model")
    if cpu_model is None and isinstance(data.get("cpu"), Mapping):
        cpu_model = data["cpu"].get("type") or data["cpu"].get("name")
    return Host(
        name=str(data["name"]),
        status=_status(data.get("status", "up")),
        cpus=cpus,
        memory_mib=memory_mib,
        reserved_memory_mib=int(data.get("reserved_memory_mib", 0)),
        cpu_model=cpu_model,
        labels=tuple(str(x) for x in data.get("labels") or ()),
        devices=tuple(str(x) for x in data.get("devices") or ()),
        vms=[_load(v, data["name"]) for v in data.get("vms") or ()],
        max_pods=_optional_int(data.get("max_pods"), f"host {data['name']!r}: max_pods"),
    )


def _optional_int(value: Any, what: str) -> Optional[int]:
    if value is None:
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise InputError(f"{what} must be an integer, got {value!r:.60}") from None


def _status(value: Any) -> str:
    return str(getattr(value, "value", value)).lower()


def _load(data: Mapping[str, Any], host: str) -> Load:
    try:
        return Load(vm_id=str(data.get("id") or data["name"]), name=str(data.get("name") or data["id"]),
                    cpus=int(data["cpus"]), memory_mib=int(data["memory_mib"]),
                    high_availability=bool(data.get("high_availability", False)))
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError(f"host {host!r}: each of its vms needs name (or id), cpus and memory_mib ({exc})") from exc


def parse_request(representation: Mapping[str, Any]) -> Request:
    """The scheduling needs of a VM representation."""
    if not isinstance(representation, Mapping) or not isinstance(representation.get("scheduling"), Mapping):
        raise InputError("expected a VM representation with a 'scheduling' part")
    scheduling = representation["scheduling"]
    configuration = representation.get("configuration") or {}
    cpu = scheduling.get("cpu_request") or {}
    memory = scheduling.get("memory_request") or {}
    memory_kib = memory.get("guaranteed_kib") or memory.get("memory_kib")
    if not cpu.get("vcpus") or not memory_kib:
        raise InputError("the representation's scheduling part has no cpu_request.vcpus or memory_request")
    ha = scheduling.get("high_availability") or {}
    return Request(
        vm_id=str(configuration.get("uuid") or configuration.get("name") or "vm"),
        name=str(configuration.get("name") or configuration.get("uuid") or "vm"),
        vcpus=int(cpu["vcpus"]),
        memory_mib=-(-int(memory_kib) // 1024),
        cpu_model=(configuration.get("cpu") or {}).get("model") if isinstance(configuration.get("cpu"), Mapping) else None,
        pinned_hosts=tuple(scheduling.get("pinned_hosts") or ()),
        host_devices=tuple(d["name"] for d in scheduling.get("host_devices") or ()),
        labels=tuple(scheduling.get("affinity_labels") or ()),
        affinity_groups=tuple(scheduling.get("affinity_groups") or ()),
        high_availability=bool(ha.get("enabled")),
    )


# -- filters ---------------------------------------------------------------------


def _filter_status(host: Host, request: Request, hosts: Sequence[Host]) -> Optional[str]:
    if host.status not in _SCHEDULABLE_STATUSES:
        return f"host status is {host.status}"
    return None


def _filter_pin_to_host(host: Host, request: Request, hosts: Sequence[Host]) -> Optional[str]:
    if request.pinned_hosts and host.name not in request.pinned_hosts:
        return f"the VM is pinned to {', '.join(request.pinned_hosts)}"
    return None


def _filter_memory(host: Host, request: Request, hosts: Sequence[Host]) -> Optional[str]:
    if host.free_memory_mib < request.memory_mib:
        return f"{max(host.free_memory_mib, 0)} MiB free, the VM needs {request.memory_mib} MiB"
    return None


def _filter_cpu(host: Host, request: Request, hosts: Sequence[Host]) -> Optional[str]:
    if host.cpus < request.vcpus:
        return f"{host.cpus} CPUs, the VM has {request.vcpus} vCPUs"
    return None


def _filter_cpu_level(host: Host, request: Request, hosts: Sequence[Host]) -> Optional[str]:
    needed = _CPU_LEVEL.get((request.cpu_model or "").lower())
    if needed is None:
        return None
    offered = _CPU_LEVEL.get((host.cpu_model or "").lower())
    if offered is None or offered < needed:
        return f"host CPU {host.cpu_model or 'unknown'} is older than the VM's CPU model {request.cpu_model}"
    return None


def _filter_host_devices(host: Host, request: Request, hosts: Sequence[Host]) -> Optional[str]:
    missing = [d for d in request.host_devices if d not in host.devices]
    if missing:
        return f"host lacks device(s) {', '.join(missing)}"
    return None


def _filter_labels(host: Host, request: Request, hosts: Sequence[Host]) -> Optional[str]:
    missing = [label for label in request.labels if label not in host.labels]
    if missing:
        return f"host lacks affinity label(s) {', '.join(missing)}"
    return None


def _group_vm_hosts(group: Mapping[str, Any], request: Request, hosts: Sequence[Host]) -> set:
    members = set(group.get("vms") or ()) - {request.vm_id, request.name}
    return {h.name for h in hosts for v in h.vms if v.vm_id in members or v.name in members}


def _filter_vm_affinity(host: Host, request: Request, hosts: Sequence[Host]) -> Optional[str]:
    for group in request.affinity_groups:
        if not group.get("vm_enforcing"):
            continue
        where = _group_vm_hosts(group, request, hosts)
        if group.get("vm_rule") == "positive" and where and host.name not in where:
            return f"affinity group {group['name']}: its VMs run on {', '.join(sorted(where))}"
        if group.get("vm_rule") == "negative" and host.name in where:
            return f"affinity group {group['name']}: another VM of the group runs here"
    return None


def _filter_host_affinity(host: Host, request: Request, hosts: Sequence[Host]) -> Optional[str]:
    for group in request.affinity_groups:
        group_hosts = set(group.get("hosts") or ())
        if not group.get("host_enforcing") or not group_hosts:
            continue
        if group.get("host_rule") == "positive" and host.name not in group_hosts:
            return f"affinity group {group['name']}: the VM must run on {', '.join(sorted(group_hosts))}"
        if group.get("host_rule") == "negative" and host.name in group_hosts:
            return f"affinity group {group['name']}: the VM must not run on this host"
    return None


def _filter_pods(host: Host, request: Request, hosts: Sequence[Host]) -> Optional[str]:
    """Each VM in KubeVirt is one pod; a node full of pods refuses the VM whatever its CPU and memory."""
    if host.max_pods is not None and len(host.vms) + 1 > host.max_pods:
        return f"its node takes at most {host.max_pods} pods and {len(host.vms)} VMs run there"
    return None


def _filter_ha_reservation(host: Host, request: Request, hosts: Sequence[Host]) -> Optional[str]:
    """Placing the VM here must leave the other up hosts room to restart this host's HA VMs."""
    if not request.high_availability:
        return None
    ha_memory = sum(v.memory_mib for v in host.vms if v.high_availability) + request.memory_mib
    spare = sum(max(h.free_memory_mib, 0) for h in hosts if h.name != host.name and h.status in _SCHEDULABLE_STATUSES)
    if spare < ha_memory:
        return f"HA reservation: other hosts have {spare} MiB free, this host's HA VMs would need {ha_memory} MiB"
    return None


FILTERS = (
    ("Status", _filter_status),
    ("PinToHost", _filter_pin_to_host),
    ("Memory", _filter_memory),
    ("CPU", _filter_cpu),
    ("Pods", _filter_pods),
    ("CPU-Level", _filter_cpu_level),
    ("HostDevice", _filter_host_devices),
    ("Label", _filter_labels),
    ("VmAffinityGroups", _filter_vm_affinity),
    ("VmToHostsAffinityGroups", _filter_host_affinity),
    ("HA", _filter_ha_reservation),
)


# -- weights (lower is better, as in the engine) ------------------------------------


def _weight(policy: str, host: Host, request: Request) -> float:
    cpu_load = (host.used_cpus + request.vcpus) / max(host.cpus, 1)
    memory_load = 1 - (host.free_memory_mib - request.memory_mib) / max(host.memory_mib, 1)
    if policy == "even_distribution":
        return round(cpu_load + memory_load, 6)
    if policy == "power_saving":
        return round(2 - cpu_load - memory_load, 6)
    return float(len(host.vms))


def _soft_affinity_penalty(host: Host, request: Request, hosts: Sequence[Host]) -> float:
    penalty = 0.0
    for group in request.affinity_groups:
        if not group.get("vm_enforcing"):
            where = _group_vm_hosts(group, request, hosts)
            if group.get("vm_rule") == "positive" and where and host.name not in where:
                penalty += 10
            if group.get("vm_rule") == "negative" and host.name in where:
                penalty += 10
        if not group.get("host_enforcing") and group.get("hosts"):
            inside = host.name in group["hosts"]
            if (group.get("host_rule") == "positive") != inside and group.get("host_rule") in ("positive", "negative"):
                penalty += 10
    return penalty


# -- scheduling ----------------------------------------------------------------------


def schedule(hosts: Sequence[Host], request: Request, policy: str = DEFAULT_POLICY) -> Dict[str, Any]:
    """``{host, candidates, rejected}`` for one VM; host is None when nothing fits."""
    if policy not in POLICIES:
        raise InputError(f"unknown scheduling policy {policy!r}; use one of {', '.join(POLICIES)}")
    rejected: List[Dict[str, str]] = []
    passed: List[Host] = []
    for host in hosts:
        for filter_name, check in FILTERS:
            reason = check(host, request, hosts)
            if reason:
                rejected.append({"host": host.name, "filter": filter_name, "reason": reason})
                break
        else:
            passed.append(host)
    scored = sorted(
        ((_weight(policy, h, request) + _soft_affinity_penalty(h, request, hosts), h.name) for h in passed),
    )
    candidates = [{"host": name, "score": score, "rank": rank} for rank, (score, name) in enumerate(scored, 1)]
    return {"host": candidates[0]["host"] if candidates else None, "candidates": candidates, "rejected": rejected}


def no_host_error(vm_name: str, result: Mapping[str, Any]) -> NoHostError:
    reasons = "; ".join(f"{r['host']}: {r['filter']} ({r['reason']})" for r in result["rejected"]) or "no hosts given"
    return NoHostError(f"no host can run VM {vm_name}: {reasons}", rejected=result["rejected"])


def schedule_batch(hosts: Sequence[Host], requests: Sequence[Request], policy: str = DEFAULT_POLICY) -> List[Dict[str, Any]]:
    """Schedule VMs in order; each placement reserves its capacity for the next."""
    results = []
    for request in requests:
        result = schedule(hosts, request, policy)
        if result["host"]:
            reserve(hosts, result["host"], request)
        results.append(dict(result, vm=request.name))
    return results


def reserve(hosts: Sequence[Host], host_name: str, request: Request) -> None:
    """Count a placed VM in its host's load, so the next placement sees it."""
    chosen = next(h for h in hosts if h.name == host_name)
    chosen.vms.append(Load(request.vm_id, request.name, request.vcpus, request.memory_mib, request.high_availability))
