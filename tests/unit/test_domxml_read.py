# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ovirt_kubevirt.bridge contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reading real oVirt domxmls (engine output and live libvirt XML) into a VmConfig."""
from __future__ import annotations

from pathlib import Path

import pytest

from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.common.errors import InputError
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.domxml.read import (
    domxml_to_config,
    host_device_name,
    host_device_source,
)
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.model.vm_config import CpuTopology, Timer

DATA = Path(__file__).resolve().parents[1] / "data" / "domxml"


def read(stem: str):
    return domxml_to_config((DATA / f"{stem}.xml").read_bytes())


def test_engine_vm_with_scsi_disk():
    config = read("engine_vm_scsi_disk_spice_from_ovf_cluster42")
    assert (config.name, config.uuid) == ("vm", "b36a34f1-d1c2-4585-ae8f-33e05e4d3c19")
    assert config.memory_kib == 1048576 and config.current_memory_kib is None
    assert (config.max_memory_kib, config.max_memory_slots) == (4194304, 16)
    assert (config.vcpus, config.max_vcpus, config.topology) == (2, 16, CpuTopology(sockets=16, cores=1, threads=1))
    assert (config.cpu.mode, config.cpu.model) == (None, "SandyBridge")
    assert config.machine_type == "pc-i440fx-2.6"
    assert config.guaranteed_memory_mib == 1024
    assert (config.cluster_version, config.launch_paused, config.resume_behavior) == ("4.2", False, "auto_resume")
    assert config.sysinfo == {
        "manufacturer": "oVirt", "product": "OS-NAME:", "version": "OS-VERSION:",
        "serial": "HOST-SERIAL:", "uuid": "b36a34f1-d1c2-4585-ae8f-33e05e4d3c19",
    }
    cdrom, disk = config.disks
    assert (cdrom.device, cdrom.target, cdrom.bus, cdrom.source, cdrom.startup_policy) == ("cdrom", "hdc", "ide", None, "optional")
    assert (disk.device, disk.target, disk.bus, disk.format, disk.boot_order) == ("disk", "sda", "scsi", "raw", 1)
    assert disk.image_id == disk.serial == "73a433b7-2a84-49d0-a80f-207ff91930f3"
    assert disk.volume_id == "596f868e-6519-456d-96a0-b78a1b2eea91"
    assert disk.domain_id == "a2ec0146-37d4-4c1d-901e-7ed89cd009ff"
    assert disk.pool_id == "5a38bfb2-00d2-02f9-0120-0000000002af"
    assert disk.source.startswith("/rhev/data-center/5a38bfb2-00d2-02f9-0120-0000000002af/")
    (nic,) = config.nics
    assert (nic.mac, nic.model, nic.network, nic.bridge, nic.filter) == ("00:1a:4a:16:01:01", "virtio", "ovirtmgmt", None, "vdsm-no-mac-spoofing")
    assert [(g.type, g.listen_network) for g in config.graphics] == [("spice", "vdsm-ovirtmgmt")]
    assert config.balloon_model == "virtio"
    assert (config.rng.model, config.rng.source) == ("virtio", "urandom")
    assert [c.name for c in config.channels] == ["ovirt-guest-agent.0", "org.qemu.guest_agent.0", "com.redhat.spice.0"]
    assert [n.cpus for n in config.numa_nodes] == ["0,1"]
    assert config.clock.timers == [Timer("rtc", None, "catchup"), Timer("pit", None, "delay"), Timer("hpet", False, None)]


def test_engine_windows_vm_with_hyperv_and_sysprep_payload():
    config = read("engine_windows10_sysprep_floppy_payload_hyperv_cluster42")
    assert config.features.hyperv == {
        "relaxed": {"state": "on"}, "vapic": {"state": "on"}, "spinlocks": {"retries": "8191", "state": "on"},
    }
    assert config.clock.adjustment_seconds == 3600
    assert config.clock.timers[0] == Timer("hypervclock", True, None)
    floppy = next(d for d in config.disks if d.device == "floppy")
    assert (floppy.source, floppy.bus, floppy.payload) == ("PAYLOAD:", "fdc", {"Unattend.xml": "bogus"})
    disk = next(d for d in config.disks if d.device == "disk")
    assert (disk.target, disk.bus, disk.format, disk.device_id) == ("hda", "ide", "qcow2", "93b063d7-d508-4e42-a8b0-c0d0f8f3b2c6")
    assert [s.model for s in config.sound] == ["ich6"]
    assert config.graphics[0].secure_channels == ["main", "inputs", "cursor", "playback", "record", "display", "smartcard", "usbredir"]


def test_live_xml_of_a_cluster41_vm_with_legacy_metadata():
    config = read("runtime_cluster41_scsi_disk_memory_hotplug_legacy_custom_md")
    # VDSM 4.1's stringified VmDevice dumps are not custom properties.
    assert config.custom_properties == {}
    assert config.guaranteed_memory_mib == 4096
    assert (config.memory_kib, config.max_memory_kib, config.vcpus, config.max_vcpus) == (4194304, 16777216, 2, 16)
    assert config.cpu_tune.shares == 1020
    assert (config.cpu.mode, config.cpu.model) == ("custom", "Nehalem")
    assert [f.name for f in config.cpu.features] == ["vme", "x2apic", "hypervisor"]
    assert config.balloon_model == "none"
    assert config.nics == []
    sda = next(d for d in config.disks if d.target == "sda")
    assert sda.image_id == "13134458-7b83-408d-a1cf-973d4bc48728"
    assert sda.volume_id == "fb3ec8e5-a817-4dbf-9492-82873ccdaf9b"
    assert sda.device_id is None  # libvirt's own alias scsi0-0-0-0 is not an oVirt device id
    assert config.emulator == "/usr/libexec/qemu-kvm"
    assert config.lifecycle == {"on_poweroff": "destroy", "on_reboot": "restart", "on_crash": "destroy"}


def test_live_xml_with_namespaced_metadata_and_backing_chain():
    config = read("runtime_cluster42_qcow2_chain_file_disk")
    assert config.cluster_version == "4.2"  # namespaced ovirt-vm:clusterVersion
    assert config.guaranteed_memory_mib == 1024
    vda = next(d for d in config.disks if d.target == "vda")
    # The active (top) volume, not a volume of the backing chain.
    assert vda.volume_id == "32f04728-7e05-4ef1-82e1-c9feb569587f"
    assert (vda.format, vda.bus, vda.device_id) == ("qcow2", "virtio", "4351c1d2-0d5e-469e-ab98-a0b31d7780e4")
    (nic,) = config.nics
    assert (nic.network, nic.device_id) == ("ovirtmgmt", "5f8454a5-2fc5-409a-a936-e0aa61122a08")
    assert [(g.listen_network, g.listen_address) for g in config.graphics] == [("vdsm-ovirtmgmt", "10.35.160.165")]


def test_live_xml_with_sriov_vf_and_direct_kernel_boot():
    config = read("runtime_sriov_vf_hostdev_interface_no_ovirt_md")
    bridged, vf = config.nics
    assert (bridged.mac, bridged.network, bridged.bridge) == ("52:54:00:59:ff:ff", None, None)  # ;vdsmdummy; = no network
    assert (vf.type, vf.model, vf.mac) == ("hostdev", None, "00:00:00:00:00:43")
    assert vf.host_address == {"type": "pci", "domain": "0x0000", "bus": "0x05", "slot": "0x00", "function": "0x1"}
    assert config.kernel_boot.kernel == "/boot/vmlinuz-3.10.0-229.el7.x86_64"
    assert config.kernel_boot.cmdline == "rd.break=cmdline rd.shell rd.skipfsck"
    assert (config.cpu_tune.period, config.cpu_tune.quota) == (25000, 100000)
    assert (config.vcpus, config.max_vcpus, config.topology) == (1, None, None)
    assert config.guaranteed_memory_mib is None and config.cluster_version is None


def test_disk_ids_come_from_the_engine_path_when_metadata_is_missing():
    config = domxml_to_config(
        "<domain><name>x</name><uuid>u</uuid><memory>1024</memory><vcpu>1</vcpu><devices>"
        "<disk type='block' device='disk'><source dev='/rhev/data-center/11111111-1111-1111-1111-111111111111/"
        "22222222-2222-2222-2222-222222222222/images/33333333-3333-3333-3333-333333333333/"
        "44444444-4444-4444-4444-444444444444'/><target dev='vda'/></disk>"
        "<disk type='block' device='lun'><source dev='/dev/mapper/36001405abcdef'/><target dev='sda' bus='scsi'/></disk>"
        "</devices></domain>"
    )
    image, lun = config.disks
    assert (image.pool_id, image.domain_id, image.image_id, image.volume_id) == (
        "11111111-1111-1111-1111-111111111111", "22222222-2222-2222-2222-222222222222",
        "33333333-3333-3333-3333-333333333333", "44444444-4444-4444-4444-444444444444",
    )
    assert (image.bus, image.source_type) == ("virtio", "block")  # bus derived from the vd prefix
    assert (lun.device, lun.lun_id) == ("lun", "36001405abcdef")


@pytest.mark.parametrize(
    "kind, source, name",
    [
        ("pci", {"domain": "0x0000", "bus": "0x05", "slot": "0x00", "function": "0x1"}, "pci_0000_05_00_1"),
        ("usb", {"bus": "1", "device": "0x003"}, "usb_1_3"),
        ("scsi", {"host": "4", "bus": "0", "target": "0", "unit": "1"}, "scsi_4_0_0_1"),
        ("mdev", {"uuid": "c2177883-f1bb-47f0-914d-32a22e3a8804"}, "c2177883-f1bb-47f0-914d-32a22e3a8804"),
    ],
)
def test_host_device_names_follow_ovirt(kind, source, name):
    assert host_device_name(kind, source) == name


def test_unsupported_disk_and_graphics_types_are_named():
    base = "<domain><memory>1024</memory><vcpu>1</vcpu><devices>{}</devices></domain>"
    with pytest.raises(InputError, match="disk vda: unsupported disk type 'dir'"):
        domxml_to_config(base.format("<disk type='dir' device='disk'><target dev='vda'/></disk>"))
    with pytest.raises(InputError, match="graphics type 'sdl' is not supported"):
        domxml_to_config(base.format("<graphics type='sdl'/>"))


@pytest.mark.parametrize("kind, name", [("pci", "pci_0000_3b_00_1"), ("usb", "usb_1_4"), ("scsi", "scsi_4_0_0_1")])
def test_an_ovirt_host_device_name_and_its_source_address_are_inverses(kind, name):
    source = host_device_source(kind, name)
    assert source and host_device_name(kind, source) == name


@pytest.mark.parametrize("kind, name", [("pci", "gpu0"), ("pci", "usb_1_4"), ("mdev", "nvidia-22"), ("pci", None), ("pci", "pci_0_0_0")])
def test_a_name_that_encodes_no_address_gives_no_source(kind, name):
    assert host_device_source(kind, name) == {}
