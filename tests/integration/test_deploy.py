"""Idempotent VM deployment on its own lab: one task converges 40 declared VMs; the second run writes nothing.

Tests run in file order and share the lab.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from harness import REPO_ROOT, engine, kubectl, own_lab, run_playbook

NAMESPACE = "dep"
MAPS = {"storage_map": {"*": {"pvc_name": "{vm}-{disk_id}"}}, "network_map": {"*": "pod"}}
TOPOLOGY = {"datacenters": [{"name": "dcd", "clusters": [
    {"name": "d-kv", "hosts": [{"name": f"d-{i}", "cpus": 64, "memory_mib": 262144} for i in (1, 2)]},
    {"name": "d-leg", "hosts": [{"name": "d-3", "cpus": 64, "memory_mib": 262144}]}]}]}
DECLARED = ([{"name": f"kv-{i:02d}", "cluster": "d-kv", "memory_mib": 512, "cpus": 1, "state": "running"} for i in range(20)]
            + [{"name": f"leg-{i:02d}", "cluster": "d-leg", "memory_mib": 512, "cpus": 1, "state": "running"} for i in range(10)]
            + [{"name": f"off-{i:02d}", "cluster": "d-kv", "memory_mib": 256, "cpus": 2} for i in range(10)])
BROKEN = {"name": "bad-00", "cluster": "d-kv", "template": "no-such-template", "state": "running"}


@pytest.fixture(scope="module")
def deplab(tmp_path_factory):
    yield from own_lab(tmp_path_factory, "deplab", TOPOLOGY)


def deploy(lab, tmp_path, vms, **extra):
    return run_playbook(lab, [{"name": "deploy", "ignore_errors": True, "ovirt_kubevirt.bridge.vm_deploy": {
        "vms": vms, "max_workers": 4, **MAPS, **extra}}], tmp_path).result("deploy")


def writes(lab):
    counters = engine(lab, "/lab/requests")
    return counters["writes"]


def test_one_task_converges_every_vm_and_a_failure_stays_with_its_vm(deplab, tmp_path):
    run_playbook(deplab, [
        {"name": "provider", "ovirt_kubevirt.bridge.kubevirt_provider": {"name": "kv1", "namespace": NAMESPACE}},
        {"name": "type", "ovirt_kubevirt.bridge.cluster_type": {"cluster": "d-kv", "type": "kubevirt", "provider": "kv1",
                                                                "namespace": NAMESPACE, "milestone": 2}},
    ], tmp_path)
    result = deploy(deplab, tmp_path, DECLARED + [BROKEN])
    assert result["failed"] is True and "1 of 41 VM(s) failed: bad-00: the oVirt engine has no template" in result["msg"]
    assert sorted(result["created"]) == sorted(v["name"] for v in DECLARED)
    by_name = {r["name"]: r for r in result["results"]}
    assert all(by_name[f"kv-{i:02d}"]["runtime"] == "kubevirt" and by_name[f"kv-{i:02d}"]["started"] for i in range(20))
    assert all(by_name[f"leg-{i:02d}"]["runtime"] == "legacy" for i in range(10))
    state = {v["name"]: v for v in engine(deplab, "/lab/state")["vms"].values()}
    assert state["off-03"]["memory"] == 256 * 2**20 and state["off-03"]["cpu_sockets"] == 2
    vms = kubectl(deplab, "get", "vm", "-n", NAMESPACE)["items"]
    assert sorted(v["metadata"]["name"] for v in vms) == [f"kv-{i:02d}" for i in range(20)]


def test_the_second_run_changes_nothing_and_writes_nothing(deplab, tmp_path):
    wait = run_playbook(deplab, [{"name": "wait", "ovirt_kubevirt.bridge.vm_run_wait": {
        "vms": [v["name"] for v in DECLARED if v.get("state") == "running"], "timeout": 60}}], tmp_path).result("wait")
    assert not wait.get("failed"), wait.get("msg")
    versions = {v["metadata"]["name"]: v["metadata"]["resourceVersion"]
                for v in kubectl(deplab, "get", "vm", "-n", NAMESPACE)["items"]}
    before = writes(deplab)
    result = deploy(deplab, tmp_path, DECLARED)
    assert result["changed"] is False and not result.get("failed"), result.get("msg")
    assert writes(deplab) == before, "the engine got write calls"
    after = {v["metadata"]["name"]: v["metadata"]["resourceVersion"]
             for v in kubectl(deplab, "get", "vm", "-n", NAMESPACE)["items"]}
    assert after == versions, "a VirtualMachine was written"


def test_a_down_vm_whose_size_drifted_is_updated_and_check_mode_only_reports(deplab, tmp_path):
    resized = [dict(v, memory_mib=1024) if v["name"] == "off-00" else v for v in DECLARED]
    before = writes(deplab)
    checked = run_playbook(deplab, [{"name": "deploy", "check_mode": True, "ovirt_kubevirt.bridge.vm_deploy": {
        "vms": resized + [{"name": "new-00", "cluster": "d-kv", "state": "running"}], **MAPS}}], tmp_path).result("deploy")
    assert checked["changed"] is True and checked["updated"] == ["off-00"] and checked["created"] == ["new-00"]
    assert writes(deplab) == before
    result = deploy(deplab, tmp_path, resized)
    assert result["changed"] is True and result["updated"] == ["off-00"]
    state = {v["name"]: v for v in engine(deplab, "/lab/state")["vms"].values()}
    assert state["off-00"]["memory"] == 1024 * 2**20


def test_the_playbook_deploys_from_a_declarations_file(deplab, tmp_path):
    declarations = tmp_path / "vms.json"
    declarations.write_text(json.dumps({"vms": DECLARED[:2], "wait_timeout": 30, **MAPS}))
    env = deplab.command_env(ANSIBLE_STDOUT_CALLBACK="default", ANSIBLE_SHOW_CUSTOM_STATS="true")
    proc = subprocess.run([str(Path(sys.executable).parent / "ansible-playbook"), "-i", "localhost,",
                           str(REPO_ROOT / "playbooks" / "deploy_vms.yml"), "-e", f"@{declarations}"],
                          capture_output=True, text=True, env=env, check=False)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert '"vms_created": []' in proc.stdout and "changed=0" in proc.stdout
