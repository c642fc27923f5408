# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ovirt_kubevirt.bridge contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Write a domxml from a typed ``VmConfig``, shaped like the engine's own.

The element order and metadata follow ovirt-engine's LibvirtVmXmlBuilder
(``buildCreateVm``): name, uuid, memory, iothreads, maxMemory, vcpu, sysinfo,
clock, lifecycle, features, numatune, cpu, cputune, devices, pm, os,
memoryBacking, metadata. Devices come in the engine's order too: inputs, guest
agent channels, the per-device group (video, rng, controllers, graphics, sound,
balloon, console, watchdog...), serial console, SPICE agent channel,
interfaces, then CD-ROMs, floppies, disks and leases.

Host-local values stay the engine's placeholders when the configuration holds
them (``engine_sysinfo`` gives ``OS-NAME:``/``OS-VERSION:``/``HOST-SERIAL:``,
``engine_lease`` gives ``LEASE-PATH:``/``LEASE-OFFSET:``, ``engine_disk_path``
the ``/rhev/data-center/`` path); see ``placeholders``.

What the engine's XML has no place for (disk names, sizes and storage domain
names, vNIC profile names, OS type, time zone name, high availability) goes
into this collection's ``ovirt-kubevirt:vm`` metadata, so ``domxml.read``
gives back the same configuration.
"""
from __future__ import annotations

from typing import Any, Dict, Iterable, Optional

from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.common.errors import InputError
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.domxml.parse import require_lxml
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.domxml.read import (
    BRIDGE_NS,
    BRIDGE_PREFIX,
    OVIRT_TUNE_NS,
    OVIRT_TUNE_PREFIX,
    OVIRT_VM_NS,
    OVIRT_VM_PREFIX,
)
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.model.vm_config import (
    Disk,
    Lease,
    Nic,
    VmConfig,
)

XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>'
# The engine's UEFI firmware files (OVMF as shipped on oVirt hosts).
OVMF_CODE = "/usr/share/OVMF/OVMF_CODE.secboot.fd"
OVMF_VARS_SECURE = "/usr/share/OVMF/OVMF_VARS.secboot.fd"
OVMF_VARS = "/usr/share/OVMF/OVMF_VARS.fd"
NVRAM_DIR = "/var/lib/libvirt/qemu/nvram"
BOOT_MENU_TIMEOUT_MS = "30000"
_DISK_KIND_ORDER = {"cdrom": 0, "floppy": 1, "disk": 2, "lun": 2}


def engine_sysinfo(uuid: str) -> Dict[str, str]:
    """The SMBIOS entries the engine writes, host-local values as placeholders."""
    return {
        "manufacturer": "oVirt",
        "product": "OS-NAME:",
        "version": "OS-VERSION:",
        "serial": "HOST-SERIAL:",
        "uuid": uuid,
    }


def engine_lease(key: str, storage_domain_id: str) -> Lease:
    """A lease whose path and offset VDSM fills in (engine writeLeases)."""
    return Lease(
        key=key,
        lockspace=storage_domain_id,
        path=f"LEASE-PATH:{key}:{storage_domain_id}",
        offset=f"LEASE-OFFSET:{key}:{storage_domain_id}",
    )


def engine_disk_path(pool_id: str, domain_id: str, image_id: str, volume_id: str) -> str:
    """The host path the engine gives an image disk; VDSM prepares it on the host."""
    return f"/rhev/data-center/{pool_id}/{domain_id}/images/{image_id}/{volume_id}"


def build_domxml(config: VmConfig) -> str:
    """The domxml text (UTF-8 XML declaration included) of a configuration."""
    etree = require_lxml()
    try:
        root = _Builder(etree, config).domain()
        return XML_DECLARATION + etree.tostring(root, encoding="unicode")
    except ValueError as exc:  # lxml refuses names and texts that are not XML
        raise InputError(f"cannot write a domxml for VM {config.name!r}: {exc}") from None


def _text(value: Any) -> str:
    return "yes" if value is True else "no" if value is False else str(value)


class _Builder:
    """One domxml being written; methods follow the engine's write* order."""

    def __init__(self, etree: Any, config: VmConfig) -> None:
        self.etree = etree
        self.config = config

    # -- helpers --

    def sub(self, parent: Any, tag: str, attrs: Optional[Dict[str, Any]] = None, text: Any = None) -> Any:
        element = self.etree.SubElement(parent, tag)
        for key, value in (attrs or {}).items():
            if value is not None:
                element.set(key, _text(value))
        if text is not None:
            element.text = _text(text)
        return element

    def alias(self, parent: Any, device_id: Optional[str]) -> None:
        if device_id:
            self.sub(parent, "alias", {"name": f"ua-{device_id}"})

    def address(self, parent: Any, address: Dict[str, str]) -> None:
        if address:
            self.sub(parent, "address", address)

    def boot(self, parent: Any, order: Optional[int]) -> None:
        if order:
            self.sub(parent, "boot", {"order": order})

    # -- document --

    def domain(self) -> Any:
        c = self.config
        root = self.etree.Element("domain", nsmap={OVIRT_TUNE_PREFIX: OVIRT_TUNE_NS, OVIRT_VM_PREFIX: OVIRT_VM_NS})
        root.set("type", "kvm")
        self.sub(root, "name", text=c.name)
        self.sub(root, "uuid", text=c.uuid)
        self.sub(root, "memory", text=c.memory_kib)
        self.sub(root, "currentMemory", text=c.current_memory_kib or c.memory_kib)
        if c.io_threads:
            self.sub(root, "iothreads", text=c.io_threads)
        if c.max_memory_kib is not None:
            self.sub(root, "maxMemory", {"slots": c.max_memory_slots}, c.max_memory_kib)
        self.sub(root, "vcpu", {"current": c.vcpus}, c.vcpu_ceiling)
        self.sysinfo(root)
        self.clock(root)
        for tag in ("on_poweroff", "on_reboot", "on_crash"):
            if tag in c.lifecycle:
                self.sub(root, tag, text=c.lifecycle[tag])
        self.features(root)
        self.numatune(root)
        self.cpu(root)
        self.cputune(root)
        self.devices(root)
        if c.arch in ("x86_64", "i686"):
            pm = self.sub(root, "pm")
            self.sub(pm, "suspend-to-disk", {"enabled": "no"})
            self.sub(pm, "suspend-to-mem", {"enabled": "no"})
        self.os(root)
        if c.hugepage_size_kib:
            backing = self.sub(root, "memoryBacking")
            self.sub(self.sub(backing, "hugepages"), "page", {"size": c.hugepage_size_kib})
        self.metadata(root)
        return root

    def sysinfo(self, root: Any) -> None:
        if not self.config.sysinfo:
            return
        system = self.sub(self.sub(root, "sysinfo", {"type": "smbios"}), "system")
        for name, value in self.config.sysinfo.items():
            self.sub(system, "entry", {"name": name}, value)

    def clock(self, root: Any) -> None:
        clock = self.config.clock
        attrs = {"offset": clock.offset}
        if clock.offset == "variable":
            attrs["adjustment"] = str(clock.adjustment_seconds)
        element = self.sub(root, "clock", attrs)
        for timer in clock.timers:
            self.sub(element, "timer", {"name": timer.name, "present": timer.present, "tickpolicy": timer.tickpolicy})

    def features(self, root: Any) -> None:
        f = self.config.features
        if not (f.acpi or f.apic or f.smm or f.vmcoreinfo or f.hyperv):
            return
        element = self.sub(root, "features")
        if f.acpi:
            self.sub(element, "acpi")
        if f.apic:
            self.sub(element, "apic")
        if f.hyperv:
            hyperv = self.sub(element, "hyperv")
            for name, attrs in f.hyperv.items():
                self.sub(hyperv, name, attrs)
        if f.smm:
            self.sub(element, "smm", {"state": "on"})
        if f.vmcoreinfo:
            self.sub(element, "vmcoreinfo")

    def numatune(self, root: Any) -> None:
        tune = self.config.numa_tune
        if tune is None:
            return
        element = self.sub(root, "numatune")
        if tune.nodeset is not None:
            self.sub(element, "memory", {"mode": tune.mode, "nodeset": tune.nodeset})
        for memnode in tune.memnodes:
            self.sub(element, "memnode", {"mode": memnode.mode, "cellid": memnode.cell, "nodeset": memnode.nodeset})

    def cpu(self, root: Any) -> None:
        c = self.config
        element = self.sub(root, "cpu", {"match": "exact", "mode": c.cpu.mode})
        if c.cpu.model:
            self.sub(element, "model", text=c.cpu.model)
        for feature in c.cpu.features:
            self.sub(element, "feature", {"name": feature.name, "policy": feature.policy})
        if c.topology is not None:
            t = c.topology
            self.sub(element, "topology", {"cores": t.cores, "threads": t.threads, "sockets": t.sockets})
        if c.numa_nodes:
            numa = self.sub(element, "numa")
            for node in c.numa_nodes:
                self.sub(numa, "cell", {"id": node.index, "cpus": node.cpus, "memory": node.memory_kib, "memAccess": node.mem_access})

    def cputune(self, root: Any) -> None:
        tune = self.config.cpu_tune
        element = self.sub(root, "cputune")
        for pin in tune.vcpu_pins:
            self.sub(element, "vcpupin", {"vcpu": pin.vcpu, "cpuset": pin.cpuset})
        for tag in ("shares", "period", "quota"):
            value = getattr(tune, tag)
            if value is not None:
                self.sub(element, tag, text=value)
        if tune.emulator_pin:
            self.sub(element, "emulatorpin", {"cpuset": tune.emulator_pin})

    def os(self, root: Any) -> None:
        c = self.config
        element = self.sub(root, "os")
        self.sub(element, "type", {"arch": c.arch, "machine": c.machine_type}, "hvm")
        if c.firmware.type == "uefi":
            secure = c.firmware.secure_boot
            self.sub(element, "loader", {"readonly": "yes", "secure": secure, "type": "pflash"}, OVMF_CODE)
            self.sub(element, "nvram", {"template": OVMF_VARS_SECURE if secure else OVMF_VARS}, f"{NVRAM_DIR}/{c.uuid}.fd")
        if c.kernel_boot is not None:
            # The engine writes initrd before kernel; libvirt does not mind.
            if c.kernel_boot.initrd:
                self.sub(element, "initrd", text=c.kernel_boot.initrd)
            self.sub(element, "kernel", text=c.kernel_boot.kernel)
            if c.kernel_boot.cmdline:
                self.sub(element, "cmdline", text=c.kernel_boot.cmdline)
        if c.sysinfo:
            self.sub(element, "smbios", {"mode": "sysinfo"})
        if c.firmware.boot_menu:
            self.sub(element, "bootmenu", {"enable": "yes", "timeout": BOOT_MENU_TIMEOUT_MS})
        if c.firmware.bios_serial:
            self.sub(element, "bios", {"useserial": "yes"})

    # -- devices --

    def devices(self, root: Any) -> None:
        c = self.config
        devices = self.sub(root, "devices")
        for device in c.inputs:
            self.sub(devices, "input", {"type": device.type, "bus": device.bus})
        for channel in c.channels:
            if channel.type != "spicevmc":
                self.channel(devices, channel.type, channel.name, channel.path)
        if c.emulator:
            self.sub(devices, "emulator", text=c.emulator)
        for video in c.video:
            element = self.sub(devices, "video")
            self.sub(element, "model", {"type": video.model, "vram": video.vram, "heads": video.heads, "ram": video.ram, "vgamem": video.vgamem})
            self.alias(element, video.device_id)
            self.address(element, video.address)
        self.rng(devices)
        for controller in c.controllers:
            self.controller(devices, controller)
        for graphics in c.graphics:
            self.graphics(devices, graphics)
        for sound in c.sound:
            element = self.sub(devices, "sound", {"model": sound.model})
            self.alias(element, sound.device_id)
            self.address(element, sound.address)
        self.balloon(devices)
        self.console(devices)
        if c.watchdog is not None:
            element = self.sub(devices, "watchdog", {"model": c.watchdog.model, "action": c.watchdog.action})
            self.alias(element, c.watchdog.device_id)
            self.address(element, c.watchdog.address)
        if c.smartcard is not None:
            self.sub(devices, "smartcard", c.smartcard)
        for _channel in range(c.usb_redirection):
            self.sub(devices, "redirdev", {"type": "spicevmc", "bus": "usb"})
        for host_device in c.host_devices:
            self.host_device(devices, host_device)
        if c.tpm is not None:
            tpm = self.sub(devices, "tpm", {"model": c.tpm.model})
            self.sub(tpm, "backend", {"type": "emulator", "version": c.tpm.version})
        if c.console is not None and c.console.target_type == "serial":
            serial = self.sub(devices, "serial", {"type": c.console.type})
            if c.console.path:
                self.sub(serial, "source", {"path": c.console.path, "mode": "bind"})
            self.sub(serial, "target", {"port": "0"})
        for channel in c.channels:
            if channel.type == "spicevmc":
                self.channel(devices, channel.type, channel.name, channel.path)
        for nic in c.nics:
            self.interface(devices, nic)
        for disk in sorted(c.disks, key=lambda d: _DISK_KIND_ORDER[d.device]):
            self.disk(devices, disk)
        for lease in c.leases:
            element = self.sub(devices, "lease")
            self.sub(element, "key", text=lease.key)
            self.sub(element, "lockspace", text=lease.lockspace)
            self.sub(element, "target", {"offset": lease.offset, "path": lease.path})

    def channel(self, devices: Any, channel_type: str, name: str, path: Optional[str]) -> None:
        element = self.sub(devices, "channel", {"type": channel_type})
        self.sub(element, "target", {"type": "virtio", "name": name})
        if path:
            self.sub(element, "source", {"mode": "bind", "path": path})

    def rng(self, devices: Any) -> None:
        rng = self.config.rng
        if rng is None:
            return
        element = self.sub(devices, "rng", {"model": rng.model})
        if rng.rate_bytes is not None:
            self.sub(element, "rate", {"bytes": rng.rate_bytes, "period": rng.rate_period})
        self.sub(element, "backend", {"model": "random"}, f"/dev/{rng.source}")
        self.alias(element, rng.device_id)

    def controller(self, devices: Any, controller: Any) -> None:
        element = self.sub(devices, "controller", {
            "type": controller.type, "model": controller.model, "index": controller.index, "ports": controller.ports,
        })
        if controller.iothread is not None:
            self.sub(element, "driver", {"iothread": controller.iothread})
        self.alias(element, controller.device_id)
        self.address(element, controller.address)

    def graphics(self, devices: Any, graphics: Any) -> None:
        attrs: Dict[str, Any] = {
            "type": graphics.type, "port": "-1", "autoport": "yes",
            "passwd": "*****", "passwdValidTo": "1970-01-01T00:00:01",
        }
        if graphics.type == "spice":
            attrs["tlsPort"] = "-1"
        attrs["keymap"] = graphics.keymap
        element = self.sub(devices, "graphics", attrs)
        for channel in graphics.secure_channels:
            self.sub(element, "channel", {"name": channel, "mode": "secure"})
        if graphics.listen_network:
            self.sub(element, "listen", {"type": "network", "network": graphics.listen_network, "address": graphics.listen_address})
        elif graphics.listen_address:
            self.sub(element, "listen", {"type": "address", "address": graphics.listen_address})

    def balloon(self, devices: Any) -> None:
        element = self.sub(devices, "memballoon", {"model": self.config.balloon_model})
        if self.config.balloon_model != "none":
            self.sub(element, "stats", {"period": "5"})

    def console(self, devices: Any) -> None:
        console = self.config.console
        if console is None:
            return
        element = self.sub(devices, "console", {"type": console.type})
        if console.path:
            self.sub(element, "source", {"path": console.path, "mode": "bind"})
        self.sub(element, "target", {"type": console.target_type, "port": "0"})
        self.alias(element, console.device_id)

    def host_device(self, devices: Any, device: Any) -> None:
        source_attrs = dict(device.source)
        if device.kind == "mdev":
            element = self.sub(devices, "hostdev", {"mode": "subsystem", "type": "mdev", "model": "vfio-pci"})
        else:
            attrs = {"managed": "no", "mode": "subsystem", "rawio": "yes" if device.kind == "scsi" else None, "type": device.kind}
            element = self.sub(devices, "hostdev", attrs)
        source = self.sub(element, "source")
        if device.kind == "scsi" and "host" in source_attrs:
            self.sub(source, "adapter", {"name": f"scsi_host{source_attrs.pop('host')}"})
        self.sub(source, "address", source_attrs)
        self.alias(element, device.device_id)
        self.address(element, device.address)

    def interface(self, devices: Any, nic: Nic) -> None:
        element = self.sub(devices, "interface", {"type": nic.type})
        if nic.type == "hostdev":
            element.set("managed", "no")
            self.sub(element, "driver", {"name": "vfio"})
            if nic.vlan is not None:
                self.sub(self.sub(element, "vlan"), "tag", {"id": nic.vlan})
            self.sub(self.sub(element, "source"), "address", nic.host_address)
        else:
            if nic.model:
                self.sub(element, "model", {"type": nic.model})
            self.sub(element, "link", {"state": "up" if nic.link_up else "down"})
            self.sub(element, "source", {"bridge": nic.bridge or nic.network or ";vdsmdummy;"})
            if nic.driver_name or nic.queues:
                self.sub(element, "driver", {"queues": nic.queues, "name": nic.driver_name})
            if nic.vlan is not None:
                self.sub(self.sub(element, "vlan"), "tag", {"id": nic.vlan})
        self.alias(element, nic.device_id)
        self.address(element, nic.address)
        self.boot(element, nic.boot_order)
        self.sub(element, "mac", {"address": nic.mac})
        if nic.mtu is not None:
            self.sub(element, "mtu", {"size": nic.mtu})
        if nic.filter:
            filterref = self.sub(element, "filterref", {"filter": nic.filter})
            for name, value in nic.filter_parameters.items():
                self.sub(filterref, "parameter", {"name": name, "value": value})
        if nic.type != "hostdev":
            bandwidth = self.sub(element, "bandwidth")
            for direction in ("inbound", "outbound"):
                if getattr(nic, direction):
                    self.sub(bandwidth, direction, getattr(nic, direction))

    def disk(self, devices: Any, disk: Disk) -> None:
        element = self.sub(devices, "disk", {"snapshot": "no", "type": disk.source_type, "device": disk.device})
        if disk.device == "cdrom":
            self.disk_driver(element, disk)
            self.disk_source(element, disk)
            self.disk_target(element, disk)
            self.disk_flags(element, disk)
            self.alias(element, disk.device_id)
            self.address(element, disk.address)
            self.boot(element, disk.boot_order)
            self.disk_serial(element, disk)
            return
        self.disk_target(element, disk)
        self.disk_source(element, disk)
        self.disk_driver(element, disk)
        self.alias(element, disk.device_id)
        self.address(element, disk.address)
        self.boot(element, disk.boot_order)
        self.disk_serial(element, disk)
        self.disk_flags(element, disk)
        if disk.iotune:
            iotune = self.sub(element, "iotune")
            for name, value in disk.iotune.items():
                self.sub(iotune, name, text=value)

    def disk_target(self, element: Any, disk: Disk) -> None:
        self.sub(element, "target", {"dev": disk.target, "bus": disk.bus})

    def disk_source(self, element: Any, disk: Disk) -> None:
        if disk.source is None and disk.device not in ("cdrom", "floppy"):
            return
        key = {"file": "file", "block": "dev", "network": "name", "volume": "volume"}[disk.source_type]
        self.sub(element, "source", {key: disk.source or "", "startupPolicy": disk.startup_policy})

    def disk_driver(self, element: Any, disk: Disk) -> None:
        attrs = {"discard": disk.discard, "io": disk.io, "type": disk.format, "error_policy": disk.error_policy, "cache": disk.cache}
        if any(value is not None for value in attrs.values()):
            self.sub(element, "driver", {"name": "qemu", **attrs})

    def disk_serial(self, element: Any, disk: Disk) -> None:
        if disk.serial:
            self.sub(element, "serial", text=disk.serial)

    def disk_flags(self, element: Any, disk: Disk) -> None:
        if disk.readonly:
            self.sub(element, "readonly")
        if disk.shareable:
            self.sub(element, "shareable")

    # -- metadata --

    def metadata(self, root: Any) -> None:
        c = self.config
        metadata = self.sub(root, "metadata")
        self.etree.SubElement(metadata, f"{{{OVIRT_TUNE_NS}}}qos")
        vm = self.etree.SubElement(metadata, f"{{{OVIRT_VM_NS}}}vm")
        # The engine writes these scalar children without a namespace.
        if c.guaranteed_memory_mib is not None:
            self.sub(vm, "minGuaranteedMemoryMb", {"type": "int"}, c.guaranteed_memory_mib)
        if c.cluster_version:
            self.sub(vm, "clusterVersion", text=c.cluster_version)
        self.ovirt_items(self.etree.SubElement(vm, f"{{{OVIRT_VM_NS}}}custom"), c.custom_properties)
        for nic in c.nics:
            self.nic_metadata(vm, nic)
        for disk in c.disks:
            self.disk_metadata(vm, disk)
        self.sub(vm, "launchPaused", text="true" if c.launch_paused else "false")
        if c.resume_behavior:
            self.sub(vm, "resumeBehavior", text=c.resume_behavior)
        self.bridge_metadata(metadata)

    def ovirt(self, parent: Any, name: str, text: Any = None, attrs: Optional[Dict[str, Any]] = None) -> Any:
        return self.sub(parent, f"{{{OVIRT_VM_NS}}}{name}", attrs, text)

    def ovirt_items(self, parent: Any, items: Dict[str, str]) -> None:
        for key, value in items.items():
            self.ovirt(parent, key, value)

    def nic_metadata(self, vm: Any, nic: Nic) -> None:
        device = self.ovirt(vm, "device", attrs={"mac_address": nic.mac})
        if nic.network:
            self.ovirt(device, "network", nic.network)
        if nic.port_mirroring:
            mirroring = self.ovirt(device, "portMirroring")
            for network in nic.port_mirroring:
                self.ovirt(mirroring, "network", network)
        self.ovirt_items(self.ovirt(device, "custom"), nic.custom_properties)

    def disk_metadata(self, vm: Any, disk: Disk) -> None:
        ids = {"poolID": disk.pool_id, "domainID": disk.domain_id, "imageID": disk.image_id, "volumeID": disk.volume_id, "GUID": disk.lun_id}
        if disk.payload is None and not any(ids.values()):
            return
        device = self.ovirt(vm, "device", attrs={"devtype": "disk", "name": disk.target})
        for key, value in ids.items():
            if value:
                self.ovirt(device, key, value)
        if disk.payload is not None:
            payload = self.ovirt(device, "payload")
            for path, content in disk.payload.items():
                self.ovirt(payload, "file", content, {"path": path})

    def bridge_metadata(self, metadata: Any) -> None:
        c = self.config
        items = list(self.bridge_items())
        if not (items or c.os_type or c.clock.timezone or c.high_availability.enabled or c.high_availability.priority):
            return
        vm = self.etree.SubElement(metadata, f"{{{BRIDGE_NS}}}vm", nsmap={BRIDGE_PREFIX: BRIDGE_NS})
        if c.os_type:
            self.sub(vm, f"{{{BRIDGE_NS}}}osType", text=c.os_type)
        if c.clock.timezone:
            self.sub(vm, f"{{{BRIDGE_NS}}}timezone", text=c.clock.timezone)
        if c.high_availability.enabled or c.high_availability.priority:
            self.sub(vm, f"{{{BRIDGE_NS}}}highAvailability", {
                "enabled": "true" if c.high_availability.enabled else "false",
                "priority": c.high_availability.priority,
            })
        for name, attrs in items:
            self.sub(vm, f"{{{BRIDGE_NS}}}{name}", attrs)

    def bridge_items(self) -> Iterable[Any]:
        for disk in self.config.disks:
            attrs = {"name": disk.name, "storageDomain": disk.storage_domain, "sizeBytes": disk.size_bytes}
            if any(value is not None for value in attrs.values()):
                yield "disk", {"target": disk.target, **attrs}
        for nic in self.config.nics:
            attrs = {"name": nic.name, "vnicProfile": nic.vnic_profile}
            if any(value is not None for value in attrs.values()):
                yield "nic", {"mac": nic.mac, **attrs}
        for device in self.config.host_devices:
            if device.kind == "mdev" and device.mdev_type:
                yield "hostDevice", {"uuid": device.source.get("uuid", ""), "mdevType": device.mdev_type}
