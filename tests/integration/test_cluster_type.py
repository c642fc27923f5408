# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ovirt_kubevirt.bridge contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""cluster_type and cluster_type_info on the lab, through ansible-playbook with the lab's environment only.

The lab has two oVirt clusters, legacy-a and kv-b, shared by every test: each
test first removes the clusters' registry records (so it starts from "never
switched") and works with a provider in a namespace of its own.
"""
from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any, Callable, Dict, List, Tuple

import pytest
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.clients import k8s_client, ovirt_client
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.clients.k8s_service import KubeService
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.clients.ovirt_service import OvirtService
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.common.naming import event_custom_id
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.records import provider as provider_core
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.records import registry
from harness import k8s_params

# kube and ovirt are fixtures: importing them makes pytest use them here.
from test_kubevirt_provider import (  # noqa: F401  pylint: disable=unused-import
    cleanup_namespace,
    kube,
    new_namespace_name,
    ovirt,
    ovirt_requests,
    ovirt_writes,
    playbook,
    run_module,
)

VMS_UP = ("web-1", "app-1")


# -- helpers ---------------------------------------------------------------------

def reset_records(kube) -> None:
    """Remove every registry record of the lab's clusters: they become never switched."""
    items, _rv = kube.list("v1", "ConfigMap", None, label_selector="ovirt-kubevirt.io/registry=cluster-type")
    for item in items:
        kube.delete("v1", "ConfigMap", item["metadata"]["name"], item["metadata"]["namespace"])


def record_of(kube, cluster_id: str) -> List[Dict[str, Any]]:
    items, _rv = kube.list("v1", "ConfigMap", None, label_selector=f"ovirt-kubevirt.io/cluster-id={cluster_id}")
    return items


def bridge_events(ovirt, cluster_id: str) -> List[Any]:
    events = ovirt.system.events_service().list(search="origin=ovirt_kubevirt")
    return [e for e in events if e.origin == "ovirt_kubevirt" and e.cluster is not None and e.cluster.id == cluster_id]


def events_with(ovirt, custom_id: int) -> List[Any]:
    return [e for e in ovirt.system.events_service().list(search=f"origin=ovirt_kubevirt and custom_event_id={custom_id}")
            if e.custom_id == custom_id]


def kubevirt_args(namespace: str, milestone: int = 1, cluster: str = "kv-b", **extra: Any) -> Dict[str, Any]:
    args = {"cluster": cluster, "type": "kubevirt", "provider": "kv1", "namespace": namespace, "milestone": milestone}
    args.update(extra)
    return args


def ok(out: Dict[str, Any]) -> Dict[str, Any]:
    assert out.get("failed") is not True, out.get("msg")
    return out


def vm_body(name: str, namespace: str, cluster_id: str, run_strategy: str = "Always") -> Dict[str, Any]:
    labels = {"ovirt-kubevirt.io/cluster-id": cluster_id}
    return {
        "apiVersion": "kubevirt.io/v1", "kind": "VirtualMachine",
        "metadata": {"name": name, "namespace": namespace, "labels": labels},
        "spec": {"runStrategy": run_strategy, "template": {"metadata": {"labels": labels}, "spec": {
            "domain": {"cpu": {"cores": 1}, "memory": {"guest": "256Mi"},
                       "devices": {"disks": [{"name": "root", "disk": {"bus": "virtio"}}]}},
            "volumes": [{"name": "root", "containerDisk": {"image": "quay.io/containerdisks/fedora:39"}}],
            "nodeSelector": {"rack": "r1"}, "terminationGracePeriodSeconds": 0}}},
    }


def wait_for(what: str, probe, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture()
def cluster_ids(ovirt) -> Dict[str, str]:
    return {c.name: c.id for c in ovirt.clusters()}


@pytest.fixture()
def provider_ns(kube):
    """A namespace with provider kv1 registered (through the core: the module is tested elsewhere)."""
    reset_records(kube)
    namespace = new_namespace_name("ct")
    provider_core.ensure_provider(kube, "kv1", namespace)
    yield namespace
    reset_records(kube)
    cleanup_namespace(kube, namespace)


# -- switching to kubevirt ---------------------------------------------------------

def test_switch_to_kubevirt_records_the_type_and_posts_one_event(lab, kube, ovirt, provider_ns, cluster_ids, tmp_path):
    cid = cluster_ids["kv-b"]
    events_before = len(bridge_events(ovirt, cid))
    out = ok(run_module(lab, tmp_path, "cluster_type", kubevirt_args(provider_ns), diff=True))
    assert out["changed"] is True
    cluster = out["cluster"]
    assert {k: cluster[k] for k in ("name", "id", "type", "provider", "namespace", "milestone", "revision")} == {
        "name": "kv-b", "id": cid, "type": "kubevirt", "provider": "kv1", "namespace": provider_ns, "milestone": 1,
        "revision": 1}
    assert cluster["engine_url"] == lab.env["OVIRT_URL"] and cluster["created"] == cluster["updated"]

    records = record_of(kube, cid)
    assert len(records) == 1
    cm = records[0]
    assert cm["metadata"]["name"] == f"ovirt-cluster-{cid}" and cm["metadata"]["namespace"] == provider_ns
    assert cm["metadata"]["labels"] == {"app.kubernetes.io/managed-by": "ovirt_kubevirt.bridge",
                                        "ovirt-kubevirt.io/registry": "cluster-type",
                                        "ovirt-kubevirt.io/cluster-id": cid}
    assert cm["data"] == {"engine_url": lab.env["OVIRT_URL"], "cluster_id": cid, "cluster_name": "kv-b",
                          "type": "kubevirt", "provider": "kv1", "namespace": provider_ns, "milestone": "1",
                          "revision": "1", "created": cluster["created"], "updated": cluster["updated"]}
    assert out["diff"] == {"before": {}, "after": cm["data"]}

    custom_id = event_custom_id(cid, "cluster_type", "1", "kubevirt", "kv1", provider_ns, "1")
    assert out["event"] == {"custom_id": custom_id, "posted": True}
    posted = events_with(ovirt, custom_id)
    assert len(posted) == 1 and posted[0].cluster.id == cid
    assert posted[0].description.startswith(
        f"Cluster kv-b type set to kubevirt (provider kv1, namespace {provider_ns}, milestone 1) by ovirt_kubevirt.bridge")
    assert len(bridge_events(ovirt, cid)) == events_before + 1


def test_clusters_sets_each_in_one_task_and_a_failure_names_its_cluster(lab, kube, provider_ns, cluster_ids, tmp_path):
    args = kubevirt_args(provider_ns)
    args["clusters"] = [args.pop("cluster"), "legacy-a"]
    out = ok(run_module(lab, tmp_path, "cluster_type", args, diff=True))
    assert out["changed"] is True and "cluster" not in out
    assert [(r["name"], r["changed"], r["cluster"]["type"]) for r in out["results"]] == [
        ("kv-b", True, "kubevirt"), ("legacy-a", True, "kubevirt")]
    for name in ("kv-b", "legacy-a"):
        (record,) = record_of(kube, cluster_ids[name])
        assert (record["data"]["type"], record["data"]["milestone"]) == ("kubevirt", "1")
    assert set(out["diff"]["after"]) == {"kv-b", "legacy-a"}
    assert ok(run_module(lab, tmp_path, "cluster_type", args))["changed"] is False

    failed = run_module(lab, tmp_path, "cluster_type", dict(args, clusters=["no-such-cluster", "kv-b"], milestone=2))
    assert failed["failed"] is True
    assert "1 of 2 cluster(s) failed: no-such-cluster: " in failed["msg"], failed["msg"]
    assert record_of(kube, cluster_ids["kv-b"])[0]["data"]["milestone"] == "2"  # the others are set all the same


def test_rerun_changes_nothing_writes_nothing_and_posts_nothing(lab, kube, ovirt, provider_ns, cluster_ids, tmp_path):
    cid = cluster_ids["kv-b"]
    ok(run_module(lab, tmp_path, "cluster_type", kubevirt_args(provider_ns)))
    version = record_of(kube, cid)[0]["metadata"]["resourceVersion"]
    events = len(bridge_events(ovirt, cid))
    writes = ovirt_writes(lab)
    again = ok(run_module(lab, tmp_path, "cluster_type", kubevirt_args(provider_ns), diff=True))
    assert again["changed"] is False and again["event"]["posted"] is False
    assert again["cluster"]["revision"] == 1
    assert again["diff"]["before"] == again["diff"]["after"]
    assert record_of(kube, cid)[0]["metadata"]["resourceVersion"] == version
    assert ovirt_writes(lab) == writes, "the rerun wrote to the oVirt engine"
    assert len(bridge_events(ovirt, cid)) == events


def test_check_mode_writes_nothing(lab, kube, ovirt, provider_ns, cluster_ids, tmp_path):
    cid = cluster_ids["kv-b"]
    writes = ovirt_writes(lab)
    out = ok(run_module(lab, tmp_path, "cluster_type", kubevirt_args(provider_ns), check=True, diff=True))
    assert out["changed"] is True and out["cluster"]["type"] == "kubevirt" and out["cluster"]["revision"] == 1
    assert out["diff"]["before"] == {} and out["diff"]["after"]["type"] == "kubevirt"
    assert out["event"]["posted"] is True  # would be
    assert record_of(kube, cid) == []
    assert ovirt_writes(lab) == writes
    assert events_with(ovirt, out["event"]["custom_id"]) == []

    ok(run_module(lab, tmp_path, "cluster_type", kubevirt_args(provider_ns)))
    version = record_of(kube, cid)[0]["metadata"]["resourceVersion"]
    writes = ovirt_writes(lab)
    back = ok(run_module(lab, tmp_path, "cluster_type", {"cluster": "kv-b", "type": "legacy"}, check=True, diff=True))
    assert back["changed"] is True and back["cluster"]["type"] == "legacy" and back["cluster"]["revision"] == 2
    assert back["diff"]["before"]["type"] == "kubevirt" and back["diff"]["after"]["type"] == "legacy"
    assert record_of(kube, cid)[0]["metadata"]["resourceVersion"] == version
    assert ovirt_writes(lab) == writes


def test_a_milestone_change_is_a_new_revision_with_its_event(lab, kube, ovirt, provider_ns, cluster_ids, tmp_path):
    cid = cluster_ids["kv-b"]
    ok(run_module(lab, tmp_path, "cluster_type", kubevirt_args(provider_ns)))
    out = ok(run_module(lab, tmp_path, "cluster_type", kubevirt_args(provider_ns, milestone=2), diff=True))
    assert out["changed"] is True and out["cluster"]["milestone"] == 2 and out["cluster"]["revision"] == 2
    assert out["diff"]["before"]["milestone"] == "1" and out["diff"]["after"]["milestone"] == "2"
    assert out["cluster"]["created"] == out["diff"]["before"]["created"]
    assert len(events_with(ovirt, event_custom_id(cid, "cluster_type", "2", "kubevirt", "kv1", provider_ns, "2"))) == 1


def test_an_interrupted_run_is_completed_by_the_rerun(lab, kube, ovirt, provider_ns, cluster_ids, tmp_path):
    """The registry was written but the event was not (the run died in between): the rerun posts it, once."""
    cid = cluster_ids["kv-b"]
    ok(run_module(lab, tmp_path, "cluster_type", kubevirt_args(provider_ns)))
    # What an interrupted run leaves: revision 2 (milestone 3) in the registry, no event for it.
    kube.update("v1", "ConfigMap", f"ovirt-cluster-{cid}", provider_ns,
                lambda o: dict(o, data=dict(o["data"], milestone="3", revision="2")))
    custom_id = event_custom_id(cid, "cluster_type", "2", "kubevirt", "kv1", provider_ns, "3")
    assert events_with(ovirt, custom_id) == []
    version = record_of(kube, cid)[0]["metadata"]["resourceVersion"]
    out = ok(run_module(lab, tmp_path, "cluster_type", kubevirt_args(provider_ns, milestone=3)))
    assert out["event"] == {"custom_id": custom_id, "posted": True} and out["changed"] is True
    assert out["cluster"]["revision"] == 2
    assert record_of(kube, cid)[0]["metadata"]["resourceVersion"] == version, "the registry was rewritten"
    assert len(events_with(ovirt, custom_id)) == 1
    again = ok(run_module(lab, tmp_path, "cluster_type", kubevirt_args(provider_ns, milestone=3)))
    assert again["changed"] is False and len(events_with(ovirt, custom_id)) == 1


# -- back to legacy ---------------------------------------------------------------

def test_never_switched_cluster_is_legacy_without_any_write(lab, kube, provider_ns, cluster_ids, tmp_path):
    cid = cluster_ids["legacy-a"]
    writes = ovirt_writes(lab)
    out = ok(run_module(lab, tmp_path, "cluster_type", {"cluster": "legacy-a", "type": "legacy"}, diff=True))
    assert out["changed"] is False
    assert {k: out["cluster"][k] for k in ("name", "id", "type", "provider", "namespace", "milestone", "revision")} == {
        "name": "legacy-a", "id": cid, "type": "legacy", "provider": None, "namespace": None, "milestone": None,
        "revision": 0}
    assert out["event"] is None
    assert record_of(kube, cid) == []
    assert ovirt_writes(lab) == writes


def test_back_to_legacy_keeps_the_record_with_a_new_revision(lab, kube, ovirt, provider_ns, cluster_ids, tmp_path):
    cid = cluster_ids["kv-b"]
    ok(run_module(lab, tmp_path, "cluster_type", kubevirt_args(provider_ns)))
    events = len(bridge_events(ovirt, cid))
    out = ok(run_module(lab, tmp_path, "cluster_type", {"cluster": "kv-b", "type": "legacy"}, diff=True))
    assert out["changed"] is True
    assert (out["cluster"]["type"], out["cluster"]["revision"], out["cluster"]["provider"],
            out["cluster"]["milestone"], out["cluster"]["namespace"]) == ("legacy", 2, None, None, provider_ns)
    records = record_of(kube, cid)
    assert len(records) == 1 and records[0]["data"]["type"] == "legacy" and records[0]["data"]["revision"] == "2"
    assert len(bridge_events(ovirt, cid)) == events + 1
    custom_id = event_custom_id(cid, "cluster_type", "2", "legacy", "", provider_ns, "")
    posted = events_with(ovirt, custom_id)
    assert len(posted) == 1 and posted[0].description.startswith("Cluster kv-b type set to legacy by ovirt_kubevirt.bridge")

    version = records[0]["metadata"]["resourceVersion"]
    writes = ovirt_writes(lab)
    again = ok(run_module(lab, tmp_path, "cluster_type", {"cluster": cid, "type": "legacy"}))
    assert again["changed"] is False and again["cluster"]["revision"] == 2
    assert record_of(kube, cid)[0]["metadata"]["resourceVersion"] == version
    assert ovirt_writes(lab) == writes


def test_legacy_refused_while_a_vmi_runs_then_waits_for_it(lab, kube, provider_ns, cluster_ids, tmp_path):
    cid = cluster_ids["kv-b"]
    ok(run_module(lab, tmp_path / "on", "cluster_type", kubevirt_args(provider_ns)))
    kube.create(vm_body("guest-1", provider_ns, cid))
    wait_for("the VMI of guest-1", lambda: kube.get("kubevirt.io/v1", "VirtualMachineInstance", "guest-1", provider_ns))
    version = record_of(kube, cid)[0]["metadata"]["resourceVersion"]

    refused = run_module(lab, tmp_path / "refused", "cluster_type", {"cluster": "kv-b", "type": "legacy"})
    assert refused["failed"] is True
    assert "guest-1" in refused["msg"] and provider_ns in refused["msg"] and "wait" in refused["msg"]
    assert record_of(kube, cid)[0]["metadata"]["resourceVersion"] == version

    timed_out = run_module(lab, tmp_path / "short", "cluster_type",
                           {"cluster": "kv-b", "type": "legacy", "wait": True, "wait_timeout": 2})
    assert timed_out["failed"] is True and "guest-1" in timed_out["msg"] and "after waiting 2 s" in timed_out["msg"]
    assert record_of(kube, cid)[0]["data"]["type"] == "kubevirt"

    delay = 5.0

    def stop_it_later():
        time.sleep(delay)
        kube.delete("kubevirt.io/v1", "VirtualMachine", "guest-1", provider_ns)

    stopper = threading.Thread(target=stop_it_later)
    started = time.monotonic()
    stopper.start()
    waited = run_module(lab, tmp_path / "wait", "cluster_type",
                        {"cluster": "kv-b", "type": "legacy", "wait": True, "wait_timeout": 60})
    elapsed = time.monotonic() - started
    stopper.join()
    ok(waited)
    assert waited["changed"] is True and waited["cluster"]["type"] == "legacy"
    assert elapsed >= delay, "the module did not wait for the VMI"
    assert kube.get("kubevirt.io/v1", "VirtualMachineInstance", "guest-1", provider_ns) is None


def test_moving_to_another_namespace_is_refused_while_a_vmi_runs(lab, kube, provider_ns, cluster_ids, tmp_path):
    cid = cluster_ids["kv-b"]
    ok(run_module(lab, tmp_path / "on", "cluster_type", kubevirt_args(provider_ns)))
    other = new_namespace_name("ct")
    provider_core.ensure_provider(kube, "kv1", other)
    try:
        kube.create(vm_body("guest-2", provider_ns, cid))
        wait_for("the VMI of guest-2",
                 lambda: kube.get("kubevirt.io/v1", "VirtualMachineInstance", "guest-2", provider_ns))
        refused = run_module(lab, tmp_path / "refused", "cluster_type", kubevirt_args(other))
        assert refused["failed"] is True and "guest-2" in refused["msg"]
        kube.delete("kubevirt.io/v1", "VirtualMachine", "guest-2", provider_ns)
        wait_for("guest-2 gone",
                 lambda: kube.get("kubevirt.io/v1", "VirtualMachineInstance", "guest-2", provider_ns) is None)
        moved = ok(run_module(lab, tmp_path / "moved", "cluster_type", kubevirt_args(other)))
        assert moved["changed"] is True and moved["cluster"]["namespace"] == other
        assert moved["cluster"]["revision"] == 2
        records = record_of(kube, cid)
        assert [(r["metadata"]["namespace"], r["data"]["revision"]) for r in records] == [(other, "2")]
    finally:
        reset_records(kube)
        cleanup_namespace(kube, other)


# -- never touching VMs -----------------------------------------------------------

def _vm_state(ovirt) -> Dict[str, tuple]:
    state = {}
    for name in VMS_UP:
        vm = ovirt.vm(name)
        state[name] = (vm.status, vm.host.id if vm.host else None, vm.start_time)
    return state


def test_running_vms_are_never_touched(lab, ovirt, provider_ns, tmp_path):
    before = _vm_state(ovirt)
    assert all(status.value == "up" for status, _host, _start in before.values())
    total = ovirt_requests(lab)["total"]
    tasks = []
    for cluster in ("kv-b", "legacy-a"):
        tasks += [
            {"name": f"{cluster} kubevirt",
             "ovirt_kubevirt.bridge.cluster_type": kubevirt_args(provider_ns, cluster=cluster)},
            {"name": f"{cluster} milestone 3",
             "ovirt_kubevirt.bridge.cluster_type": kubevirt_args(provider_ns, milestone=3, cluster=cluster)},
            {"name": f"{cluster} legacy", "ovirt_kubevirt.bridge.cluster_type": {"cluster": cluster, "type": "legacy"}},
        ]
    run = playbook(lab, tasks, tmp_path)
    assert run.rc == 0, run.stdout[-3000:]
    assert all(run.result(t["name"])["changed"] for t in tasks)
    assert _vm_state(ovirt) == before
    after = ovirt_requests(lab)
    log = after["requests"][-(after["total"] - total):]
    writes = [(method, path) for method, path in log if method in ("POST", "PUT", "DELETE", "PATCH")]
    assert writes and all(method == "POST" and path.split("?")[0].endswith("/api/events") for method, path in writes), writes
    assert not [path for _method, path in log if "/vms/" in path and not path.endswith("/vms")], "a VM was addressed"


# -- concurrency ------------------------------------------------------------------

def _parallel(lab, tmp_path: Path, args_list: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    results: List[Any] = [None] * len(args_list)

    def one(index: int) -> None:
        results[index] = run_module(lab, tmp_path / f"w{index}", "cluster_type", args_list[index])

    threads = [threading.Thread(target=one, args=(i,)) for i in range(len(args_list))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return [ok(r) for r in results]


def test_concurrent_writers_do_not_clobber(lab, kube, ovirt, provider_ns, cluster_ids, tmp_path):
    cid = cluster_ids["kv-b"]
    ok(run_module(lab, tmp_path / "start", "cluster_type", kubevirt_args(provider_ns)))  # revision 1

    # Two different changes at once: both land, one after the other.
    a, b = _parallel(lab, tmp_path / "diff",
                     [kubevirt_args(provider_ns, milestone=2), kubevirt_args(provider_ns, milestone=3)])
    assert a["changed"] and b["changed"]
    assert sorted([a["cluster"]["revision"], b["cluster"]["revision"]]) == [2, 3]
    last = a if a["cluster"]["revision"] == 3 else b
    data = record_of(kube, cid)[0]["data"]
    assert data["revision"] == "3" and data["milestone"] == str(last["cluster"]["milestone"])
    for out in (a, b):
        assert len(events_with(ovirt, out["event"]["custom_id"])) == 1

    # The same change at once: one revision, one event.
    c, d = _parallel(lab, tmp_path / "same",
                     [kubevirt_args(provider_ns, milestone=1), kubevirt_args(provider_ns, milestone=1)])
    assert c["cluster"]["revision"] == d["cluster"]["revision"] == 4
    assert record_of(kube, cid)[0]["data"]["revision"] == "4"
    assert c["event"]["custom_id"] == d["event"]["custom_id"]
    assert len(events_with(ovirt, c["event"]["custom_id"])) == 1


def test_concurrent_first_writers_create_one_record(lab, kube, ovirt, provider_ns, cluster_ids, tmp_path):
    cid = cluster_ids["legacy-a"]
    results = _parallel(lab, tmp_path, [kubevirt_args(provider_ns, cluster="legacy-a")] * 3)
    assert {r["cluster"]["revision"] for r in results} == {1}
    records = record_of(kube, cid)
    assert len(records) == 1 and records[0]["data"]["revision"] == "1"
    assert len(events_with(ovirt, results[0]["event"]["custom_id"])) == 1


class RacingKube(KubeService):
    """Holds each writer after its first read of the record until every writer has read it."""

    def __init__(self, client: Any, barrier: threading.Barrier) -> None:
        super().__init__(client)
        self.barrier = barrier
        self.raced = False

    def get(self, api_version, kind, name, namespace=None):
        obj = super().get(api_version, kind, name, namespace)
        if kind == "ConfigMap" and name.startswith("ovirt-cluster-") and not self.raced:
            self.raced = True
            self.barrier.wait(timeout=30)
        return obj


def _race(lab, milestones: List[int]) -> Tuple[List[Any], Callable[[int, str], None]]:
    """Results and a writer: set_cluster_type for one milestone, reading the record in step with the others."""
    barrier = threading.Barrier(len(milestones))
    results: List[Any] = [None] * len(milestones)
    auth = {"url": lab.env["OVIRT_URL"], "username": lab.env["OVIRT_USERNAME"],
            "password": lab.env["OVIRT_PASSWORD"], "ca_file": lab.env["OVIRT_CAFILE"]}

    def writer(index: int, namespace: str) -> None:
        client = k8s_client.connect(k8s_params(lab.env))[0]
        connection = ovirt_client.connect(auth)[0]
        try:
            results[index] = registry.set_cluster_type(
                OvirtService(connection), RacingKube(client, barrier), engine_url=auth["url"], cluster="kv-b",
                cluster_type="kubevirt", provider="kv1", namespace=namespace, milestone=milestones[index])
        except Exception as exc:  # reported by the assertion below
            results[index] = exc
        finally:
            connection.close()

    return results, writer


def test_racing_writers_retry_on_conflict(lab, kube, ovirt, provider_ns, cluster_ids):
    """Deterministic races through the core: every writer reads before any writes."""
    cid = cluster_ids["kv-b"]

    def run(milestones: List[int]) -> List[Dict[str, Any]]:
        results, writer = _race(lab, milestones)
        threads = [threading.Thread(target=writer, args=(i, provider_ns)) for i in range(len(milestones))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert not [r for r in results if isinstance(r, Exception)], results
        return results

    # Creating: all find no record; one creates it, the others get 409 and re-plan.
    first = run([1, 1, 1])
    assert {r["cluster"]["revision"] for r in first} == {1}
    assert sum(r["changed"] for r in first) >= 1
    assert [r["data"]["revision"] for r in record_of(kube, cid)] == ["1"]
    assert len(events_with(ovirt, first[0]["event"]["custom_id"])) == 1

    # Updating: both read revision 1, one replace conflicts, is re-read and re-planned.
    second = run([2, 3])
    assert sorted(r["cluster"]["revision"] for r in second) == [2, 3]
    last = max(second, key=lambda r: r["cluster"]["revision"])
    data = record_of(kube, cid)[0]["data"]
    assert data["revision"] == "3" and data["milestone"] == str(last["cluster"]["milestone"])
    for out in second:
        assert len(events_with(ovirt, out["event"]["custom_id"])) == 1


# -- errors ------------------------------------------------------------------------

def test_unknown_cluster_is_named(lab, provider_ns, tmp_path):
    out = run_module(lab, tmp_path, "cluster_type", kubevirt_args(provider_ns, cluster="no-such-cluster"))
    assert out["failed"] is True and "no cluster named or with id 'no-such-cluster'" in out["msg"]
    assert out["error_type"] == "NotFoundError"


def test_missing_provider_is_named(lab, kube, provider_ns, cluster_ids, tmp_path):
    out = run_module(lab, tmp_path, "cluster_type", dict(kubevirt_args(provider_ns), provider="kv9"))
    assert out["failed"] is True
    assert out["msg"] == f"provider kv9 is not registered in namespace {provider_ns}; run kubevirt_provider first"
    assert record_of(kube, cluster_ids["kv-b"]) == []


@pytest.mark.parametrize("args, message", [
    ({"cluster": "kv-b", "type": "kubevirt", "provider": "kv1", "namespace": "x", "milestone": 4},
     "value of milestone must be one of: 1, 2, 3"),
    ({"cluster": "kv-b", "type": "hybrid"}, "value of type must be one of: legacy, kubevirt"),
    ({"cluster": "kv-b", "type": "kubevirt"}, "type is kubevirt but all of the following are missing: provider, namespace"),
])
def test_the_argument_spec_refuses_bad_input(lab, tmp_path, args, message):
    out = run_module(lab, tmp_path, "cluster_type", args)
    assert out["failed"] is True and message in out["msg"]


# -- cluster_type_info -------------------------------------------------------------

def test_info_reports_every_cluster_and_where_its_vms_run(lab, kube, provider_ns, cluster_ids, tmp_path):
    ok(run_module(lab, tmp_path / "on", "cluster_type", kubevirt_args(provider_ns)))
    kube.create(vm_body("db-1", provider_ns, cluster_ids["kv-b"], run_strategy="Halted"))
    writes = ovirt_writes(lab)
    out = ok(run_module(lab, tmp_path / "all", "cluster_type_info", {}, check=True))
    assert out["changed"] is False
    by_name = {c["name"]: c for c in out["clusters"]}
    assert sorted(by_name) == ["kv-b", "legacy-a"]
    hosts = {name: by_name[name].pop("hosts") for name in by_name}
    assert [h["name"] for h in hosts["kv-b"]] == ["node-b1", "node-b2", "node-b3"]
    assert [h["name"] for h in hosts["legacy-a"]] == ["host-a1", "host-a2"]
    assert all(h["node"] == h["name"] and h["node_ready"] in (True, False) for h in hosts["kv-b"] + hosts["legacy-a"])
    assert by_name["kv-b"] == {"name": "kv-b", "id": cluster_ids["kv-b"], "type": "kubevirt", "provider": "kv1",
                               "namespace": provider_ns, "milestone": 1, "revision": 1,
                               "legacy_runtime_vms": ["app-1"], "kubevirt_vms": ["db-1"], "ha_vms": ["db-1"]}
    assert by_name["legacy-a"] == {"name": "legacy-a", "id": cluster_ids["legacy-a"], "type": "legacy",
                                   "provider": None, "namespace": None, "milestone": None, "revision": 0,
                                   "legacy_runtime_vms": ["web-1"], "kubevirt_vms": [], "ha_vms": []}

    one = ok(run_module(lab, tmp_path / "one", "cluster_type_info", {"cluster": "kv-b"}))
    assert [c["name"] for c in one["clusters"]] == ["kv-b"] and one["clusters"][0]["type"] == "kubevirt"
    scoped = ok(run_module(lab, tmp_path / "ns", "cluster_type_info", {"namespace": "default"}))
    assert {c["type"] for c in scoped["clusters"]} == {"legacy"}, "a record outside the namespace counted"
    assert ovirt_writes(lab) == writes

    ok(run_module(lab, tmp_path / "off", "cluster_type", {"cluster": "kv-b", "type": "legacy", "wait": True}))
    back = ok(run_module(lab, tmp_path / "back", "cluster_type_info", {"cluster": "kv-b"}))["clusters"][0]
    assert (back["type"], back["provider"], back["milestone"], back["revision"]) == ("legacy", None, None, 2)


def test_info_on_an_unknown_cluster_names_it(lab, tmp_path):
    out = run_module(lab, tmp_path, "cluster_type_info", {"cluster": "no-such-cluster"})
    assert out["failed"] is True and "no-such-cluster" in out["msg"]
