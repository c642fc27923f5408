"""Faults on their own lab: the kube-apiserver restarted under running tasks, and the oVirt engine failing mid-change.

Each test injects a fault while the collection works, then checks that nothing was lost or duplicated and that
a rerun converges. Tests run in file order and share the lab.
"""
from __future__ import annotations

import json
import re
import ssl
import subprocess
import sys
import time
import urllib.request
import uuid
from collections import Counter
from pathlib import Path

import labctl
import pytest
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.clients import k8s_client
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.clients.k8s_service import KubeService
from harness import REPO_ROOT, engine, finish_playbook, k8s_params, kubectl, own_lab, run_playbook, start_playbook
from kubernetes import watch as k8s_watch
from kubernetes.client.exceptions import ApiException

NAMESPACE = "flt"
MAPS = {"storage_map": {"*": {"pvc_name": "{vm}-{disk_id}"}}, "network_map": {"*": "pod"}}
DEPLOYED = 200
TOPOLOGY = {"datacenters": [
    {"name": "dcf", "clusters": [
        {"name": "f-kv", "hosts": [{"name": f"f-{i}", "cpus": 128, "memory_mib": 1048576} for i in (1, 2, 3)]},
        {"name": "f-slow", "hosts": [{"name": "fs-1", "cpus": 16, "memory_mib": 65536,
                                      "faults": {"launch_delay_s": 25}}],
         "vms": [{"name": f"slow-{i}", "cpus": 1, "memory_mib": 512} for i in (1, 2, 3)]},
        {"name": "f-sync", "hosts": [{"name": f"fy-{i}", "cpus": 16, "memory_mib": 65536} for i in (1, 2)],
         "vms": [{"name": f"sy-{i}", "cpus": 1, "memory_mib": 512} for i in (1, 2)]},
        {"name": "f-type", "hosts": [{"name": "ft-1", "cpus": 8, "memory_mib": 16384}]},
        {"name": "f-mig", "hosts": [{"name": "fm-1", "cpus": 8, "memory_mib": 16384},
                                    {"name": "fm-bad", "cpus": 8, "memory_mib": 16384,
                                     "faults": {"fail_migrations_in": 1}}],
         "vms": [{"name": "mig-1", "cpus": 1, "memory_mib": 512}]}]},
    {"name": "dcw", "clusters": [
        {"name": "w-one", "hosts": [{"name": "w-1", "cpus": 16, "memory_mib": 65536}],
         "vms": [{"name": "wrun-1", "cpus": 1, "memory_mib": 1024, "status": "up", "host": "w-1"},
                 {"name": "wstop-1", "cpus": 1, "memory_mib": 1024}]},
        {"name": "w-two", "hosts": [{"name": "w-2", "cpus": 16, "memory_mib": 65536}],
         "vms": [{"name": "wrun-2", "cpus": 1, "memory_mib": 1024, "status": "up", "host": "w-2"}]}]}]}


@pytest.fixture(scope="module")
def fltlab(tmp_path_factory):
    yield from own_lab(tmp_path_factory, "fltlab", TOPOLOGY)


@pytest.fixture(autouse=True)
def no_faults_left(fltlab):
    yield
    engine(fltlab, "/lab/faults", "DELETE")


def provider_and_type(cluster, milestone=2):
    return [
        {"name": "provider", "ovirt_kubevirt.bridge.kubevirt_provider": {"name": "kv1", "namespace": NAMESPACE}},
        {"name": "type", "ovirt_kubevirt.bridge.cluster_type": {"cluster": cluster, "type": "kubevirt",
                                                                "provider": "kv1", "namespace": NAMESPACE,
                                                                "milestone": milestone}},
    ]


def vm_names(lab):
    return [v["metadata"]["name"] for v in kubectl(lab, "get", "vm", "-n", NAMESPACE)["items"]]


def wait_until(what, condition, timeout_s=120.0):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


# kube-apiserver's gauge of open long-running requests (named apiserver_longrunning_gauge up to 1.22,
# apiserver_longrunning_requests since: staging/src/k8s.io/apiserver/pkg/endpoints/metrics/metrics.go).
LONGRUNNING = re.compile(r'^apiserver_longrunning_(?:gauge|requests)\{(?P<labels>[^}]*)\} (?P<value>\S+)$', re.M)


def namespaced_watches(lab, resource):
    """How many namespace-scoped watches of ``resource`` the kube-apiserver holds open.

    The lab's own controllers watch cluster-wide, so these are the collection's.
    """
    request = urllib.request.Request(lab.env["K8S_AUTH_HOST"] + "/metrics",
                                     headers={"Authorization": f"Bearer {lab.env['K8S_AUTH_API_KEY']}"})
    context = ssl.create_default_context(cafile=lab.env["K8S_AUTH_SSL_CA_CERT"])
    with urllib.request.urlopen(request, context=context) as reply:
        text = reply.read().decode()
    wanted = {f'resource="{resource}"', 'scope="namespace"', 'verb="WATCH"'}
    return sum(float(m["value"]) for m in LONGRUNNING.finditer(text) if wanted <= set(m["labels"].split(",")))


def wait_watching(lab, proc, what):
    """Wait until a started playbook's module has its VirtualMachineInstance watch open."""
    wait_until(f"{what} to watch", lambda: proc.poll() is not None
               or namespaced_watches(lab, "virtualmachineinstances") >= 1, timeout_s=120)
    assert proc.poll() is None, f"{what} ended before the fault: {finish_playbook(proc).failure()}"


def restart_apiserver(lab):
    began = time.monotonic()
    labctl.restart(lab.dir, "apiserver")
    return time.monotonic() - began


# -- the kube-apiserver restarted mid-task ----------------------------------------------------------------------------

def test_a_deployment_cut_by_an_apiserver_restart_converges_on_rerun_to_exactly_its_vms(fltlab, tmp_path):
    run_playbook(fltlab, provider_and_type("f-kv"), tmp_path)
    declared = [{"name": f"fd-{i:03d}", "cluster": "f-kv", "memory_mib": 256, "cpus": 1, "state": "running"}
                for i in range(DEPLOYED)]
    task = [{"name": "deploy", "ignore_errors": True,
             "ovirt_kubevirt.bridge.vm_deploy": {"vms": declared, "max_workers": 4, **MAPS}}]
    proc = start_playbook(fltlab, task, tmp_path, name="deploy")
    wait_until("a quarter of the VirtualMachines", lambda: len(vm_names(fltlab)) >= DEPLOYED // 4, timeout_s=300)
    assert proc.poll() is None, "the deployment ended before the fault"
    restart_apiserver(fltlab)
    first = finish_playbook(proc).result("deploy")
    if first.get("failed"):  # the restart cut some calls: each names its VM and the API's error
        assert "VM(s) failed" in first["msg"] and "fd-" in first["msg"], first["msg"]
    again = run_playbook(fltlab, task, tmp_path).result("deploy")
    assert not again.get("failed"), again.get("msg")

    engine_vms = Counter(v["name"] for v in engine(fltlab, "/lab/state")["vms"].values() if v["name"].startswith("fd-"))
    assert len(engine_vms) == DEPLOYED and set(engine_vms.values()) == {1}, "an oVirt VM was lost or duplicated"
    assert sorted(vm_names(fltlab)) == [d["name"] for d in declared]
    wait = run_playbook(fltlab, [{"name": "wait", "ovirt_kubevirt.bridge.vm_run_wait": {
        "vms": [d["name"] for d in declared], "timeout": 300}}], tmp_path).result("wait")
    assert not wait.get("failed"), wait.get("msg")
    owners = Counter(i["metadata"]["name"] for i in kubectl(fltlab, "get", "vmi", "-n", NAMESPACE)["items"]
                     if i["metadata"]["name"].startswith("fd-"))
    assert len(owners) == DEPLOYED and set(owners.values()) == {1}
    converged = run_playbook(fltlab, task, tmp_path).result("deploy")
    assert converged["changed"] is False and not converged.get("failed"), converged.get("msg")


def test_a_wait_rides_out_an_apiserver_restart(fltlab, tmp_path):
    vms = ["slow-1", "slow-2", "slow-3"]
    run = run_playbook(fltlab, provider_and_type("f-slow") + [
        {"name": "run", "ovirt_kubevirt.bridge.vm_run": {"vms": vms, **MAPS}}], tmp_path)
    assert not run.result("run").get("failed"), run.failure()
    began = time.monotonic()
    proc = start_playbook(fltlab, [{"name": "wait", "ignore_errors": True,
                                    "ovirt_kubevirt.bridge.vm_run_wait": {"vms": vms, "timeout": 90}}],
                          tmp_path, name="wait")
    wait_watching(fltlab, proc, "the wait")  # the VMIs launch 25 s after their creation on this node
    down_s = restart_apiserver(fltlab)
    assert proc.poll() is None, "the wait ended during the fault"
    wait = finish_playbook(proc).result("wait")
    assert not wait.get("failed"), wait.get("msg")
    assert sorted(r["name"] for r in wait["results"] if r["phase"] == "Running") == vms
    assert time.monotonic() - began < 60, f"the wait ended well after the VMs ran (apiserver down {down_s:.1f} s)"
    assert all(len(r.get("attempts") or []) <= 1 for r in wait["results"]), "the restart caused a rerun"


def test_a_wait_whose_apiserver_stays_away_fails_at_its_timeout_with_the_reason(fltlab, tmp_path):
    params = {"host": "https://127.0.0.1:9", "validate_certs": True}  # nothing listens on the discard port
    result = run_playbook(fltlab, [{"name": "wait", "ignore_errors": True,
                                    "ovirt_kubevirt.bridge.vm_run_wait": {"vms": ["slow-1"], "timeout": 5, **params}}],
                          tmp_path).result("wait")
    assert result["failed"] is True
    assert "127.0.0.1:9" in result["msg"] and "onnection refused" in result["msg"], result["msg"]


def test_a_follow_sync_keeps_reporting_across_an_apiserver_restart(fltlab, tmp_path):
    vms = ["sy-1", "sy-2"]
    run = run_playbook(fltlab, provider_and_type("f-sync", milestone=3) + [
        {"name": "run", "ovirt_kubevirt.bridge.vm_run": {"vms": vms, **MAPS}},
        {"name": "wait", "ovirt_kubevirt.bridge.vm_run_wait": {"vms": vms, "timeout": 60}},
        {"name": "sync", "ovirt_kubevirt.bridge.vm_state_sync": {"vms": vms}}], tmp_path)
    assert not run.result("sync").get("failed"), run.failure()
    follow = start_playbook(fltlab, [{"name": "follow", "ovirt_kubevirt.bridge.vm_state_sync": {
        "vms": vms, "follow": True, "duration": 30}}], tmp_path, name="follow")
    wait_watching(fltlab, follow, "the follow")
    restart_apiserver(fltlab)
    # Changes made after the restart must still reach oVirt through the resumed watch.
    paused = run_playbook(fltlab, [{"name": "pause", "ovirt_kubevirt.bridge.vm_operation": {
        "vm": "sy-1", "operation": "pause", "timeout": 30}}], tmp_path).result("pause")
    assert not paused.get("failed"), paused.get("msg")
    result = finish_playbook(follow).result("follow")
    assert not result.get("failed"), result.get("msg")
    assert {"vm": "sy-1", "field": "status", "before": "up", "after": "paused"} in result["changes"], result["changes"]
    state = engine(fltlab, "/lab/state")
    sy1 = next(v["id"] for v in state["vms"].values() if v["name"] == "sy-1")
    described = [e["description"] for e in state["events"].values() if e.get("vm_id") == sy1]
    assert sum("status up -> paused" in d for d in described) == 1, described
    resumed = run_playbook(fltlab, [{"name": "resume", "ovirt_kubevirt.bridge.vm_operation": {
        "vm": "sy-1", "operation": "resume", "timeout": 30}}], tmp_path).result("resume")
    assert not resumed.get("failed"), resumed.get("msg")


def test_a_watch_from_a_version_the_server_forgot_relists_after_410_gone(fltlab):
    kube = KubeService(k8s_client.connect(k8s_params(fltlab.env))[0])
    label = uuid.uuid4().hex[:8]
    old_version = kube.list("v1", "ConfigMap", "default", label_selector=f"t={label}")[1]
    names = [f"gone-{label}-{i}" for i in range(20)]
    for name in names:
        kube.create({"apiVersion": "v1", "kind": "ConfigMap",
                     "metadata": {"name": name, "namespace": "default", "labels": {"t": label}}})
    restart_apiserver(fltlab)  # its watch cache now starts after old_version
    kube = KubeService(k8s_client.connect(k8s_params(fltlab.env))[0])
    # The server itself answers this version with 410 Gone...
    with pytest.raises(ApiException) as gone:
        next(iter(k8s_watch.Watch().stream(kube.resource("v1", "ConfigMap").get, namespace="default",
                                           label_selector=f"t={label}", resource_version=old_version,
                                           timeout_seconds=2, serialize=False)))
    assert gone.value.status == 410, gone.value
    # ...and the collection's watch relists: every object arrives as current state, none is missed.
    seen = set()
    for event_type, obj in kube.watch("v1", "ConfigMap", "default", label_selector=f"t={label}", timeout_s=20,
                                      resource_version=old_version):
        assert event_type == "SYNC", event_type
        seen.add(obj["metadata"]["name"])
        if len(seen) == len(names):
            break
    assert seen == set(names)


# -- KubeVirt failing an operation ------------------------------------------------------------------------------------

def test_a_migration_failing_on_its_target_is_reported_and_the_vm_keeps_running_on_its_source(fltlab, tmp_path):
    run = run_playbook(fltlab, provider_and_type("f-mig", milestone=3) + [
        {"name": "run", "ovirt_kubevirt.bridge.vm_run": {"vms": ["mig-1"], **MAPS}},
        {"name": "wait", "ovirt_kubevirt.bridge.vm_run_wait": {"vms": ["mig-1"], "timeout": 60}}], tmp_path)
    assert not run.result("wait").get("failed"), run.failure()

    def migrate(target):
        return run_playbook(fltlab, [{"name": "migrate", "ignore_errors": True, "ovirt_kubevirt.bridge.vm_operation": {
            "vm": "mig-1", "operation": "migrate", "target_node": target, "timeout": 60}}], tmp_path).result("migrate")

    if kubectl(fltlab, "get", "vmi", "mig-1", "-n", NAMESPACE)["status"]["nodeName"] == "fm-bad":
        assert not migrate("fm-1").get("failed")  # only migrations into fm-bad fail
    before = kubectl(fltlab, "get", "vmi", "mig-1", "-n", NAMESPACE)
    failed = migrate("fm-bad")
    assert failed["failed"] is True, failed
    assert "the migration of VM mig-1 from fm-1 failed" in failed["msg"] and "the VM runs on fm-1" in failed["msg"]
    after = kubectl(fltlab, "get", "vmi", "mig-1", "-n", NAMESPACE)
    assert after["status"]["phase"] == "Running" and after["status"]["nodeName"] == "fm-1"
    assert after["metadata"]["uid"] == before["metadata"]["uid"], "the VM was restarted"


# -- the oVirt engine failing mid-change ------------------------------------------------------------------------------

def type_task(**extra):
    return [{"name": "type", "ignore_errors": True, "ovirt_kubevirt.bridge.cluster_type": {
        "cluster": "f-type", "type": "kubevirt", "provider": "kv1", "namespace": NAMESPACE, "milestone": 1, **extra}}]


def bridge_events(lab, cluster_name):
    state = engine(lab, "/lab/state")
    cluster_id = next(c["id"] for c in state["clusters"].values() if c["name"] == cluster_name)
    return [e for e in state["events"].values() if e.get("origin") == "ovirt_kubevirt" and e.get("cluster_id") == cluster_id]


def test_an_engine_error_mid_type_change_is_named_and_the_rerun_completes_it_once(fltlab, tmp_path):
    engine(fltlab, "/lab/faults", "POST", {"path": "/events$", "method": "POST", "status": 500, "count": 1})
    failed = run_playbook(fltlab, type_task(), tmp_path).result("type")
    assert failed["failed"] is True and "Lab injected fault" in failed["msg"], failed["msg"]
    assert bridge_events(fltlab, "f-type") == []
    done = run_playbook(fltlab, type_task(), tmp_path).result("type")
    assert not done.get("failed") and done["changed"] is True and done["event"]["posted"] is True, done
    assert done["cluster"]["type"] == "kubevirt" and done["cluster"]["revision"] == 1
    assert len(bridge_events(fltlab, "f-type")) == 1
    again = run_playbook(fltlab, type_task(), tmp_path).result("type")
    assert again["changed"] is False and len(bridge_events(fltlab, "f-type")) == 1


def test_an_engine_timeout_whose_write_landed_late_is_not_repeated(fltlab, tmp_path):
    # The engine takes the event but answers after the client gave up: the worst case for a retry.
    engine(fltlab, "/lab/faults", "POST", {"path": "/events$", "method": "POST", "delay_s": 4, "count": 1})
    timed_out = run_playbook(fltlab, type_task(milestone=2, auth={"timeout": 1}), tmp_path).result("type")
    assert timed_out["failed"] is True, timed_out
    assert "imeout" in timed_out["msg"] or "timed out" in timed_out["msg"], timed_out["msg"]
    wait_until("the late event", lambda: len(bridge_events(fltlab, "f-type")) == 2, timeout_s=20)
    done = run_playbook(fltlab, type_task(milestone=2), tmp_path).result("type")
    assert not done.get("failed"), done.get("msg")
    assert done["cluster"]["milestone"] == 2 and done["event"]["posted"] is False
    assert len(bridge_events(fltlab, "f-type")) == 2, "the event of milestone 2 was posted twice"


def test_an_engine_error_mid_upgrade_wave_is_named_and_the_rerun_finishes_without_disturbing_vms(fltlab, tmp_path):
    before = {v["name"]: (v["status"], v["host_id"], v["start_ms"]) for v in engine(fltlab, "/lab/state")["vms"].values()
              if v["name"].startswith("w")}
    engine(fltlab, "/lab/faults", "POST", {"path": "/events$", "method": "POST", "status": 503, "count": 1})
    variables = {"datacenter": "dcw", "provider": "kv1", "namespace": NAMESPACE, "targets": {"w-one": 2, "w-two": 3},
                 "report_dir": str(tmp_path / "reports"), "storage_map": {"*": {"pvc_name": "{vm}-{disk_id}"}},
                 "network_map": {"*": "pod"}}
    first = run_upgrade(fltlab, tmp_path, variables)
    assert first.returncode != 0
    assert "Lab injected fault" in first.stdout, first.stdout[-3000:]
    rerun = run_upgrade(fltlab, tmp_path, variables)
    assert rerun.returncode == 0, rerun.stdout[-3000:]
    assert '"upgrade_disturbed_vms": 0' in rerun.stdout
    after = {v["name"]: (v["status"], v["host_id"], v["start_ms"]) for v in engine(fltlab, "/lab/state")["vms"].values()
             if v["name"].startswith("w")}
    assert after == before, "a running VM was stopped, restarted or moved"
    assert len(bridge_events(fltlab, "w-one")) == 1 and len(bridge_events(fltlab, "w-two")) == 1


def run_upgrade(lab, tmp_path, variables):
    env = lab.command_env(ANSIBLE_STDOUT_CALLBACK="default", ANSIBLE_SHOW_CUSTOM_STATS="true")
    command = [str(Path(sys.executable).parent / "ansible-playbook"), "-i", "localhost,",
               str(REPO_ROOT / "playbooks" / "upgrade_datacenter.yml"), "-e", json.dumps(variables)]
    return subprocess.run(command, capture_output=True, text=True, env=env, check=False)
