"""The lab topology: datacenters, clusters, hosts (also Kubernetes nodes) and VMs.

One loader for every lab component, strict by design: an unknown key, a
missing name or a duplicate is an error that names the path, so a typo in a
topology never silently becomes a default.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

# Fixed namespace so every lab derives the same object ids from the same names.
_ID_NAMESPACE = uuid.UUID("6f0c2a4e-8d1b-4f5e-9a51-0b1d2c3e4f50")

HOST_FAULT_KEYS = {"fail_launches", "launch_delay_s", "not_ready_after_s", "fail_migrations_in"}
VM_FAULT_KEYS = {"crash_after_s"}
VM_STATUSES = {"up", "down", "paused", "suspended"}
VM_ROLLOUT_STRATEGIES = {"LiveUpdate", "Stage"}
WORKLOAD_UPDATE_METHODS = {"LiveMigrate", "Evict"}


class TopologyError(ValueError):
    """The topology file is malformed; the message names the offending path."""


@dataclass(frozen=True)
class Host:
    name: str
    cluster: str
    cpus: int
    memory_mib: int
    labels: dict[str, str] = field(default_factory=dict)
    taints: list[dict[str, str]] = field(default_factory=list)
    faults: dict[str, float] = field(default_factory=dict)
    status: str = "up"
    cpu_model: str = "Skylake-Client-IBRS"
    devices: list[str] = field(default_factory=list)
    machine_types: list[str] = field(default_factory=list)  # what QEMU on the node offers; a default list if empty

    @property
    def id(self) -> str:
        return stable_id("host", self.name)


@dataclass(frozen=True)
class Vm:
    name: str
    cluster: str
    cpus: int
    memory_mib: int
    status: str = "down"
    host: str | None = None
    high_availability: bool = False
    placement_hosts: list[str] = field(default_factory=list)
    faults: dict[str, float] = field(default_factory=dict)
    disks: list[dict[str, Any]] = field(default_factory=list)
    nics: list[dict[str, Any]] = field(default_factory=list)
    cpu_model: str | None = None          # oVirt custom CPU model; the cluster's CPU type otherwise
    host_devices: list[str] = field(default_factory=list)   # oVirt host device names passed through
    guest_agent: bool = False   # the guest runs the QEMU guest agent (guest OS data, AgentConnected)

    @property
    def id(self) -> str:
        return stable_id("vm", self.name)


@dataclass(frozen=True)
class Cluster:
    name: str
    datacenter: str
    version: str
    hosts: list[Host]
    vms: list[Vm]

    @property
    def id(self) -> str:
        return stable_id("cluster", self.name)


@dataclass(frozen=True)
class Datacenter:
    name: str
    clusters: list[Cluster]

    @property
    def id(self) -> str:
        return stable_id("datacenter", self.name)


@dataclass(frozen=True)
class KubeVirtSettings:
    """The real KubeVirt control plane's configuration (``labctl up --kubevirt real``); KubeVirt's
    own defaults where a key is left out."""

    feature_gates: list[str] = field(default_factory=list)
    vm_rollout_strategy: str | None = None
    workload_update_methods: list[str] | None = None
    cpu_allocation_ratio: int | None = None
    import_delay_s: float = 2.0      # the DataVolume importer stand-in: time to Succeeded
    fail_imports: int = 0            # the next N DataVolume imports fail

    def as_dict(self) -> dict[str, Any]:
        return {"feature_gates": self.feature_gates, "vm_rollout_strategy": self.vm_rollout_strategy,
                "workload_update_methods": self.workload_update_methods,
                "cpu_allocation_ratio": self.cpu_allocation_ratio}


@dataclass(frozen=True)
class Topology:
    datacenters: list[Datacenter]
    kubevirt: KubeVirtSettings = field(default_factory=KubeVirtSettings)

    @property
    def clusters(self) -> list[Cluster]:
        return [c for dc in self.datacenters for c in dc.clusters]

    @property
    def hosts(self) -> list[Host]:
        return [h for c in self.clusters for h in c.hosts]

    @property
    def vms(self) -> list[Vm]:
        return [v for c in self.clusters for v in c.vms]


def stable_id(kind: str, name: str) -> str:
    """A deterministic UUID for a named lab object, so ids survive restarts."""
    return str(uuid.uuid5(_ID_NAMESPACE, f"{kind}/{name}"))


def load(path: str | Path) -> Topology:
    with open(path, encoding="utf-8") as handle:
        data = yaml.safe_load(handle)
    return parse(data)


def parse(data: Any) -> Topology:
    root = _mapping(data, "topology", required={"datacenters"}, optional={"kubevirt"})
    datacenters = [_datacenter(d, f"datacenters[{i}]") for i, d in enumerate(_list(root["datacenters"], "datacenters"))]
    topology = Topology(datacenters, _kubevirt(root.get("kubevirt", {}), "kubevirt"))
    _check_unique([dc.name for dc in datacenters], "datacenter")
    _check_unique([c.name for c in topology.clusters], "cluster")
    _check_unique([h.name for h in topology.hosts], "host")
    _check_unique([v.name for v in topology.vms], "vm")
    _check_references(topology)
    return topology


def _kubevirt(data: Any, path: str) -> KubeVirtSettings:
    d = _mapping(data, path, required=set(), optional={"feature_gates", "vm_rollout_strategy",
                                                       "workload_update_methods", "cpu_allocation_ratio",
                                                       "import_delay_s", "fail_imports"})
    strategy = d.get("vm_rollout_strategy")
    if strategy is not None and strategy not in VM_ROLLOUT_STRATEGIES:
        raise TopologyError(f"{path}.vm_rollout_strategy: {strategy!r} is not one of {sorted(VM_ROLLOUT_STRATEGIES)}")
    methods = d.get("workload_update_methods")
    if methods is not None:
        methods = [_str(m, f"{path}.workload_update_methods") for m in _list(methods, f"{path}.workload_update_methods")]
        unknown = set(methods) - WORKLOAD_UPDATE_METHODS
        if unknown:
            raise TopologyError(f"{path}.workload_update_methods: unknown {sorted(unknown)}; "
                                f"allowed: {sorted(WORKLOAD_UPDATE_METHODS)}")
    ratio = d.get("cpu_allocation_ratio")
    return KubeVirtSettings(
        feature_gates=[_str(g, f"{path}.feature_gates") for g in _list(d.get("feature_gates", []), f"{path}.feature_gates")],
        vm_rollout_strategy=strategy,
        workload_update_methods=methods,
        cpu_allocation_ratio=_positive_int(ratio, f"{path}.cpu_allocation_ratio") if ratio is not None else None,
        import_delay_s=_non_negative(d.get("import_delay_s", 2.0), f"{path}.import_delay_s"),
        fail_imports=int(_non_negative(d.get("fail_imports", 0), f"{path}.fail_imports")),
    )


def _datacenter(data: Any, path: str) -> Datacenter:
    d = _mapping(data, path, required={"name", "clusters"}, optional=set())
    name = _str(d["name"], f"{path}.name")
    clusters = [_cluster(c, name, f"{path}.clusters[{i}]") for i, c in enumerate(_list(d["clusters"], f"{path}.clusters"))]
    return Datacenter(name=name, clusters=clusters)


def _cluster(data: Any, datacenter: str, path: str) -> Cluster:
    d = _mapping(data, path, required={"name"}, optional={"version", "hosts", "vms"})
    name = _str(d["name"], f"{path}.name")
    hosts = [_host(h, name, f"{path}.hosts[{i}]") for i, h in enumerate(_list(d.get("hosts", []), f"{path}.hosts"))]
    vms = [_vm(v, name, f"{path}.vms[{i}]") for i, v in enumerate(_list(d.get("vms", []), f"{path}.vms"))]
    return Cluster(name=name, datacenter=datacenter, version=str(d.get("version", "4.7")), hosts=hosts, vms=vms)


def _host(data: Any, cluster: str, path: str) -> Host:
    d = _mapping(
        data, path,
        required={"name", "cpus", "memory_mib"},
        optional={"labels", "taints", "faults", "status", "cpu_model", "devices", "machine_types"},
    )
    faults = _mapping(d.get("faults", {}), f"{path}.faults", required=set(), optional=HOST_FAULT_KEYS)
    status = _str(d.get("status", "up"), f"{path}.status")
    if status not in {"up", "maintenance", "non_operational", "down"}:
        raise TopologyError(f"{path}.status: unknown host status {status!r}")
    return Host(
        name=_str(d["name"], f"{path}.name"),
        cluster=cluster,
        cpus=_positive_int(d["cpus"], f"{path}.cpus"),
        memory_mib=_positive_int(d["memory_mib"], f"{path}.memory_mib"),
        labels={str(k): str(v) for k, v in _mapping(d.get("labels", {}), f"{path}.labels").items()},
        taints=[_taint(t, f"{path}.taints[{i}]") for i, t in enumerate(_list(d.get("taints", []), f"{path}.taints"))],
        faults={k: _non_negative(v, f"{path}.faults.{k}") for k, v in faults.items()},
        status=status,
        cpu_model=_str(d.get("cpu_model", "Skylake-Client-IBRS"), f"{path}.cpu_model"),
        devices=[_str(x, f"{path}.devices") for x in _list(d.get("devices", []), f"{path}.devices")],
        machine_types=[_str(x, f"{path}.machine_types")
                       for x in _list(d.get("machine_types", []), f"{path}.machine_types")],
    )


def _vm(data: Any, cluster: str, path: str) -> Vm:
    d = _mapping(
        data, path,
        required={"name", "cpus", "memory_mib"},
        optional={"status", "host", "high_availability", "placement_hosts", "faults", "disks", "nics", "cpu_model",
                  "host_devices", "guest_agent"},
    )
    faults = _mapping(d.get("faults", {}), f"{path}.faults", required=set(), optional=VM_FAULT_KEYS)
    status = _str(d.get("status", "down"), f"{path}.status")
    if status not in VM_STATUSES:
        raise TopologyError(f"{path}.status: unknown VM status {status!r} (expected one of {sorted(VM_STATUSES)})")
    host = d.get("host")
    if status == "up" and not host:
        raise TopologyError(f"{path}: a VM with status up needs a host")
    return Vm(
        name=_str(d["name"], f"{path}.name"),
        cluster=cluster,
        cpus=_positive_int(d["cpus"], f"{path}.cpus"),
        memory_mib=_positive_int(d["memory_mib"], f"{path}.memory_mib"),
        status=status,
        host=_str(host, f"{path}.host") if host else None,
        high_availability=bool(d.get("high_availability", False)),
        placement_hosts=[_str(h, f"{path}.placement_hosts") for h in _list(d.get("placement_hosts", []), f"{path}.placement_hosts")],
        faults={k: _non_negative(v, f"{path}.faults.{k}") for k, v in faults.items()},
        disks=[_mapping(x, f"{path}.disks[{i}]") for i, x in enumerate(_list(d.get("disks", []), f"{path}.disks"))],
        nics=[_mapping(x, f"{path}.nics[{i}]") for i, x in enumerate(_list(d.get("nics", []), f"{path}.nics"))],
        cpu_model=_str(d["cpu_model"], f"{path}.cpu_model") if "cpu_model" in d else None,
        host_devices=[_str(x, f"{path}.host_devices") for x in _list(d.get("host_devices", []), f"{path}.host_devices")],
        guest_agent=bool(d.get("guest_agent", False)),
    )


def _taint(data: Any, path: str) -> dict[str, str]:
    d = _mapping(data, path, required={"key", "effect"}, optional={"value"})
    effect = _str(d["effect"], f"{path}.effect")
    if effect not in {"NoSchedule", "PreferNoSchedule", "NoExecute"}:
        raise TopologyError(f"{path}.effect: unknown taint effect {effect!r}")
    taint = {"key": _str(d["key"], f"{path}.key"), "effect": effect}
    if "value" in d:
        taint["value"] = str(d["value"])
    return taint


def _check_unique(names: list[str], kind: str) -> None:
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise TopologyError(f"duplicate {kind} name {name!r}")
        seen.add(name)


def _check_references(topology: Topology) -> None:
    hosts = {h.name: h for h in topology.hosts}
    for vm in topology.vms:
        for ref in ([vm.host] if vm.host else []) + vm.placement_hosts:
            if ref not in hosts:
                raise TopologyError(f"vm {vm.name!r} names unknown host {ref!r}")


def _mapping(data: Any, path: str, required: set[str] | None = None, optional: set[str] | None = None) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise TopologyError(f"{path}: expected a mapping, got {type(data).__name__}")
    if required is not None:
        missing = required - data.keys()
        if missing:
            raise TopologyError(f"{path}: missing key(s) {sorted(missing)}")
        unknown = data.keys() - required - (optional or set())
        if unknown:
            allowed = sorted(required | (optional or set()))
            raise TopologyError(f"{path}: unknown key(s) {sorted(map(str, unknown))}; allowed: {allowed}")
    return data


def _list(data: Any, path: str) -> list[Any]:
    if not isinstance(data, list):
        raise TopologyError(f"{path}: expected a list, got {type(data).__name__}")
    return data


def _str(data: Any, path: str) -> str:
    if not isinstance(data, str) or not data:
        raise TopologyError(f"{path}: expected a non-empty string")
    return data


def _positive_int(data: Any, path: str) -> int:
    if isinstance(data, bool) or not isinstance(data, int) or data <= 0:
        raise TopologyError(f"{path}: expected a positive integer, got {data!r}")
    return data


def _non_negative(data: Any, path: str) -> float:
    if isinstance(data, bool) or not isinstance(data, (int, float)) or data < 0:
        raise TopologyError(f"{path}: expected a non-negative number, got {data!r}")
    return float(data)
