# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ovirt_kubevirt.bridge contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Interfaces: each oVirt NIC to a KubeVirt interface and its network."""
from __future__ import annotations

import re
from typing import Any, Dict, List, Mapping, Optional, Tuple

from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.common.errors import InputError
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.common.naming import kubernetes_name
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.kubevirt.maps import network_entry
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.kubevirt.translation import TranslationBase, nic_label, pci_address
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.model.vm_config import Nic

KUBEVIRT_NIC_MODELS = ("virtio", "e1000", "e1000e", "igb", "ne2k_pci", "pcnet", "rtl8139")
_MAC = re.compile(r"^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$")


class InterfacesPart(TranslationBase):
    """Interfaces: each oVirt NIC to a KubeVirt interface and its network."""

    def interfaces(self) -> Tuple[List[Dict[str, Any]], List[Dict[str, Any]]]:
        interfaces: List[Dict[str, Any]] = []
        networks: List[Dict[str, Any]] = []
        used_names: Dict[str, int] = {}
        pod_nic: Optional[str] = None
        for index, nic in enumerate(self.config.nics):
            if not _MAC.match(nic.mac):
                raise InputError(f"NIC {nic.name or index + 1} has MAC address {nic.mac!r}, which is not a MAC address")
            key = next((k for k in (nic.vnic_profile, nic.network, "*") if k and k in self.network_map), None)
            if key is None:
                self.concerns.add(
                    "nic.unmapped", "critical",
                    f"NIC {nic_label(nic)} on network {nic.network or '(none)'} is not in the network map; it is not attached.",
                )
                continue
            target = network_entry(self.network_map[key], key)
            if target["type"] == "pod":
                if pod_nic is not None:
                    self.concerns.add(
                        "nic.second_pod", "critical",
                        f"NIC {nic_label(nic)} maps to the pod network, which {pod_nic} already uses; only one NIC may. It is not attached.",
                    )
                    continue
                pod_nic = nic_label(nic)
            name = self.interface_name(nic, index, used_names)
            interfaces.append(self.interface(nic, name, target))
            network: Dict[str, Any] = {"name": name}
            network.update({"pod": {}} if target["type"] == "pod" else {"multus": {"networkName": target["name"]}})
            networks.append(network)
            self.nic_concerns(nic, target)
        self.pod_network_used = pod_nic is not None
        return interfaces, networks

    @staticmethod
    def interface_name(nic: Nic, index: int, used: Dict[str, int]) -> str:
        name = kubernetes_name(nic.name)[0] if nic.name else f"nic{index + 1}"
        if name in used:
            used[name] += 1
            name = f"{name}-{used[name]}"
        used.setdefault(name, 0)
        return name

    def interface(self, nic: Nic, name: str, target: Mapping[str, str]) -> Dict[str, Any]:
        binding = target["binding"]
        if nic.type == "hostdev" and binding != "sriov":
            self.concerns.add(
                "nic.sriov_binding", "warning",
                f"SR-IOV NIC {nic_label(nic)} maps to a {binding} binding; the guest gets a paravirtual NIC instead of a VF.",
            )
        interface: Dict[str, Any] = {"name": name, binding: {}, "macAddress": nic.mac}
        if binding != "sriov":
            model = nic.model or "virtio"
            if model == "pv":
                model = "virtio"
            if model not in KUBEVIRT_NIC_MODELS:
                self.concerns.add(
                    "nic.model_changed", "warning",
                    f"NIC {nic_label(nic)} model {model} is not offered by KubeVirt; it becomes virtio.",
                )
                model = "virtio"
            interface["model"] = model
        if nic.boot_order:
            interface["bootOrder"] = nic.boot_order
        if not nic.link_up:
            if binding == "bridge":
                interface["state"] = "down"
            else:
                self.concerns.add(
                    "nic.link_down", "info",
                    f"NIC {nic_label(nic)} is unplugged in oVirt; KubeVirt can only set link down on bridge bindings, so its link is up.",
                )
        if self.passthrough:
            pci = pci_address(nic.address)
            if pci:
                interface["pciAddress"] = pci
        return interface

    def nic_concerns(self, nic: Nic, target: Mapping[str, str]) -> None:
        label = nic_label(nic)
        if nic.inbound or nic.outbound:
            self.concerns.add("nic.qos", "warning", f"NIC {label} has network QoS (bandwidth limits); KubeVirt has none per interface.")
        if nic.filter and nic.filter != "vdsm-no-mac-spoofing":
            self.concerns.add("nic.filter", "warning", f"NIC {label} uses network filter {nic.filter}; KubeVirt applies no libvirt network filters.")
        if nic.port_mirroring:
            self.concerns.add(
                "nic.port_mirroring", "warning",
                f"NIC {label} mirrors traffic of {', '.join(nic.port_mirroring)}; KubeVirt has no port mirroring.",
            )
        if nic.custom_properties:
            self.concerns.add(
                "nic.custom_properties", "warning",
                f"NIC {label} vNIC profile custom properties ({', '.join(sorted(nic.custom_properties))}) are not carried.",
            )
        if nic.type == "hostdev" and nic.vlan is not None and target["binding"] == "sriov":
            self.concerns.add(
                "nic.vlan", "info",
                f"SR-IOV NIC {label} VLAN {nic.vlan} comes from the network attachment definition {target['name']}.",
            )
