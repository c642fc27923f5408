# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ovirt_kubevirt.bridge contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Passthrough delivery: the hook's merge, and the script shipped in the ConfigMap, run as KubeVirt runs it."""
from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest
from lxml import etree

from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.common.errors import InputError
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.domxml.placeholders import fill_placeholders
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.domxml.representation import build_representation
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.domxml.xml_text import (
    XmlTextError,
    apply_edits,
    iter_nodes,
    parse_tree,
)
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.kubevirt.passthrough import (
    CONFIGMAP_KEY,
    default_placeholder_values,
    passthrough_configmap,
    render_hook_script,
)
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.kubevirt.passthrough_hook import (
    HookError,
    merge_domains,
)
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.kubevirt.vm_manifest import representation_to_vm

DATA = Path(__file__).resolve().parents[1] / "data" / "domxml"
SAMPLES = sorted(DATA.glob("*.xml"))
STORAGE_MAP = {"*": {"pvc_name": "{vm}-{disk_id}"}}
# oVirt elements the hook must leave byte for byte (see passthrough_hook's rules).
KEPT_TOP_LEVEL = ("memory", "currentMemory", "maxMemory", "vcpu", "sysinfo", "clock", "features", "cpu", "cputune", "numatune", "pm", "os")
KEPT_DEVICES = ("controller", "memballoon", "rng", "sound", "input", "watchdog")
KUBEVIRT_UID = "5b1d3e3c-0f3c-4c5e-9a0e-3c8f2f7e9b11"


def launcher_domain(manifest, block_disks=()):
    """A domain shaped like the one virt-launcher generates for the manifest (Go's xml.MarshalIndent style)."""
    spec = manifest["spec"]["template"]["spec"]
    domain = spec["domain"]
    name = manifest["metadata"]["name"]
    parts = [
        '<domain type="kvm" xmlns:qemu="http://libvirt.org/schemas/domain/qemu/1.0">',
        f"\t<name>default_{name}</name>",
        f"\t<uuid>{domain['firmware']['uuid']}</uuid>",
        f'\t<metadata>\n\t\t<kubevirt xmlns="http://kubevirt.io">\n\t\t\t<uid>{KUBEVIRT_UID}</uid>\n\t\t</kubevirt>\n\t</metadata>',
        "\t<memory unit=\"b\">1073741824</memory>",
        "\t<devices>",
        "\t\t<emulator>/usr/libexec/qemu-kvm</emulator>",
    ]
    for interface in domain["devices"]["interfaces"]:
        address = ""
        if "pciAddress" in interface:
            pci_domain, bus, slot_function = interface["pciAddress"].split(":")
            slot, function = slot_function.split(".")
            address = f'<address type="pci" domain="0x{pci_domain}" bus="0x{bus}" slot="0x{slot}" function="0x{function}"></address>'
        if "sriov" in interface:
            parts.append(
                f'\t\t<hostdev type="pci" managed="no"><source><address type="pci" domain="0x0000" bus="0x81" slot="0x10" '
                f'function="0x1"></address></source><alias name="ua-sriov-{interface["name"]}"></alias>{address}</hostdev>'
            )
        else:
            parts.append(
                f'\t\t<interface type="ethernet"><target dev="tap0" managed="no"></target><model type="{interface.get("model", "virtio")}">'
                f'</model><mac address="{interface["macAddress"]}"></mac><alias name="ua-{interface["name"]}"></alias>{address}</interface>'
            )
    for disk in domain["devices"]["disks"]:
        kind = "cdrom" if "cdrom" in disk else "disk"
        if disk["name"] in block_disks:
            source, disk_type = f'<source dev="/dev/{disk["name"]}"></source>', "block"
        else:
            source, disk_type = f'<source file="/var/run/kubevirt-private/vmi-disks/{disk["name"]}/disk.img"></source>', "file"
        parts.append(
            f'\t\t<disk device="{kind}" type="{disk_type}">{source}<target bus="{disk[kind]["bus"]}" dev="sdz"></target>'
            f'<driver cache="none" error_policy="stop" name="qemu" type="raw"></driver><alias name="ua-{disk["name"]}"></alias></disk>'
        )
    for index, device in enumerate(domain["devices"].get("hostDevices", [])):
        parts.append(f'\t\t<hostdev type="pci" managed="no"><source><address type="pci" domain="0x0000" bus="0x3b" slot="0x00" function="0x{index}">'
                     f'</address></source><alias name="ua-hostdevice-{device["name"]}"></alias></hostdev>')
    parts += [
        '\t\t<channel type="unix"><source mode="bind" path="/var/run/kubevirt-private/libvirt/qemu/channel/target/domain-1/org.qemu.guest_agent.0">'
        '</source><target type="virtio" name="org.qemu.guest_agent.0"></target></channel>',
        f'\t\t<graphics type="vnc"><listen type="socket" socket="/var/run/kubevirt-private/{KUBEVIRT_UID}/virt-vnc"></listen></graphics>',
        '\t\t<video><model type="vga" heads="1" vram="16384"></model></video>',
        f'\t\t<serial type="unix"><target port="0"></target>'
        f'<source mode="bind" path="/var/run/kubevirt-private/{KUBEVIRT_UID}/virt-serial0"></source></serial>',
        '\t\t<console type="pty"><target type="serial" port="0"></target></console>',
        "\t</devices>",
        '\t<seclabel type="none" model="selinux"></seclabel>',
        "</domain>",
    ]
    return "\n".join(parts)


def vmi_of(manifest):
    return {"spec": {"domain": {"devices": {"interfaces": manifest["spec"]["template"]["spec"]["domain"]["devices"]["interfaces"]}}}}


def passthrough_case(path, network_map=None):
    representation = build_representation(path.read_text())
    manifest, unused_concerns = representation_to_vm(representation, STORAGE_MAP, network_map or {"*": "multus:vms/net"}, delivery="passthrough")
    config_map = passthrough_configmap(representation, manifest)
    return representation, manifest, config_map


def run_script(script, tmp_path, *args):
    hook = tmp_path / "onDefineDomain"
    hook.write_text(script)
    return subprocess.run([sys.executable, str(hook), *args], capture_output=True, text=True, check=False, timeout=60)


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.stem)
def test_shipped_script_merges_each_sample_as_kubevirt_would_run_it(path, tmp_path):
    representation, manifest, config_map = passthrough_case(path)
    script = config_map["data"][CONFIGMAP_KEY]
    kubevirt = launcher_domain(manifest)
    vmi = vmi_of(manifest)
    result = run_script(script, tmp_path, "--vmi", json.dumps(vmi), "--domain", kubevirt)
    assert result.returncode == 0, result.stderr
    ovirt = fill_placeholders(path.read_text(), default_placeholder_values(representation["configuration"]["uuid"]))
    assert result.stdout == merge_domains(ovirt, kubevirt, vmi)

    merged = etree.fromstring(result.stdout.encode())
    original = etree.fromstring(ovirt.encode())
    assert merged.find("name").text == f"default_{manifest['metadata']['name']}"
    assert merged.find("metadata/{http://kubevirt.io}kubevirt/{http://kubevirt.io}uid").text == KUBEVIRT_UID
    assert merged.find("devices/emulator").text == "/usr/libexec/qemu-kvm"
    # Disks: KubeVirt's storage, no oVirt host path, no backing chain.
    for disk in merged.iterfind("devices/disk"):
        source = disk.find("source")
        paths = [source.get(key) for key in ("file", "dev")] if source is not None else []
        assert not any(p and p.startswith("/rhev/") for p in paths)
        if any(paths):  # an empty drive may keep libvirt's empty <backingStore/> marker
            assert disk.find("backingStore") is None
    # Interfaces: KubeVirt's taps, the oVirt MACs and guest PCI slots.
    original_nics = {n.find("mac").get("address"): n.find("address") for n in original.iterfind("devices/interface")}
    merged_nics = {n.find("mac").get("address"): n for n in merged.iterfind("devices/interface")}
    assert set(merged_nics) == set(original_nics)
    for mac, interface in merged_nics.items():
        assert interface.find("target").get("dev") == "tap0"
        if original_nics[mac] is not None:
            assert interface.find("address").attrib == original_nics[mac].attrib
    assert [g.get("type") for g in merged.iterfind("devices/graphics")] == ["vnc"]
    assert [c.get("type") for c in merged.iterfind("devices/channel")] == ["unix"]
    assert merged.find("devices/lease") is None and merged.find("resource") is None
    assert [s.get("type") for s in merged.iterfind("seclabel")] == ["none"]
    # Everything else of the oVirt domxml is there byte for byte.
    tree = parse_tree(ovirt)
    for node in tree.children:
        if node.name in KEPT_TOP_LEVEL:
            assert node.outer(ovirt) in result.stdout, node.name
    for node in tree.find("devices").children:
        if node.name in KEPT_DEVICES:
            assert node.outer(ovirt) in result.stdout, node.name


def test_sysinfo_placeholders_are_filled_for_kubevirt(tmp_path):
    representation, manifest, config_map = passthrough_case(DATA / "engine_vm_scsi_disk_spice_from_ovf_cluster42.xml")
    result = run_script(config_map["data"][CONFIGMAP_KEY], tmp_path, "--domain", launcher_domain(manifest))
    assert result.returncode == 0, result.stderr
    entries = {e.get("name"): e.text for e in etree.fromstring(result.stdout.encode()).iterfind("sysinfo/system/entry")}
    assert entries["product"] == "KubeVirt"
    assert entries["serial"] == representation["configuration"]["uuid"]  # stable whichever node runs it
    assert entries["version"] is None


def test_configmap_manifest_matches_the_vm():
    unused_representation, manifest, config_map = passthrough_case(DATA / "runtime_cluster42_qcow2_chain_file_disk.xml")
    annotation = json.loads(manifest["spec"]["template"]["metadata"]["annotations"]["hooks.kubevirt.io/hookSidecars"])[0]
    assert config_map["apiVersion"] == "v1" and config_map["kind"] == "ConfigMap"
    assert config_map["metadata"]["name"] == annotation["configMap"]["name"]
    assert list(config_map["data"]) == [annotation["configMap"]["key"]] == [CONFIGMAP_KEY]
    assert config_map["metadata"]["labels"] == manifest["metadata"]["labels"]
    assert config_map["metadata"]["annotations"]["ovirt-kubevirt.io/domxml-sha256"] == manifest["metadata"]["annotations"]["ovirt-kubevirt.io/domxml-sha256"]


def test_configmap_needs_a_passthrough_manifest():
    representation = build_representation((DATA / "engine_vm_scsi_disk_spice_from_ovf_cluster42.xml").read_text())
    manifest, unused_concerns = representation_to_vm(representation, STORAGE_MAP, {"*": "pod"})
    with pytest.raises(InputError, match="translate it with delivery='passthrough'"):
        passthrough_configmap(representation, manifest)


def test_script_is_standalone_stdlib_python_with_the_domxml_embedded():
    domxml = (DATA / "engine_vm_scsi_disk_spice_from_ovf_cluster42.xml").read_text()
    script = render_hook_script(domxml, "vm-uuid", vm_name="vm")
    assert script.startswith("#!/usr/bin/env python3\n")
    tree = ast.parse(script)
    imported = {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    imported |= {node.module.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert imported <= {"__future__", "argparse", "json", "re", "sys", "typing", "xml"}
    targets = [t for node in tree.body if isinstance(node, ast.Assign) for t in node.targets]
    targets += [node.target for node in tree.body if isinstance(node, ast.AnnAssign)]
    names = [t.id for t in targets if isinstance(t, ast.Name)]
    names += [node.name for node in tree.body if isinstance(node, (ast.FunctionDef, ast.ClassDef))]
    assert len(names) == len(set(names)), "the inlined modules define a name twice"
    embedded = next(node.value.value for node in tree.body if isinstance(node, ast.AnnAssign) and node.target.id == "OVIRT_DOMXML")
    assert embedded == fill_placeholders(domxml, default_placeholder_values("vm-uuid"))


def test_hook_without_an_embedded_domxml_refuses_to_run(capsys):
    from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.kubevirt import passthrough_hook

    assert passthrough_hook.OVIRT_DOMXML is None  # only rendered copies carry one
    assert passthrough_hook.main(["--domain", "<domain/>"]) == 2
    assert "this copy carries no oVirt domxml" in capsys.readouterr().err


def test_script_reports_a_domain_it_cannot_merge(tmp_path):
    unused_representation, unused_manifest, config_map = passthrough_case(DATA / "engine_vm_scsi_disk_spice_from_ovf_cluster42.xml")
    result = run_script(config_map["data"][CONFIGMAP_KEY], tmp_path, "--domain", "<domain><name>x</name></domain>")
    assert result.returncode == 1 and result.stdout == ""
    assert "ovirt_kubevirt passthrough hook: KubeVirt's domain has no <devices>" in result.stderr


def test_rendering_refuses_what_a_configmap_cannot_hold():
    # Under the 1 MiB domxml limit, but with the script around it over a ConfigMap's 1 MiB.
    domxml = "<domain><memory>1</memory><vcpu>1</vcpu><description>" + "x" * 1040000 + "</description><devices/></domain>"
    with pytest.raises(InputError, match="a ConfigMap holds at most"):
        render_hook_script(domxml, "u")


# --- merge rules on small documents ------------------------------------------

OVIRT = (
    '<domain type="kvm"><name>vm</name><uuid>u-1</uuid><memory>1024</memory><vcpu>1</vcpu><devices>'
    '<disk type="file" device="disk"><driver name="qemu" cache="none"/><source file="/rhev/data-center/p/s/images/i/v"/>'
    '<backingStore type="file"><source file="/rhev/b"/></backingStore><target dev="vda" bus="virtio"/><serial>i</serial></disk>'
    '<disk type="file" device="cdrom"><source file="/rhev/data-center/iso/x.iso" startupPolicy="optional"/><target dev="hdc" bus="ide"/></disk>'
    '<interface type="bridge"><mac address="00:1A:4A:00:00:01"/><source bridge="ovirtmgmt"/><model type="virtio"/>'
    '<address type="pci" domain="0x0000" bus="0x00" slot="0x03" function="0x0"/></interface>'
    '<hostdev mode="subsystem" type="pci"><source><address domain="0x0000" bus="0x05" slot="0x00" function="0x0"/></source></hostdev>'
    '<hostdev mode="subsystem" type="pci"><source><address domain="0x0000" bus="0x06" slot="0x00" function="0x0"/></source></hostdev>'
    "</devices></domain>"
)
KUBEVIRT = (
    '<domain type="kvm"><name>ns_vm</name><uuid>u-1</uuid><devices>'
    '<disk type="block" device="disk"><source dev="/dev/disk-vda"></source><target dev="vda" bus="virtio"></target>'
    '<driver name="qemu" type="raw"></driver><alias name="ua-disk-vda"></alias></disk>'
    '<interface type="ethernet"><mac address="00:1a:4a:00:00:01"></mac><target dev="tap0" managed="no"></target>'
    '<alias name="ua-nic1"></alias></interface>'
    '<hostdev type="pci"><source><address bus="0x3b"></address></source><alias name="ua-hostdevice-ovirt-hostdev-1"></alias></hostdev>'
    "</devices></domain>"
)


def test_block_volume_replaces_the_file_plumbing_of_a_disk():
    merged = etree.fromstring(merge_domains(OVIRT, KUBEVIRT).encode())
    disk = merged.find("devices/disk[@device='disk']")
    assert disk.get("type") == "block"
    assert disk.find("source").attrib == {"dev": "/dev/disk-vda"}
    assert disk.find("backingStore") is None
    assert disk.find("driver").attrib == {"name": "qemu", "cache": "none", "type": "raw"}  # oVirt's cache stays, KubeVirt's format added
    assert disk.find("alias").get("name") == "ua-disk-vda"
    assert disk.find("serial").text == "i"


def test_a_cdrom_kubevirt_lacks_is_left_empty_and_interfaces_keep_their_slot():
    merged_text = merge_domains(OVIRT, KUBEVIRT)
    merged = etree.fromstring(merged_text.encode())
    assert merged.find("devices/disk[@device='cdrom']/source").attrib == {"file": "", "startupPolicy": "optional"}
    interface = merged.find("devices/interface")
    assert interface.get("type") == "ethernet" and interface.find("address").get("slot") == "0x03"
    assert merged.find("name").text == "ns_vm"


def test_host_devices_are_matched_by_position_or_dropped():
    merged = etree.fromstring(merge_domains(OVIRT, KUBEVIRT).encode())
    hostdevs = merged.findall("devices/hostdev")
    assert [h.find("alias").get("name") for h in hostdevs] == ["ua-hostdevice-ovirt-hostdev-1"]


def test_a_disk_kubevirt_lacks_is_an_error():
    kubevirt = KUBEVIRT.replace('<alias name="ua-disk-vda"></alias>', "")
    with pytest.raises(HookError, match=r"oVirt disk vda \(/rhev/data-center/p/s/images/i/v\) has no KubeVirt disk \(alias ua-disk-vda\)"):
        merge_domains(OVIRT, kubevirt)


def test_a_disk_is_also_found_by_its_serial():
    kubevirt = KUBEVIRT.replace('<alias name="ua-disk-vda"></alias>', "<serial>i</serial>")
    merged = etree.fromstring(merge_domains(OVIRT, kubevirt).encode())
    assert merged.find("devices/disk[@device='disk']/source").get("dev") == "/dev/disk-vda"


def test_an_interface_kubevirt_lacks_is_an_error():
    kubevirt = KUBEVIRT.replace("00:1a:4a:00:00:01", "00:1a:4a:00:00:99")
    with pytest.raises(HookError, match="oVirt interface 00:1a:4a:00:00:01 has no KubeVirt interface with that MAC"):
        merge_domains(OVIRT, kubevirt)


def test_an_sriov_vf_becomes_kubevirts_hostdev():
    ovirt = OVIRT.replace(
        '<interface type="bridge"><mac address="00:1A:4A:00:00:01"/><source bridge="ovirtmgmt"/><model type="virtio"/>',
        '<interface type="hostdev" managed="no"><mac address="00:1A:4A:00:00:01"/><source><address type="pci" bus="0x05"/></source>',
    )
    kubevirt = KUBEVIRT.replace(
        '<interface type="ethernet"><mac address="00:1a:4a:00:00:01"></mac><target dev="tap0" managed="no"></target><alias name="ua-nic1"></alias></interface>',
        '<hostdev type="pci" managed="no"><source><address bus="0x81"></address></source><alias name="ua-sriov-vf1"></alias></hostdev>',
    )
    vmi = {"spec": {"domain": {"devices": {"interfaces": [{"name": "vf1", "macAddress": "00:1A:4A:00:00:01", "sriov": {}}]}}}}
    merged = etree.fromstring(merge_domains(ovirt, kubevirt, vmi).encode())
    assert merged.find("devices/interface") is None
    vf = [h for h in merged.iterfind("devices/hostdev") if h.find("alias").get("name") == "ua-sriov-vf1"]
    assert vf[0].find("address").get("slot") == "0x03"  # the guest keeps the VF's slot
    with pytest.raises(HookError):
        merge_domains(ovirt, kubevirt)  # without the VMI the VF cannot be matched


def test_missing_emulator_and_metadata_are_added():
    metadata = '<metadata><kubevirt xmlns="http://kubevirt.io"><uid>x</uid></kubevirt></metadata>'
    kubevirt = KUBEVIRT.replace("<devices>", metadata + "<devices><emulator>/usr/bin/qemu</emulator>", 1)
    merged_text = merge_domains(OVIRT, kubevirt)
    merged = etree.fromstring(merged_text.encode())
    assert merged.find("devices/emulator").text == "/usr/bin/qemu"
    assert merged.find("metadata/{http://kubevirt.io}kubevirt/{http://kubevirt.io}uid").text == "x"


def test_unreadable_domains_are_hook_errors():
    with pytest.raises(HookError, match="cannot read a domain"):
        merge_domains(OVIRT, "<domain><devices></domain>")


def test_apply_edits_refuses_overlaps_and_keeps_insertion_order():
    assert apply_edits("abcdef", [(1, 1, "X"), (1, 3, "Y"), (1, 1, "Z"), (5, 6, "")]) == "aXZYde"
    with pytest.raises(XmlTextError, match="overlapping edits at offset 2"):
        apply_edits("abcdef", [(1, 3, "X"), (2, 4, "Y")])


def test_scanner_keeps_offsets_and_resolves_references():
    text = "<a x='1 &amp; 2'><b>t&lt;u</b><!-- <c> --><d/></a>"
    root = parse_tree(text)
    assert [n.name for n in iter_nodes(root)] == ["a", "b", "d"]
    assert root.attr(text, "x") == "1 & 2" and root.find("b").text(text) == "t<u"
    assert root.find("d").close_start is None and root.find("d").outer(text) == "<d/>"
    with pytest.raises(XmlTextError, match="</b> at offset 3 does not close anything"):
        parse_tree("<a></b>")
