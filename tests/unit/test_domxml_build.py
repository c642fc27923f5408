# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ovirt_kubevirt.bridge contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Building a domxml shaped like the engine's, and build -> parse round trips."""
from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.common.errors import InputError
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.domxml.build import (
    build_domxml,
    engine_disk_path,
    engine_lease,
    engine_sysinfo,
)
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.domxml.placeholders import find_placeholders
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.domxml.read import (
    BRIDGE_NS,
    OVIRT_TUNE_NS,
    OVIRT_VM_NS,
    domxml_to_config,
    host_device_name,
)
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.model.vm_config import (
    Channel,
    Clock,
    Console,
    Controller,
    Cpu,
    CpuFeature,
    CpuTopology,
    CpuTune,
    Disk,
    Features,
    Firmware,
    Graphics,
    HighAvailability,
    HostDevice,
    Input,
    KernelBoot,
    Nic,
    NumaMemnode,
    NumaNode,
    NumaTune,
    Rng,
    Sound,
    Timer,
    Tpm,
    VcpuPin,
    Video,
    VmConfig,
    Watchdog,
    config_from_dict,
    config_to_dict,
)

DATA = Path(__file__).resolve().parents[1] / "data" / "domxml"
SAMPLES = sorted(DATA.glob("*.xml"))
VM_ID = "6f1e0d43-8c8a-4a67-9a53-2f4f8e1b9d10"
POOL, SD, IMG, VOL = (
    "5a38bfb2-00d2-02f9-0120-0000000002af", "a2ec0146-37d4-4c1d-901e-7ed89cd009ff",
    "73a433b7-2a84-49d0-a80f-207ff91930f3", "596f868e-6519-456d-96a0-b78a1b2eea91",
)
# buildCreateVm's order of the domain's children.
ENGINE_ORDER = [
    "name", "uuid", "memory", "currentMemory", "iothreads", "maxMemory", "vcpu", "sysinfo", "clock",
    "on_reboot", "features", "numatune", "cpu", "cputune", "devices", "pm", "os", "memoryBacking", "metadata",
]


def full_config() -> VmConfig:
    """A VM using every part of the configuration, as the engine would describe it."""
    return VmConfig(
        name="db-1 <prod> & co",
        uuid=VM_ID,
        memory_kib=8 * 1024 * 1024,
        current_memory_kib=6 * 1024 * 1024,
        max_memory_kib=32 * 1024 * 1024,
        max_memory_slots=16,
        guaranteed_memory_mib=4096,
        vcpus=4,
        max_vcpus=16,
        topology=CpuTopology(sockets=8, cores=2, threads=1),
        cpu=Cpu(model="Skylake-Server", features=[CpuFeature("spec-ctrl", "require"), CpuFeature("vmx", "disable")]),
        cpu_tune=CpuTune(shares=2048, period=100000, quota=50000, vcpu_pins=[VcpuPin(0, "2"), VcpuPin(1, "3-4")], emulator_pin="0"),
        numa_nodes=[NumaNode(0, "0-1", 4 * 1024 * 1024), NumaNode(1, "2-3", 4 * 1024 * 1024, "shared")],
        numa_tune=NumaTune("strict", "0-1", [NumaMemnode(0, "strict", "0"), NumaMemnode(1, "strict", "1")]),
        hugepage_size_kib=2048,
        io_threads=2,
        machine_type="pc-q35-rhel8.6.0",
        firmware=Firmware(type="uefi", secure_boot=True, bios_serial=False, boot_menu=True),
        os_type="rhel_8x64",
        clock=Clock(offset="variable", adjustment_seconds=-3600, timezone="Europe/Prague",
                    timers=[Timer("rtc", None, "catchup"), Timer("pit", None, "delay"), Timer("hpet", False, None)]),
        features=Features(acpi=True, apic=True, smm=True, vmcoreinfo=True,
                          hyperv={"relaxed": {"state": "on"}, "spinlocks": {"state": "on", "retries": "8191"}}),
        sysinfo=engine_sysinfo(VM_ID),
        lifecycle={"on_reboot": "destroy"},
        disks=[
            Disk(target="sdc", bus="scsi", device="cdrom", source_type="file", source="PAYLOAD:", startup_policy="optional",
                 format="raw", error_policy="report", readonly=True, payload={"user-data": "#cloud-config\n", "meta-data": "x: 1"}),
            Disk(target="vda", bus="virtio", source=engine_disk_path(POOL, SD, IMG, VOL), image_id=IMG, volume_id=VOL,
                 domain_id=SD, pool_id=POOL, name="db-1_Disk1", storage_domain="data-fast", size_bytes=21474836480,
                 format="qcow2", cache="none", io="threads", error_policy="stop", discard="unmap", boot_order=1,
                 serial=IMG, device_id="0c2b4e35-4a2e-4d2f-9b35-1f0e7a3e9f01",
                 address={"type": "pci", "domain": "0x0000", "bus": "0x05", "slot": "0x00", "function": "0x0"},
                 iotune={"total_bytes_sec": 10485760, "total_iops_sec": 1000}),
            Disk(target="sda", bus="scsi", device="lun", source_type="block", source="/dev/mapper/36001405abcdef", lun_id="36001405abcdef",
                 format="raw", io="native", cache="none", error_policy="stop", shareable=True),
        ],
        nics=[
            Nic(mac="00:1a:4a:16:01:51", model="virtio", name="nic1", network="ovirtmgmt", vnic_profile="ovirtmgmt", link_up=True,
                boot_order=2, device_id="a1b2c3d4-0000-4000-8000-000000000001", mtu=1500, filter="vdsm-no-mac-spoofing",
                filter_parameters={"IP": "10.0.0.5"}, inbound={"average": "1000", "burst": "1024", "peak": "2000"},
                outbound={"average": "500", "burst": "512", "peak": "1000"}, driver_name="vhost", queues=4,
                port_mirroring=["red"], custom_properties={"SecurityGroups": "sg-1"}),
            Nic(mac="00:1a:4a:16:01:52", model="e1000", name="nic2", network="a-very-long-network-name", bridge="on1a2b3c4d5e6f7",
                link_up=False),
            Nic(mac="00:1a:4a:16:01:53", model=None, type="hostdev", name="nic3", network="sriov-net", vnic_profile="sriov-passthrough",
                host_address={"type": "pci", "domain": "0x0000", "bus": "0x05", "slot": "0x10", "function": "0x1"}, vlan=100),
        ],
        graphics=[Graphics("spice", listen_network="vdsm-ovirtmgmt", secure_channels=["main", "display"]), Graphics("vnc", listen_address="0", keymap="en-us")],
        video=[Video("qxl", vram=32768, heads=1, ram=65536, vgamem=16384, device_id="0c2b4e35-4a2e-4d2f-9b35-1f0e7a3e9f02")],
        console=Console(type="unix", target_type="serial", path=f"/var/run/ovirt-vmconsole-console/{VM_ID}.sock"),
        watchdog=Watchdog("i6300esb", "reset"),
        balloon_model="virtio",
        rng=Rng(source="random", rate_bytes=1024, rate_period=1000),
        sound=[Sound("ich9")],
        controllers=[Controller("virtio-serial", index=0, ports=16), Controller("scsi", model="virtio-scsi", index=0, iothread=1),
                     Controller("usb", model="qemu-xhci", index=0)],
        inputs=[Input("tablet", "usb")],
        host_devices=[
            HostDevice("pci", host_device_name("pci", {"domain": "0x0000", "bus": "0x3b", "slot": "0x00", "function": "0x0"}),
                       {"domain": "0x0000", "bus": "0x3b", "slot": "0x00", "function": "0x0"}),
            HostDevice("usb", "usb_1_4", {"bus": "1", "device": "4"}),
            HostDevice("scsi", "scsi_4_0_0_1", {"host": "4", "bus": "0", "target": "0", "unit": "1"}),
            HostDevice("mdev", "c2177883-f1bb-47f0-914d-32a22e3a8804", {"uuid": "c2177883-f1bb-47f0-914d-32a22e3a8804"}, mdev_type="nvidia-22"),
        ],
        channels=[Channel("unix", "org.qemu.guest_agent.0", f"/var/lib/libvirt/qemu/channels/{VM_ID}.org.qemu.guest_agent.0"),
                  Channel("spicevmc", "com.redhat.spice.0")],
        leases=[engine_lease(VM_ID, SD)],
        tpm=Tpm("tpm-crb", "2.0"),
        smartcard={"mode": "passthrough", "type": "spicevmc"},
        usb_redirection=2,
        custom_properties={"sndbuf": "0", "viodiskcache": "writeback"},
        high_availability=HighAvailability(enabled=True, priority=50),
        cluster_version="4.7",
        launch_paused=True,
        resume_behavior="kill",
    )


def test_full_configuration_round_trips():
    config = full_config()
    assert domxml_to_config(build_domxml(config)) == config


@pytest.mark.parametrize("source_type, source", [("file", "/a/b.img"), ("block", "/dev/vg/lv"), ("network", "pool/image"), ("volume", "vol1")])
def test_every_disk_source_type_round_trips(source_type, source):
    config = VmConfig(name="a", uuid=VM_ID, memory_kib=1024, disks=[Disk(target="vda", source_type=source_type, source=source)])
    assert domxml_to_config(build_domxml(config)) == config


def test_kernel_boot_and_bios_configuration_round_trips():
    config = dataclasses.replace(
        full_config(), firmware=Firmware(type="bios", bios_serial=True),
        kernel_boot=KernelBoot("/boot/vmlinuz", "/boot/initrd.img", "console=ttyS0"), features=Features(acpi=False),
    )
    assert domxml_to_config(build_domxml(config)) == config


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.stem)
def test_samples_read_build_read_is_a_fixed_point(path):
    config = domxml_to_config(path.read_bytes())
    assert domxml_to_config(build_domxml(config)) == config


def test_output_follows_the_engine_shape():
    text = build_domxml(full_config())
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?><domain ')
    root = etree.fromstring(text.encode())
    order = [child.tag for child in root]
    assert order == [tag for tag in ENGINE_ORDER if tag in order]
    assert root.nsmap == {"ovirt-tune": OVIRT_TUNE_NS, "ovirt-vm": OVIRT_VM_NS}
    devices = [child.tag for child in root.find("devices")]
    # inputs and guest agent channel first; interfaces, then CD-ROMs, disks and leases last, as writeDevices does.
    assert devices[:2] == ["input", "channel"]
    assert devices[-7:] == ["interface", "interface", "interface", "disk", "disk", "disk", "lease"]
    assert [d.get("device") for d in root.iterfind("devices/disk")] == ["cdrom", "disk", "lun"]


def test_engine_metadata_and_placeholders_are_written():
    root = etree.fromstring(build_domxml(full_config()).encode())
    vm = root.find(f"metadata/{{{OVIRT_VM_NS}}}vm")
    assert root.find(f"metadata/{{{OVIRT_TUNE_NS}}}qos") is not None
    # The engine writes these without a namespace.
    assert vm.find("minGuaranteedMemoryMb").text == "4096" and vm.find("minGuaranteedMemoryMb").get("type") == "int"
    assert [vm.find(tag).text for tag in ("clusterVersion", "launchPaused", "resumeBehavior")] == ["4.7", "true", "kill"]
    device = vm.find(f"{{{OVIRT_VM_NS}}}device[@name='vda']")
    assert {_local(c.tag): c.text for c in device} == {"poolID": POOL, "domainID": SD, "imageID": IMG, "volumeID": VOL}
    assert vm.find(f"{{{OVIRT_VM_NS}}}device[@mac_address='00:1a:4a:16:01:51']/{{{OVIRT_VM_NS}}}network").text == "ovirtmgmt"
    assert vm.find(f"{{{OVIRT_VM_NS}}}custom/{{{OVIRT_VM_NS}}}viodiskcache").text == "writeback"
    bridge = root.find(f"metadata/{{{BRIDGE_NS}}}vm")
    assert bridge.find(f"{{{BRIDGE_NS}}}osType").text == "rhel_8x64"
    assert bridge.find(f"{{{BRIDGE_NS}}}highAvailability").attrib == {"enabled": "true", "priority": "50"}
    keys = {p.key for p in find_placeholders(build_domxml(full_config()))}
    assert {"OS-NAME:", "OS-VERSION:", "HOST-SERIAL:", f"LEASE-PATH:{VM_ID}:{SD}", f"LEASE-OFFSET:{VM_ID}:{SD}", f"DISK-PATH:{SD}:{IMG}:{VOL}"} <= keys
    assert root.find("devices/disk[@device='disk']/source").get("file") == f"/rhev/data-center/{POOL}/{SD}/images/{IMG}/{VOL}"


def test_uefi_secure_boot_writes_the_secure_loader_and_nvram():
    root = etree.fromstring(build_domxml(full_config()).encode())
    loader = root.find("os/loader")
    assert loader.attrib == {"readonly": "yes", "secure": "yes", "type": "pflash"}
    assert root.find("os/nvram").text == f"/var/lib/libvirt/qemu/nvram/{VM_ID}.fd"
    assert root.find("features/smm").get("state") == "on"


def test_text_that_xml_cannot_hold_is_refused():
    with pytest.raises(InputError, match="cannot write a domxml for VM 'bad"):
        build_domxml(VmConfig(name="bad\x00name", uuid=VM_ID, memory_kib=1024))


def test_invalid_custom_property_name_is_refused():
    with pytest.raises(InputError, match="cannot write a domxml"):
        build_domxml(VmConfig(name="a", uuid=VM_ID, memory_kib=1024, custom_properties={"not a name": "x"}))


def test_json_form_round_trips_and_refuses_unknown_keys():
    config = full_config()
    assert config_from_dict(config_to_dict(config)) == config
    data = config_to_dict(config)
    data["disks"][1]["colour"] = "blue"
    with pytest.raises(InputError, match=r"configuration.disks\[1\]: unknown key colour"):
        config_from_dict(data)
    data = config_to_dict(config)
    data["vcpus"] = True
    with pytest.raises(InputError, match="configuration.vcpus: expected int, got bool"):
        config_from_dict(data)


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


# --- property: any configuration the strategies produce round-trips ---------

_names = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=20)
_ids = st.uuids().map(str)
_ints = st.integers(min_value=1, max_value=2**20)


@st.composite
def _disks(draw):
    disks = []
    for index, device in enumerate(draw(st.lists(st.sampled_from(["cdrom", "disk", "lun"]), max_size=4))):
        target = f"sd{chr(97 + index)}"
        if device == "cdrom":
            disks.append(Disk(target=target, bus="sata", device="cdrom", source=draw(st.one_of(st.none(), st.just("/iso/a.iso"))), readonly=True))
        elif device == "lun":
            guid = draw(st.from_regex(r"36[0-9a-f]{10}", fullmatch=True))
            disks.append(Disk(target=target, bus="scsi", device="lun", source_type="block", source=f"/dev/mapper/{guid}", lun_id=guid))
        else:
            pool, sd, img, vol = (draw(_ids) for unused_id in range(4))
            disks.append(Disk(
                target=target, bus=draw(st.sampled_from(["virtio", "scsi", "sata"])), source=engine_disk_path(pool, sd, img, vol),
                image_id=img, volume_id=vol, domain_id=sd, pool_id=pool, serial=img, name=draw(st.one_of(st.none(), _names)),
                storage_domain=draw(st.one_of(st.none(), _names)), size_bytes=draw(st.one_of(st.none(), _ints)),
                format=draw(st.sampled_from([None, "raw", "qcow2"])), boot_order=draw(st.one_of(st.none(), st.integers(1, 9))),
            ))
    order = {"cdrom": 0, "floppy": 1, "disk": 2, "lun": 2}
    return sorted(disks, key=lambda d: order[d.device])


@st.composite
def _configs(draw):
    vcpus = draw(st.integers(1, 8))
    macs = draw(st.lists(st.integers(0, 2**24 - 1), unique=True, max_size=3))
    return VmConfig(
        name=draw(_names),
        uuid=draw(_ids),
        memory_kib=draw(_ints) * 1024,
        guaranteed_memory_mib=draw(st.one_of(st.none(), _ints)),
        vcpus=vcpus,
        max_vcpus=draw(st.one_of(st.none(), st.integers(vcpus + 1, 32))),
        topology=draw(st.one_of(st.none(), st.builds(CpuTopology, st.integers(1, 16), st.integers(1, 4), st.integers(1, 2)))),
        machine_type=draw(st.sampled_from([None, "q35", "pc-i440fx-rhel7.6.0"])),
        firmware=Firmware(type=draw(st.sampled_from(["bios", "uefi"]))),
        clock=Clock(adjustment_seconds=draw(st.integers(-50000, 50000)), timezone=draw(st.one_of(st.none(), _names))),
        sysinfo=draw(st.dictionaries(st.sampled_from(["manufacturer", "product", "serial"]), _names, max_size=3)),
        disks=draw(_disks()),
        nics=[
            Nic(mac="00:1a:4a:{:02x}:{:02x}:{:02x}".format(m >> 16, (m >> 8) & 255, m & 255),
                model=draw(st.sampled_from(["virtio", "e1000", "rtl8139"])), name=draw(st.one_of(st.none(), _names)),
                network=draw(st.one_of(st.none(), st.from_regex(r"[a-z][a-z0-9_]{0,14}", fullmatch=True))),
                vnic_profile=draw(st.one_of(st.none(), _names)), link_up=draw(st.booleans()))
            for m in macs
        ],
        custom_properties=draw(st.dictionaries(st.from_regex(r"[a-z][a-z0-9_]{0,10}", fullmatch=True), _names, max_size=3)),
        high_availability=HighAvailability(draw(st.booleans()), draw(st.integers(0, 100))),
        os_type=draw(st.one_of(st.none(), st.sampled_from(["rhel_9x64", "windows_2022", "other"]))),
    )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_configs())
def test_generated_configurations_round_trip(config):
    assert domxml_to_config(build_domxml(config)) == config
