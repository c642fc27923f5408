"""Non-operational nodes (milestone 2) on their own lab: counted on the Node, mirrored on the oVirt host.

nh-1 and nh-2 are free; nh-3 runs the oVirt VM busy-1, so the engine refuses
its maintenance (409). Each test uses its own node or clears what it set.
"""
from __future__ import annotations

import datetime
import json
import subprocess
import threading
import time

import pytest
from harness import engine, k8s_params, kubectl, own_lab, run_playbook

from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.clients.full_session import open_session
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.records import node_health as nh

TOPOLOGY = {"datacenters": [{"name": "dc1", "clusters": [
    {"name": "kv-h", "version": "4.7", "hosts": [
        {"name": "nh-1", "cpus": 8, "memory_mib": 32768},
        {"name": "nh-2", "cpus": 8, "memory_mib": 32768},
        {"name": "nh-3", "cpus": 8, "memory_mib": 32768}],
     "vms": [{"name": "busy-1", "cpus": 1, "memory_mib": 1024, "status": "up", "host": "nh-3"}]}]}]}


@pytest.fixture(scope="module")
def nhlab(tmp_path_factory):
    yield from own_lab(tmp_path_factory, "nhlab", TOPOLOGY)


def auth(lab):
    return {"url": lab.env["OVIRT_URL"], "username": lab.env["OVIRT_USERNAME"], "password": lab.env["OVIRT_PASSWORD"],
            "ca_file": lab.env["OVIRT_CAFILE"]}


def record(lab, node, vm="vm-x", reason="virt-launcher failed", **kwargs):
    """One recorder, as vm_run_wait would be: its own connections."""
    with open_session(auth(lab), k8s_params(lab.env)) as session:
        return nh.record_launch_failure(session.kube, session.ovirt, node, vm, reason, **kwargs)


def host(lab, name, wait_for=None, timeout=10.0):
    """The engine's host record; with wait_for, once its status is that (scheduled transitions take steps)."""
    deadline = time.monotonic() + timeout
    while True:
        found = next(h for h in engine(lab, "/lab/state")["hosts"].values() if h["name"] == name)
        if wait_for is None or found["status"] == wait_for or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


def our_events(lab, host_id):
    events = engine(lab, "/lab/state")["events"].values()
    return [e for e in events if e.get("origin") == "ovirt_kubevirt" and e.get("host_id") == host_id]


def engine_writes(lab):
    recent = engine(lab, "/lab/requests")["requests"]
    return [r for r in recent if r[0] in ("POST", "PUT", "DELETE") and r[1].startswith("/ovirt-engine/api")]


def taints(lab, node):
    return kubectl(lab, "get", "node", node)["spec"].get("taints") or []


def our_taint(lab, node):
    return [t for t in taints(lab, node) if t["key"] == nh.TAINT_KEY]


def health(lab, tmp_path, name="health", extra_args=None, **options):
    run = run_playbook(lab, [{"name": name, "ovirt_kubevirt.bridge.node_health": options}], tmp_path,
                       extra_args=extra_args)
    return run.result(name)


def test_three_failures_make_the_node_non_operational_on_both_sides(nhlab):
    states = [record(nhlab, "nh-1", vm=f"vm-{i}", reason=f"launch failed #{i}")["state"] for i in range(3)]
    assert states == ["operational", "operational", "non_operational"]

    assert our_taint(nhlab, "nh-1") == [nh.TAINT]
    annotations = kubectl(nhlab, "get", "node", "nh-1")["metadata"]["annotations"]
    assert annotations[nh.REASON_ANNOTATION] == "3 launch failures within 1800 s: launch failed #2"
    assert nh.parse_time(annotations[nh.SINCE_ANNOTATION]) is not None
    assert [f["vm"] for f in json.loads(annotations[nh.FAILURES_ANNOTATION])] == ["vm-0", "vm-1", "vm-2"]

    found = host(nhlab, "nh-1", wait_for="maintenance")
    assert found["status"] == "maintenance"
    assert found["maintenance_reason"] == annotations[nh.REASON_ANNOTATION]
    assert found["external_status"] == "error"
    events = our_events(nhlab, found["id"])
    assert len(events) == 1 and events[0]["severity"] == "error"
    assert "non-operational" in events[0]["description"]


def test_a_fourth_failure_posts_no_second_event(nhlab):
    host_id = host(nhlab, "nh-1")["id"]
    before = our_events(nhlab, host_id)
    result = record(nhlab, "nh-1", vm="vm-3", reason="launch failed #3")
    assert result["state"] == "non_operational" and len(result["failures"]) == 4
    assert result["ovirt"]["event"]["posted"] is False
    assert our_events(nhlab, host_id) == before and len(before) == 1


def test_the_module_reports_the_node(nhlab, tmp_path):
    result = health(nhlab, tmp_path, node="nh-1")
    assert result["changed"] is False
    assert result["state"] == "non_operational"
    assert [f["vm"] for f in result["failures"]] == ["vm-0", "vm-1", "vm-2", "vm-3"]
    assert result["reason"].startswith("3 launch failures")
    assert result["ovirt_host_status"]["status"] == "maintenance"


def test_check_mode_clears_nothing(nhlab, tmp_path):
    version = kubectl(nhlab, "get", "node", "nh-1")["metadata"]["resourceVersion"]
    writes = len(engine_writes(nhlab))
    result = health(nhlab, tmp_path, extra_args=["--check", "--diff"], node="nh-1", state="operational")
    assert result["changed"] is True and result["state"] == "operational"
    assert result["diff"]["before"]["state"] == "non_operational" and result["diff"]["after"]["state"] == "operational"
    assert kubectl(nhlab, "get", "node", "nh-1")["metadata"]["resourceVersion"] == version
    assert len(engine_writes(nhlab)) == writes
    assert host(nhlab, "nh-1")["status"] == "maintenance"


def test_state_operational_clears_the_node_and_a_second_run_changes_nothing(nhlab, tmp_path):
    other = {"key": "dedicated", "value": "db", "effect": "NoSchedule"}
    subprocess.run(["kubectl", "--kubeconfig", nhlab.env["K8S_AUTH_KUBECONFIG"], "taint", "node", "nh-1",
                    "dedicated=db:NoSchedule"], check=True, capture_output=True)
    result = health(nhlab, tmp_path, extra_args=["--diff"], node="nh-1", state="operational")
    assert result["changed"] is True and result["state"] == "operational" and result["failures"] == []
    assert result["diff"]["after"] == {"state": "operational", "reason": None, "since": None}
    node = kubectl(nhlab, "get", "node", "nh-1")
    assert our_taint(nhlab, "nh-1") == [] and other in [{k: t.get(k) for k in other} for t in taints(nhlab, "nh-1")]
    ours = {nh.REASON_ANNOTATION, nh.SINCE_ANNOTATION, nh.FAILURES_ANNOTATION}
    assert not set(node["metadata"].get("annotations") or {}) & ours
    found = host(nhlab, "nh-1", wait_for="up")
    assert found["status"] == "up" and found["external_status"] == "ok"

    version = node["metadata"]["resourceVersion"]
    writes = len(engine_writes(nhlab))
    again = health(nhlab, tmp_path, node="nh-1", state="operational")
    assert again["changed"] is False
    assert kubectl(nhlab, "get", "node", "nh-1")["metadata"]["resourceVersion"] == version
    assert len(engine_writes(nhlab)) == writes


def test_concurrent_recorders_lose_no_failure(nhlab):
    count = 8
    errors = []

    def one(i):
        try:
            record(nhlab, "nh-2", vm=f"c-{i}", reason="concurrent", threshold=100)
        except Exception as exc:  # pylint: disable=broad-except
            errors.append(exc)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    recorded = json.loads(kubectl(nhlab, "get", "node", "nh-2")["metadata"]["annotations"][nh.FAILURES_ANNOTATION])
    assert sorted(f["vm"] for f in recorded) == sorted(f"c-{i}" for i in range(count))
    assert our_taint(nhlab, "nh-2") == []


def test_failures_outside_the_window_do_not_count(nhlab, tmp_path):
    # nh-2 holds 8 failures from the previous test; two seconds later a 2 s window sees none of them.
    time.sleep(2.1)
    assert health(nhlab, tmp_path, node="nh-2", window=2)["failures"] == []
    result = record(nhlab, "nh-2", vm="late", window_s=2)
    assert result["state"] == "operational" and [f["vm"] for f in result["failures"]] == ["late"]
    assert our_taint(nhlab, "nh-2") == []


def test_expire_returns_a_node_whose_failures_all_expired(nhlab, tmp_path):
    past = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(hours=2)
    for i in range(3):
        record(nhlab, "nh-2", vm=f"old-{i}", now=past + datetime.timedelta(seconds=i))
    assert our_taint(nhlab, "nh-2")
    kept = health(nhlab, tmp_path, node="nh-2")
    assert kept["state"] == "non_operational" and kept["failures"] == [] and kept["changed"] is False
    returned = health(nhlab, tmp_path, node="nh-2", expire=True)
    assert returned["changed"] is True and returned["expired"] is True and returned["state"] == "operational"
    assert our_taint(nhlab, "nh-2") == []
    assert host(nhlab, "nh-2", wait_for="up")["status"] == "up"


def test_state_non_operational_by_hand_is_idempotent(nhlab, tmp_path):
    first = health(nhlab, tmp_path, node="nh-2", state="non_operational", reason="failing DIMM")
    assert first["changed"] is True and first["state"] == "non_operational" and first["reason"] == "failing DIMM"
    assert first["ovirt"]["maintenance"] is True and first["ovirt"]["event"]["posted"] is True
    assert host(nhlab, "nh-2", wait_for="maintenance")["maintenance_reason"] == "failing DIMM"
    second = health(nhlab, tmp_path, node="nh-2", state="non_operational", reason="other words")
    assert second["changed"] is False and second["reason"] == "failing DIMM"
    assert health(nhlab, tmp_path, node="nh-2", state="operational")["changed"] is True


def test_a_host_running_vms_keeps_the_taint_and_reports_the_refusal(nhlab, tmp_path):
    results = [record(nhlab, "nh-3", vm=f"r-{i}") for i in range(3)]
    refused = results[-1]
    assert refused["state"] == "non_operational"
    assert refused["ovirt"]["maintenance"] is False
    assert "busy-1" in refused["ovirt"]["refused"]
    assert our_taint(nhlab, "nh-3") == [nh.TAINT]
    found = host(nhlab, "nh-3")
    assert found["status"] == "up" and found["external_status"] == "error"
    assert len(our_events(nhlab, found["id"])) == 1
    report = health(nhlab, tmp_path, node="nh-3")
    assert report["state"] == "non_operational" and report["ovirt_host_status"]["status"] == "up"
