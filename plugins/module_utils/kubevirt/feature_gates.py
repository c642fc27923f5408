# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ovirt_kubevirt.bridge contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The KubeVirt feature gates a VirtualMachine needs, read from the manifest the translation wrote.

virt-api's admitters refuse these parts unless their gate is on (all Alpha in
v1.6 to v1.9, so off by default; pkg/virt-config/featuregate/active.go):
- a hostDisk volume: HostDisk (vmi-create-admitter.go, validateVolumes);
- hostDevices: HostDevices (validateHostDevicesWithPassthroughEnabled);
- the hook-sidecar annotation: Sidecar (ValidateVirtualMachineInstanceMetadata).
"""
from __future__ import annotations

from typing import Any, Callable, List, Mapping, Tuple

from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.common import labels

HOW_TO_ENABLE = "add it to the KubeVirt CR's spec.configuration.developerConfiguration.featureGates"


def _template(manifest: Mapping[str, Any]) -> Mapping[str, Any]:
    return (manifest.get("spec") or {}).get("template") or {}


def _host_disks(manifest: Mapping[str, Any]) -> bool:
    return any("hostDisk" in v for v in (_template(manifest).get("spec") or {}).get("volumes") or [])


def _host_devices(manifest: Mapping[str, Any]) -> bool:
    devices = (((_template(manifest).get("spec") or {}).get("domain") or {}).get("devices") or {})
    return bool(devices.get("hostDevices"))


def _hook_sidecar(manifest: Mapping[str, Any]) -> bool:
    return bool(((_template(manifest).get("metadata") or {}).get("annotations") or {}).get(labels.HOOK_SIDECARS))


# (gate, what needs it, whether the manifest has it)
GATED: Tuple[Tuple[str, str, Callable[[Mapping[str, Any]], bool]], ...] = (
    ("HostDisk", "hostDisk volumes (storage_map host_disk_path)", _host_disks),
    ("HostDevices", "host devices passed through (host_device_map)", _host_devices),
    ("Sidecar", "the hook sidecar of passthrough delivery", _hook_sidecar),
)


def needed_gates(manifest: Mapping[str, Any]) -> List[Tuple[str, str]]:
    """Each gate the manifest needs, with what needs it."""
    return [(gate, what) for gate, what, uses in GATED if uses(manifest)]
