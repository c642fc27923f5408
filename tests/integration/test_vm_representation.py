"""vm_representation through ansible-playbook: domxml files without a connection, VMs from the lab's engine."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
from harness import Lab, run_playbook

DOMXML_DIR = Path(__file__).resolve().parents[1] / "data" / "domxml"
SAMPLES = sorted(DOMXML_DIR.glob("*.xml"))

XXE = """<?xml version="1.0"?>
<!DOCTYPE domain [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<domain type="kvm"><name>&secret;</name><memory>1024</memory><vcpu>1</vcpu></domain>"""


@pytest.fixture()
def offline(tmp_path):
    """A user with no oVirt or Kubernetes connection configured at all."""
    for key in list(os.environ):
        if key.startswith(("OVIRT_", "K8S_AUTH_")):
            os.environ.pop(key)
    return Lab(tmp_path, {})


@pytest.mark.parametrize("sample", SAMPLES, ids=[s.stem for s in SAMPLES])
def test_domxml_path_needs_no_connection(offline, tmp_path, sample):
    run = run_playbook(offline, [{"name": "describe", "ovirt_kubevirt.bridge.vm_representation": {
        "domxml_path": str(sample), "namespace": "vms"}, "register": "out"}], tmp_path)
    assert run.rc == 0, run.stdout[-3000:] + run.stderr[-2000:]
    out = run.result("describe")
    rep = out["representation"]
    assert set(rep) >= {"schema_version", "scheduling", "dynamic", "configuration"}
    assert rep["configuration"]["domxml"] == sample.read_text(), "the domxml must be kept unchanged"
    assert out["manifest"]["kind"] == "VirtualMachine"
    assert out["manifest"]["metadata"]["namespace"] == "vms"
    assert "running" not in out["manifest"]["spec"] and out["manifest"]["spec"]["runStrategy"]
    assert all(set(c) == {"id", "category", "message"} for c in out["concerns"])
    # Without storage and network maps every disk and NIC is a critical concern, not a silent loss.
    assert any(c["category"] == "critical" for c in out["concerns"])
    assert out["changed"] is False


def test_json_format_and_query(offline, tmp_path):
    run = run_playbook(offline, [{"name": "describe", "ovirt_kubevirt.bridge.vm_representation": {
        "domxml": SAMPLES[0].read_text(), "configuration_format": "json", "namespace": "vms",
        "query": "manifest.spec.template.spec.domain.cpu"}}], tmp_path)
    out = run.result("describe")
    assert "domxml" not in out["representation"]["configuration"]
    assert out["query_result"] == out["manifest"]["spec"]["template"]["spec"]["domain"]["cpu"]


@pytest.mark.parametrize("document, message", [
    (XXE, "DOCTYPE"),
    ("<notadomain/>", "domain"),
    ("<domain type='kvm'><name>x</name><vcpu>1</vcpu></domain>", "memory"),
])
def test_hostile_or_malformed_domxml_fails_the_task_with_the_reason(offline, tmp_path, document, message):
    run = run_playbook(offline, [{"name": "describe", "ovirt_kubevirt.bridge.vm_representation": {
        "domxml": document, "namespace": "vms"}}], tmp_path)
    out = run.result("describe")
    assert out.get("failed") is True
    assert message in out["msg"]
    assert "root:" not in run.stdout, "an entity was expanded"


def test_oversized_file_is_refused_before_it_is_read(offline, tmp_path):
    big = tmp_path / "big.xml"
    with open(big, "wb") as handle:
        handle.truncate(100 * 1024 * 1024)
    run = run_playbook(offline, [{"name": "describe", "ovirt_kubevirt.bridge.vm_representation": {
        "domxml_path": str(big)}}], tmp_path)
    out = run.result("describe")
    assert out.get("failed") is True and "over the 1048576-byte limit" in out["msg"]


def test_vm_from_the_engine_round_trips(lab, tmp_path):
    run = run_playbook(lab, [
        {"name": "from engine", "ovirt_kubevirt.bridge.vm_representation": {
            "vm": "web-1", "namespace": "vms", "storage_map": {"data1": {"pvc_name": "{vm}-{disk_id}"}},
            "network_map": {"ovirtmgmt": "pod"}}, "register": "engine"},
        {"name": "from its domxml", "ovirt_kubevirt.bridge.vm_representation": {
            "domxml": "{{ engine.representation.configuration.domxml }}", "namespace": "vms",
            "scheduling": {"cluster_id": "{{ engine.representation.scheduling.cluster_id }}"},
            "storage_map": {"data1": {"pvc_name": "{vm}-{disk_id}"}}, "network_map": {"ovirtmgmt": "pod"}}},
    ], tmp_path)
    assert run.rc == 0, run.stdout[-3000:]
    engine, again = run.result("from engine"), run.result("from its domxml")
    rep = engine["representation"]
    assert rep["dynamic"]["status"] == "up" and rep["dynamic"]["run_on_vds"] and rep["dynamic"]["start_time"]
    assert "/rhev/data-center/" in rep["configuration"]["domxml"]
    for key in ("memory_kib", "vcpus", "topology", "cpu", "firmware", "disks", "nics"):
        assert rep["configuration"][key] == again["representation"]["configuration"][key], key
    labels = engine["manifest"]["metadata"]["labels"]
    assert labels["ovirt-kubevirt.io/vm-id"] == rep["configuration"]["uuid"]
    assert not [c for c in engine["concerns"] if c["category"] == "critical"], engine["concerns"]


def test_unknown_vm_is_named(lab, tmp_path):
    run = run_playbook(lab, [{"name": "describe", "ovirt_kubevirt.bridge.vm_representation": {"vm": "no-such-vm"}}],
                       tmp_path)
    out = run.result("describe")
    assert out.get("failed") is True and "no-such-vm" in out["msg"]
