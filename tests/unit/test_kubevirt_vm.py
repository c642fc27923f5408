# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ovirt_kubevirt.bridge contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Representation -> KubeVirt VirtualMachine, validated strictly against KubeVirt's own schemas."""
from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
import re
from pathlib import Path

import jsonschema
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.common.errors import InputError
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.domxml.build import build_domxml
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.domxml.read import domxml_to_config
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.domxml.representation import build_representation
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.kubevirt.domain import memory_hotplug_refusal
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.kubevirt.feature_gates import effective_gates
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.kubevirt.translation import quantity_kib
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.kubevirt.vm_manifest import representation_to_vm
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.model.vm_config import (
    CpuFeature,
    Firmware,
    HighAvailability,
    HostDevice,
    Input,
    Lease,
    Sound,
    VcpuPin,
    Watchdog,
)

DATA = Path(__file__).resolve().parents[1] / "data"
SAMPLES = sorted((DATA / "domxml").glob("*.xml"))
ENGINE = DATA / "domxml" / "engine_vm_scsi_disk_spice_from_ovf_cluster42.xml"
WINDOWS = DATA / "domxml" / "engine_windows10_sysprep_floppy_payload_hyperv_cluster42.xml"
SRIOV = DATA / "domxml" / "runtime_sriov_vf_hostdev_interface_no_ovirt_md.xml"
PVC_MAP = {"*": {"pvc_name": "{vm}-{disk_id}"}}
DV_MAP = {"*": {"storage_class": "ceph-rbd", "imageio": {"url": "https://engine/ovirt-engine/api", "secret_ref": "engine", "cert_config_map": "engine-ca"}}}
HOSTDISK_MAP = {"*": {"host_disk_path": "/var/lib/vms/{vm}/{disk_id}.img"}}
NET_POD = {"*": "pod"}
NET_MULTUS = {"*": "multus:vms/ovirtmgmt"}
NET_SRIOV = {"*": {"type": "multus", "name": "vms/sriov-net", "binding": "sriov"}}


def _strict(schema):
    """Name every field the apiserver keeps: it prunes the others silently, so they are errors here."""
    if isinstance(schema, dict):
        if "properties" in schema and "additionalProperties" not in schema and not schema.get("x-kubernetes-preserve-unknown-fields"):
            schema["additionalProperties"] = False
        for value in schema.values():
            _strict(value)
    elif isinstance(schema, list):
        for value in schema:
            _strict(value)
    return schema


# The lab's copy of KubeVirt's CRD validation (tests/lab/kubevirt/SOURCES.md).
CRD_SCHEMA = _strict(yaml.safe_load((DATA.parent / "lab" / "kubevirt" / "crd-validation-virtualmachine.yaml").read_text())["openAPIV3Schema"])
CRD = jsonschema.Draft7Validator(CRD_SCHEMA)
_SWAGGER = json.loads((DATA / "kubevirt" / "swagger.json").read_text())
SWAGGER = jsonschema.Draft4Validator(_strict({"definitions": _SWAGGER["definitions"], "$ref": "#/definitions/v1.VirtualMachine"}))


def assert_kubevirt_accepts(manifest):
    crd_errors = [f"{list(e.absolute_path)}: {e.message}" for e in CRD.iter_errors(manifest)]
    swagger_errors = [f"{list(e.absolute_path)}: {e.message}" for e in SWAGGER.iter_errors(manifest)]
    assert crd_errors == [] and swagger_errors == []


def translate(path_or_config, storage_map=None, network_map=None, scheduling=None, dynamic=None, form="hybrid", **options):
    storage_map = PVC_MAP if storage_map is None else storage_map
    network_map = NET_MULTUS if network_map is None else network_map
    source = path_or_config.read_bytes() if isinstance(path_or_config, Path) else path_or_config
    representation = build_representation(source, scheduling, form, dynamic=dynamic)
    return representation_to_vm(representation, storage_map, network_map, **options)


def ids(concerns, category=None):
    return [c["id"] for c in concerns if category is None or c["category"] == category]


def kib(quantity):
    number, unit = re.fullmatch(r"(\d+)(Ki|Mi|Gi|Ti)?", quantity).groups()
    return int(number) * {None: 1 / 1024, "Ki": 1, "Mi": 1024, "Gi": 1024**2, "Ti": 1024**3}[unit]


def test_the_strict_schemas_do_catch_pruned_fields():
    manifest, unused_concerns = translate(ENGINE)
    broken = copy.deepcopy(manifest)
    broken["spec"]["template"]["spec"]["domain"]["devices"]["disks"][0]["colour"] = "blue"
    assert not CRD.is_valid(broken) and not SWAGGER.is_valid(broken)
    broken = copy.deepcopy(manifest)
    broken["spec"]["template"]["spec"]["domain"]["cpu"]["sockets"] = "two"
    assert not CRD.is_valid(broken) and not SWAGGER.is_valid(broken)


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.stem)
@pytest.mark.parametrize("storage_map", [PVC_MAP, DV_MAP, HOSTDISK_MAP], ids=["pvc", "datavolume", "hostdisk"])
@pytest.mark.parametrize("network_map", [NET_POD, NET_MULTUS, NET_SRIOV], ids=["pod", "multus", "sriov"])
@pytest.mark.parametrize("delivery", ["native", "passthrough"])
def test_every_sample_translates_to_a_manifest_kubevirt_accepts(path, storage_map, network_map, delivery):
    manifest, concerns = translate(path, storage_map, network_map, scheduling={"host": "node-1"}, delivery=delivery)
    assert_kubevirt_accepts(manifest)
    assert manifest["apiVersion"] == "kubevirt.io/v1" and manifest["kind"] == "VirtualMachine"
    assert "running" not in manifest["spec"] and manifest["spec"]["runStrategy"] in ("Halted", "Manual", "Always")
    assert all(set(c) == {"id", "category", "message"} and c["category"] in ("critical", "warning", "info") for c in concerns)


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.stem)
def test_memory_vcpus_disks_nics_and_macs_match_the_domxml(path):
    config = domxml_to_config(path.read_bytes())
    manifest, concerns = translate(path, network_map=NET_MULTUS)
    domain = manifest["spec"]["template"]["spec"]["domain"]
    assert kib(domain["memory"]["guest"]) == config.memory_kib
    cpu = domain["cpu"]
    assert cpu["sockets"] * cpu["cores"] * cpu["threads"] == config.vcpus
    if config.max_vcpus:
        assert cpu["maxSockets"] * cpu["cores"] * cpu["threads"] == config.max_vcpus
    # Every disk with a volume is attached, by its oVirt target, with the oVirt disk id as serial.
    attached = {d["name"]: d for d in domain["devices"]["disks"]}
    for disk in config.disks:
        if disk.source and disk.source != "PAYLOAD:" and disk.device != "floppy":
            kubevirt_disk = attached[f"disk-{disk.target}"]
            assert kubevirt_disk.get("serial") == (disk.image_id or disk.serial)
        else:
            assert f"disk-{disk.target}" not in attached
    volumes = {v["name"] for v in manifest["spec"]["template"]["spec"]["volumes"]} if attached else set()
    assert volumes == set(attached)
    assert [i["macAddress"] for i in domain["devices"]["interfaces"]] == [n.mac for n in config.nics]
    # What was dropped is named.
    dropped_drives = [d for d in config.disks if f"disk-{d.target}" not in attached]
    assert len([c for c in concerns if c["id"].startswith("ovirt_kubevirt.disk.") and c["id"] != "ovirt_kubevirt.disk.bus_changed"]) >= len(dropped_drives)


def test_engine_vm_details():
    manifest, concerns = translate(ENGINE, scheduling={"cluster_id": "7f0c2a59-9b3e-4ab5-8a6b-1a2b3c4d5e6f"})
    spec = manifest["spec"]["template"]["spec"]
    domain = spec["domain"]
    assert domain["cpu"] == {"sockets": 2, "cores": 1, "threads": 1, "maxSockets": 16, "model": "SandyBridge"}
    assert domain["memory"] == {"guest": "1Gi", "maxGuest": "4Gi"}
    assert domain["firmware"] == {"uuid": "b36a34f1-d1c2-4585-ae8f-33e05e4d3c19", "bootloader": {"bios": {}}}
    assert domain["machine"] == {"type": "q35"}
    assert domain["clock"] == {"utc": {}, "timer": {"rtc": {"tickPolicy": "catchup"}, "pit": {"tickPolicy": "delay"}, "hpet": {"present": False}}}
    assert domain["devices"]["disks"] == [{
        "name": "disk-sda", "disk": {"bus": "scsi"}, "bootOrder": 1, "serial": "73a433b7-2a84-49d0-a80f-207ff91930f3",
        "cache": "none", "io": "threads", "errorPolicy": "stop",
    }]
    assert spec["volumes"] == [{"name": "disk-sda", "persistentVolumeClaim": {"claimName": "vm-73a433b7-2a84-49d0-a80f-207ff91930f3"}}]
    assert domain["devices"]["interfaces"] == [{"name": "nic1", "bridge": {}, "macAddress": "00:1a:4a:16:01:01", "model": "virtio"}]
    assert spec["networks"] == [{"name": "nic1", "multus": {"networkName": "vms/ovirtmgmt"}}]
    assert domain["devices"]["autoattachPodInterface"] is False  # no pod NIC the oVirt VM never had
    assert domain["devices"]["autoattachMemBalloon"] is True and domain["devices"]["rng"] == {}
    assert "resources" not in domain  # guaranteed == memory: no overcommit, no CPU QoS
    assert manifest["metadata"]["labels"] == {
        "ovirt-kubevirt.io/vm-id": "b36a34f1-d1c2-4585-ae8f-33e05e4d3c19",
        "ovirt-kubevirt.io/cluster-id": "7f0c2a59-9b3e-4ab5-8a6b-1a2b3c4d5e6f",
    }
    assert manifest["metadata"]["annotations"]["ovirt-kubevirt.io/domxml-sha256"] == hashlib.sha256(ENGINE.read_bytes()).hexdigest()
    assert spec["evictionStrategy"] == "LiveMigrate"
    assert {"ovirt_kubevirt.graphics.spice", "ovirt_kubevirt.machine.changed", "ovirt_kubevirt.disk.empty_cdrom",
            "ovirt_kubevirt.channel.ovirt_guest_agent", "ovirt_kubevirt.firmware.serial"} <= set(ids(concerns))
    assert ids(concerns, "critical") == []


def test_windows_vm_keeps_hyperv_clock_and_sound():
    manifest, concerns = translate(WINDOWS, network_map=NET_POD)
    domain = manifest["spec"]["template"]["spec"]["domain"]
    assert domain["features"]["hyperv"] == {"relaxed": {}, "vapic": {}, "spinlocks": {"spinlocks": 8191}}
    assert domain["clock"]["utc"] == {"offsetSeconds": 3600}
    assert domain["clock"]["timer"]["hyperv"] == {"present": True}
    assert domain["devices"]["sound"] == {"name": "sound", "model": "ich9"}
    assert domain["devices"]["interfaces"][0]["masquerade"] == {}
    assert domain["devices"]["disks"][0]["disk"] == {"bus": "sata"}  # IDE has no KubeVirt bus
    assert manifest["metadata"]["name"] == "windows-10-" + hashlib.sha256(b"windows_10").hexdigest()[:8]
    assert {"ovirt_kubevirt.disk.payload", "ovirt_kubevirt.disk.bus_changed", "ovirt_kubevirt.sound.model", "ovirt_kubevirt.name.changed"} <= set(ids(concerns))


def test_sriov_vf_maps_to_an_sriov_interface():
    manifest, concerns = translate(SRIOV, network_map={"*": "pod", "sriov": {"type": "multus", "name": "vms/sriov", "binding": "sriov"}},
                                   scheduling=None)
    interfaces = manifest["spec"]["template"]["spec"]["domain"]["devices"]["interfaces"]
    # The bridged NIC has no network (;vdsmdummy;) so it falls to "*"; the VF has none either.
    assert [list(i)[1] for i in interfaces] == ["masquerade"]
    assert "ovirt_kubevirt.nic.second_pod" in ids(concerns, "critical")
    manifest, concerns = translate(SRIOV, network_map={"*": {"type": "multus", "name": "vms/sriov", "binding": "sriov"}})
    vf = manifest["spec"]["template"]["spec"]["domain"]["devices"]["interfaces"][1]
    assert vf == {"name": "nic2", "sriov": {}, "macAddress": "00:00:00:00:00:43"}
    assert "ovirt_kubevirt.firmware.kernel_boot" in ids(concerns, "warning")


def test_disks_and_nics_the_maps_do_not_cover_are_critical():
    manifest, concerns = translate(ENGINE, storage_map={"other-domain": {"pvc_name": "x"}}, network_map={"red": "pod"})
    critical = [c for c in concerns if c["category"] == "critical"]
    assert [c["id"] for c in critical] == ["ovirt_kubevirt.disk.unmapped", "ovirt_kubevirt.nic.unmapped"]
    assert "a2ec0146-37d4-4c1d-901e-7ed89cd009ff" in critical[0]["message"]  # names the storage domain
    assert "00:1a:4a:16:01:01" in critical[1]["message"]
    assert manifest["spec"]["template"]["spec"]["domain"]["devices"]["disks"] == []
    assert_kubevirt_accepts(manifest)


def test_storage_map_is_looked_up_by_domain_name_then_id():
    config = domxml_to_config(ENGINE.read_bytes())
    config.disks[1].storage_domain = "data-fast"
    storage_map = {"data-fast": {"pvc_name": "fast-{disk_name}-{index}"}, "a2ec0146-37d4-4c1d-901e-7ed89cd009ff": {"pvc_name": "by-id"}}
    manifest, unused_concerns = translate(config, storage_map=storage_map, form="json")
    assert manifest["spec"]["template"]["spec"]["volumes"][0]["persistentVolumeClaim"]["claimName"] == "fast-sda-1"


def test_datavolume_imports_the_ovirt_disk_through_imageio():
    config = domxml_to_config(ENGINE.read_bytes())
    config.disks[1].size_bytes = 20 * 1024**3
    manifest, concerns = translate(config, storage_map={"*": {**DV_MAP["*"], "access_modes": ["ReadWriteMany"], "volume_mode": "Block"}}, form="json")
    (template,) = manifest["spec"]["dataVolumeTemplates"]
    assert template["metadata"] == {"name": "vm-73a433b7-2a84-49d0-a80f-207ff91930f3"}
    assert template["spec"]["source"] == {"imageio": {
        "diskId": "73a433b7-2a84-49d0-a80f-207ff91930f3", "url": "https://engine/ovirt-engine/api",
        "secretRef": "engine", "certConfigMap": "engine-ca",
    }}
    assert template["spec"]["storage"] == {
        "storageClassName": "ceph-rbd", "resources": {"requests": {"storage": "20Gi"}},
        "volumeMode": "Block", "accessModes": ["ReadWriteMany"],
    }
    assert manifest["spec"]["template"]["spec"]["volumes"][0]["dataVolume"] == {"name": "vm-73a433b7-2a84-49d0-a80f-207ff91930f3"}
    assert "ovirt_kubevirt.disk.size_unknown" not in ids(concerns)
    assert_kubevirt_accepts(manifest)


@pytest.mark.parametrize(
    "entry, message",
    [
        ({"storage_class": "sc"}, "a DataVolume needs imageio (import the oVirt disk) or source"),
        ({"storage_class": "sc", "host_disk_path": "/x", "source": {"blank": {}}}, "give storage_class or host_disk_path, not both"),
        ({"volume_mode": "Block"}, "needs storage_class (DataVolume), pvc_name (existing PVC) or host_disk_path"),
        ({"pvc_name": "x", "colour": "blue"}, "unknown key colour"),
        ({"pvc_name": "{vm}-{nope}"}, "pvc_name template '{vm}-{nope}' is invalid"),
        ({"pvc_name": "Not_A_Name"}, "renders to 'Not_A_Name', which is not a valid Kubernetes name"),
        ({"pvc_name": "x", "size": "lots"}, "is not a Kubernetes quantity"),
    ],
)
def test_bad_storage_map_entries_are_refused(entry, message):
    with pytest.raises(InputError) as raised:
        translate(ENGINE, storage_map={"*": entry})
    assert message in str(raised.value)


@pytest.mark.parametrize(
    "network_map, message",
    [
        ({"*": "bridge"}, "must be 'pod' or 'multus:<namespace>/<name>'"),
        ({"*": {"type": "multus"}}, "a multus network needs name"),
        ({"*": {"type": "pod", "binding": "macvtap"}}, "binding must be masquerade, bridge or sriov"),
    ],
)
def test_bad_network_map_entries_are_refused(network_map, message):
    with pytest.raises(InputError, match=re.escape(message)):
        translate(ENGINE, network_map=network_map)


@pytest.mark.parametrize(
    "scheduling, dynamic, run_strategy, expected",
    [
        ({"high_availability": {"enabled": True, "priority": 50}}, None, None, "Always"),
        (None, {"status": "up"}, None, "Manual"),
        (None, {"status": "migrating"}, None, "Manual"),
        # The engine lost track of it, it did not stop: ovirt-engine's VMStatus.isNotRunning() is false.
        (None, {"status": "unknown"}, None, "Manual"),
        (None, {"status": "image_locked"}, None, "Halted"),
        (None, None, None, "Halted"),
        ({"high_availability": {"enabled": True}}, None, "RerunOnFailure", "RerunOnFailure"),
    ],
)
def test_run_strategy_follows_high_availability_and_status(scheduling, dynamic, run_strategy, expected):
    manifest, concerns = translate(ENGINE, scheduling=scheduling, dynamic=dynamic, run_strategy=run_strategy)
    assert manifest["spec"]["runStrategy"] == expected
    if scheduling and scheduling["high_availability"].get("priority"):
        assert manifest["metadata"]["annotations"]["ovirt-kubevirt.io/ha-priority"] == "50"
        assert "ovirt_kubevirt.high_availability.priority" in ids(concerns, "info")


def test_an_unknown_run_strategy_is_refused():
    with pytest.raises(InputError, match="run_strategy must be one of Always, Halted, Manual, RerunOnFailure, Once"):
        translate(ENGINE, run_strategy="Running")


def test_single_pinned_host_becomes_a_node_selector_through_the_node_map():
    scheduling = {"host_pinning": True, "pinned_hosts": ["host-a.example"], "placement_policy": "pinned"}
    manifest, unused_concerns = translate(ENGINE, scheduling=scheduling, node_map={"host-a.example": "node-a"})
    spec = manifest["spec"]["template"]["spec"]
    assert spec["nodeSelector"]["kubernetes.io/hostname"] == "node-a"
    assert spec["evictionStrategy"] == "External" and "affinity" not in spec


def test_pinned_host_list_becomes_required_node_affinity():
    manifest, unused_concerns = translate(ENGINE, scheduling={"host_pinning": True, "pinned_hosts": ["a", "b"], "placement_policy": "user_migratable"})
    spec = manifest["spec"]["template"]["spec"]
    assert spec["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"] == {
        "nodeSelectorTerms": [{"matchExpressions": [{"key": "kubernetes.io/hostname", "operator": "In", "values": ["a", "b"]}]}]
    }
    assert "kubernetes.io/hostname" not in spec["nodeSelector"]
    assert_kubevirt_accepts(manifest)


def test_the_scheduled_host_is_where_the_vm_starts():
    manifest, concerns = translate(ENGINE, scheduling={"host": "host-b"}, node_map={"host-b": "node-b"})
    spec = manifest["spec"]["template"]["spec"]
    assert spec["nodeSelector"]["kubernetes.io/hostname"] == "node-b"
    assert spec["evictionStrategy"] == "LiveMigrate"
    assert "ovirt_kubevirt.placement.scheduled_host" in ids(concerns, "info")
    manifest, unused_concerns = translate(ENGINE)
    assert "kubernetes.io/hostname" not in manifest["spec"]["template"]["spec"]["nodeSelector"]


def test_affinity_groups_become_pod_and_node_affinity():
    me = "b36a34f1-d1c2-4585-ae8f-33e05e4d3c19"
    groups = [
        {"name": "db-spread", "vms": [me, "vm-2"], "vm_rule": "negative", "vm_enforcing": True},
        {"name": "near-app", "vms": ["vm-3"], "vm_rule": "positive", "vm_enforcing": False},
        {"name": "rack-1", "hosts": ["h1", "h2"], "host_rule": "positive", "host_enforcing": True},
        {"name": "not-h9", "hosts": ["h9"], "host_rule": "negative", "host_enforcing": False},
    ]
    manifest, unused_concerns = translate(ENGINE, scheduling={"affinity_groups": groups, "affinity_labels": ["gpu"]})
    spec = manifest["spec"]["template"]["spec"]
    anti = spec["affinity"]["podAntiAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
    assert anti == [{"labelSelector": {"matchExpressions": [{"key": "ovirt-kubevirt.io/vm-id", "operator": "In", "values": [me, "vm-2"]}]},
                     "topologyKey": "kubernetes.io/hostname"}]
    preferred = spec["affinity"]["podAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"]
    assert preferred[0]["weight"] == 100 and preferred[0]["podAffinityTerm"]["labelSelector"]["matchExpressions"][0]["values"] == [me, "vm-3"]
    node = spec["affinity"]["nodeAffinity"]
    assert node["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"][0]["matchExpressions"] == [
        {"key": "kubernetes.io/hostname", "operator": "In", "values": ["h1", "h2"]}
    ]
    assert node["preferredDuringSchedulingIgnoredDuringExecution"][0]["preference"]["matchExpressions"][0]["operator"] == "NotIn"
    assert manifest["spec"]["template"]["metadata"]["labels"]["affinity-label.ovirt-kubevirt.io/gpu"] == "true"
    assert_kubevirt_accepts(manifest)


def test_carries_what_kubevirt_can_express_that_forklift_drops():
    config = dataclasses.replace(
        domxml_to_config(ENGINE.read_bytes()),
        watchdog=Watchdog("i6300esb", "poweroff"),
        inputs=[Input("tablet", "usb")],
        usb_redirection=1,
        host_devices=[HostDevice("pci", "pci_0000_3b_00_0", {"domain": "0x0000", "bus": "0x3b", "slot": "0x00", "function": "0x0"}),
                      HostDevice("mdev", "c2177883-f1bb-47f0-914d-32a22e3a8804", {"uuid": "c2177883-f1bb-47f0-914d-32a22e3a8804"}, mdev_type="nvidia-22")],
        firmware=Firmware(type="uefi", secure_boot=True),
        hugepage_size_kib=1048576,
        sound=[Sound("ac97")],
        clock=dataclasses.replace(domxml_to_config(ENGINE.read_bytes()).clock, timezone="Europe/Prague"),
        guaranteed_memory_mib=512,
    )
    manifest, concerns = translate(config, form="json", host_device_map={"pci_0000_3b_00_0": "nvidia.com/T4", "nvidia-22": "nvidia.com/GRID_T4-1B"})
    domain = manifest["spec"]["template"]["spec"]["domain"]
    devices = domain["devices"]
    assert devices["watchdog"] == {"name": "watchdog", "i6300esb": {"action": "poweroff"}}
    assert devices["inputs"] == [{"name": "tablet", "type": "tablet", "bus": "usb"}]
    assert devices["clientPassthrough"] == {}
    assert devices["hostDevices"] == [{"name": "ovirt-hostdev-0", "deviceName": "nvidia.com/T4"}]
    assert devices["gpus"] == [{"name": "ovirt-hostdev-1", "deviceName": "nvidia.com/GRID_T4-1B"}]
    assert devices["sound"] == {"name": "sound", "model": "ac97"}
    assert domain["firmware"]["bootloader"] == {"efi": {"secureBoot": True}}
    assert domain["features"]["smm"] == {}  # secure boot needs SMM
    assert domain["memory"]["hugepages"] == {"pageSize": "1Gi"}
    assert domain["clock"]["timezone"] == "Europe/Prague"
    # Hugepages back all guest memory; virt-api refuses a 512Mi request below the 1Gi page (validateHugepagesMemoryRequests).
    assert domain["resources"]["requests"] == {"memory": domain["memory"]["guest"]}
    assert "ovirt_kubevirt.memory.guaranteed" in ids(concerns, "info")
    assert not {"ovirt_kubevirt.watchdog.model", "ovirt_kubevirt.host_device.unmapped"} & set(ids(concerns))
    assert_kubevirt_accepts(manifest)


def test_what_cannot_be_carried_is_named():
    config = dataclasses.replace(
        domxml_to_config(ENGINE.read_bytes()),
        watchdog=Watchdog("i6300esb", "none"),
        leases=[Lease("k", "sd", "LEASE-PATH:k:sd", "LEASE-OFFSET:k:sd")],
        custom_properties={"hugepages": "1048576", "sndbuf": "0"},
        smartcard={"mode": "passthrough", "type": "spicevmc"},
        host_devices=[HostDevice("pci", "pci_0000_3b_00_0", {}), HostDevice("scsi", "scsi_4_0_0_1", {})],
        high_availability=HighAvailability(True, 10),
    )
    unused_manifest, concerns = translate(config, form="json")
    by_id = {c["id"]: c for c in concerns}
    assert by_id["ovirt_kubevirt.watchdog.action"]["category"] == "warning"
    assert by_id["ovirt_kubevirt.lease.dropped"]["category"] == "warning"
    assert "hugepages, sndbuf" in by_id["ovirt_kubevirt.custom_properties"]["message"]
    assert by_id["ovirt_kubevirt.smartcard"]["category"] == "warning"
    assert "pci_0000_3b_00_0" in by_id["ovirt_kubevirt.host_device.unmapped"]["message"]
    assert by_id["ovirt_kubevirt.host_device.scsi"]["category"] == "warning"


def test_an_unmapped_host_device_still_keeps_the_vm_to_nodes_holding_it():
    config = dataclasses.replace(domxml_to_config(ENGINE.read_bytes()), host_devices=[HostDevice("pci", "pci_0000_3b_00_0", {})])
    manifest, concerns = translate(config, form="json")
    spec = manifest["spec"]["template"]["spec"]
    assert "hostDevices" not in spec["domain"]["devices"]
    terms = spec["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
    assert terms == [{"matchExpressions": [{"key": "host-device.ovirt-kubevirt.io/pci_0000_3b_00_0", "operator": "Exists"}]}]
    message = {c["id"]: c for c in concerns}["ovirt_kubevirt.host_device.unmapped"]["message"]
    assert "not passed through" in message and "host-device.ovirt-kubevirt.io/pci_0000_3b_00_0" in message
    assert_kubevirt_accepts(manifest)


def test_the_cpu_model_and_required_features_select_nodes_by_kubevirt_labels():
    base = domxml_to_config(ENGINE.read_bytes())
    cpu = dataclasses.replace(base.cpu, mode="custom", model="Cascadelake-Server",
                              features=[CpuFeature("avx512f", "require"), CpuFeature("vmx", "disable"), CpuFeature("bad name", None)])
    manifest, concerns = translate(dataclasses.replace(base, cpu=cpu), form="json")
    assert manifest["spec"]["template"]["spec"]["nodeSelector"] == {
        "cpu-model.node.kubevirt.io/Cascadelake-Server": "true", "cpu-feature.node.kubevirt.io/avx512f": "true",
    }
    assert "'bad name'" in {c["id"]: c for c in concerns}["ovirt_kubevirt.cpu.label"]["message"]
    passthrough = dataclasses.replace(base, cpu=dataclasses.replace(cpu, mode="host-passthrough", features=[]))
    manifest, unused_concerns = translate(passthrough, form="json")
    assert "nodeSelector" not in manifest["spec"]["template"]["spec"]


def test_passthrough_requests_the_hook_and_keeps_guest_pci_addresses():
    manifest, concerns = translate(ENGINE, delivery="passthrough", namespace="vms")
    template = manifest["spec"]["template"]
    (hook,) = json.loads(template["metadata"]["annotations"]["hooks.kubevirt.io/hookSidecars"])
    assert hook == {"args": ["--version", "v1alpha2"],
                    "configMap": {"name": "vm-ovirt-domxml", "key": "onDefineDomain", "hookPath": "/usr/bin/onDefineDomain"}}
    assert template["spec"]["domain"]["devices"]["interfaces"][0]["pciAddress"] == "0000:00:03.0"
    assert manifest["metadata"]["annotations"]["ovirt-kubevirt.io/delivery"] == "passthrough"
    by_id = {c["id"]: c for c in concerns}
    # What the oVirt domxml keeps is only information in passthrough delivery.
    assert by_id["ovirt_kubevirt.machine.changed"]["category"] == "info"
    assert "Passthrough delivery keeps it" in by_id["ovirt_kubevirt.machine.changed"]["message"]
    assert "ovirt_kubevirt.delivery.passthrough" in by_id
    native = {c["id"]: c for c in translate(ENGINE)[1]}
    assert native["ovirt_kubevirt.machine.changed"]["category"] == "warning"


def test_unknown_delivery_is_refused():
    with pytest.raises(InputError, match="delivery must be one of native, passthrough"):
        translate(ENGINE, delivery="magic")


def test_maps_must_be_mappings():
    with pytest.raises(InputError, match="network_map must be a mapping, got list"):
        translate(ENGINE, network_map=["pod"])


def test_explicit_name_and_namespace():
    manifest, unused_concerns = translate(ENGINE, name="db-one", namespace="vms")
    assert manifest["metadata"]["name"] == "db-one" and manifest["metadata"]["namespace"] == "vms"
    assert manifest["spec"]["template"]["metadata"]["labels"]["kubevirt.io/vm"] == "db-one"
    with pytest.raises(InputError, match="is not a valid VirtualMachine name"):
        translate(ENGINE, name="DB_One")


def test_json_built_domxml_representation_translates_like_the_domxml():
    config = domxml_to_config(ENGINE.read_bytes())
    from_domxml, unused_concerns = translate(ENGINE)
    from_config, unused_concerns = translate(build_domxml(config))
    for manifest in (from_domxml, from_config):
        manifest["metadata"]["annotations"].pop("ovirt-kubevirt.io/domxml-sha256")
    assert from_domxml == from_config


@pytest.mark.parametrize("value, expected", [(1048576, "1Gi"), (1536, "1536Ki"), (2048, "2Mi"), (1024**3 * 2, "2Ti"), (5, "5Ki")])
def test_quantities_use_the_largest_exact_unit(value, expected):
    assert quantity_kib(value) == expected


def test_zero_cores_are_refused_not_divided_by():
    document = ENGINE.read_text().replace('cores="1"', 'cores="0"')
    with pytest.raises(InputError, match="domxml topology cores must be at least 1, got 0"):
        translate(document.encode())
    representation = build_representation(ENGINE.read_bytes(), configuration_format="json")
    representation["configuration"]["topology"]["threads"] = 0
    representation["scheduling"]["cpu_request"]["threads"] = 0
    with pytest.raises(InputError, match="threads: 0 is less than 1"):
        representation_to_vm(representation, PVC_MAP, NET_POD)


def test_the_representation_envelope_is_checked_before_translating():
    representation = build_representation(ENGINE.read_bytes())
    representation["scheduling"]["cpu_request"]["vcpus"] = "two"
    representation["dynamic"]["status"] = "running"
    with pytest.raises(InputError) as raised:
        representation_to_vm(representation, PVC_MAP, NET_POD)
    assert "$.scheduling.cpu_request.vcpus: expected integer, got string" in str(raised.value)
    assert "$.dynamic.status: 'running' is not one of" in str(raised.value)


_ODD_VALUES = st.one_of(
    st.sampled_from(["", "0", "-1", "x", "0x1g", "99999999999999999999", "yes", "no", "off", "pci", "/rhev/data-center/x"]),
    st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=0xD7FF), max_size=4),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(SAMPLES), st.lists(st.tuples(st.integers(min_value=0), st.booleans(), _ODD_VALUES), min_size=1, max_size=4))
def test_odd_values_anywhere_fail_only_with_input_errors(path, mutations):
    root = etree.fromstring(path.read_bytes())
    elements = list(root.iter())
    for position, attribute, value in mutations:
        element = elements[position % len(elements)]
        if attribute and element.attrib:
            names = sorted(element.attrib)
            element.set(names[position % len(names)], value)
        elif not attribute:
            element.text = value
    try:
        manifest, unused_concerns = translate(etree.tostring(root), delivery="passthrough")
    except InputError:
        return
    assert_kubevirt_accepts(manifest)


@pytest.mark.parametrize(("memory_mib", "max_mib", "hugepage_kib", "arch", "passthrough", "reason"), [
    (1024, 4096, None, "x86_64", False, None),
    (4096, 16384, 1024 * 1024, "x86_64", False, None),
    (512, 2048, None, "x86_64", False, "needs at least 1Gi of memory, and the VM has 512Mi"),
    (1025, 4100, None, "x86_64", False, "the memory (1025Mi) is not 2Mi-aligned"),
    (1024, 4097, None, "x86_64", False, "the max memory (4097Mi) is not 2Mi-aligned"),
    (1536, 4096, 1024 * 1024, "x86_64", False, "the memory (1536Mi) is not 1Gi-aligned"),
    (2048, 8192, None, "aarch64", False, "only available for x86_64 VMs, not aarch64"),
    (2048, 8192, 2048, "x86_64", True, "not compatible with NUMA guest mapping passthrough"),
])
def test_memory_hotplug_refusals_follow_virt_api(memory_mib, max_mib, hugepage_kib, arch, passthrough, reason):
    """pkg/liveupdate/memory/memory.go ValidateLiveUpdateMemory, as virt-api's VM admitter runs it under LiveUpdate."""
    refusal = memory_hotplug_refusal(memory_mib * 1024, max_mib * 1024, hugepage_kib, arch, passthrough)
    assert refusal == reason if reason is None else reason in refusal


def test_max_memory_virt_api_would_refuse_is_left_out_with_a_warning():
    config = domxml_to_config(ENGINE.read_bytes())
    config.memory_kib, config.max_memory_kib, config.current_memory_kib = 512 * 1024, 2048 * 1024, None
    manifest, concerns = translate(config, form="json")
    assert manifest["spec"]["template"]["spec"]["domain"]["memory"] == {"guest": "512Mi"}
    (concern,) = [c for c in concerns if c["id"] == "ovirt_kubevirt.memory.hotplug"]
    assert concern["category"] == "warning"
    assert "max memory (2Gi) is not carried" in concern["message"] and "at least 1Gi" in concern["message"]


def _disks(config):
    manifest, concerns = translate(config, storage_map={"*": {"pvc_name": "{vm}-{target}"}}, form="json")
    disks = {d["name"]: d for d in manifest["spec"]["template"]["spec"]["domain"]["devices"]["disks"]}
    return disks, concerns


def test_io_mode_default_is_left_to_kubevirt_as_virt_api_admits_only_native_and_threads():
    config = domxml_to_config(ENGINE.read_bytes())
    config.disks = [dataclasses.replace(config.disks[1], target="vda", io="default"),
                    dataclasses.replace(config.disks[1], target="vdb", io="native", image_id=None)]
    disks, _concerns = _disks(config)
    assert "io" not in disks["disk-vda"] and disks["disk-vdb"]["io"] == "native"


def test_a_read_only_ide_disk_goes_on_scsi_as_virt_api_refuses_read_only_sata():
    config = domxml_to_config(ENGINE.read_bytes())
    config.disks = [dataclasses.replace(config.disks[1], target="hda", bus="ide", readonly=True),
                    dataclasses.replace(config.disks[1], target="hdb", bus="ide", image_id=None)]
    disks, concerns = _disks(config)
    assert disks["disk-hda"]["disk"] == {"bus": "scsi", "readonly": True}
    assert disks["disk-hdb"]["disk"] == {"bus": "sata"}
    changed = [c for c in concerns if c["id"] == "ovirt_kubevirt.disk.bus_changed" and c["category"] == "warning"]
    assert len(changed) == 1 and "virtio-scsi driver" in changed[0]["message"]
    assert_kubevirt_accepts(translate(config, storage_map={"*": {"pvc_name": "{vm}-{target}"}}, form="json")[0])


def test_a_lun_mapped_to_a_host_disk_is_a_critical_concern():
    config = domxml_to_config(ENGINE.read_bytes())
    config.disks = [dataclasses.replace(config.disks[1], target="sda", bus="scsi", device="lun", lun_id="36001405abc",
                                        image_id=None, storage_domain=None, domain_id=None)]
    _manifest, concerns = translate(config, storage_map={"36001405abc": {"host_disk_path": "/dev/mapper/{disk_id}"}},
                                    form="json")
    assert "ovirt_kubevirt.disk.lun_host_disk" in ids(concerns, "critical")
    _manifest, concerns = translate(config, storage_map={"36001405abc": {"pvc_name": "lun-{disk_id}"}}, form="json")
    assert "ovirt_kubevirt.disk.lun_host_disk" not in ids(concerns)


def test_parts_that_need_a_feature_gate_are_critical_without_it_and_a_warning_when_gates_are_unknown():
    config = domxml_to_config(ENGINE.read_bytes())
    host_disks = {"*": {"host_disk_path": "/var/lib/vms/{vm}/{target}.img"}}
    _manifest, unknown = translate(config, storage_map=host_disks, form="json")
    assert [c["category"] for c in unknown if c["id"] == "ovirt_kubevirt.feature_gate.HostDisk"] == ["warning"]
    _manifest, lacking = translate(config, storage_map=host_disks, form="json", feature_gates=["Snapshot"])
    (concern,) = [c for c in lacking if c["id"] == "ovirt_kubevirt.feature_gate.HostDisk"]
    assert concern["category"] == "critical" and "developerConfiguration.featureGates" in concern["message"]
    _manifest, enabled = translate(config, storage_map=host_disks, form="json", feature_gates=["HostDisk"])
    assert not [c for c in enabled if c["id"].startswith("ovirt_kubevirt.feature_gate.")]
    _manifest, passthrough = translate(config, form="json", delivery="passthrough", feature_gates=[])
    assert "ovirt_kubevirt.feature_gate.Sidecar" in ids(passthrough, "critical")


def test_dedicated_cpus_need_the_cpumanager_gate_and_drop_a_fractional_cpu_limit():
    config = domxml_to_config(ENGINE.read_bytes())
    config.cpu_tune = dataclasses.replace(config.cpu_tune, vcpu_pins=[VcpuPin(0, "2")])
    manifest, concerns = translate(config, form="json", feature_gates=[],
                                   scheduling={"cpu_request": {"limit_millicores": 1500}})
    domain = manifest["spec"]["template"]["spec"]["domain"]
    assert domain["cpu"]["dedicatedCpuPlacement"] is True
    # validateCpuPinning admits only whole CPUs; virt-handler labels nodes cpumanager=true only with the gate.
    assert "limits" not in domain.get("resources", {})
    assert "ovirt_kubevirt.cpu.limit" in ids(concerns, "info")
    (gate,) = [c for c in concerns if c["id"] == "ovirt_kubevirt.feature_gate.CPUManager"]
    assert gate["category"] == "critical" and "never schedules" in gate["message"]
    _manifest, enabled = translate(config, form="json", feature_gates=["CPUManager"])
    assert "ovirt_kubevirt.feature_gate.CPUManager" not in ids(enabled)


@pytest.mark.parametrize("arch, model, kept", [
    ("x86_64", "i6300esb", True), ("x86_64", "diag288", False), ("s390x", "diag288", True),
    ("s390x", "i6300esb", False), ("aarch64", "i6300esb", False),
])
def test_the_watchdog_model_is_one_virt_api_admits_for_the_architecture(arch, model, kept):
    config = dataclasses.replace(domxml_to_config(ENGINE.read_bytes()), arch=arch, watchdog=Watchdog(model, "reset"))
    manifest, concerns = translate(config, form="json")
    spec = manifest["spec"]["template"]["spec"]
    assert spec["architecture"] == {"x86_64": "amd64", "s390x": "s390x", "aarch64": "arm64"}[arch]
    assert ("watchdog" in spec["domain"]["devices"]) is kept
    assert ("ovirt_kubevirt.watchdog.model" in ids(concerns, "warning")) is not kept


def test_an_architecture_kubevirt_does_not_run_is_critical():
    config = dataclasses.replace(domxml_to_config(ENGINE.read_bytes()), arch="ppc64le")
    _manifest, concerns = translate(config, form="json")
    assert "ovirt_kubevirt.architecture.unsupported" in ids(concerns, "critical")


@pytest.mark.parametrize("listed, disabled, release, expected", [
    (["HostDisk"], [], (1, 8), ["HostDisk"]),
    ([], [], (1, 9), ["DeclarativeHotplugVolumes"]),
    ([], ["DeclarativeHotplugVolumes"], (1, 9), []),
    (["Sidecar"], [], None, ["Sidecar"]),
])
def test_effective_gates_add_the_beta_gates_a_release_turns_on(listed, disabled, release, expected):
    assert effective_gates(listed, disabled, release) == expected


def test_hugepages_request_the_whole_guest_memory_which_must_be_whole_pages():
    config = dataclasses.replace(domxml_to_config(ENGINE.read_bytes()), hugepage_size_kib=1048576,
                                 memory_kib=3 * 1048576 + 2048, max_memory_kib=None)
    manifest, concerns = translate(config, form="json")
    assert "ovirt_kubevirt.memory.hugepages_unaligned" in ids(concerns, "critical")
    config = dataclasses.replace(config, memory_kib=2 * 1048576)
    manifest, concerns = translate(config, form="json")
    domain = manifest["spec"]["template"]["spec"]["domain"]
    assert domain["resources"]["requests"] == {"memory": "2Gi"}
    assert "ovirt_kubevirt.memory.hugepages_unaligned" not in ids(concerns)
