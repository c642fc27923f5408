# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ovirt_kubevirt.bridge contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the parts of the translation to a VirtualMachine share: its state, constants and helpers."""
from __future__ import annotations

import re
from typing import Any, Dict, List, Mapping, Optional, Sequence

from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.common import labels
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.common.errors import InputError
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.common.kubevirt_api import KUBEVIRT_API
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.model.vm_config import Disk, Nic, VmConfig

API_VERSION = KUBEVIRT_API
LABEL_VM_ID = labels.VM_ID
LABEL_CLUSTER_ID = labels.CLUSTER_ID
ANNOTATION_VM_NAME = labels.VM_NAME
ANNOTATION_CLUSTER_ID = labels.CLUSTER_ID
ANNOTATION_DOMXML_SHA256 = labels.DOMXML_SHA256
ANNOTATION_HA_PRIORITY = labels.HA_PRIORITY
ANNOTATION_DELIVERY = labels.DELIVERY
AFFINITY_LABEL_PREFIX = labels.AFFINITY_LABEL_PREFIX
HOSTNAME_LABEL = labels.HOSTNAME
RUN_STRATEGIES = ("Always", "Halted", "Manual", "RerunOnFailure", "Once")
DELIVERIES = ("native", "passthrough")
CATEGORIES = ("critical", "warning", "info")
DEFAULT_PVC_NAME = "{vm}-{disk_id}"
DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")
UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


class Concerns:
    """The concern list; in passthrough delivery what the domxml keeps is only info."""

    def __init__(self, passthrough: bool) -> None:
        self.passthrough = passthrough
        self.items: List[Dict[str, str]] = []

    def add(self, concern_id: str, category: str, message: str, kept_by_domxml: bool = False) -> None:
        if kept_by_domxml and self.passthrough:
            category = "info"
            message += " Passthrough delivery keeps it: the oVirt domxml carries it."
        self.items.append({"id": f"ovirt_kubevirt.{concern_id}", "category": category, "message": message})


def quantity_kib(kib: int) -> str:
    """A Kubernetes quantity for a size in KiB, in the largest exact binary unit."""
    for unit, factor in (("Ti", 1024**3), ("Gi", 1024**2), ("Mi", 1024)):
        if kib % factor == 0 and kib >= factor:
            return f"{kib // factor}{unit}"
    return f"{kib}Ki"


def quantity_bytes(size: int) -> str:
    return quantity_kib(size // 1024) if size % 1024 == 0 else str(size)


def pci_address(address: Mapping[str, str]) -> Optional[str]:
    if address.get("type") != "pci":
        return None
    try:
        parts = [int(address.get(key, "0"), 16) for key in ("domain", "bus", "slot", "function")]
    except ValueError:
        return None
    return "{:04x}:{:02x}:{:02x}.{:x}".format(*parts)


def integer(value: Any, what: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise InputError(f"{what} is not an integer: {value!r}") from None


def label_ok(value: str) -> bool:
    return len(value) <= 63 and bool(LABEL_VALUE.match(value))


def disk_label(disk: Disk) -> str:
    described = disk.name or disk.image_id or disk.lun_id
    return f"{disk.target} ({described})" if described else disk.target


def nic_label(nic: Nic) -> str:
    return f"{nic.name} ({nic.mac})" if nic.name else nic.mac


LABEL_VALUE = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$")


class TranslationBase:
    """The state one translation shares between its parts (domain, devices, disks, interfaces, placement)."""

    def __init__(self, config: VmConfig, scheduling: Mapping[str, Any], dynamic: Mapping[str, Any], domxml: Optional[str],
                 storage_map: Mapping[str, Any], network_map: Mapping[str, Any], host_device_map: Mapping[str, str],
                 node_map: Mapping[str, str], delivery: str, feature_gates: Optional[Sequence[str]] = None) -> None:
        self.config = config
        # The cluster's enabled feature gates; None when they are not known.
        self.feature_gates = None if feature_gates is None else frozenset(str(g) for g in feature_gates)
        self.scheduling = scheduling
        self.dynamic = dynamic
        self.domxml = domxml
        self.storage_map = storage_map
        self.network_map = network_map
        self.host_device_map = host_device_map
        self.node_map = node_map
        self.passthrough = delivery == "passthrough"
        self.concerns = Concerns(self.passthrough)
        self.vm_name = ""
        self.pod_network_used = False
        self.data_volumes: List[Dict[str, Any]] = []
        # Node label keys the VM requires, from host devices that are not passed through.
        self.required_node_labels: List[str] = []
