# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ovirt_kubevirt.bridge contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Passthrough delivery: start the oVirt domxml itself under KubeVirt.

KubeVirt accepts a whole domain only through a hook sidecar. This module is
the hook: KubeVirt's sidecar-shim runs it as ``onDefineDomain --vmi <VMI JSON>
--domain <domain XML KubeVirt generated>`` and defines whatever it prints.
``passthrough.render_hook_script`` copies this module (from the
``hook-script: begin`` line on, with the ``xml_text`` scanner it needs) into a
ConfigMap, with the oVirt domxml embedded as ``OVIRT_DOMXML``.

``merge_domains`` returns the oVirt domxml with only what is local to the
virt-launcher pod taken from KubeVirt's domain; every other character of the
oVirt domxml is kept as it was:

1. ``<name>`` (virt-launcher finds its domain by name) and ``<uuid>`` when it
   differs;
2. KubeVirt's ``<metadata>`` children, appended to the oVirt metadata
   (virt-launcher reads its own back);
3. ``<devices><emulator>``, replaced or inserted;
4. each oVirt disk KubeVirt also has (alias ``ua-disk-<target>``, or the same
   serial): the disk's ``type`` attribute, ``<source>``, the driver's ``type``
   attribute and ``<alias>`` come from KubeVirt, ``<backingStore>`` chains are
   dropped; a disk or LUN with a source KubeVirt lacks is an error, a CD-ROM or
   floppy KubeVirt lacks is left empty;
5. each oVirt interface is replaced by KubeVirt's interface with the same MAC
   (for an SR-IOV VF, KubeVirt's ``<hostdev>`` aliased ``ua-sriov-<name>``),
   keeping the oVirt guest PCI address when KubeVirt's has none;
6. the n-th oVirt ``<hostdev>`` becomes KubeVirt's host device named
   ``ovirt-hostdev-<n>``, or is dropped when KubeVirt has none;
7. graphics and video come from KubeVirt; SPICE-only devices (spicevmc
   channels and redirdevs, smartcards) are dropped;
8. unix channels come from KubeVirt (matched by target name); oVirt-only ones
   (their sockets live in host directories) are dropped;
9. serial ports and consoles come from KubeVirt (``virtctl console``);
10. leases are dropped (no sanlock in the pod), top-level ``<seclabel>`` and
    ``<resource>`` come from KubeVirt.

KubeVirt devices without an oVirt counterpart are appended to ``<devices>``.
Any other problem makes the hook exit non-zero with a message, so the VM
fails to start rather than start as something else.
"""
from __future__ import annotations

# ruff: noqa: I001  (the script begins at its marker, so the inlined import stays above it)

from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.domxml.xml_text import (  # inlined in the hook script
    Node,
    XmlTextError,
    apply_edits,
    parse_tree,
)
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.kubevirt.device_names import (  # inlined in the hook script
    kubevirt_disk_name,
    kubevirt_host_device_name,
)

# hook-script: begin
import argparse
import json
import sys
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

HOOK_PATH = "/usr/bin/onDefineDomain"
HOOK_VERSION = "v1alpha2"
# The ConfigMap copy of this script carries the oVirt domxml here.
OVIRT_DOMXML: Optional[str] = None


class HookError(Exception):
    """The two domains cannot be merged; the message says which device and why."""


def merge_domains(ovirt_domxml: str, kubevirt_domxml: str, vmi: Optional[Mapping[str, Any]] = None) -> str:
    """The oVirt domxml with the launcher-local parts taken from KubeVirt's domain."""
    try:
        merge = _Merge(ovirt_domxml, parse_tree(ovirt_domxml), kubevirt_domxml, parse_tree(kubevirt_domxml), vmi or {})
    except XmlTextError as exc:
        raise HookError(f"cannot read a domain: {exc}") from None
    return apply_edits(ovirt_domxml, merge.edits())


class _Merge:
    def __init__(self, ovirt: str, ovirt_root: Node, kubevirt: str, kubevirt_root: Node, vmi: Mapping[str, Any]) -> None:
        self.o, self.ot, self.k, self.kt = ovirt, ovirt_root, kubevirt, kubevirt_root
        self.vmi = vmi
        self.changes: List[Tuple[int, int, str]] = []
        self.appended: List[str] = []

    # -- primitives --

    def replace(self, node: Node, text: str) -> None:
        self.changes.append((node.start, node.end, text))

    def remove(self, node: Node) -> None:
        self.replace(node, "")

    def insert(self, offset: int, text: str) -> None:
        self.changes.append((offset, offset, text))

    def kout(self, node: Node) -> str:
        return node.outer(self.k)

    def replace_content(self, node: Node, content: str) -> None:
        if node.close_start is None:
            self.replace(node, f"<{node.name}>{content}</{node.name}>")
        else:
            self.changes.append((node.open_end, node.close_start, content))

    def set_attribute(self, node: Node, name: str, raw_value: str) -> None:
        span = node.attrs.get(name)
        if span is not None:
            self.changes.append((span[0], span[1], raw_value))
        else:
            offset = node.start + 1 + len(node.name)
            self.insert(offset, f' {name}="{raw_value}"')

    def kattr_raw(self, node: Node, name: str) -> Optional[str]:
        span = node.attrs.get(name)
        return None if span is None else self.k[span[0]:span[1]]

    # -- the merge --

    def edits(self) -> List[Tuple[int, int, str]]:
        o_devices, k_devices = self.ot.find("devices"), self.kt.find("devices")
        if o_devices is None or o_devices.close_start is None:
            raise HookError("the oVirt domxml has no <devices>")
        if k_devices is None:
            raise HookError("KubeVirt's domain has no <devices>")
        self.identity()
        self.metadata()
        self.emulator(o_devices, k_devices)
        self.disks(o_devices, k_devices)
        used = self.interfaces(o_devices, k_devices)
        self.host_devices(o_devices, k_devices, used)
        self.graphics(o_devices, k_devices)
        self.channels(o_devices, k_devices)
        self.replace_all(o_devices, k_devices, ("serial", "console"))
        for lease in o_devices.findall("lease"):
            self.remove(lease)
        self.insert(o_devices.close_start, "".join(self.appended))
        self.top_level()
        return self.changes

    def identity(self) -> None:
        for tag in ("name", "uuid"):
            o_node, k_node = self.ot.find(tag), self.kt.find(tag)
            if k_node is None:
                continue
            if o_node is None:
                raise HookError(f"the oVirt domxml has no <{tag}>")
            if o_node.text(self.o).strip() != k_node.text(self.k).strip():
                self.replace_content(o_node, k_node.inner(self.k))

    def metadata(self) -> None:
        k_metadata = self.kt.find("metadata")
        if k_metadata is None or not k_metadata.inner(self.k).strip():
            return
        o_metadata = self.ot.find("metadata")
        if o_metadata is None:
            self.insert(self.ot.close_start or self.ot.end, self.kout(k_metadata))
        elif o_metadata.close_start is None:
            self.replace(o_metadata, f"<metadata>{k_metadata.inner(self.k)}</metadata>")
        else:
            self.insert(o_metadata.close_start, k_metadata.inner(self.k))

    def emulator(self, o_devices: Node, k_devices: Node) -> None:
        k_emulator = k_devices.find("emulator")
        if k_emulator is None:
            return
        o_emulator = o_devices.find("emulator")
        if o_emulator is not None:
            self.replace(o_emulator, self.kout(k_emulator))
        else:
            self.insert(o_devices.open_end, self.kout(k_emulator))

    def disks(self, o_devices: Node, k_devices: Node) -> None:
        k_disks = k_devices.findall("disk")
        by_alias = {self.alias(self.k, d): d for d in k_disks}
        by_serial = {self.child_text(self.k, d, "serial"): d for d in k_disks if self.child_text(self.k, d, "serial")}
        used = set()
        for o_disk in o_devices.findall("disk"):
            target_node = o_disk.find("target")
            target = (target_node.attr(self.o, "dev") if target_node is not None else None) or ""
            serial = self.child_text(self.o, o_disk, "serial")
            k_disk = by_alias.get("ua-" + kubevirt_disk_name(target)) or (by_serial.get(serial) if serial else None)
            if k_disk is None:
                self.unmatched_disk(o_disk, target)
                continue
            used.add(id(k_disk))
            self.merge_disk(o_disk, k_disk)
        self.appended.extend(self.kout(d) for d in k_disks if id(d) not in used)

    def unmatched_disk(self, o_disk: Node, target: str) -> None:
        source = o_disk.find("source")
        if source is None:
            return
        for key in ("file", "dev", "name"):
            value = source.attr(self.o, key)
            if not value:
                continue
            if o_disk.attr(self.o, "device") in ("cdrom", "floppy"):
                # A drive KubeVirt does not provide is started empty, not with a host path.
                span = source.attrs[key]
                self.changes.append((span[0], span[1], ""))
                for chain in o_disk.findall("backingStore"):
                    self.remove(chain)
                return
            raise HookError(
                f"oVirt disk {target} ({value}) has no KubeVirt disk (alias ua-{kubevirt_disk_name(target)}); "
                "map its storage domain in the storage map"
            )

    def merge_disk(self, o_disk: Node, k_disk: Node) -> None:
        k_type = self.kattr_raw(k_disk, "type")
        if k_type is not None and "type" in o_disk.attrs:
            self.set_attribute(o_disk, "type", k_type)
        self.replace_or_insert(o_disk, k_disk, "source", o_disk.open_end)
        for chain in o_disk.findall("backingStore"):
            self.remove(chain)
        o_driver, k_driver = o_disk.find("driver"), k_disk.find("driver")
        if k_driver is not None:
            if o_driver is None:
                self.insert(o_disk.open_end, self.kout(k_driver))
            elif self.kattr_raw(k_driver, "type") is not None:
                self.set_attribute(o_driver, "type", self.kattr_raw(k_driver, "type") or "")
        self.replace_or_insert(o_disk, k_disk, "alias", o_disk.close_start or o_disk.end)

    def replace_or_insert(self, o_parent: Node, k_parent: Node, tag: str, offset: int) -> None:
        k_node = k_parent.find(tag)
        if k_node is None:
            return
        o_node = o_parent.find(tag)
        if o_node is not None:
            self.replace(o_node, self.kout(k_node))
        else:
            self.insert(offset, self.kout(k_node))

    def interfaces(self, o_devices: Node, k_devices: Node) -> set:
        k_interfaces = k_devices.findall("interface")
        by_mac = {self.mac(self.k, i): i for i in k_interfaces}
        hostdevs = {self.alias(self.k, h): h for h in k_devices.findall("hostdev")}
        names = self.vmi_interface_names()
        used = set()
        for o_interface in o_devices.findall("interface"):
            mac = self.mac(self.o, o_interface)
            k_interface = by_mac.get(mac)
            if k_interface is None and o_interface.attr(self.o, "type") == "hostdev" and mac in names:
                k_interface = hostdevs.get(f"ua-sriov-{names[mac]}")
            if k_interface is None:
                raise HookError(f"oVirt interface {mac} has no KubeVirt interface with that MAC; map its network in the network map")
            used.add(id(k_interface))
            self.replace(o_interface, self.with_guest_address(o_interface, k_interface))
        self.appended.extend(self.kout(i) for i in k_interfaces if id(i) not in used)
        return used

    def host_devices(self, o_devices: Node, k_devices: Node, used: set) -> None:
        k_hostdevs = [h for h in k_devices.findall("hostdev") if id(h) not in used]
        for index, o_hostdev in enumerate(o_devices.findall("hostdev")):
            suffix = "-" + kubevirt_host_device_name(index)
            match = next((h for h in k_hostdevs if self.alias(self.k, h).endswith(suffix)), None)
            if match is None:
                self.remove(o_hostdev)
                continue
            k_hostdevs.remove(match)
            self.replace(o_hostdev, self.with_guest_address(o_hostdev, match))
        self.appended.extend(self.kout(h) for h in k_hostdevs)

    def with_guest_address(self, o_node: Node, k_node: Node) -> str:
        """KubeVirt's element, given the oVirt guest address when it has none (the guest keeps its slot)."""
        text = self.kout(k_node)
        o_address = o_node.find("address")
        if o_address is None or k_node.find("address") is not None:
            return text
        address = o_address.outer(self.o)
        if k_node.close_start is None:
            head = self.k[k_node.start:k_node.open_end].rstrip("/>").rstrip()
            return f"{head}>{address}</{k_node.name}>"
        cut = k_node.close_start - k_node.start
        return text[:cut] + address + text[cut:]

    def graphics(self, o_devices: Node, k_devices: Node) -> None:
        o_nodes = o_devices.findall("graphics") + o_devices.findall("video")
        k_text = "".join(self.kout(n) for n in k_devices.findall("graphics") + k_devices.findall("video"))
        if o_nodes:
            first = min(o_nodes, key=lambda n: n.start)
            for node in o_nodes:
                self.replace(node, k_text if node is first else "")
        else:
            self.appended.append(k_text)
        kubevirt_spice = any(g.attr(self.k, "type") == "spice" for g in k_devices.findall("graphics"))
        if not kubevirt_spice:
            for tag in ("channel", "redirdev", "smartcard"):
                for node in o_devices.findall(tag):
                    if node.attr(self.o, "type") == "spicevmc" or tag == "smartcard":
                        self.remove(node)

    def channels(self, o_devices: Node, k_devices: Node) -> None:
        k_channels = {self.channel_name(self.k, c): c for c in k_devices.findall("channel") if c.attr(self.k, "type") == "unix"}
        used = set()
        for o_channel in o_devices.findall("channel"):
            if o_channel.attr(self.o, "type") != "unix":
                continue
            k_channel = k_channels.get(self.channel_name(self.o, o_channel))
            if k_channel is None:
                self.remove(o_channel)
            else:
                used.add(id(k_channel))
                self.replace(o_channel, self.kout(k_channel))
        self.appended.extend(self.kout(c) for c in k_channels.values() if id(c) not in used)

    def replace_all(self, o_devices: Node, k_devices: Node, tags: Sequence[str]) -> None:
        for tag in tags:
            for node in o_devices.findall(tag):
                self.remove(node)
            self.appended.extend(self.kout(n) for n in k_devices.findall(tag))

    def top_level(self) -> None:
        added: List[str] = []
        for tag in ("resource", "seclabel"):
            for node in self.ot.findall(tag):
                self.remove(node)
            added.extend(self.kout(n) for n in self.kt.findall(tag))
        if added:
            self.insert(self.ot.close_start or self.ot.end, "".join(added))

    # -- readers --

    @staticmethod
    def alias(text: str, node: Node) -> str:
        alias = node.find("alias")
        return (alias.attr(text, "name") if alias is not None else None) or ""

    @staticmethod
    def child_text(text: str, node: Node, tag: str) -> str:
        child = node.find(tag)
        return child.text(text).strip() if child is not None else ""

    @staticmethod
    def mac(text: str, node: Node) -> str:
        mac = node.find("mac")
        return ((mac.attr(text, "address") if mac is not None else None) or "").lower()

    @staticmethod
    def channel_name(text: str, node: Node) -> str:
        target = node.find("target")
        return (target.attr(text, "name") if target is not None else None) or ""

    def vmi_interface_names(self) -> Dict[str, str]:
        spec = self.vmi.get("spec") if isinstance(self.vmi, Mapping) else None
        interfaces = (((spec or {}).get("domain") or {}).get("devices") or {}).get("interfaces") or []
        return {str(i.get("macAddress", "")).lower(): str(i.get("name", "")) for i in interfaces if isinstance(i, Mapping)}


def _check_well_formed(document: str) -> None:
    # Only ever run on the merge of two trusted documents: the oVirt domxml was
    # checked when the ConfigMap was rendered and KubeVirt generated the other.
    from xml.etree import ElementTree  # pylint: disable=import-outside-toplevel

    try:
        ElementTree.fromstring(document.encode("utf-8"))
    except ElementTree.ParseError as exc:
        raise HookError(f"the merged domain is not well-formed XML: {exc}") from None


def main(argv: Sequence[str]) -> int:
    """Entry point of the sidecar hook; prints the domain libvirt should define."""
    parser = argparse.ArgumentParser(prog="onDefineDomain", description="ovirt_kubevirt.bridge passthrough hook")
    parser.add_argument("--vmi", default="{}", help="the VMI as JSON")
    parser.add_argument("--domain", required=True, help="the domain XML KubeVirt generated")
    args, _unknown = parser.parse_known_args(list(argv))
    if OVIRT_DOMXML is None:
        sys.stderr.write("ovirt_kubevirt passthrough hook: this copy carries no oVirt domxml (render it with passthrough.render_hook_script)\n")
        return 2
    try:
        vmi = json.loads(args.vmi) if args.vmi else {}
        merged = merge_domains(OVIRT_DOMXML, args.domain, vmi)
        _check_well_formed(merged)
    except (HookError, ValueError) as exc:
        sys.stderr.write(f"ovirt_kubevirt passthrough hook: {exc}\n")
        return 1
    sys.stdout.write(merged)
    return 0


if __name__ == "__main__":
    # This module is also the hook script KubeVirt runs: a process, not an Ansible module.
    sys.exit(main(sys.argv[1:]))  # pylint: disable=ansible-bad-function
