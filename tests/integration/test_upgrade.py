"""The datacenter upgrade on its own lab: plan, --check, a blocked plan, waves, resume, the disturbance check, rollback.

Tests run in file order and share the lab.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from harness import REPO_ROOT, engine, own_lab, run_playbook

NAMESPACE = "upg"
MAPS = {"storage_map": {"data1": {"pvc_name": "{vm}-{disk_id}"}}, "network_map": {"ovirtmgmt": "pod"}}
TARGETS = {"c-one": 2, "c-two": 3}
TOPOLOGY = {"datacenters": [{"name": "dcu", "clusters": [
    {"name": "c-one", "hosts": [{"name": "u-1", "cpus": 16, "memory_mib": 65536},
                                {"name": "u-2", "cpus": 16, "memory_mib": 65536}],
     "vms": [{"name": "run-1", "cpus": 2, "memory_mib": 2048, "status": "up", "host": "u-1"},
             {"name": "stop-1", "cpus": 1, "memory_mib": 1024}]},
    {"name": "c-two", "hosts": [{"name": "u-3", "cpus": 16, "memory_mib": 65536}],
     "vms": [{"name": "run-2", "cpus": 2, "memory_mib": 2048, "status": "up", "host": "u-3"}]}]}]}


@pytest.fixture(scope="module")
def uplab(tmp_path_factory):
    yield from own_lab(tmp_path_factory, "uplab", TOPOLOGY)


def upgrade(lab, tmp_path, *, check=False, **extra):
    variables = {"datacenter": "dcu", "provider": "kv1", "namespace": NAMESPACE, "targets": TARGETS,
                 "report_dir": str(tmp_path / "reports"), **MAPS, **extra}
    env = lab.command_env(ANSIBLE_STDOUT_CALLBACK="default", ANSIBLE_SHOW_CUSTOM_STATS="true")
    command = [str(Path(sys.executable).parent / "ansible-playbook"), "-i", "localhost,",
               str(REPO_ROOT / "playbooks" / "upgrade_datacenter.yml"), "-e", json.dumps(variables)]
    return subprocess.run(command + (["--check"] if check else []), capture_output=True, text=True, env=env,
                          check=False)


def cluster_types(lab, tmp_path):
    info = run_playbook(lab, [{"name": "info", "ovirt_kubevirt.bridge.cluster_type_info": {}}], tmp_path).result("info")
    return {c["name"]: (c["type"], c["milestone"]) for c in info["clusters"]}


def ovirt_vms(lab):
    return {v["name"]: (v["status"], v["host_id"], v["start_ms"]) for v in engine(lab, "/lab/state")["vms"].values()}


def test_check_mode_writes_the_plan_and_changes_nothing(uplab, tmp_path):
    provider = {"name": "provider", "ovirt_kubevirt.bridge.kubevirt_provider": {"name": "kv1", "namespace": NAMESPACE}}
    run_playbook(uplab, [provider], tmp_path)
    proc = upgrade(uplab, tmp_path, check=True)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert "datacenter dcu: ready" in proc.stdout and "c-one: legacy -> kubevirt milestone 2" in proc.stdout
    plan = json.loads((tmp_path / "reports" / "upgrade-plan-dcu.json").read_text())
    assert plan["ready"] is True and plan["changes"] == ["c-one", "c-two"]
    one = next(c for c in plan["clusters"] if c["name"] == "c-one")
    assert {v["name"]: v["runs_under"] for v in one["vms"]} == {"run-1": "ovirt", "stop-1": "nothing"}
    assert one["capacity"]["allocatable"]["millicores"] == 32000 and one["capacity"]["requested"]["memory"] > 0
    markdown = (tmp_path / "reports" / "upgrade-plan-dcu.md").read_text()
    assert "| c-one | legacy | kubevirt milestone 2 | 2 | 0 |" in markdown
    assert cluster_types(uplab, tmp_path) == {"c-one": ("legacy", None), "c-two": ("legacy", None)}


def test_a_plan_with_blockers_is_refused_before_anything_changes(uplab, tmp_path):
    proc = upgrade(uplab, tmp_path, storage_map={})
    assert proc.returncode != 0
    output = proc.stdout + proc.stderr
    assert "The upgrade of dcu is blocked: BLOCKS: VM run-1: Disk sda" in output and "not in the storage map" in output
    plan = json.loads((tmp_path / "reports" / "upgrade-plan-dcu.json").read_text())
    assert plan["ready"] is False and plan["blockers"] >= 3  # one disk of each VM
    assert cluster_types(uplab, tmp_path) == {"c-one": ("legacy", None), "c-two": ("legacy", None)}


def test_the_upgrade_moves_every_cluster_and_disturbs_no_running_vm(uplab, tmp_path):
    before = ovirt_vms(uplab)
    proc = upgrade(uplab, tmp_path)
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert cluster_types(uplab, tmp_path) == {"c-one": ("kubevirt", 2), "c-two": ("kubevirt", 3)}
    assert ovirt_vms(uplab) == before, "a running VM was stopped, restarted or moved"
    assert '"upgrade_disturbed_vms": 0' in proc.stdout and '"upgrade_running_vms": 2' in proc.stdout
    again = upgrade(uplab, tmp_path)
    assert again.returncode == 0 and "changed=0" in again.stdout, "a rerun (resume) must change nothing"


def test_a_restarted_vm_is_named_loudly(uplab, tmp_path):
    run = run_playbook(uplab, [{"name": "now", "ovirt_kubevirt.bridge.vm_runtime_info": {"datacenter": "dcu"}}],
                       tmp_path)
    snapshot = run.result("now")["vms"]
    assert set(snapshot) == {"run-1", "run-2"} and snapshot["run-1"]["host"] == "u-1"
    earlier = dict(snapshot, **{"run-1": dict(snapshot["run-1"], start_time="2020-01-01T00:00:00+00:00"),
                                "gone-1": {"runtime": "ovirt", "status": "up", "host": "u-2", "start_time": None}})
    check = run_playbook(uplab, [{"name": "compare", "ignore_errors": True, "ovirt_kubevirt.bridge.vm_runtime_info": {
        "datacenter": "dcu", "compare_to": earlier, "fail_on_change": True}}], tmp_path).result("compare")
    assert check["failed"] is True and "2 running VM(s) were disturbed" in check["msg"]
    assert "VM run-1 was restarted" in check["msg"] and "VM gone-1 was running" in check["msg"]


def test_rollback_sets_the_clusters_back_to_legacy(uplab, tmp_path):
    proc = upgrade(uplab, tmp_path, rollback=True)
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert cluster_types(uplab, tmp_path) == {"c-one": ("legacy", None), "c-two": ("legacy", None)}
    assert ovirt_vms(uplab)["run-1"][0] == "up"
