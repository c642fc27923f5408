# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ovirt_kubevirt.bridge contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The KubeVirt feature gates a VirtualMachine needs, read from the manifest the translation wrote.

virt-api's admitters refuse these parts unless their gate is on (all Alpha in
v1.6 to v1.9, so off by default; pkg/virt-config/featuregate/active.go):
- a hostDisk volume: HostDisk (vmi-create-admitter.go, validateVolumes);
- hostDevices: HostDevices (validateHostDevicesWithPassthroughEnabled);
- the hook-sidecar annotation: Sidecar (ValidateVirtualMachineInstanceMetadata);
- dedicated CPU placement: CPUManager. virt-api admits it, but only with the gate does virt-handler label
  nodes cpumanager=true (pkg/virt-handler/heartbeat), the selector of every such launcher pod
  (nodeselectorrenderer.go), so without it the VM never schedules.

Beta gates are on unless disabled from v1.9 (featuregate.IsEnabled); before, only listed gates are.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, List, Mapping, Optional, Sequence, Tuple

from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.common import labels

# Gates the collection consults that are Beta, so on unless disabled, from a release (v1.9.0 featuregate/active.go).
ON_BY_DEFAULT_FROM = {"DeclarativeHotplugVolumes": (1, 9)}

HOW_TO_ENABLE = "add it to the KubeVirt CR's spec.configuration.developerConfiguration.featureGates"


def effective_gates(listed: Sequence[str], disabled: Sequence[str], release: Optional[Tuple[int, int]]) -> List[str]:
    """The gates a cluster has on: those its KubeVirt CR lists, and the Beta ones its release turns on by default
    unless the CR disables them (featuregate.IsEnabled)."""
    gates = set(str(g) for g in listed)
    if release is not None:
        gates.update(g for g, since in ON_BY_DEFAULT_FROM.items() if release >= since and g not in disabled)
    return sorted(gates)


def _template(manifest: Mapping[str, Any]) -> Mapping[str, Any]:
    return (manifest.get("spec") or {}).get("template") or {}


def _host_disks(manifest: Mapping[str, Any]) -> bool:
    return any("hostDisk" in v for v in (_template(manifest).get("spec") or {}).get("volumes") or [])


def _host_devices(manifest: Mapping[str, Any]) -> bool:
    devices = (((_template(manifest).get("spec") or {}).get("domain") or {}).get("devices") or {})
    return bool(devices.get("hostDevices"))


def _dedicated_cpus(manifest: Mapping[str, Any]) -> bool:
    domain = (_template(manifest).get("spec") or {}).get("domain") or {}
    return bool((domain.get("cpu") or {}).get("dedicatedCpuPlacement"))


def _hook_sidecar(manifest: Mapping[str, Any]) -> bool:
    return bool(((_template(manifest).get("metadata") or {}).get("annotations") or {}).get(labels.HOOK_SIDECARS))


REFUSED = "virt-api refuses it"
NEVER_SCHEDULED = "no node gets the cpumanager=true label its launcher pod needs, so it never schedules"


@dataclass(frozen=True)
class Gated:
    gate: str
    what: str  # the part of the VM that needs the gate
    without: str  # what happens on a cluster without the gate
    alternative: str  # how the VM does without it
    uses: Callable[[Mapping[str, Any]], bool]


GATED: Tuple[Gated, ...] = (
    Gated("HostDisk", "hostDisk volumes (storage_map host_disk_path)", REFUSED,
          "map its disks to claims in storage_map", _host_disks),
    Gated("HostDevices", "host devices passed through (host_device_map)", REFUSED,
          "leave its devices out of host_device_map", _host_devices),
    Gated("Sidecar", "the hook sidecar of passthrough delivery", REFUSED, "use the native delivery", _hook_sidecar),
    Gated("CPUManager", "dedicated CPUs (oVirt CPU pinning)", NEVER_SCHEDULED,
          "remove its CPU pinning in oVirt", _dedicated_cpus),
)


def needed_gates(manifest: Mapping[str, Any]) -> List[Gated]:
    """Each gate the manifest needs."""
    return [gated for gated in GATED if gated.uses(manifest)]
