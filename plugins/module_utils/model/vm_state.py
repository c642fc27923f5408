# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ovirt_kubevirt.bridge contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A KubeVirt VM's runtime state in oVirt's terms: the representation's ``dynamic`` part.

Pure functions. ``dynamic_data`` maps a VirtualMachine and its VMI onto oVirt's
VM status and the other runtime facts; ``changes`` compares two of those; and
``change_event`` words one change as an oVirt event with a deterministic
custom_id, so a replay posts nothing twice.

The status mapping (first match wins):

==============================================================  ==================
KubeVirt                                                        oVirt status
==============================================================  ==================
VMI phase Unknown (its node stopped reporting)                  unknown
VMI being deleted while the VM asks to start again (restart)    reboot_in_progress
VMI being deleted                                               powering_down
VMI Succeeded or Failed, or no VMI                              down
VMI Pending or Scheduling                                       wait_for_launch
VMI Scheduled                                                   powering_up
VMI Running, condition Paused                                   paused
VMI Running, a migration in progress                            migrating
VMI Running, condition Ready False                              not_responding
VMI Running                                                     up
==============================================================  ==================
"""
from __future__ import annotations

import json
from typing import Any, Dict, List, Mapping, Optional, Tuple

from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.common.naming import event_custom_id

Obj = Dict[str, Any]

# The facts whose change is worth an oVirt event; guest IPs and OS details are returned, not evented.
REPORTED = ("status", "run_on_vds", "console_ip", "migration")
WARNING_STATUSES = ("not_responding", "unknown")


def _status(obj: Optional[Mapping[str, Any]]) -> Mapping[str, Any]:
    return (obj or {}).get("status") or {}


def _condition(vmi: Optional[Mapping[str, Any]], kind: str) -> Optional[Mapping[str, Any]]:
    return next((c for c in _status(vmi).get("conditions") or [] if c.get("type") == kind), None)


def migration_in_progress(vmi: Optional[Mapping[str, Any]]) -> bool:
    state = _status(vmi).get("migrationState") or {}
    return bool(state) and not state.get("completed") and not state.get("failed")


def _restart_requested(vm: Optional[Mapping[str, Any]]) -> bool:
    requests = [r.get("action") for r in _status(vm).get("stateChangeRequests") or []]
    return "Start" in requests


def ovirt_status(vm: Optional[Mapping[str, Any]], vmi: Optional[Mapping[str, Any]]) -> Tuple[str, str]:
    """(oVirt status, a one-line detail saying which KubeVirt state gave it)."""
    phase = _status(vmi).get("phase")
    if vmi is None:
        printable = _status(vm).get("printableStatus")
        return "down", f"no VMI (VirtualMachine {printable})" if printable else "no VMI"
    if phase == "Unknown":
        return "unknown", "VMI phase Unknown: its node stopped reporting"
    if (vmi.get("metadata") or {}).get("deletionTimestamp"):
        if _restart_requested(vm):
            return "reboot_in_progress", "VMI being replaced (restart)"
        return "powering_down", "VMI being deleted"
    if phase in ("Succeeded", "Failed"):
        return "down", f"VMI {phase}"
    if phase in (None, "", "Pending", "Scheduling"):
        return "wait_for_launch", f"VMI {phase or 'created'}"
    if phase == "Scheduled":
        return "powering_up", "VMI Scheduled"
    paused = _condition(vmi, "Paused")
    if paused and paused.get("status") == "True":
        return "paused", f"VMI paused ({paused.get('reason') or 'Paused'})"
    if migration_in_progress(vmi):
        return "migrating", "VMI migrating"
    ready = _condition(vmi, "Ready")
    if ready and ready.get("status") == "False":
        return "not_responding", f"VMI Running, not Ready ({ready.get('reason') or 'not ready'})"
    return "up", "VMI Running"


def _migration(vmi: Optional[Mapping[str, Any]]) -> Optional[Obj]:
    state = _status(vmi).get("migrationState")
    if not state:
        return None
    outcome = "failed" if state.get("failed") else "completed" if state.get("completed") else "in_progress"
    if state.get("abortStatus") == "Succeeded":
        outcome = "cancelled"
    return {"state": outcome, "source_node": state.get("sourceNode"), "target_node": state.get("targetNode"),
            "migration": state.get("migrationUid")}


def _guest_ips(vmi: Optional[Mapping[str, Any]]) -> List[str]:
    ips: List[str] = []
    for iface in _status(vmi).get("interfaces") or []:
        for ip in list(iface.get("ipAddresses") or []) + [iface.get("ipAddress")]:
            if ip and ip not in ips:
                ips.append(str(ip))
    return ips


def _guest_os(vmi: Optional[Mapping[str, Any]]) -> Optional[Obj]:
    info = _status(vmi).get("guestOSInfo") or {}
    if not info.get("id") and not info.get("name"):
        return None
    return {"id": info.get("id"), "name": info.get("prettyName") or info.get("name"), "version": info.get("versionId"),
            "kernel": info.get("kernelRelease"), "architecture": info.get("machine")}


def _start_time(vmi: Optional[Mapping[str, Any]]) -> Optional[str]:
    stamps = [t.get("phaseTransitionTimestamp") for t in _status(vmi).get("phaseTransitionTimestamps") or []
              if t.get("phase") == "Running"]
    return stamps[-1] if stamps else None


def dynamic_data(vm: Optional[Mapping[str, Any]], vmi: Optional[Mapping[str, Any]],
                 host_ids: Mapping[str, str]) -> Obj:
    """The representation's ``dynamic`` part for this VM; ``host_ids`` maps node names to oVirt host ids."""
    status, detail = ovirt_status(vm, vmi)
    running = status not in ("down", "wait_for_launch")
    node = _status(vmi).get("nodeName") if running else None
    ips = _guest_ips(vmi) if running else []
    return {
        "status": status,
        "status_detail": detail,
        "run_on_vds": host_ids.get(node) if node else None,
        "node": node,
        "console_ip": ips[0] if ips else None,
        "guest_ips": ips,
        "guest_os": _guest_os(vmi) if running else None,
        "start_time": _start_time(vmi) if running else None,
        "migration": _migration(vmi) if running else None,
    }


def reported(dynamic: Mapping[str, Any]) -> Obj:
    """The part of the dynamic data that oVirt is told about."""
    return {key: dynamic.get(key) for key in REPORTED}


def changes(previous: Optional[Mapping[str, Any]], current: Mapping[str, Any]) -> List[Obj]:
    """Each reported fact that differs: {field, before, after}. No previous state: all but defaults."""
    before = dict(previous or {"status": "down", "run_on_vds": None, "console_ip": None, "migration": None})
    return [{"field": key, "before": before.get(key), "after": current.get(key)}
            for key in REPORTED if before.get(key) != current.get(key)]


def _show(value: Any) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k} {v}" for k, v in value.items() if v is not None and k != "migration")
    return "none" if value is None else str(value)


def change_event(vm_id: str, vm_name: str, sequence: int, change: Mapping[str, Any], node: Optional[str],
                 host_names: Optional[Mapping[str, str]] = None) -> Tuple[int, str, str]:
    """(custom_id, severity, description) of one change; the same change of the same report gives the same id.

    ``host_names`` maps oVirt host ids to names, so a host change reads as names.
    """
    field, after = change["field"], change["after"]
    custom_id = event_custom_id("vm-state", vm_id, str(sequence), field, json.dumps(after, sort_keys=True))
    severity = "normal"
    if field == "status" and after in WARNING_STATUSES:
        severity = "warning"
    if field == "migration" and isinstance(after, dict) and after.get("state") == "failed":
        severity = "warning"
    where = f" on node {node}" if node else ""
    words = {"status": "status", "run_on_vds": "host", "console_ip": "console IP", "migration": "migration"}[field]
    before = change["before"]
    if field == "run_on_vds":
        before, after = ((host_names or {}).get(v, v) if v else v for v in (before, after))
    description = (f"KubeVirt: VM {vm_name} {words} {_show(before)} -> {_show(after)}{where} "
                   f"(reported by ovirt_kubevirt.bridge)")
    return custom_id, severity, description
