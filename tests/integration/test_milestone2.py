"""Milestone 2 on its own lab: KubeVirt schedules, the collection reruns, failing nodes go non-operational.

node-1 fails every launch; node-2 and node-3 work. The simulator places an
unpinned VM on the least allocated node, name breaking ties, so node-1 first.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from harness import REPO_ROOT, kubectl, own_lab, run_playbook

NAMESPACE = "m2"
MAPS = {"storage_map": {"data1": {"pvc_name": "{vm}-{disk_id}"}}, "network_map": {"ovirtmgmt": "pod"}}
TOPOLOGY = {"datacenters": [{"name": "dc2", "clusters": [
    {"name": "kv-m2", "hosts": [
        {"name": "node-1", "cpus": 16, "memory_mib": 65536, "faults": {"fail_launches": 100}},
        {"name": "node-2", "cpus": 16, "memory_mib": 65536},
        {"name": "node-3", "cpus": 16, "memory_mib": 65536}],
     "vms": [{"name": "pinned-1", "cpus": 1, "memory_mib": 1024, "placement_hosts": ["node-1"]},
             {"name": "free-1", "cpus": 1, "memory_mib": 1024},
             {"name": "role-1", "cpus": 1, "memory_mib": 1024}]}]}]}


@pytest.fixture(scope="module")
def m2lab(tmp_path_factory):
    yield from own_lab(tmp_path_factory, "m2lab", TOPOLOGY)


def setup_tasks():
    return [
        {"name": "provider", "ovirt_kubevirt.bridge.kubevirt_provider": {"name": "kv1", "namespace": NAMESPACE}},
        {"name": "type", "ovirt_kubevirt.bridge.cluster_type": {"cluster": "kv-m2", "type": "kubevirt", "provider": "kv1",
                                                                "namespace": NAMESPACE, "milestone": 2}},
    ]


def run_and_wait(vm, **wait_args):
    return [
        {"name": "run", "ovirt_kubevirt.bridge.vm_run": {"vms": [vm], **MAPS}},
        {"name": "wait", "ovirt_kubevirt.bridge.vm_run_wait": {"vms": [vm], "timeout": 10, **wait_args},
         "ignore_errors": True},
    ]


def test_vm_pinned_only_to_a_broken_node_fails_after_exactly_the_budget(m2lab, tmp_path):
    run = run_playbook(m2lab, setup_tasks() + run_and_wait("pinned-1", max_attempts=3), tmp_path)
    started = run.result("run")["results"][0]
    assert started["runtime"] == "kubevirt" and started["host"] is None, "milestone 2 must not pin to an oVirt choice"
    wait = run.result("wait")
    assert wait["failed"] is True
    attempts = wait["results"][0]["attempts"]
    assert [a["node"] for a in attempts] == ["node-1", "node-1", "node-1"]
    assert all("node-1" in a["reason"] for a in attempts)
    assert "attempts: node-1:" in wait["msg"]
    vm = kubectl(m2lab, "get", "vm", "pinned-1", "-n", NAMESPACE)
    record = json.loads(vm["metadata"]["annotations"]["ovirt-kubevirt.io/run-attempts"])
    assert record["outcome"] == "Failed" and len(record["attempts"]) == 3


def test_the_failing_node_is_non_operational_on_both_sides(m2lab, tmp_path):
    node = kubectl(m2lab, "get", "node", "node-1")
    assert {"key": "ovirt-kubevirt.io/non-operational", "value": "true", "effect": "NoSchedule"} in node["spec"]["taints"]
    run = run_playbook(m2lab, [{"name": "health", "ovirt_kubevirt.bridge.node_health": {"node": "node-1"}}], tmp_path)
    health = run.result("health")
    assert health["state"] == "non_operational" and len(health["failures"]) >= 3


def test_a_failed_launch_is_rerun_on_another_node_and_clearing_restores_the_node(m2lab, tmp_path):
    run = run_playbook(m2lab, [
        {"name": "clear", "ovirt_kubevirt.bridge.node_health": {"node": "node-1", "state": "operational"}},
        *run_and_wait("free-1", max_attempts=3),
    ], tmp_path)
    assert run.result("clear")["changed"] is True
    node = kubectl(m2lab, "get", "node", "node-1")
    assert not [t for t in node["spec"].get("taints") or [] if t["key"] == "ovirt-kubevirt.io/non-operational"]
    wait = run.result("wait")
    assert not wait.get("failed"), wait.get("msg")
    result = wait["results"][0]
    assert [a["node"] for a in result["attempts"]] == ["node-1", result["node"]]
    assert result["node"] in ("node-2", "node-3") and result["phase"] == "Running"
    spec = kubectl(m2lab, "get", "vm", "free-1", "-n", NAMESPACE)["spec"]["template"]["spec"]
    terms = spec["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
    assert {"key": "kubernetes.io/hostname", "operator": "NotIn", "values": ["node-1"]} in terms[0]["matchExpressions"]


def test_cluster_type_info_reports_each_host_and_its_node(m2lab, tmp_path):
    run = run_playbook(m2lab, [{"name": "info", "ovirt_kubevirt.bridge.cluster_type_info": {"cluster": "kv-m2"}}],
                       tmp_path)
    cluster = run.result("info")["clusters"][0]
    assert cluster["milestone"] == 2
    hosts = {h["name"]: h for h in cluster["hosts"]}
    assert set(hosts) == {"node-1", "node-2", "node-3"}
    assert all(h["node"] == h["name"] and h["node_ready"] is True for h in hosts.values())


def test_milestone2_playbook_runs_a_vm_with_reruns_and_publishes_stats(m2lab, tmp_path):
    extra = {"provider": "kv1", "namespace": NAMESPACE, "clusters": ["kv-m2"], "vms": ["role-1"], "timeout": 10, **MAPS}
    env = m2lab.command_env(ANSIBLE_STDOUT_CALLBACK="default", ANSIBLE_SHOW_CUSTOM_STATS="true")
    proc = subprocess.run([str(Path(sys.executable).parent / "ansible-playbook"), "-i", "localhost,",
                           str(REPO_ROOT / "playbooks" / "milestone2.yml"), "-e", json.dumps(extra)],
                          capture_output=True, text=True, env=env, check=False)
    assert proc.returncode == 0, proc.stdout[-4000:]
    vmi = kubectl(m2lab, "get", "vmi", "role-1", "-n", NAMESPACE)
    assert vmi["status"]["phase"] == "Running" and vmi["status"]["nodeName"] in ("node-2", "node-3")
    assert '"vms_run": [' in proc.stdout and '"role-1"' in proc.stdout
