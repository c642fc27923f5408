"""Milestone 2 placement on its own lab: host devices and the CPU level keep VMs off nodes without them.

Unconstrained, the simulator puts a VM on the least allocated node, name breaking
ties, so node-1 first: each VM below lands elsewhere only because of what it needs.
- node-1: Skylake-Client, no device.
- node-2: Cascadelake-Server, no device.
- node-3: Skylake-Client, a PCI device its device plugin advertises as a resource.
- node-4: Skylake-Client, labelled by an administrator as holding another device.
"""
from __future__ import annotations

import pytest
from harness import kubectl, own_lab, run_playbook

NAMESPACE = "m2p"
GPU = "pci_0000_3b_00_0"
LABELLED = "pci_0000_af_00_0"
MAPS = {"storage_map": {"data1": {"pvc_name": "{vm}-{disk_id}"}}, "network_map": {"ovirtmgmt": "pod"},
        "host_device_map": {GPU: f"devices.kubevirt.io/{GPU}", "pci_0000_ff_00_0": "devices.kubevirt.io/absent"}}
TOPOLOGY = {"datacenters": [{"name": "dc3", "clusters": [
    {"name": "kv-place", "hosts": [
        {"name": "node-1", "cpus": 16, "memory_mib": 65536, "cpu_model": "Skylake-Client"},
        {"name": "node-2", "cpus": 16, "memory_mib": 65536, "cpu_model": "Cascadelake-Server"},
        {"name": "node-3", "cpus": 16, "memory_mib": 65536, "cpu_model": "Skylake-Client", "devices": [GPU]},
        {"name": "node-4", "cpus": 16, "memory_mib": 65536, "cpu_model": "Skylake-Client",
         "labels": {f"host-device.ovirt-kubevirt.io/{LABELLED}": "true"}}],
     "vms": [{"name": "plain", "cpus": 1, "memory_mib": 1024},
             {"name": "gpu", "cpus": 1, "memory_mib": 1024, "host_devices": [GPU]},
             {"name": "labelled", "cpus": 1, "memory_mib": 1024, "host_devices": [LABELLED]},
             {"name": "cascade", "cpus": 1, "memory_mib": 1024, "cpu_model": "Cascadelake-Server"},
             {"name": "nowhere", "cpus": 1, "memory_mib": 1024, "host_devices": ["pci_0000_ff_00_0"]}]}]}]}


@pytest.fixture(scope="module")
def placelab(tmp_path_factory):
    yield from own_lab(tmp_path_factory, "placelab", TOPOLOGY)


def run(lab, tmp_path, vms, timeout=10):
    return run_playbook(lab, [
        {"name": "provider", "ovirt_kubevirt.bridge.kubevirt_provider": {"name": "kv1", "namespace": NAMESPACE}},
        {"name": "type", "ovirt_kubevirt.bridge.cluster_type": {"cluster": "kv-place", "type": "kubevirt", "provider": "kv1",
                                                                "namespace": NAMESPACE, "milestone": 2}},
        {"name": "run", "ovirt_kubevirt.bridge.vm_run": {"vms": vms, **MAPS}},
        {"name": "wait", "ovirt_kubevirt.bridge.vm_run_wait": {"vms": vms, "timeout": timeout}, "ignore_errors": True},
    ], tmp_path)


def node_of(lab, vm):
    return kubectl(lab, "get", "vmi", vm, "-n", NAMESPACE)["status"].get("nodeName")


def test_host_devices_and_the_cpu_level_keep_vms_off_nodes_without_them(placelab, tmp_path):
    result = run(placelab, tmp_path, ["plain", "gpu", "labelled", "cascade"])
    wait = result.result("wait")
    assert not wait.get("failed"), wait.get("msg")
    assert {vm: node_of(placelab, vm) for vm in ("plain", "gpu", "labelled", "cascade")} == {
        "plain": "node-1", "gpu": "node-3", "labelled": "node-4", "cascade": "node-2"}
    gpu = kubectl(placelab, "get", "vm", "gpu", "-n", NAMESPACE)["spec"]["template"]["spec"]
    assert gpu["domain"]["devices"]["hostDevices"] == [{"name": "ovirt-hostdev-0", "deviceName": f"devices.kubevirt.io/{GPU}"}]
    cascade = kubectl(placelab, "get", "vm", "cascade", "-n", NAMESPACE)["spec"]["template"]["spec"]
    assert cascade["nodeSelector"] == {"cpu-model.node.kubevirt.io/Cascadelake-Server": "true"}
    concerns = {c["id"] for r in result.result("run")["results"] if r["name"] == "labelled" for c in r["concerns"]}
    assert "ovirt_kubevirt.host_device.unmapped" in concerns


def test_a_device_no_node_has_is_reported_as_not_scheduled(placelab, tmp_path):
    wait = run(placelab, tmp_path, ["nowhere"], timeout=4).result("wait")
    assert wait["failed"] is True
    outcome = wait["results"][0]
    assert outcome["failure"] == "not_scheduled", outcome
    assert len(outcome["attempts"]) == 1, "a VM no node fits is not rerun"
    assert "Insufficient devices.kubevirt.io/absent" in wait["msg"]
    assert node_of(placelab, "nowhere") is None
