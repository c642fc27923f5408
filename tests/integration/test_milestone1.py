"""Milestone 1 end to end on its own lab: oVirt schedules, KubeVirt runs, reruns land elsewhere.

The topology makes the rerun path deterministic: batch-1's best host by even
distribution is node-b2, whose launches fail; then node-b3, which is too slow
for the monitoring timeout; then node-b1, which works.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from harness import REPO_ROOT, engine, kubectl, own_lab, run_playbook

NAMESPACE = "m1"
MAPS = {"storage_map": {"data1": {"pvc_name": "{vm}-{disk_id}"}}, "network_map": {"ovirtmgmt": "pod"}}
TOPOLOGY = {"datacenters": [{"name": "dc1", "clusters": [
    {"name": "legacy-a", "hosts": [{"name": "host-a1", "cpus": 16, "memory_mib": 65536}],
     "vms": [{"name": "web-1", "cpus": 2, "memory_mib": 2048, "status": "up", "host": "host-a1"},
             {"name": "web-2", "cpus": 2, "memory_mib": 2048}]},
    {"name": "kv-b", "hosts": [
        {"name": "node-b1", "cpus": 16, "memory_mib": 65536},
        {"name": "node-b2", "cpus": 16, "memory_mib": 65536, "faults": {"fail_launches": 10}},
        {"name": "node-b3", "cpus": 16, "memory_mib": 65536, "faults": {"launch_delay_s": 600}}],
     "vms": [{"name": "app-1", "cpus": 2, "memory_mib": 4096, "status": "up", "host": "node-b1"},
             {"name": "db-1", "cpus": 4, "memory_mib": 8192, "high_availability": True, "placement_hosts": ["node-b1"]},
             {"name": "batch-1", "cpus": 1, "memory_mib": 1024},
             {"name": "slow-1", "cpus": 1, "memory_mib": 1024}]}]}]}


@pytest.fixture(scope="module")
def m1lab(tmp_path_factory):
    yield from own_lab(tmp_path_factory, "m1lab", TOPOLOGY)


def engine_writes(lab):
    """API writes the engine received (SSO logins aside)."""
    recent = engine(lab, "/lab/requests")["requests"]
    return [r for r in recent if r[0] in ("POST", "PUT", "DELETE") and r[1].startswith("/ovirt-engine/api")]


def running_vms(lab):
    state = engine(lab, "/lab/state")
    return {v["name"]: (v["status"], v.get("host_id"), v.get("start_time"))
            for v in state["vms"].values() if v["status"] == "up"}


def milestone1(lab, tmp_path, vms, extra_args=(), timeout=8):
    playbook = REPO_ROOT / "playbooks" / "milestone1.yml"
    extra = {"provider": "kv1", "namespace": NAMESPACE, "clusters": ["kv-b"], "vms": vms, "timeout": timeout, **MAPS}
    env = lab.command_env(ANSIBLE_STDOUT_CALLBACK="default")
    command = [str(Path(sys.executable).parent / "ansible-playbook"), "-i", "localhost,", str(playbook),
               "-e", json.dumps(extra), *extra_args]
    proc = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    return proc


def test_slow_node_fails_vm_run_wait_at_its_timeout_with_the_reason(m1lab, tmp_path):
    run = run_playbook(m1lab, [
        {"name": "provider", "ovirt_kubevirt.bridge.kubevirt_provider": {"name": "kv1", "namespace": NAMESPACE}},
        {"name": "type", "ovirt_kubevirt.bridge.cluster_type": {"cluster": "kv-b", "type": "kubevirt", "provider": "kv1",
                                                                "namespace": NAMESPACE, "milestone": 1}},
        {"name": "run", "ovirt_kubevirt.bridge.vm_run": {"vms": ["slow-1"], "exclude_hosts": {"slow-1": ["node-b1", "node-b2"]},
                                                         **MAPS}},
        {"name": "wait", "ovirt_kubevirt.bridge.vm_run_wait": {"vms": ["slow-1"], "timeout": 3}, "ignore_errors": True},
    ], tmp_path)
    assert run.result("run")["results"][0]["host"] == "node-b3"
    wait = run.result("wait")
    assert wait["failed"] is True
    assert "not running within 3 s" in wait["msg"]
    result = wait["results"][0]
    assert result["node"] == "node-b3" and result["phase"] in ("Scheduled", "Scheduling", "Pending")
    assert result["seconds_to_running"] is None and result["reason"]
    assert 3 <= wait["waited_seconds"] < 10


def test_milestone1_runs_each_vm_where_its_cluster_says_and_never_touches_running_vms(m1lab, tmp_path):
    before = running_vms(m1lab)
    assert set(before) == {"web-1", "app-1"}
    proc = milestone1(m1lab, tmp_path, ["web-2", "db-1", "batch-1", "app-1"])
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]

    after = running_vms(m1lab)
    for name, state in before.items():
        assert after[name] == state, f"{name} was stopped, restarted or moved"
    assert "web-2" in after, "the legacy-cluster VM was not started through oVirt"
    assert kubectl(m1lab, "get", "vm", "-n", NAMESPACE, "-l", "ovirt-kubevirt.io/vm-id")["items"], "no VMs in KubeVirt"
    names = {i["metadata"]["name"] for i in kubectl(m1lab, "get", "vm", "-n", NAMESPACE)["items"]}
    assert "app-1" not in names and "web-2" not in names, "a VM running under oVirt was duplicated in KubeVirt"

    db1 = kubectl(m1lab, "get", "vm", "db-1", "-n", NAMESPACE)
    # Pinned to the node oVirt chose; the cluster's CPU level also selects nodes by KubeVirt's CPU-model label.
    assert db1["spec"]["template"]["spec"]["nodeSelector"] == {
        "kubernetes.io/hostname": "node-b1", "cpu-model.node.kubevirt.io/Skylake-Client-IBRS": "true"}
    assert db1["metadata"]["labels"]["ovirt-kubevirt.io/vm-id"]
    vmis = {i["metadata"]["name"]: i["status"] for i in kubectl(m1lab, "get", "vmi", "-n", NAMESPACE)["items"]}
    assert vmis["db-1"]["phase"] == "Running" and vmis["db-1"]["nodeName"] == "node-b1"
    # batch-1: node-b2 failed to launch it, node-b3 was too slow, node-b1 runs it.
    assert vmis["batch-1"]["phase"] == "Running" and vmis["batch-1"]["nodeName"] == "node-b1"
    assert "node-b2" in proc.stdout and "node-b3" in proc.stdout


def test_second_run_changes_nothing_and_writes_nothing(m1lab, tmp_path):
    versions = {i["metadata"]["name"]: i["metadata"]["resourceVersion"]
                for i in kubectl(m1lab, "get", "vm", "-n", NAMESPACE)["items"]}
    writes = len(engine_writes(m1lab))
    proc = milestone1(m1lab, tmp_path, ["web-2", "db-1", "batch-1", "app-1"], extra_args=["-vvv"])
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert "changed=0" in proc.stdout.split("PLAY RECAP")[-1].replace(" ", ""), proc.stdout[-1500:]
    after = {i["metadata"]["name"]: i["metadata"]["resourceVersion"] for i in kubectl(m1lab, "get", "vm", "-n", NAMESPACE)["items"]}
    assert after == versions, "the second run wrote VirtualMachines"
    assert len(engine_writes(m1lab)) == writes, "the second run wrote to the engine"
    # Secrets never appear, even at -vvv.
    for secret in (m1lab.env["OVIRT_PASSWORD"], m1lab.env["K8S_AUTH_API_KEY"]):
        assert secret not in proc.stdout and secret not in proc.stderr


def test_vm_pinned_to_broken_node_fails_after_the_attempt_budget(m1lab, tmp_path):
    run = run_playbook(m1lab, [{"name": "m1", "ansible.builtin.include_role": {"name": "ovirt_kubevirt.bridge.milestone1"},
                                "vars": {"milestone1_provider": "kv1", "milestone1_namespace": NAMESPACE,
                                         "milestone1_vms": ["slow-1"], "milestone1_timeout": 2,
                                         "milestone1_rerun_attempts": 0,
                                         "milestone1_storage_map": MAPS["storage_map"],
                                         "milestone1_network_map": MAPS["network_map"]}}], tmp_path)
    assert run.rc != 0
    assert "did not run after 1 attempt(s)" in run.stdout and "slow-1 (tried node-b3)" in run.stdout
