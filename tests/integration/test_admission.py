"""Every manifest the collection writes is one real virt-api admits, or its refusal is predicted.

Each domxml under tests/data/domxml and each VM of the default topology is
translated by vm_representation, and each manifest is sent to the real
virt-api (KubeVirt's own webhooks, on the real-KubeVirt lab) as a server-side
dry run. A refusal must have been predicted by a critical concern; a manifest
without one must be admitted. Both on a cluster with the feature gates the
translation can use, and on one with none of them.
"""
from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from lxml import etree

from harness import REPO_ROOT, Lab, run_playbook

LAB_ROOT = Path(__file__).resolve().parents[1] / "lab"
sys.path.insert(0, str(LAB_ROOT))

import labctl  # noqa: E402

NAMESPACE = "admission"
DOMXML = sorted((REPO_ROOT / "tests" / "data" / "domxml").glob("*.xml"))
# What the translation may use where the cluster has it (pkg/virt-config/featuregate).
GATES = ["HostDisk", "HostDevices", "Sidecar", "CPUManager", "HotplugVolumes"]
MAPS = {"storage_map": {"*": {"pvc_name": "{vm}-{target}"}},
        "network_map": {"ovirtmgmt": "pod", "*": f"multus:{NAMESPACE}/bridge"}}


@pytest.fixture(scope="module", params=[GATES, []], ids=["gates-on", "gates-off"])
def real_lab(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    """The default topology on the real KubeVirt control plane, with or without the gates."""
    run_dir = tmp_path_factory.mktemp("admission")
    topology = yaml.safe_load(labctl.DEFAULT_TOPOLOGY.read_text())
    topology["kubevirt"] = dict(topology.get("kubevirt") or {}, feature_gates=list(request.param))
    path = run_dir / "topology.yaml"
    path.write_text(yaml.safe_dump(topology))
    labctl.up(run_dir, path, kubevirt="real")
    lab = Lab(run_dir, labctl.read_env(run_dir))
    kubectl(lab, "create", "namespace", NAMESPACE)
    try:
        yield lab, list(request.param)
    finally:
        labctl.down(run_dir)


def kubectl(lab: Lab, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(["kubectl", "--kubeconfig", lab.env["K8S_AUTH_KUBECONFIG"], *args], input=stdin,
                          capture_output=True, text=True, check=False)


BASE = REPO_ROOT / "tests" / "data" / "domxml" / "runtime_cluster42_qcow2_chain_file_disk.xml"
OVIRT_VM = "{http://ovirt.org/vm/1.0}"


def _set_memory(root: Any, kib: int, max_kib: int | None = None) -> None:
    for tag in ("memory", "currentMemory"):
        root.find(tag).text = str(kib)
    if max_kib is not None:
        root.find("maxMemory").text = str(max_kib)
    root.find("cpu/numa/cell").set("memory", str(kib))


def _hugepages(root: Any, page_kib: int, memory_kib: int, guaranteed_mib: int) -> None:
    _set_memory(root, memory_kib, memory_kib * 4)
    backing = etree.SubElement(root, "memoryBacking")
    etree.SubElement(etree.SubElement(backing, "hugepages"), "page", size=str(page_kib), unit="KiB")
    root.find(f"metadata/{OVIRT_VM}vm/{OVIRT_VM}minGuaranteedMemoryMb").text = str(guaranteed_mib)


def _disk(root: Any, xml: str) -> None:
    root.find("devices").append(etree.fromstring(xml))


def _pinned(root: Any) -> None:
    root.find("vcpu").set("current", "2")
    tune = etree.SubElement(root, "cputune")
    for vcpu in (0, 1):
        etree.SubElement(tune, "vcpupin", vcpu=str(vcpu), cpuset=str(vcpu + 2))


def _watchdog(model: str):
    return lambda root: root.find("devices").append(etree.fromstring(f'<watchdog model="{model}" action="reset"/>'))


def _link_down(root: Any) -> None:
    root.find("devices/interface/link").set("state", "down")


def _machine(machine: str):
    return lambda root: root.find("os/type").set("machine", machine)


def _hostdev(root: Any) -> None:
    _disk(root, '<hostdev mode="subsystem" type="pci" managed="no"><driver name="vfio"/>'
                '<source><address domain="0x0000" bus="0x05" slot="0x00" function="0x1"/></source></hostdev>')


# oVirt VM configurations that meet one admission rule each: (edit of BASE, extra vm_representation options).
VARIANTS: dict[str, tuple[Any, dict[str, Any]]] = {
    "memory-below-1gi-with-hotplug": (lambda r: _set_memory(r, 786432, 3145728), {}),
    "memory-not-2mi-aligned": (lambda r: _set_memory(r, 1049600, 4198400), {}),
    "hugepages-2mi": (lambda r: _hugepages(r, 2048, 2097152, 2048), {}),
    "hugepages-2mi-odd-guarantee": (lambda r: _hugepages(r, 2048, 2097152, 1025), {}),
    "hugepages-1gi-unaligned": (lambda r: _hugepages(r, 1048576, 3145728 + 2048, 1024), {}),
    "readonly-sata-disk": (lambda r: _disk(r, '<disk device="disk" type="file"><driver name="qemu" type="raw"/>'
                                              '<source file="/rhev/ro.img"/><target bus="sata" dev="sdb"/>'
                                              '<readonly/><serial>ro-1</serial></disk>'), {}),
    "io-default": (lambda r: _disk(r, '<disk device="disk" type="file"><driver name="qemu" type="raw" io="default"/>'
                                      '<source file="/rhev/io.img"/><target bus="virtio" dev="vdb"/>'
                                      '<serial>io-1</serial></disk>'), {}),
    "direct-lun": (lambda r: _disk(r, '<disk device="lun" type="block" sgio="filtered"><driver name="qemu" type="raw"/>'
                                      '<source dev="/dev/mapper/36001405abcdef"/><target bus="scsi" dev="sdc"/>'
                                      '<serial>lun-1</serial></disk>'), {}),
    "host-disk": (lambda r: None, {"storage_map": {"*": {"host_disk_path": "/var/lib/vms/{vm}-{target}.img"}}}),
    "pinned-cpus": (_pinned, {}),
    "pinned-cpus-with-limit": (_pinned, {"scheduling": {"cpu_request": {"limit_millicores": 1500}}}),
    "watchdog-i6300esb": (_watchdog("i6300esb"), {}),
    "watchdog-diag288": (_watchdog("diag288"), {}),
    "link-down": (_link_down, {}),
    "machine-q35-rhel": (_machine("pc-q35-rhel8.6.0"), {}),
    "machine-i440fx": (_machine("pc-i440fx-rhel7.6.0"), {}),
    "host-device": (_hostdev, {"host_device_map": {"pci_0000_05_00_1": "devices.example.com/nic"}}),
    "passthrough-delivery": (lambda r: None, {"delivery": "passthrough"}),
}


# What virt-api must refuse, so the check is known to reach its webhooks: the gated parts without their
# gates, and hugepages that do not divide the memory everywhere.
REFUSED_WITHOUT_GATES = {"host-disk", "host-device", "passthrough-delivery"}
REFUSED_ALWAYS = {"hugepages-1gi-unaligned"}


def variant(name: str) -> str:
    edit, _options = VARIANTS[name]
    root = copy.deepcopy(etree.parse(str(BASE)).getroot())
    edit(root)
    return etree.tostring(root, encoding="unicode")


def representations(lab: Lab, tmp_path: Path, gates: list[str]) -> dict[str, dict[str, Any]]:
    """vm_representation's manifest and concerns for every domxml file, every variant and every VM of the engine."""
    vms = ["web-1", "web-2", "db-1", "app-1", "batch-1"]
    common = {"namespace": NAMESPACE, "feature_gates": gates, **MAPS}
    tasks: list[dict[str, Any]] = [
        {"name": "files", "loop": [str(p) for p in DOMXML],
         "ovirt_kubevirt.bridge.vm_representation": {"domxml_path": "{{ item }}", **common}},
        {"name": "vms", "loop": vms,
         "ovirt_kubevirt.bridge.vm_representation": {"vm": "{{ item }}", **common}},
    ]
    for name, (_edit, options) in VARIANTS.items():
        tasks.append({"name": name,
                      "ovirt_kubevirt.bridge.vm_representation": {**common, "domxml": variant(name), **options}})
    run = run_playbook(lab, tasks, tmp_path)
    assert run.rc == 0, run.stdout[-3000:] + run.stderr[-2000:]
    found = {}
    for task in ("files", "vms"):
        for item in run.result(task)["results"]:
            found[Path(str(item["item"])).stem] = {"manifest": item["manifest"], "concerns": item["concerns"]}
    for name in VARIANTS:
        result = run.result(name)
        found[name] = {"manifest": result["manifest"], "concerns": result["concerns"]}
    assert len(found) == len(DOMXML) + len(vms) + len(VARIANTS)
    return found


def admitted(lab: Lab, manifest: dict[str, Any]) -> tuple[bool, str]:
    """A server-side dry-run create: virt-api's mutating and validating webhooks, nothing stored."""
    proc = kubectl(lab, "create", "--dry-run=server", "-o", "name", "-f", "-", stdin=json.dumps(manifest))
    return proc.returncode == 0, (proc.stderr or proc.stdout).strip()


def test_every_refusal_is_predicted_and_every_unconcerned_vm_is_admitted(
        real_lab: tuple[Lab, list[str]], tmp_path: Path) -> None:
    lab, gates = real_lab
    outcomes = {}
    for name, found in representations(lab, tmp_path, gates).items():
        critical = [c["message"] for c in found["concerns"] if c["category"] == "critical"]
        ok, answer = admitted(lab, found["manifest"])
        outcomes[name] = (ok, critical, answer)
    # A refusal without a critical concern is a manifest the collection would write and KubeVirt refuse.
    unpredicted = {n: answer for n, (ok, critical, answer) in outcomes.items() if not ok and not critical}
    for name, (ok, critical, answer) in sorted(outcomes.items()):
        print(f"{name}: {'admitted' if ok else 'refused'}; critical: {critical or '-'}; {'' if ok else answer[:300]}")
    assert unpredicted == {}, "virt-api refused manifests no critical concern predicted"
    refused = {n for n, (ok, _critical, _answer) in outcomes.items() if not ok}
    assert refused == REFUSED_ALWAYS | (set() if gates else REFUSED_WITHOUT_GATES)
