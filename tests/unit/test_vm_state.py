"""The KubeVirt-to-oVirt state mapping: every row of the documented table, changes and their events."""
from __future__ import annotations

from pathlib import Path

import pytest

from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.domxml.representation import build_representation
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.model import vm_state

ENGINE = Path(__file__).resolve().parents[1] / "data" / "domxml" / "engine_vm_scsi_disk_spice_from_ovf_cluster42.xml"


def vmi(phase="Running", conditions=(), deleting=False, migration=None, node="node-1", **status):
    meta = {"name": "web-1", "uid": "u1"}
    if deleting:
        meta["deletionTimestamp"] = "2026-11-24T10:00:00Z"
    body = {"phase": phase, "nodeName": node, "conditions": list(conditions), **status}
    if migration is not None:
        body["migrationState"] = migration
    return {"metadata": meta, "status": body}


RUNNING_VM = {"status": {"printableStatus": "Running"}}
RESTARTING_VM = {"status": {"stateChangeRequests": [{"action": "Stop", "uid": "u1"}, {"action": "Start"}]}}


@pytest.mark.parametrize("vm, instance, expected", [
    (RUNNING_VM, vmi("Unknown"), "unknown"),
    (RESTARTING_VM, vmi(deleting=True), "reboot_in_progress"),
    (RUNNING_VM, vmi(deleting=True), "powering_down"),
    ({"status": {"printableStatus": "Stopped"}}, None, "down"),
    (RUNNING_VM, vmi("Succeeded"), "down"),
    (RUNNING_VM, vmi("Failed"), "down"),
    (RUNNING_VM, vmi("Pending", node=None), "wait_for_launch"),
    (RUNNING_VM, vmi("Scheduling", node=None), "wait_for_launch"),
    (RUNNING_VM, vmi("Scheduled"), "powering_up"),
    (RUNNING_VM, vmi(conditions=[{"type": "Paused", "status": "True", "reason": "PausedUser"}]), "paused"),
    (RUNNING_VM, vmi(migration={"sourceNode": "node-1", "targetNode": "node-2"}), "migrating"),
    (RUNNING_VM, vmi(migration={"sourceNode": "node-1", "completed": True}), "up"),
    (RUNNING_VM, vmi(conditions=[{"type": "Ready", "status": "False", "reason": "GuestNotReady"}]), "not_responding"),
    (RUNNING_VM, vmi(conditions=[{"type": "Ready", "status": "True"}]), "up"),
])
def test_each_row_of_the_status_table(vm, instance, expected):
    status, detail = vm_state.ovirt_status(vm, instance)
    assert status == expected and detail


def test_dynamic_data_is_a_valid_representation_part():
    running = vmi(interfaces=[{"name": "default", "ipAddress": "10.0.0.5", "ipAddresses": ["10.0.0.5", "fd00::5"]}],
                  guestOSInfo={"id": "fedora", "prettyName": "Fedora Linux 39", "versionId": "39"},
                  phaseTransitionTimestamps=[{"phase": "Running", "phaseTransitionTimestamp": "2026-11-24T10:00:00Z"}],
                  migration={"sourceNode": "node-2", "targetNode": "node-1", "completed": True, "migrationUid": "m1"})
    dynamic = vm_state.dynamic_data(RUNNING_VM, running, {"node-1": "host-id-1"})
    assert dynamic["run_on_vds"] == "host-id-1" and dynamic["node"] == "node-1"
    assert dynamic["console_ip"] == "10.0.0.5" and dynamic["guest_ips"] == ["10.0.0.5", "fd00::5"]
    assert dynamic["migration"] == {"state": "completed", "source_node": "node-2", "target_node": "node-1", "migration": "m1"}
    assert dynamic["start_time"] == "2026-11-24T10:00:00Z" and dynamic["guest_os"]["id"] == "fedora"
    representation = build_representation(ENGINE.read_bytes(), dynamic=dynamic)
    assert representation["dynamic"] == dynamic


def test_a_stopped_vm_has_only_defaults_besides_its_status():
    dynamic = vm_state.dynamic_data(RUNNING_VM, None, {"node-1": "h1"})
    assert dynamic["status"] == "down"
    assert [dynamic[k] for k in ("run_on_vds", "node", "console_ip", "guest_os", "start_time", "migration")] == [None] * 6


def test_changes_list_each_reported_fact_that_moved():
    before = {"status": "up", "run_on_vds": "h1", "console_ip": "10.0.0.5", "migration": None}
    after = dict(before, status="paused")
    assert vm_state.changes(before, after) == [{"field": "status", "before": "up", "after": "paused"}]
    assert vm_state.changes(before, before) == []
    first = vm_state.changes(None, before)
    assert [c["field"] for c in first] == ["status", "run_on_vds", "console_ip"]


def test_an_event_id_depends_on_the_vm_report_and_change_only():
    change = {"field": "run_on_vds", "before": "h1", "after": "h2"}
    one = vm_state.change_event("vm-1", "web-1", 3, change, "node-2", {"h1": "node-1", "h2": "node-2"})
    assert one == vm_state.change_event("vm-1", "web-1", 3, change, "node-2", {"h1": "node-1", "h2": "node-2"})
    assert "host node-1 -> node-2" in one[2]
    assert one[0] != vm_state.change_event("vm-1", "web-1", 4, change, "node-2")[0]
    assert one[0] != vm_state.change_event("vm-2", "web-2", 3, change, "node-2")[0]
    assert 0 < one[0] < 2**31
    warning = vm_state.change_event("vm-1", "web-1", 1, {"field": "status", "before": "up", "after": "not_responding"}, None)
    assert warning[1] == "warning"
