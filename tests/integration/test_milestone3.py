"""Milestone 3 on its own lab: KubeVirt owns the runtime state, operations go through KubeVirt, HA VMs recover.

Tests run in file order and share the lab: the VMs started first are operated on later.
"""
from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from harness import engine, kubectl, own_lab, run_playbook

NAMESPACE = "m3"
MAPS = {"storage_map": {"data1": {"pvc_name": "{vm}-{disk_id}"}}, "network_map": {"ovirtmgmt": "pod"}}
TOPOLOGY = {"datacenters": [{"name": "dc4", "clusters": [
    {"name": "kv-m3", "hosts": [{"name": f"node-{i}", "cpus": 16, "memory_mib": 65536} for i in (1, 2, 3)]
     + [{"name": "held-4", "cpus": 16, "memory_mib": 65536, "taints": [{"key": "lab/hold", "effect": "NoSchedule"}]}],
     "vms": [{"name": "ops-1", "cpus": 1, "memory_mib": 1024},
             {"name": "off-1", "cpus": 1, "memory_mib": 1024},
             {"name": "ha-1", "cpus": 1, "memory_mib": 1024, "high_availability": True,
              "faults": {"crash_after_s": 6}}]},
    {"name": "old-m3", "hosts": [{"name": "old-1", "cpus": 8, "memory_mib": 16384}],
     "vms": [{"name": "legacy-1", "cpus": 1, "memory_mib": 1024, "status": "up", "host": "old-1"}]}]}]}


@pytest.fixture(scope="module")
def m3lab(tmp_path_factory):
    yield from own_lab(tmp_path_factory, "m3lab", TOPOLOGY)


def setup_tasks(vms):
    return [
        {"name": "provider", "ovirt_kubevirt.bridge.kubevirt_provider": {"name": "kv1", "namespace": NAMESPACE}},
        {"name": "type", "ovirt_kubevirt.bridge.cluster_type": {"cluster": "kv-m3", "type": "kubevirt", "provider": "kv1",
                                                                "namespace": NAMESPACE, "milestone": 3}},
        {"name": "run", "ovirt_kubevirt.bridge.vm_run": {"vms": vms, **MAPS}},
        {"name": "wait", "ovirt_kubevirt.bridge.vm_run_wait": {"vms": vms, "timeout": 20}},
    ]


def operation(name, vm, op, **extra):
    return {"name": name, "ovirt_kubevirt.bridge.vm_operation": {"vm": vm, "operation": op, "timeout": 20, **extra},
            "ignore_errors": True}


def vmi(lab, name):
    return kubectl(lab, "get", "vmi", name, "-n", NAMESPACE)


def vm_events(lab, vm_name):
    state = engine(lab, "/lab/state")
    vm_id = next(v["id"] for v in state["vms"].values() if v["name"] == vm_name)
    return [e for e in state["events"].values() if e.get("origin") == "ovirt_kubevirt" and e.get("vm_id") == vm_id]


def test_sync_reports_the_state_once_and_a_replay_posts_nothing(m3lab, tmp_path):
    run = run_playbook(m3lab, setup_tasks(["ops-1", "off-1"]) + [
        {"name": "sync", "ovirt_kubevirt.bridge.vm_state_sync": {"vms": ["ops-1", "off-1"]}},
        {"name": "again", "ovirt_kubevirt.bridge.vm_state_sync": {"vms": ["ops-1", "off-1"]}},
    ], tmp_path)
    first = run.result("sync")
    assert first["changed"] is True and first["events_posted"] >= 4, first
    dynamic = {v["name"]: v["dynamic"] for v in first["vms"]}["ops-1"]
    node = vmi(m3lab, "ops-1")["status"]["nodeName"]
    hosts = engine(m3lab, "/lab/state")["hosts"].values()
    assert dynamic["status"] == "up" and dynamic["node"] == node
    assert dynamic["run_on_vds"] == next(h["id"] for h in hosts if h["name"] == node)
    assert dynamic["console_ip"] and dynamic["console_ip"] in dynamic["guest_ips"]
    assert dynamic["guest_os"]["id"] and dynamic["start_time"]
    again = run.result("again")
    assert again["changed"] is False and again["events_posted"] == 0
    posted = len(vm_events(m3lab, "ops-1"))
    # A sync that stopped after posting but before recording: the annotation is lost, the events are not doubled.
    subprocess.run(["kubectl", "--kubeconfig", m3lab.env["K8S_AUTH_KUBECONFIG"], "annotate", "vm", "ops-1", "-n",
                    NAMESPACE, "ovirt-kubevirt.io/reported-state-"], check=True, capture_output=True)
    replay = run_playbook(m3lab, [{"name": "replay", "ovirt_kubevirt.bridge.vm_state_sync": {"vms": ["ops-1"]}}],
                          tmp_path).result("replay")
    assert replay["events_posted"] == 0 and len(vm_events(m3lab, "ops-1")) == posted


def test_each_operation_works_and_a_second_call_changes_nothing(m3lab, tmp_path):
    node = vmi(m3lab, "ops-1")["status"]["nodeName"]
    target = next(n for n in ("node-1", "node-2", "node-3") if n != node)
    disk = {"name": "scratch", "claim_name": "ops-1-scratch"}
    nic = {"name": "blue", "network": f"{NAMESPACE}/blue"}
    steps = [
        ("pause", {}), ("resume", {}), ("migrate", {"target_node": target}), ("hotplug_disk", {"disk": disk}),
        ("hotunplug_disk", {"disk": {"name": "scratch"}}), ("hotplug_nic", {"nic": nic}),
        ("hotunplug_nic", {"nic": {"name": "blue"}}), ("reboot", {"request_id": "CHG-1"}),
    ]
    tasks = []
    for op, extra in steps:
        tasks += [operation(op, "ops-1", op, **extra), operation(f"{op} again", "ops-1", op, **extra)]
        if op in ("pause", "resume", "migrate"):
            tasks.append({"name": f"sync after {op}", "ovirt_kubevirt.bridge.vm_state_sync": {"vms": ["ops-1"]}})
    run = run_playbook(m3lab, tasks, tmp_path)
    for op, _extra in steps:
        first, second = run.result(op), run.result(f"{op} again")
        assert first.get("changed") is True and not first.get("failed"), (op, first.get("msg"))
        assert second.get("changed") is False and not second.get("failed"), (op, second.get("msg"))
    assert run.result("migrate")["node"] == target and run.result("migrate")["source_node"] == node
    assert {v["name"]: v for v in run.result("sync after pause")["vms"]}["ops-1"]["dynamic"]["status"] == "paused"
    moved = {v["name"]: v for v in run.result("sync after migrate")["vms"]}["ops-1"]["dynamic"]
    assert moved["status"] == "up" and moved["node"] == target
    descriptions = [e["description"] for e in vm_events(m3lab, "ops-1")]
    for expected in ("status up -> paused", "status paused -> up", f"host {node} -> {target}"):
        assert any(expected in d for d in descriptions), (expected, descriptions)
    current = vmi(m3lab, "ops-1")
    assert not [v for v in current["status"].get("volumeStatus") or [] if v["name"] == "scratch"]
    assert run.result("reboot")["status"] == "up"
    spec = kubectl(m3lab, "get", "vm", "ops-1", "-n", NAMESPACE)["spec"]["template"]["spec"]
    assert {"name": "blue", "bridge": {}, "state": "absent"} in spec["domain"]["devices"]["interfaces"]


def test_hibernate_and_restore_are_refused_clearly_and_change_nothing(m3lab, tmp_path):
    before = vmi(m3lab, "ops-1")
    run = run_playbook(m3lab, [operation("hibernate", "ops-1", "hibernate"), operation("restore", "ops-1", "restore")],
                       tmp_path)
    for op in ("hibernate", "restore"):
        result = run.result(op)
        assert result["failed"] is True and result["changed"] is False
        assert "no suspend-to-disk" in result["msg"] and "pause" in result["msg"] and "shutdown" in result["msg"]
    after = vmi(m3lab, "ops-1")
    assert after["metadata"]["uid"] == before["metadata"]["uid"] and after["status"]["phase"] == "Running"


def test_a_migration_is_cancelled_and_the_vm_stays_on_its_source(m3lab, tmp_path):
    node = vmi(m3lab, "ops-1")["status"]["nodeName"]
    run = run_playbook(m3lab, [
        operation("outside", "ops-1", "migrate", target_node="node-9", timeout=2),
        # A node of the cluster that takes no pods: the migration waits for a target until cancelled.
        operation("migrate", "ops-1", "migrate", target_node="held-4", timeout=2),
        operation("cancel", "ops-1", "cancel_migration"),
        operation("cancel again", "ops-1", "cancel_migration"),
    ], tmp_path)
    assert run.result("migrate")["failed"] is True and "cancel_migration" in run.result("migrate")["msg"]
    outside = run.result("outside")  # refused up front: not a node of its cluster
    assert outside["failed"] is True
    assert "cannot migrate VM ops-1: its running instance may only run on" in outside["msg"], outside["msg"]
    cancel = run.result("cancel")
    assert cancel["changed"] is True and cancel["node"] == node, cancel
    assert run.result("cancel again")["changed"] is False
    assert vmi(m3lab, "ops-1")["status"]["nodeName"] == node


def test_shutdown_and_power_off_stop_the_vms(m3lab, tmp_path):
    run = run_playbook(m3lab, [
        operation("shutdown", "ops-1", "shutdown"), operation("shutdown again", "ops-1", "shutdown"),
        operation("power_off", "off-1", "power_off"), operation("power_off again", "off-1", "power_off"),
        operation("pause stopped", "ops-1", "pause"),
    ], tmp_path)
    for op in ("shutdown", "power_off"):
        assert run.result(op)["changed"] is True and run.result(op)["status"] == "down"
        assert run.result(f"{op} again")["changed"] is False
    refused = run.result("pause stopped")
    assert refused["failed"] is True and "not running" in refused["msg"]
    for name in ("ops-1", "off-1"):
        assert subprocess.run(["kubectl", "--kubeconfig", m3lab.env["K8S_AUTH_KUBECONFIG"], "get", "vmi", name, "-n",
                               NAMESPACE], capture_output=True, check=False).returncode != 0


def test_a_legacy_vm_is_refused_as_ovirt_owned(m3lab, tmp_path):
    result = run_playbook(m3lab, [operation("pause", "legacy-1", "pause")], tmp_path).result("pause")
    assert result["failed"] is True and "legacy cluster" in result["msg"] and "ovirt.ovirt.ovirt_vm" in result["msg"]


def test_an_ha_vm_comes_back_after_a_crash_and_follow_reports_it(m3lab, tmp_path):
    env = m3lab.command_env()
    playbook = tmp_path / "follow.yml"
    playbook.write_text(json.dumps([{"hosts": "localhost", "connection": "local", "gather_facts": False, "tasks": [
        {"name": "follow", "ovirt_kubevirt.bridge.vm_state_sync": {"vms": ["ha-1"], "follow": True, "duration": 20}}]}]))
    follow = subprocess.Popen([str(Path(sys.executable).parent / "ansible-playbook"), "-i", "localhost,", str(playbook)],
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    started = time.monotonic()
    run = run_playbook(m3lab, setup_tasks(["ha-1"])[2:], tmp_path)
    assert not run.result("wait").get("failed")
    first_uid = vmi(m3lab, "ha-1")["metadata"]["uid"]
    out, err = follow.communicate(timeout=120)
    assert follow.returncode == 0, out[-3000:] + err[-3000:]
    assert time.monotonic() - started >= 20
    now = vmi(m3lab, "ha-1")
    assert now["metadata"]["uid"] != first_uid and now["status"]["phase"] == "Running", "the HA VM came back"
    result = json.loads(out)["plays"][0]["tasks"][0]["hosts"]["localhost"]
    statuses = [c["after"] for c in result["changes"] if c["field"] == "status"]
    assert "up" in statuses, statuses
    after_up = statuses[statuses.index("up"):]
    assert "down" in after_up and "up" in after_up[after_up.index("down"):], f"up, crash, up again: {statuses}"
    descriptions = [e["description"] for e in vm_events(m3lab, "ha-1")]
    assert any("status up -> down" in d for d in descriptions), descriptions
    assert result["report_lag_seconds"]["max"] < 5


def test_milestone3_playbook_starts_ha_vms_and_syncs(m3lab, tmp_path):
    extra = {"provider": "kv1", "namespace": NAMESPACE, "clusters": ["kv-m3"], "timeout": 20, **MAPS}
    env = m3lab.command_env(ANSIBLE_STDOUT_CALLBACK="default", ANSIBLE_SHOW_CUSTOM_STATS="true")
    proc = subprocess.run([str(Path(sys.executable).parent / "ansible-playbook"), "-i", "localhost,",
                           str(Path(__file__).resolve().parents[2] / "playbooks" / "milestone3.yml"), "-e", json.dumps(extra)],
                          capture_output=True, text=True, env=env, check=False)
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert '"ha_vms_running": [' in proc.stdout and '"ha-1"' in proc.stdout
    again = run_playbook(m3lab, [{"name": "info", "ovirt_kubevirt.bridge.cluster_type_info": {"cluster": "kv-m3"}}],
                         tmp_path).result("info")["clusters"][0]
    assert again["milestone"] == 3 and again["ha_vms"] == ["ha-1"]
