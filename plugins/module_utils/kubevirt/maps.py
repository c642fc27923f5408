# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ovirt_kubevirt.bridge contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The caller's storage and network maps, checked entry by entry."""
from __future__ import annotations

from typing import Any, Dict, Mapping

from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.common.errors import InputError
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.common.quantities import is_quantity

STORAGE_KEYS = {"storage_class", "pvc_name", "host_disk_path", "volume_mode", "access_modes", "imageio", "source", "size"}


def render(template: str, values: Mapping[str, Any], what: str) -> str:
    try:
        return template.format_map(values)
    except (KeyError, IndexError, ValueError) as exc:
        raise InputError(
            f"{what} template {template!r} is invalid ({exc}); it may use {', '.join('{' + k + '}' for k in values)}"
        ) from None


def storage_entry(entry: Any, key: str) -> Dict[str, Any]:
    if not isinstance(entry, Mapping):
        raise InputError(f"storage_map[{key!r}] must be a mapping, got {type(entry).__name__}")
    unknown = sorted(set(entry) - STORAGE_KEYS)
    if unknown:
        raise InputError(
            f"storage_map[{key!r}]: unknown key{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}; "
            f"known: {', '.join(sorted(STORAGE_KEYS))}"
        )
    kinds = [k for k in ("storage_class", "host_disk_path") if entry.get(k)]
    if len(kinds) > 1:
        raise InputError(f"storage_map[{key!r}]: give storage_class or host_disk_path, not both")
    if not kinds and not entry.get("pvc_name"):
        raise InputError(f"storage_map[{key!r}] needs storage_class (DataVolume), pvc_name (existing PVC) or host_disk_path")
    if entry.get("storage_class") and not (entry.get("imageio") or entry.get("source")):
        raise InputError(
            f"storage_map[{key!r}]: a DataVolume needs imageio (import the oVirt disk) or source (any CDI source); "
            "a blank disk is never assumed"
        )
    if entry.get("size") is not None and not is_quantity(entry["size"]):
        raise InputError(f"storage_map[{key!r}].size {entry['size']!r} is not a Kubernetes quantity")
    return dict(entry)


def network_entry(entry: Any, key: str) -> Dict[str, str]:
    if isinstance(entry, str):
        if entry == "pod":
            return {"type": "pod", "binding": "masquerade"}
        if entry.startswith("multus:") and len(entry) > len("multus:"):
            return {"type": "multus", "name": entry[len("multus:"):], "binding": "bridge"}
        raise InputError(f"network_map[{key!r}] must be 'pod' or 'multus:<namespace>/<name>', got {entry!r}")
    if not isinstance(entry, Mapping):
        raise InputError(f"network_map[{key!r}] must be a string or a mapping, got {type(entry).__name__}")
    unknown = sorted(set(entry) - {"type", "name", "binding"})
    if unknown:
        raise InputError(f"network_map[{key!r}]: unknown key{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}")
    kind = entry.get("type")
    if kind not in ("pod", "multus"):
        raise InputError(f"network_map[{key!r}].type must be pod or multus, got {kind!r}")
    if kind == "multus" and not entry.get("name"):
        raise InputError(f"network_map[{key!r}]: a multus network needs name: <namespace>/<name>")
    binding = entry.get("binding") or ("masquerade" if kind == "pod" else "bridge")
    if binding not in ("masquerade", "bridge", "sriov"):
        raise InputError(f"network_map[{key!r}].binding must be masquerade, bridge or sriov, got {binding!r}")
    return {"type": kind, "name": str(entry.get("name") or ""), "binding": binding}
