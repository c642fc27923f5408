"""Two playbooks run overlapping sets of VMs in one milestone-2 cluster at the same time.

The cluster fits the VMs only just (60 one-vCPU VMs, 5 nodes of 12 CPUs). The
collection uses optimistic concurrency (resourceVersion) and lets the
Kubernetes scheduler own placement, so: no node above its allocatable, every
VM runs exactly once, and no run reports a failure for a VM another run
created or started first.
"""
from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections import Counter
from pathlib import Path

import pytest
from harness import kubectl, own_lab

NAMESPACE = "cc"
VMS = [f"vm-{i:02d}" for i in range(60)]
MAPS = {"storage_map": {"data1": {"pvc_name": "{vm}-{disk_id}"}}, "network_map": {"ovirtmgmt": "pod"}}
TOPOLOGY = {"datacenters": [{"name": "dc-c", "clusters": [
    {"name": "kv-c", "hosts": [{"name": f"cn-{i}", "cpus": 12, "memory_mib": 16384} for i in range(5)],
     "vms": [{"name": name, "cpus": 1, "memory_mib": 1024} for name in VMS]}]}]}


@pytest.fixture(scope="module")
def cclab(tmp_path_factory):
    yield from own_lab(tmp_path_factory, "cclab", TOPOLOGY)


def playbook(lab, path, tasks):
    path.write_text(json.dumps([{"name": "run", "hosts": "localhost", "connection": "local", "gather_facts": False,
                                 "tasks": tasks}]))
    command = [str(Path(sys.executable).parent / "ansible-playbook"), "-i", "localhost,", str(path)]
    return subprocess.run(command, capture_output=True, text=True, env=lab.command_env(ANSIBLE_STDOUT_CALLBACK="default"),
                          check=False)


def test_two_concurrent_runs_never_overcommit_and_run_each_vm_once(cclab, tmp_path):
    setup = playbook(cclab, tmp_path / "setup.json", [
        {"name": "provider", "ovirt_kubevirt.bridge.kubevirt_provider": {"name": "kv1", "namespace": NAMESPACE}},
        {"name": "type", "ovirt_kubevirt.bridge.cluster_type": {"cluster": "kv-c", "type": "kubevirt",
                                                                "provider": "kv1", "namespace": NAMESPACE,
                                                                "milestone": 2}}])
    assert setup.returncode == 0, setup.stdout[-3000:]
    halves = {"a": VMS[:40], "b": VMS[20:]}  # 20 VMs in both runs
    outcomes = {}

    def run(key):
        outcomes[key] = playbook(cclab, tmp_path / f"{key}.json", [
            {"name": "run", "ovirt_kubevirt.bridge.vm_run": {"vms": halves[key], **MAPS}},
            {"name": "wait", "ovirt_kubevirt.bridge.vm_run_wait": {"vms": halves[key], "timeout": 120}}])

    threads = [threading.Thread(target=run, args=(key,)) for key in halves]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for key, proc in outcomes.items():
        assert proc.returncode == 0, f"run {key}: " + proc.stdout[-3000:]

    vms = kubectl(cclab, "get", "vm", "-n", NAMESPACE)["items"]
    assert sorted(v["metadata"]["name"] for v in vms) == VMS, "a VM is missing or was created twice"
    vmis = kubectl(cclab, "get", "vmi", "-n", NAMESPACE)["items"]
    assert Counter(i["metadata"]["name"] for i in vmis) == Counter(VMS), "a VM runs twice or not at all"
    assert all(i["status"]["phase"] == "Running" for i in vmis)
    per_node = Counter(i["status"]["nodeName"] for i in vmis)
    nodes = {n["metadata"]["name"]: int(n["status"]["allocatable"]["cpu"]) for n in kubectl(cclab, "get", "node")["items"]}
    assert all(count <= nodes[node] for node, count in per_node.items()), per_node
