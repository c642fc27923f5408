"""Hostile and malformed input through the modules and filters, on its own lab: a clear error, and nothing changed.

Parser-level cases (each refusal and its message) are unit tests in tests/unit/test_domxml_parse.py; these run the
same inputs the way users pass them, and check that no partial change was made anywhere.
Tests run in file order and share the lab.
"""
from __future__ import annotations

import http.server
import threading

import pytest
from harness import engine, kubectl, own_lab, run_playbook

NAMESPACE = "hst"
MAPS = {"storage_map": {"*": {"pvc_name": "{vm}-{disk_id}"}}, "network_map": {"*": "pod"}}
ODD_NAME = "Web_Srv.01"
TOPOLOGY = {"datacenters": [{"name": "dch", "clusters": [
    {"name": "h-kv", "hosts": [{"name": "h-1", "cpus": 16, "memory_mib": 65536}],
     "vms": [{"name": ODD_NAME, "cpus": 1, "memory_mib": 512}, {"name": "plain-1", "cpus": 1, "memory_mib": 512}]}]}]}
GOOD = ("<domain type='kvm'><name>g</name><uuid>3c1b5b2e-6e2c-4b8e-9a43-6f7f6b1f5a10</uuid>"
        "<memory unit='KiB'>1048576</memory><vcpu>1</vcpu></domain>")


@pytest.fixture(scope="module")
def hostlab(tmp_path_factory):
    yield from own_lab(tmp_path_factory, "hostlab", TOPOLOGY)


@pytest.fixture(scope="module")
def listener():
    """An HTTP server that counts requests: an external entity or DTD must never reach it."""
    hits = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802  (stdlib name)
            hits.append(self.path)
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"<!ENTITY leaked 'LEAKED'>")

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", hits
    server.shutdown()


def lab_writes(lab):
    return engine(lab, "/lab/requests")["writes"]


def hostile_documents(url):
    laughs = "<!DOCTYPE d [<!ENTITY a 'ha'>" + "".join(
        f"<!ENTITY {chr(98 + i)} '{('&' + chr(97 + i) + ';') * 10}'>" for i in range(9)) + "]><domain>&j;</domain>"
    return {
        "xxe to a local file": ("<!DOCTYPE d [<!ENTITY x SYSTEM 'file:///etc/passwd'>]><domain type='kvm'>"
                                "<name>&x;</name><memory>1</memory><vcpu>1</vcpu></domain>", "DOCTYPE"),
        "xxe to the network": (f"<!DOCTYPE d [<!ENTITY x SYSTEM '{url}/xxe'>]><domain><name>&x;</name></domain>",
                               "DOCTYPE"),
        "external DTD": (f"<!DOCTYPE domain SYSTEM '{url}/dtd'><domain><name>x</name></domain>", "DOCTYPE"),
        "billion laughs": (laughs, "DOCTYPE"),
        "wrong root": ("<vm><memory>1</memory><vcpu>1</vcpu></vm>", "root element is <vm>, expected <domain>"),
        "missing memory": ("<domain type='kvm'><name>x</name><vcpu>1</vcpu></domain>", "no <memory> element"),
        "missing vCPU": ("<domain type='kvm'><name>x</name><memory>1048576</memory></domain>", "no <vcpu> element"),
        "not XML": ("<domain><name>x</domain>", "not well-formed"),
    }


@pytest.mark.parametrize("case", list(hostile_documents("http://x")))
def test_hostile_domxml_fails_each_entry_point_with_the_reason_and_reaches_nothing(hostlab, listener, tmp_path, case):
    url, hits = listener
    document, reason = hostile_documents(url)[case]
    path = tmp_path / "domain.xml"
    path.write_text(document)
    before = lab_writes(hostlab)
    run = run_playbook(hostlab, [
        {"name": "inline", "ignore_errors": True,
         "ovirt_kubevirt.bridge.vm_representation": {"domxml": document, "namespace": NAMESPACE}},
        {"name": "file", "ignore_errors": True,
         "ovirt_kubevirt.bridge.vm_representation": {"domxml_path": str(path), "namespace": NAMESPACE}},
        {"name": "filter", "ignore_errors": True,
         "ansible.builtin.debug": {"msg": "{{ document | ovirt_kubevirt.bridge.domxml_to_representation }}"},
         "vars": {"document": document}},
    ], tmp_path)
    for task in ("inline", "file", "filter"):
        result = run.result(task)
        assert result.get("failed") is True, (task, result)
        assert reason in result["msg"], (task, result["msg"])
    assert "LEAKED" not in run.stdout and "root:x:0:0" not in run.stdout and "hahaha" not in run.stdout
    assert hits == [], "an external entity or DTD was fetched"
    assert lab_writes(hostlab) == before


def test_invalid_utf8_and_100_mb_files_are_refused_before_parsing(hostlab, tmp_path):
    bad = tmp_path / "latin1.xml"
    bad.write_bytes(GOOD.replace("<name>g</name>", "<name>caf\xe9</name>").encode("latin-1"))
    big = tmp_path / "big.xml"
    with open(big, "wb") as handle:
        handle.write(GOOD.encode())
        handle.truncate(100 * 1024 * 1024)
    run = run_playbook(hostlab, [
        {"name": "utf8", "ignore_errors": True, "ovirt_kubevirt.bridge.vm_representation": {"domxml_path": str(bad)}},
        {"name": "big", "ignore_errors": True, "ovirt_kubevirt.bridge.vm_representation": {"domxml_path": str(big)}},
    ], tmp_path)
    assert run.result("utf8")["failed"] is True and "not valid UTF-8" in run.result("utf8")["msg"]
    assert run.result("big")["failed"] is True and "over the 1048576-byte limit" in run.result("big")["msg"]


def test_unknown_vms_and_clusters_are_named_and_nothing_is_written(hostlab, tmp_path):
    run_playbook(hostlab, [
        {"name": "provider", "ovirt_kubevirt.bridge.kubevirt_provider": {"name": "kv1", "namespace": NAMESPACE}},
        {"name": "type", "ovirt_kubevirt.bridge.cluster_type": {"cluster": "h-kv", "type": "kubevirt", "provider": "kv1",
                                                                "namespace": NAMESPACE, "milestone": 1}}], tmp_path)
    before = lab_writes(hostlab)
    run = run_playbook(hostlab, [
        {"name": "run", "ignore_errors": True, "ovirt_kubevirt.bridge.vm_run": {"vms": ["plain-1", "no-such-vm"], **MAPS}},
        {"name": "type", "ignore_errors": True,
         "ovirt_kubevirt.bridge.cluster_type": {"cluster": "no-such-cluster", "type": "legacy"}},
        {"name": "deploy", "ignore_errors": True, "ovirt_kubevirt.bridge.vm_deploy": {
            "vms": [{"name": "new-1", "cluster": "no-such-cluster"}], **MAPS}},
        {"name": "operate", "ignore_errors": True,
         "ovirt_kubevirt.bridge.vm_operation": {"vm": "no-such-vm", "operation": "pause"}},
    ], tmp_path)
    assert "no-such-vm" in run.result("run")["msg"], run.result("run")
    assert "no cluster named or with id 'no-such-cluster'" in run.result("type")["msg"]
    assert run.result("deploy")["failed"] is True and "no-such-cluster" in run.result("deploy")["msg"]
    assert "no VM named 'no-such-vm'" in run.result("operate")["msg"]
    assert lab_writes(hostlab) == before
    assert kubectl(hostlab, "get", "vm", "-n", NAMESPACE)["items"] == [], "a VM of the refused run was created"


def test_maps_that_miss_a_disk_or_nic_refuse_the_vm_and_create_nothing(hostlab, tmp_path):
    run = run_playbook(hostlab, [
        {"name": "no disk", "ignore_errors": True, "ovirt_kubevirt.bridge.vm_run": {
            "vms": ["plain-1"], "storage_map": {"other-domain": {"pvc_name": "x"}}, "network_map": {"*": "pod"}}},
        {"name": "no nic", "ignore_errors": True, "ovirt_kubevirt.bridge.vm_run": {
            "vms": ["plain-1"], "storage_map": MAPS["storage_map"], "network_map": {"other-net": "pod"}}},
    ], tmp_path)
    assert run.result("no disk")["failed"] is True and "storage map" in run.result("no disk")["msg"]
    assert run.result("no nic")["failed"] is True and "network map" in run.result("no nic")["msg"]
    assert kubectl(hostlab, "get", "vm", "-n", NAMESPACE)["items"] == []


def test_a_name_kubernetes_refuses_is_mapped_the_same_way_every_time_and_reported(hostlab, tmp_path):
    task = [{"name": "run", "ovirt_kubevirt.bridge.vm_run": {"vms": [ODD_NAME], **MAPS}}]
    first = run_playbook(hostlab, task, tmp_path).result("run")
    assert not first.get("failed"), first.get("msg")
    entry = first["results"][0]
    mapped = entry["kubernetes_name"]
    assert entry["name"] == ODD_NAME and mapped != ODD_NAME and mapped.startswith("web-srv-01-"), entry
    vm = kubectl(hostlab, "get", "vm", mapped, "-n", NAMESPACE)
    assert vm["metadata"]["name"] == mapped
    again = run_playbook(hostlab, task, tmp_path).result("run")
    assert again["changed"] is False and again["results"][0]["kubernetes_name"] == mapped
    assert [v["metadata"]["name"] for v in kubectl(hostlab, "get", "vm", "-n", NAMESPACE)["items"]] == [mapped]


def test_migrating_a_vm_bound_to_its_milestone_1_host_is_refused_with_the_reason(hostlab, tmp_path):
    result = run_playbook(hostlab, [{"name": "migrate", "ignore_errors": True, "ovirt_kubevirt.bridge.vm_operation": {
        "vm": ODD_NAME, "operation": "migrate", "timeout": 10}}], tmp_path).result("migrate")
    assert result["failed"] is True and "bound to the host it started on" in result["msg"], result["msg"]
    assert kubectl(hostlab, "get", "vmim", "-n", NAMESPACE)["items"] == [], "a migration was started anyway"
