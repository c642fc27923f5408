"""The initial engine state, derived from a lab topology.

State is plain JSON-able dicts keyed by id, so saving and restoring it is a
json.dump away. Every id is derived from names (labtopology.stable_id), so a
fresh lab and a restarted one agree on ids.
"""
from __future__ import annotations

import hashlib
from typing import Any

import labtopology

MIB = 1024 ** 2
GIB = 1024 ** 3
BLANK_TEMPLATE_ID = "00000000-0000-0000-0000-000000000000"
DEFAULT_NETWORK = "ovirtmgmt"
DEFAULT_STORAGE_DOMAIN = "data1"
SCHEMA = 1

DISK_KEYS = {"id", "alias", "name", "size_gib", "provisioned_size", "format", "sparse",
             "interface", "bootable", "storage_domain"}
NIC_KEYS = {"id", "name", "interface", "mac", "network"}
DISK_INTERFACES = {"ide", "sata", "spapr_vscsi", "virtio", "virtio_scsi"}
NIC_INTERFACES = {"e1000", "e1000e", "pci_passthrough", "rtl8139", "rtl8139_virtio", "spapr_vlan", "virtio"}
# A cluster's CPU type is the engine's family name for its hosts' CPU model.
CPU_FAMILIES = {
    "Skylake-Client-IBRS": "Intel Skylake Client IBRS Family",
    "Skylake-Server-IBRS": "Intel Skylake Server IBRS Family",
    "Cascadelake-Server": "Intel Cascadelake Server Family",
    "Icelake-Server": "Intel Icelake Server Family",
    "EPYC": "AMD EPYC",
}
RUNNING_AT_SEED = {"up", "paused"}

State = dict[str, Any]
Record = dict[str, Any]


class SeedError(ValueError):
    """The topology asks for something the fake cannot model; names the VM."""


def empty_state(now_ms: int) -> State:
    return {
        "schema": SCHEMA, "created_ms": now_ms, "next_event_index": 1,
        "datacenters": {}, "clusters": {}, "hosts": {}, "vms": {}, "disks": {}, "nics": {},
        "networks": {}, "vnic_profiles": {}, "storage_domains": {}, "templates": {}, "events": {},
    }


def build_state(topology: labtopology.Topology, now_ms: int) -> State:
    state = empty_state(now_ms)
    state["templates"][BLANK_TEMPLATE_ID] = blank_template(now_ms)
    for dc in topology.datacenters:
        state["datacenters"][dc.id] = {"id": dc.id, "name": dc.name, "version": _dc_version(dc)}
        ensure_network(state, dc.id, DEFAULT_NETWORK)
        for cluster in dc.clusters:
            _add_cluster(state, dc.id, cluster)
    ensure_storage_domain(state, DEFAULT_STORAGE_DOMAIN, next(iter(state["datacenters"]), None))
    for vm in topology.vms:
        _add_vm(state, vm, now_ms)
    return state


def blank_template(now_ms: int) -> Record:
    return {"id": BLANK_TEMPLATE_ID, "name": "Blank", "description": "Blank template",
            "memory": GIB, "cpu_sockets": 1, "cpu_cores": 1, "cpu_threads": 1, "os_type": "other",
            "creation_ms": now_ms, "disks": [], "nics": []}


def _dc_version(dc: labtopology.Datacenter) -> str:
    versions = sorted((c.version for c in dc.clusters), key=_version_key)
    return versions[0] if versions else "4.7"


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(p) for p in version.split(".") if p.isdigit())


def _add_cluster(state: State, dc_id: str, cluster: labtopology.Cluster) -> None:
    model = cluster.hosts[0].cpu_model if cluster.hosts else "Skylake-Client-IBRS"
    state["clusters"][cluster.id] = {
        "id": cluster.id, "name": cluster.name, "datacenter_id": dc_id, "version": cluster.version,
        "cpu_type": CPU_FAMILIES.get(model, model),
    }
    for host in cluster.hosts:
        state["hosts"][host.id] = {
            "id": host.id, "name": host.name, "cluster_id": cluster.id, "cpus": host.cpus,
            "memory": host.memory_mib * MIB, "status": host.status, "status_detail": None,
            "external_status": "ok", "cpu_model": host.cpu_model, "maintenance_reason": None,
            "devices": list(host.devices), "description": "", "comment": "", "pending": [],
        }


def _add_vm(state: State, vm: labtopology.Vm, now_ms: int) -> None:
    hosts_by_name = {h["name"]: h["id"] for h in state["hosts"].values()}
    host_id = hosts_by_name[vm.host] if vm.host else None
    if vm.status == "paused" and host_id is None:
        host_id = _first_host_of(state, vm.cluster)
    running = vm.status in RUNNING_AT_SEED
    record = new_vm_record(vm.id, vm.name, labtopology.stable_id("cluster", vm.cluster), now_ms)
    record.update({
        "status": vm.status, "host_id": host_id if running else None,
        "start_ms": now_ms if running else None, "memory": vm.memory_mib * MIB, "cpu_sockets": vm.cpus,
        "ha": vm.high_availability, "placement_host_ids": [hosts_by_name[h] for h in vm.placement_hosts],
        "custom_cpu_model": vm.cpu_model, "host_devices": list(vm.host_devices),
    })
    state["vms"][vm.id] = record
    disks = vm.disks or [{}]
    for index, spec in enumerate(disks):
        add_disk(state, vm.name, vm.id, index, _checked(spec, DISK_KEYS, vm.name, "disks"))
    nics = vm.nics or [{}]
    for index, spec in enumerate(nics):
        add_nic(state, vm.name, vm.id, index, _checked(spec, NIC_KEYS, vm.name, "nics"))


def _first_host_of(state: State, cluster_name: str) -> str | None:
    cluster_id = labtopology.stable_id("cluster", cluster_name)
    return next((h["id"] for h in state["hosts"].values() if h["cluster_id"] == cluster_id), None)


def new_vm_record(vm_id: str, name: str, cluster_id: str, now_ms: int) -> Record:
    """A down VM with the engine's defaults for the fields the topology omits."""
    return {
        "id": vm_id, "name": name, "cluster_id": cluster_id, "status": "down", "host_id": None,
        "start_ms": None, "stop_ms": None, "creation_ms": now_ms, "memory": GIB,
        "memory_guaranteed": None, "memory_max": None, "cpu_sockets": 1, "cpu_cores": 1, "cpu_threads": 1,
        "ha": False, "ha_priority": 1, "placement_host_ids": [], "affinity": "migratable",
        "os_type": "rhel_8x64", "bios_type": "q35_sea_bios", "custom_properties": [], "origin": "ovirt",
        "stateless": False, "delete_protected": False, "description": "", "comment": "",
        "template_id": BLANK_TEMPLATE_ID, "display": "spice", "migration": None, "pending": [],
    }


def _checked(spec: dict[str, Any], allowed: set[str], vm_name: str, what: str) -> dict[str, Any]:
    unknown = set(spec) - allowed
    if unknown:
        raise SeedError(f"vm {vm_name!r} {what}: unknown key(s) {sorted(unknown)}; allowed: {sorted(allowed)}")
    return spec


def add_disk(state: State, vm_name: str, vm_id: str, index: int, spec: dict[str, Any]) -> Record:
    """One disk plus its attachment (the engine gives both the disk's id)."""
    interface = str(spec.get("interface", "virtio_scsi"))
    disk_format = str(spec.get("format", "cow"))
    if interface not in DISK_INTERFACES or disk_format not in {"cow", "raw"}:
        raise SeedError(f"vm {vm_name!r} disk {index}: bad interface {interface!r} or format {disk_format!r}")
    size = int(spec.get("provisioned_size", int(spec.get("size_gib", 10)) * GIB))
    sd_name = str(spec.get("storage_domain", DEFAULT_STORAGE_DOMAIN))
    vm_dc = state["clusters"][state["vms"][vm_id]["cluster_id"]]["datacenter_id"]
    disk_id = str(spec.get("id", labtopology.stable_id("disk", f"{vm_name}/{index}")))
    record = {
        "id": disk_id, "alias": str(spec.get("alias", spec.get("name", f"{vm_name}_Disk{index + 1}"))),
        "provisioned_size": size, "format": disk_format, "sparse": bool(spec.get("sparse", disk_format == "cow")),
        "storage_domain_id": ensure_storage_domain(state, sd_name, vm_dc), "vm_id": vm_id,
        "interface": interface, "bootable": bool(spec.get("bootable", index == 0)), "active": True,
    }
    state["disks"][disk_id] = record
    return record


def add_nic(state: State, vm_name: str, vm_id: str, index: int, spec: dict[str, Any]) -> Record:
    interface = str(spec.get("interface", "virtio"))
    if interface not in NIC_INTERFACES:
        raise SeedError(f"vm {vm_name!r} nic {index}: unknown interface {interface!r}")
    vm_dc = state["clusters"][state["vms"][vm_id]["cluster_id"]]["datacenter_id"]
    network = ensure_network(state, vm_dc, str(spec.get("network", DEFAULT_NETWORK)))
    nic_id = str(spec.get("id", labtopology.stable_id("nic", f"{vm_name}/{index}")))
    record = {
        "id": nic_id, "vm_id": vm_id, "name": str(spec.get("name", f"nic{index + 1}")), "interface": interface,
        "mac": str(spec.get("mac", stable_mac(f"{vm_name}/{index}"))), "vnic_profile_id": network["profile_id"],
        "linked": True, "plugged": True,
    }
    state["nics"][nic_id] = record
    return record


def stable_mac(key: str) -> str:
    """A MAC in oVirt's default pool range (56:6f:...), derived from a name."""
    digest = hashlib.sha256(key.encode()).digest()
    return "56:6f:" + ":".join(f"{b:02x}" for b in digest[:4])


def ensure_network(state: State, dc_id: str, name: str) -> Record:
    """A network of a data center and its same-named vNIC profile."""
    network_id = labtopology.stable_id("network", f"{dc_id}/{name}")
    if network_id not in state["networks"]:
        profile_id = labtopology.stable_id("vnicprofile", f"{dc_id}/{name}")
        state["networks"][network_id] = {"id": network_id, "name": name, "datacenter_id": dc_id,
                                         "profile_id": profile_id}
        state["vnic_profiles"][profile_id] = {"id": profile_id, "name": name, "network_id": network_id}
    return state["networks"][network_id]


def ensure_storage_domain(state: State, name: str, dc_id: str | None) -> str:
    sd_id = labtopology.stable_id("storagedomain", name)
    if sd_id not in state["storage_domains"]:
        state["storage_domains"][sd_id] = {"id": sd_id, "name": name, "datacenter_id": dc_id,
                                           "size": 2048 * GIB}
    return sd_id
