# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ovirt_kubevirt.bridge contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""An oVirt VM's configuration, read through ovirtsdk4, as a typed VmConfig.

The REST API does not expose the engine's domxml. This reads what the engine's
own builder reads (the VM with all_content, its disks, NICs, vNIC profiles,
graphics, host devices, NUMA nodes and cluster) and fills a VmConfig, from
which ``domxml.build`` writes the domxml with the engine's placeholders for
host-local values. ``read_vm`` does the I/O; ``vm_config`` and
``scheduling_overrides`` are pure conversions of the SDK objects.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Callable, Dict, List, Literal, Mapping, Optional

from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.common.errors import InputError
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.common.services import OvirtApi
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.domxml.build import (
    engine_disk_path,
    engine_lease,
    engine_sysinfo,
)
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.domxml.read import host_device_source
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.domxml.representation import (
    VM_STATUSES,
    build_representation,
)
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.model.vm_config import (
    Clock,
    Console,
    Cpu,
    CpuTopology,
    CpuTune,
    Disk,
    Firmware,
    Graphics,
    HighAvailability,
    HostDevice,
    Nic,
    NumaNode,
    NumaTune,
    VcpuPin,
    VmConfig,
)

MIB = 1024 * 1024
# oVirt disk interface -> libvirt bus, and the guest device name prefix.
_DISK_BUS = {"virtio": ("virtio", "vd"), "virtio_scsi": ("scsi", "sd"), "sata": ("sata", "sd"), "ide": ("ide", "hd"),
             "spapr_vscsi": ("scsi", "sd")}
_NIC_MODEL = {"virtio": "virtio", "e1000": "e1000", "e1000e": "e1000e", "rtl8139": "rtl8139",
              "rtl8139_virtio": "rtl8139", "pci_passthrough": None}
_PLACEMENT = {"migratable": "migratable", "pinned": "pinned", "user_migratable": "user_migratable"}


@dataclasses.dataclass
class OvirtVm:
    """Everything read from the engine about one VM (SDK objects)."""

    vm: Any
    cluster: Any
    disk_attachments: List[Any]
    nics: List[Any]
    vnic_profiles: Dict[str, Any]
    networks: Dict[str, Any]
    graphics: List[Any]
    host_devices: List[Any]
    numa_nodes: List[Any]
    host_names: Dict[str, str]
    datacenter_id: Optional[str]
    storage_domain_names: Dict[str, str] = dataclasses.field(default_factory=dict)


def _value(enum: Any) -> Optional[str]:
    if enum is None:
        return None
    return str(getattr(enum, "value", enum))


def _graphics_type(protocol: Any) -> Literal["spice", "vnc"]:
    """The engine's graphics protocol; anything but SPICE is served as VNC, as before."""
    return "spice" if _value(protocol) == "spice" else "vnc"


def _list(service_call: Any) -> List[Any]:
    try:
        return list(service_call() or [])
    except Exception:  # pylint: disable=broad-except  # an engine without this collection has none
        return []


def read_vm(ovirt: OvirtApi, name_or_id: str) -> OvirtVm:
    """Read a VM and the objects its configuration refers to (OvirtService I/O)."""
    vm = ovirt.vm(name_or_id, all_content=True)
    system = ovirt.system
    vm_service = system.vms_service().vm_service(vm.id)
    cluster = ovirt.call("reading the VM's cluster", system.clusters_service().cluster_service(vm.cluster.id).get)
    attachments = ovirt.call("reading disk attachments", vm_service.disk_attachments_service().list)
    disks_service = system.disks_service()
    for attachment in attachments:
        attachment.disk = ovirt.call(f"reading disk {attachment.disk.id}", disks_service.disk_service(attachment.disk.id).get)
    domains: Dict[str, str] = {}
    for attachment in attachments:
        for domain in attachment.disk.storage_domains or []:
            if domain.id not in domains:
                domains[domain.id] = domain.name or ovirt.call(
                    "reading a storage domain", system.storage_domains_service().storage_domain_service(domain.id).get).name
    nics = ovirt.call("reading NICs", vm_service.nics_service().list)
    profiles: Dict[str, Any] = {}
    networks: Dict[str, Any] = {}
    for nic in nics:
        profile_id = nic.vnic_profile.id if nic.vnic_profile else None
        if profile_id and profile_id not in profiles:
            profiles[profile_id] = ovirt.call("reading a vNIC profile", system.vnic_profiles_service().profile_service(profile_id).get)
            network_id = profiles[profile_id].network.id if profiles[profile_id].network else None
            if network_id and network_id not in networks:
                networks[network_id] = ovirt.call("reading a network", system.networks_service().network_service(network_id).get)
    pinned = (vm.placement_policy.hosts or []) if vm.placement_policy else []
    host_names = {}
    for host in pinned:
        host_names[host.id] = host.name or ovirt.call("reading a pinned host", system.hosts_service().host_service(host.id).get).name
    return OvirtVm(
        vm=vm,
        cluster=cluster,
        disk_attachments=list(attachments),
        nics=list(nics),
        vnic_profiles=profiles,
        networks=networks,
        graphics=_list(vm_service.graphics_consoles_service().list),
        host_devices=_list(vm_service.host_devices_service().list),
        numa_nodes=_list(vm_service.numa_nodes_service().list),
        host_names=host_names,
        datacenter_id=cluster.data_center.id if cluster.data_center else None,
        storage_domain_names=domains,
    )


def vm_config(data: OvirtVm) -> VmConfig:
    """The VmConfig the engine's domxml builder would start from."""
    vm = data.vm
    if not vm.memory:
        raise InputError(f"VM {vm.name} has no memory size")
    topology = vm.cpu.topology if vm.cpu and vm.cpu.topology else None
    sockets, cores, threads = ((topology.sockets or 1), (topology.cores or 1), (topology.threads or 1)) if topology else (1, 1, 1)
    bios = _value(vm.bios.type) if vm.bios else None
    if bios in (None, "cluster_default") and data.cluster is not None and data.cluster.bios_type:
        bios = _value(data.cluster.bios_type)
    uefi = bool(bios and "ovmf" in bios or bios == "q35_secure_boot")
    memory_policy = vm.memory_policy
    return VmConfig(
        name=vm.name,
        uuid=vm.id,
        memory_kib=vm.memory // 1024,
        max_memory_kib=(memory_policy.max // 1024) if memory_policy and memory_policy.max else None,
        guaranteed_memory_mib=(memory_policy.guaranteed // MIB) if memory_policy and memory_policy.guaranteed else None,
        vcpus=sockets * cores * threads,
        topology=CpuTopology(sockets=sockets, cores=cores, threads=threads),
        cpu=Cpu(mode=_cpu_mode(vm), model=_cpu_model(vm, data.cluster)),
        cpu_tune=CpuTune(vcpu_pins=[VcpuPin(vcpu=p.vcpu, cpuset=p.cpu_set) for p in _vcpu_pins(vm)]),
        numa_nodes=[_numa_node(n) for n in data.numa_nodes],
        numa_tune=NumaTune(mode=_value(vm.numa_tune_mode) or "strict") if vm.numa_tune_mode and data.numa_nodes else None,
        machine_type=vm.custom_emulated_machine or (_q35_machine(bios)),
        firmware=Firmware(type="uefi" if uefi else "bios", secure_boot=bios == "q35_secure_boot"),
        os_type=vm.os.type if vm.os else None,
        clock=Clock(timezone=vm.time_zone.name if vm.time_zone else None),
        sysinfo=engine_sysinfo(vm.id),
        disks=[_disk(a, i, data.datacenter_id, data.storage_domain_names)
               for i, a in enumerate(_sorted_attachments(data.disk_attachments))],
        nics=[_nic(n, data) for n in data.nics],
        graphics=[Graphics(type=_graphics_type(g.protocol)) for g in data.graphics],
        console=Console() if vm.console and vm.console.enabled else None,
        balloon_model="virtio" if memory_policy and memory_policy.ballooning else "none",
        host_devices=[_host_device(h) for h in data.host_devices],
        leases=[engine_lease(vm.id, vm.lease.storage_domain.id)] if vm.lease and vm.lease.storage_domain else [],
        custom_properties={p.name: p.value for p in (vm.custom_properties or []) if p.name},
        high_availability=HighAvailability(
            enabled=bool(vm.high_availability and vm.high_availability.enabled),
            priority=int(vm.high_availability.priority or 0) if vm.high_availability else 0,
        ),
        cluster_version=_cluster_version(data.cluster),
        usb_redirection=1 if vm.usb and vm.usb.enabled else 0,
    )


def scheduling_overrides(data: OvirtVm) -> Dict[str, Any]:
    """What the engine knows about where the VM may run, for the representation."""
    vm = data.vm
    policy = vm.placement_policy
    pinned = [data.host_names.get(h.id, h.name or h.id) for h in (policy.hosts or [])] if policy else []
    affinity = _value(policy.affinity) if policy else None
    return {
        "cluster_id": vm.cluster.id if vm.cluster else None,
        "host": vm.host.id if vm.host else None,
        "host_pinning": bool(pinned) and affinity == "pinned",
        "pinned_hosts": pinned,
        "placement_policy": _PLACEMENT.get(affinity or "", "migratable"),
    }


def _cpu_mode(vm: Any) -> Optional[str]:
    mode = _value(vm.cpu.mode) if vm.cpu else None
    return {"host_passthrough": "host-passthrough", "host_model": "host-model", "custom": "custom"}.get(mode or "")


def _cpu_model(vm: Any, cluster: Any) -> Optional[str]:
    if vm.custom_cpu_model:
        return vm.custom_cpu_model
    cpu_type = cluster.cpu.type if cluster is not None and cluster.cpu else None
    return _cluster_cpu_model(cpu_type) if cpu_type else None


def _cluster_cpu_model(cpu_type: str) -> str:
    """The libvirt model behind an oVirt cluster CPU type name such as 'Intel Skylake Client IBRS SSBD'."""
    words = cpu_type.replace("Family", "").split()
    if words and words[0] in ("Intel", "AMD", "Secure"):
        words = [w for w in words if w not in ("Intel", "AMD", "Secure", "SSBD", "MDS", "Family")]
    return "-".join(words) if words else cpu_type


def _vcpu_pins(vm: Any) -> List[Any]:
    tune = vm.cpu.cpu_tune if vm.cpu else None
    return list(tune.vcpu_pins or []) if tune else []


def _numa_node(node: Any) -> NumaNode:
    cores = [c.index for c in (node.cpu.cores or [])] if node.cpu else []
    return NumaNode(index=node.index, cpus=",".join(str(c) for c in cores) or "0", memory_kib=(node.memory or 0) * 1024)


def _q35_machine(bios: Optional[str]) -> Optional[str]:
    return "q35" if bios and bios.startswith("q35") else None


def _cluster_version(cluster: Any) -> Optional[str]:
    version = cluster.version if cluster is not None else None
    return f"{version.major}.{version.minor}" if version and version.major is not None else None


def _sorted_attachments(attachments: List[Any]) -> List[Any]:
    # The boot disk first, as the engine orders boot devices.
    return sorted(attachments, key=lambda a: (not a.bootable, a.disk.alias or a.disk.name or a.disk.id))


def _disk(attachment: Any, index: int, pool_id: Optional[str], domain_names: Mapping[str, str]) -> Disk:
    disk = attachment.disk
    bus, prefix = _DISK_BUS.get(_value(attachment.interface) or "virtio", ("virtio", "vd"))
    domain = disk.storage_domains[0] if disk.storage_domains else None
    lun = disk.lun_storage if _value(disk.storage_type) == "lun" else None
    fmt = {"cow": "qcow2", "raw": "raw"}.get(_value(disk.format) or "")
    source = None
    if lun is None and pool_id and domain and disk.image_id:
        source = engine_disk_path(pool_id, domain.id, disk.id, disk.image_id)
    return Disk(
        target=f"{prefix}{chr(ord('a') + index)}",
        bus=bus,  # type: ignore[arg-type]
        device="lun" if lun is not None else "disk",
        source_type="block" if lun is not None else "file",
        source=f"/dev/mapper/{lun.id}" if lun is not None else source,
        image_id=disk.id,
        volume_id=disk.image_id,
        domain_id=domain.id if domain else None,
        pool_id=pool_id,
        lun_id=lun.id if lun is not None else None,
        name=disk.alias or disk.name,
        storage_domain=(domain.name or domain_names.get(domain.id)) if domain else None,
        size_bytes=disk.provisioned_size,
        format=fmt,  # type: ignore[arg-type]
        boot_order=1 if attachment.bootable else None,
        readonly=bool(attachment.read_only),
        shareable=bool(disk.shareable),
        serial=disk.id[:20] if disk.id else None,
    )


def _nic(nic: Any, data: OvirtVm) -> Nic:
    profile = data.vnic_profiles.get(nic.vnic_profile.id) if nic.vnic_profile else None
    network = data.networks.get(profile.network.id) if profile is not None and profile.network else None
    interface = _value(nic.interface) or "virtio"
    passthrough = interface == "pci_passthrough" or bool(
        profile is not None and profile.pass_through and _value(profile.pass_through.mode) == "enabled")
    if not nic.mac or not nic.mac.address:
        raise InputError(f"NIC {nic.name} of VM {data.vm.name} has no MAC address")
    return Nic(
        mac=nic.mac.address,
        model=None if passthrough else _NIC_MODEL.get(interface, "virtio"),
        type="hostdev" if passthrough else "bridge",
        name=nic.name,
        network=network.name if network is not None else None,
        vnic_profile=profile.name if profile is not None else None,
        link_up=nic.linked is not False,
    )


def _host_device(device: Any) -> HostDevice:
    kind = _value(device.capability) or "pci"
    if kind not in ("pci", "usb", "scsi", "mdev"):
        kind = "pci"
    # The engine writes the domxml source address from the device the name denotes.
    return HostDevice(kind=kind, name=device.name, source=host_device_source(kind, device.name))  # type: ignore[arg-type]


def describe(data: OvirtVm) -> Mapping[str, Any]:
    """A short summary for messages and results."""
    return {"id": data.vm.id, "name": data.vm.name, "cluster_id": data.vm.cluster.id if data.vm.cluster else None}


def ovirt_dynamic(vm: Any) -> Dict[str, Any]:
    """The runtime facts the engine reports for a VM, in the representation's terms."""
    status = getattr(vm.status, "value", None) if vm.status is not None else None
    dynamic: Dict[str, Any] = {}
    if status in VM_STATUSES:
        dynamic["status"] = status
    if vm.host is not None:
        dynamic["run_on_vds"] = vm.host.id
    if vm.start_time is not None:
        dynamic["start_time"] = vm.start_time.isoformat()
    return dynamic


def ovirt_representation(ovirt: OvirtApi, vm_name: str, scheduling: Optional[Mapping[str, Any]],
                         configuration_format: str) -> Dict[str, Any]:
    """The representation of a VM read from the oVirt engine; the caller's overrides win."""
    data = read_vm(ovirt, vm_name)
    overrides = scheduling_overrides(data)
    overrides.update(scheduling or {})
    return build_representation(
        vm_config(data), scheduling_overrides=overrides,
        configuration_format=configuration_format, dynamic=ovirt_dynamic(data.vm))


def representation_reader(vm_name: str) -> Callable[[OvirtApi], Dict[str, Any]]:
    """The engine read of one VM's representation (hybrid configuration, the engine's placement), for run_parallel."""
    return lambda ovirt: ovirt_representation(ovirt, vm_name, None, "hybrid")
