"""The KubeVirt simulator against a real kube-apiserver (kubelab), end to end.

One lab and one simulator for the module, with a small topology of its own:
each test pins its VMs with node selectors (the ``rack`` label) so that the
nodes carrying faults only see the VMs meant for them.
"""
from __future__ import annotations

import json
import os
import select
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest
from kubernetes.dynamic.exceptions import NotFoundError

LAB = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(LAB))

import kubelab  # noqa: E402  (from tests/lab, on the path above)

T = TypeVar("T")
NS = "simtest"
SUB = "/apis/subresources.kubevirt.io/v1"
CRD_FILES = sorted((LAB / "kubevirt").glob("crd-validation-*.yaml"))
NOT_READY_AFTER_S = 10
TOPOLOGY = f"""
datacenters:
  - name: dc1
    clusters:
      - name: sim
        hosts:
          - {{name: n-a, cpus: 8, memory_mib: 16384, labels: {{rack: r1}}, devices: [gpu-t4]}}
          - {{name: n-b, cpus: 8, memory_mib: 16384, labels: {{rack: r2}}, cpu_model: Haswell-noTSX}}
          - {{name: n-c, cpus: 8, memory_mib: 16384, labels: {{rack: r5}}, faults: {{fail_migrations_in: 1}}}}
          - {{name: n-fail, cpus: 8, memory_mib: 16384, labels: {{rack: r3}}, faults: {{fail_launches: 2}}}}
          - {{name: n-tainted, cpus: 8, memory_mib: 16384, labels: {{rack: r4}},
              taints: [{{key: dedicated, value: gpu, effect: NoSchedule}}]}}
          - {{name: n-slow, cpus: 8, memory_mib: 16384, labels: {{rack: r7}}, faults: {{launch_delay_s: 1.5}}}}
          - {{name: n-dies, cpus: 8, memory_mib: 16384, labels: {{rack: r6}},
              faults: {{not_ready_after_s: {NOT_READY_AFTER_S}}}}}
        vms:
          - {{name: crashy, cpus: 1, memory_mib: 256, faults: {{crash_after_s: 2}}}}
"""


@dataclass
class Env:
    lab: kubelab.KubeLab
    dyn: Any  # kubernetes.dynamic.DynamicClient
    vms: Any
    vmis: Any
    vmims: Any
    nodes: Any
    events: Any
    sim_port: int
    sim_log: Path
    started: float


def _wait_ready_line(proc: subprocess.Popen[str], log: Path, timeout: float) -> int:
    assert proc.stdout is not None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready = select.select([proc.stdout], [], [], 0.2)[0]
        if ready:
            line = proc.stdout.readline()
            if line.startswith("READY "):
                return int(line.split()[1])
        if proc.poll() is not None:
            break
    raise RuntimeError(f"simulator not ready (exit {proc.poll()}); log:\n{log.read_text()[-3000:]}")


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    run_dir = tmp_path_factory.mktemp("kubevirt-sim")
    lab = kubelab.start(run_dir)
    proc: subprocess.Popen[str] | None = None
    log = run_dir / "logs" / "kubevirt-sim.log"
    try:
        kubelab.install_crds(lab, CRD_FILES)
        cert, key = kubelab.issue_cert(lab.ca_cert, lab.ca_key, run_dir / "pki", "kubevirt-sim",
                                       ["localhost", "127.0.0.1", "virt-api.kubevirt.svc"])
        topology = run_dir / "topology.yaml"
        topology.write_text(TOPOLOGY)
        command = [sys.executable, "-m", "kubevirt_sim", "--kubeconfig", str(lab.kubeconfig),
                   "--topology", str(topology), "--state-dir", str(run_dir / "kubevirt"), "--listen-port", "0",
                   "--tls-cert", str(cert), "--tls-key", str(key), "--ca-cert", str(lab.ca_cert),
                   "--requestheader-ca", str(lab.front_proxy_ca), "--start-backoff-s", "0.2",
                   "--shutdown-s", "1.2", "--migration-step-s", "0.3"]
        with log.open("w") as err:
            proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=err, text=True,
                                    env=dict(os.environ, PYTHONPATH=str(LAB), PYTHONUNBUFFERED="1"))
        started = time.time()
        port = _wait_ready_line(proc, log, 90)
        dyn = kubelab.dynamic_client(lab)
        dyn.resources.get(api_version="v1", kind="Namespace").create(
            body={"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}})

        def res(api_version: str, kind: str) -> Any:
            return dyn.resources.get(api_version=api_version, kind=kind)

        yield Env(lab=lab, dyn=dyn, vms=res("kubevirt.io/v1", "VirtualMachine"),
                  vmis=res("kubevirt.io/v1", "VirtualMachineInstance"),
                  vmims=res("kubevirt.io/v1", "VirtualMachineInstanceMigration"),
                  nodes=res("v1", "Node"), events=res("v1", "Event"), sim_port=port, sim_log=log, started=started)
        assert proc.poll() is None, f"the simulator died; log:\n{log.read_text()[-3000:]}"
    finally:
        if proc is not None:
            proc.terminate()
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        kubelab.stop(run_dir)


# ------------------------------------------------------------------- helpers


def wait_for(what: str, probe: Callable[[], T], timeout: float = 10.0, interval: float = 0.05) -> T:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = probe()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}; last seen: {last!r}")


def get(resource: Any, name: str, namespace: str | None = NS) -> dict[str, Any] | None:
    try:
        return resource.get(name=name, namespace=namespace).to_dict()
    except NotFoundError:
        return None


def vm_body(name: str, strategy: str | None = "Always", selector: dict[str, str] | None = None,
            memory: str = "256Mi", running: bool | None = None, **spec: Any) -> dict[str, Any]:
    template_spec: dict[str, Any] = {
        "domain": {
            "cpu": {"cores": 1}, "memory": {"guest": memory},
            "devices": {"disks": [{"name": "root", "disk": {"bus": "virtio"}}],
                        "interfaces": [{"name": "default", "masquerade": {}, "macAddress": "02:aa:bb:cc:dd:01"}]},
        },
        "networks": [{"name": "default", "pod": {}}],
        "volumes": [{"name": "root", "containerDisk": {"image": "quay.io/containerdisks/fedora:39"}}],
        "nodeSelector": selector if selector is not None else {"rack": "r1"},
        "terminationGracePeriodSeconds": 30,
    }
    template_spec.update(spec)
    body: dict[str, Any] = {
        "apiVersion": "kubevirt.io/v1", "kind": "VirtualMachine",
        "metadata": {"name": name, "namespace": NS},
        "spec": {"template": {"metadata": {"labels": {"app": name}}, "spec": template_spec}},
    }
    if strategy is not None:
        body["spec"]["runStrategy"] = strategy
    if running is not None:
        body["spec"]["running"] = running
    return body


def create_vm(env: Env, name: str, **kwargs: Any) -> dict[str, Any]:
    created: dict[str, Any] = env.vms.create(body=vm_body(name, **kwargs), namespace=NS).to_dict()
    return created


def phase(env: Env, name: str) -> str | None:
    vmi = get(env.vmis, name)
    return (vmi.get("status") or {}).get("phase") if vmi else None


def running_vmi(env: Env, name: str, timeout: float = 10.0, not_uid: str | None = None) -> dict[str, Any]:
    def probe() -> dict[str, Any] | None:
        vmi = get(env.vmis, name)
        if vmi and vmi.get("status", {}).get("phase") == "Running" and vmi["metadata"]["uid"] != not_uid:
            return vmi
        return None

    return wait_for(f"a Running VMI {name}", probe, timeout)


def printable(env: Env, name: str) -> str | None:
    vm = get(env.vms, name)
    return (vm or {}).get("status", {}).get("printableStatus")


def events_for(env: Env, name: str, reason: str | None = None) -> list[dict[str, Any]]:
    items = env.events.get(namespace=NS, field_selector=f"involvedObject.name={name}").to_dict()["items"]
    return [e for e in items if reason is None or e["reason"] == reason]


def call(env: Env, path: str, body: Any = None, method: str = "PUT", token: str | None = None,
         base: str | None = None) -> tuple[int, Any]:
    """A raw HTTPS call (through the apiserver's aggregated path unless ``base`` is given)."""
    context = ssl.create_default_context(cafile=str(env.lab.ca_cert))
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request((base or env.lab.host) + path, data=data, method=method)
    request.add_header("Authorization", f"Bearer {token or env.lab.admin_token}")
    request.add_header("Content-Type", "application/json")
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), urllib.request.HTTPSHandler(context=context))
    try:
        with opener.open(request, timeout=15) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as err:
        status, raw = err.code, err.read()
    try:
        return status, json.loads(raw) if raw else None
    except ValueError:
        return status, raw.decode(errors="replace")


def vm_action(env: Env, name: str, action: str, body: Any = None, token: str | None = None) -> tuple[int, Any]:
    return call(env, f"{SUB}/namespaces/{NS}/virtualmachines/{name}/{action}", body, token=token)


def vmi_action(env: Env, name: str, action: str, body: Any = None) -> tuple[int, Any]:
    return call(env, f"{SUB}/namespaces/{NS}/virtualmachineinstances/{name}/{action}", body)


def unschedulable_message(env: Env, name: str) -> str | None:
    vmi = get(env.vmis, name)
    for cond in (vmi or {}).get("status", {}).get("conditions") or []:
        if cond["type"] == "PodScheduled" and cond["status"] == "False" and cond.get("reason") == "Unschedulable":
            return str(cond["message"])
    return None


def migrate(env: Env, name: str, target: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachineInstanceMigration",
                            "metadata": {"generateName": f"{name}-mig-", "namespace": NS}, "spec": {"vmiName": name}}
    if target:
        body["spec"]["addedNodeSelector"] = {"kubernetes.io/hostname": target}
    created: dict[str, Any] = env.vmims.create(body=body, namespace=NS).to_dict()
    return created


def migration_phase(env: Env, name: str) -> str | None:
    mig = get(env.vmims, name)
    return (mig or {}).get("status", {}).get("phase")


# --------------------------------------------------------------------- tests


def test_not_ready_node_fails_its_vmis_and_they_restart_elsewhere(env: Env) -> None:
    # Prefers the node that goes NotReady NOT_READY_AFTER_S after the simulator started, may use n-b.
    prefer = {"nodeAffinity": {
        "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
            {"matchExpressions": [{"key": "rack", "operator": "In", "values": ["r6", "r2"]}]}]},
        "preferredDuringSchedulingIgnoredDuringExecution": [
            {"weight": 100, "preference": {"matchExpressions": [{"key": "rack", "operator": "In", "values": ["r6"]}]}}]}}
    create_vm(env, "doomed", selector={}, affinity=prefer)
    first = running_vmi(env, "doomed")
    if time.time() < env.started + NOT_READY_AFTER_S - 2:
        assert first["status"]["nodeName"] == "n-dies"

    def node_not_ready() -> bool:
        node = get(env.nodes, "n-dies", None) or {}
        ready = next(c for c in node["status"]["conditions"] if c["type"] == "Ready")
        taints = {(t["key"], t["effect"]) for t in node["spec"].get("taints") or []}
        return ready["status"] != "True" and ("node.kubernetes.io/unreachable", "NoExecute") in taints

    wait_for("n-dies NotReady with the unreachable taint", node_not_ready, NOT_READY_AFTER_S + 5)
    second = running_vmi(env, "doomed", timeout=10, not_uid=first["metadata"]["uid"] if first["status"]["nodeName"] == "n-dies" else None)
    assert second["status"]["nodeName"] == "n-b"
    if first["status"]["nodeName"] == "n-dies":
        assert events_for(env, "doomed", "NodeUnresponsive"), "the failed VMI has no NodeUnresponsive event"
    env.vms.delete(name="doomed", namespace=NS)


def test_nodes_mirror_the_topology(env: Env) -> None:
    node = get(env.nodes, "n-a", None)
    assert node is not None
    status = node["status"]
    assert status["allocatable"]["cpu"] == "8" and status["allocatable"]["memory"] in ("16384Mi", "16Gi")
    assert status["allocatable"]["pods"] == "110"
    assert status["allocatable"]["devices.kubevirt.io/gpu-t4"] == "1"
    labels = node["metadata"]["labels"]
    assert labels["kubernetes.io/hostname"] == "n-a" and labels["kubevirt.io/schedulable"] == "true"
    assert labels["cpu-model.node.kubevirt.io/Skylake-Client-IBRS"] == "true"
    assert labels["host-model-cpu.node.kubevirt.io/Skylake-Client-IBRS"] == "true"
    assert labels["rack"] == "r1" and labels["topology.kubernetes.io/zone"] == "sim"
    assert [c["status"] for c in status["conditions"] if c["type"] == "Ready"] == ["True"]
    tainted = get(env.nodes, "n-tainted", None) or {}
    assert {"key": "dedicated", "value": "gpu", "effect": "NoSchedule"} in tainted["spec"]["taints"]
    haswell = (get(env.nodes, "n-b", None) or {})["metadata"]["labels"]
    assert "cpu-model.node.kubevirt.io/Nehalem" in haswell and "cpu-model.node.kubevirt.io/Skylake-Client" not in haswell


def test_always_vm_runs_on_a_node_matching_its_selector(env: Env) -> None:
    created = time.monotonic()
    vm = create_vm(env, "web", selector={"rack": "r2"})
    vmi = running_vmi(env, "web", timeout=5)
    elapsed = time.monotonic() - created
    assert elapsed < 2.5, f"Running only after {elapsed:.1f} s"
    status = vmi["status"]
    assert status["nodeName"] == "n-b"
    assert vmi["metadata"]["labels"]["app"] == "web"
    owner = vmi["metadata"]["ownerReferences"][0]
    assert (owner["kind"], owner["name"], owner["uid"], owner["controller"]) == ("VirtualMachine", "web",
                                                                                 vm["metadata"]["uid"], True)
    assert [t["phase"] for t in status["phaseTransitionTimestamps"]] == ["Pending", "Scheduling", "Scheduled", "Running"]
    iface = status["interfaces"][0]
    assert iface["mac"] == "02:aa:bb:cc:dd:01" and iface["ipAddress"].startswith("10.244.")
    assert iface["ipAddresses"] == [iface["ipAddress"]]
    assert status["guestOSInfo"]["id"]
    assert {c["type"]: c["status"] for c in status["conditions"]}["Ready"] == "True"
    wait_for("the VM reported Running and ready",
             lambda: (get(env.vms, "web") or {}).get("status", {}).get("ready") and printable(env, "web") == "Running")
    wait_for("events SuccessfulCreate (VM) and Started (VMI)",
             lambda: events_for(env, "web", "SuccessfulCreate") and events_for(env, "web", "Started"))
    env.vms.delete(name="web", namespace=NS)
    wait_for("the VMI of a deleted VM to go", lambda: get(env.vmis, "web") is None)


def test_halted_vm_gets_no_vmi(env: Env) -> None:
    create_vm(env, "parked", strategy="Halted")
    create_vm(env, "legacy-off", strategy=None, running=False)
    wait_for("printableStatus Stopped", lambda: printable(env, "parked") == printable(env, "legacy-off") == "Stopped")
    time.sleep(0.5)
    assert get(env.vmis, "parked") is None and get(env.vmis, "legacy-off") is None
    for name in ("parked", "legacy-off"):
        env.vms.delete(name=name, namespace=NS)


def test_deprecated_running_field(env: Env) -> None:
    create_vm(env, "legacy", strategy=None, running=True)
    running_vmi(env, "legacy")
    assert vm_action(env, "legacy", "stop")[0] == 202
    assert (get(env.vms, "legacy") or {})["spec"]["running"] is False
    wait_for("the VMI to be gone", lambda: get(env.vmis, "legacy") is None)
    assert vm_action(env, "legacy", "start")[0] == 202
    assert (get(env.vms, "legacy") or {})["spec"]["running"] is True
    running_vmi(env, "legacy")
    env.vms.delete(name="legacy", namespace=NS)


def test_manual_vm_start_and_stop_through_the_aggregated_api(env: Env) -> None:
    create_vm(env, "manual", strategy="Manual")
    wait_for("printableStatus Stopped", lambda: printable(env, "manual") == "Stopped")
    assert get(env.vmis, "manual") is None
    code, body = vm_action(env, "manual", "start")
    assert code == 202, body
    running_vmi(env, "manual")
    code, body = vm_action(env, "manual", "start")
    assert code == 409 and body["reason"] == "Conflict" and "VM is already running" in body["message"], body
    code, body = vm_action(env, "manual", "stop")
    assert code == 202, body
    wait_for("printableStatus Stopping", lambda: printable(env, "manual") == "Stopping", 3, 0.02)
    wait_for("the VMI to be gone", lambda: get(env.vmis, "manual") is None)
    wait_for("printableStatus Stopped", lambda: printable(env, "manual") == "Stopped")
    code, body = vm_action(env, "manual", "stop")
    assert code == 409 and "VM is not running" in body["message"], body
    # gracePeriod 0 skips the simulated guest shutdown.
    assert vm_action(env, "manual", "start")[0] == 202
    running_vmi(env, "manual")
    assert vm_action(env, "manual", "stop", {"gracePeriod": 0})[0] == 202
    began = time.monotonic()
    wait_for("the VMI to be gone", lambda: get(env.vmis, "manual") is None, 5, 0.02)
    assert time.monotonic() - began < 0.9  # a graceful stop takes --shutdown-s 1.2
    env.vms.delete(name="manual", namespace=NS)


def test_restart_recreates_the_vmi(env: Env) -> None:
    create_vm(env, "restarted")
    first = running_vmi(env, "restarted")
    code, body = vm_action(env, "restarted", "restart", {"gracePeriodSeconds": 0})
    assert code == 202, body
    second = running_vmi(env, "restarted", not_uid=first["metadata"]["uid"])
    assert second["metadata"]["uid"] != first["metadata"]["uid"]
    wait_for("the restart requests to be consumed",
             lambda: not (get(env.vms, "restarted") or {})["status"].get("stateChangeRequests"))
    env.vms.delete(name="restarted", namespace=NS)


def test_failed_launches_then_success(env: Env) -> None:
    create_vm(env, "flaky", selector={"rack": "r3"})
    vmi = running_vmi(env, "flaky", timeout=15)
    assert vmi["status"]["nodeName"] == "n-fail"
    failures = wait_for("two FailedLaunch events", lambda: len(events_for(env, "flaky", "FailedLaunch")) >= 2 and
                        events_for(env, "flaky", "FailedLaunch"))
    assert all("n-fail" in e["message"] for e in failures)
    assert {e["type"] for e in failures} == {"Warning"}
    assert len(events_for(env, "flaky", "SuccessfulCreate")) >= 3  # two failed VMIs, then the one that runs
    env.vms.delete(name="flaky", namespace=NS)


def test_launch_delay_keeps_the_vmi_scheduled(env: Env) -> None:
    create_vm(env, "slow", selector={"rack": "r7"})
    wait_for("phase Scheduled", lambda: phase(env, "slow") == "Scheduled")
    time.sleep(0.8)
    assert phase(env, "slow") == "Scheduled"
    assert printable(env, "slow") == "Starting"
    running_vmi(env, "slow", timeout=5)
    env.vms.delete(name="slow", namespace=NS)


def test_taints_need_tolerations(env: Env) -> None:
    create_vm(env, "intolerant", selector={"rack": "r4"})
    message = wait_for("an Unschedulable condition", lambda: unschedulable_message(env, "intolerant"))
    assert "1 node(s) had taint {dedicated: gpu}, that the pod didn't tolerate" in message
    assert "node(s) didn't match node selector" in message
    wait_for("printableStatus ErrorUnschedulable", lambda: printable(env, "intolerant") == "ErrorUnschedulable")
    wait_for("a FailedScheduling event", lambda: events_for(env, "intolerant", "FailedScheduling"))
    tolerations = [{"key": "dedicated", "operator": "Equal", "value": "gpu", "effect": "NoSchedule"}]
    create_vm(env, "tolerant", selector={"rack": "r4"}, tolerations=tolerations)
    assert running_vmi(env, "tolerant")["status"]["nodeName"] == "n-tainted"
    for name in ("intolerant", "tolerant"):
        env.vms.delete(name=name, namespace=NS)


def test_cordoned_node_takes_nothing_until_uncordoned(env: Env) -> None:
    env.nodes.patch(name="n-b", body={"spec": {"unschedulable": True}}, content_type="application/merge-patch+json")
    try:
        create_vm(env, "waiting", selector={"rack": "r2"})
        message = wait_for("an Unschedulable condition", lambda: unschedulable_message(env, "waiting"))
        assert "1 node(s) were unschedulable" in message
    finally:
        env.nodes.patch(name="n-b", body={"spec": {"unschedulable": False}},
                        content_type="application/merge-patch+json")
    assert running_vmi(env, "waiting")["status"]["nodeName"] == "n-b"
    env.vms.delete(name="waiting", namespace=NS)


def test_insufficient_memory_is_reported(env: Env) -> None:
    create_vm(env, "huge", selector={}, memory="64Gi")
    message = wait_for("an Unschedulable condition", lambda: unschedulable_message(env, "huge"))
    assert message.startswith("0/7 nodes are available: ")
    assert "Insufficient memory" in message and "had taint {dedicated: gpu}" in message
    wait_for("a FailedScheduling event naming memory",
             lambda: any("Insufficient memory" in e["message"] for e in events_for(env, "huge", "FailedScheduling")))
    assert phase(env, "huge") == "Scheduling"
    env.vms.delete(name="huge", namespace=NS)


def test_migration_moves_the_vmi_and_a_deleted_migration_is_cancelled(env: Env) -> None:
    affinity = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
        {"matchExpressions": [{"key": "rack", "operator": "In", "values": ["r1", "r2"]}]}]}}}
    create_vm(env, "mover", selector={}, affinity=affinity)
    source = running_vmi(env, "mover")["status"]["nodeName"]
    mig = migrate(env, "mover")
    name = mig["metadata"]["name"]
    wait_for("printableStatus Migrating", lambda: printable(env, "mover") == "Migrating", 5, 0.02)
    wait_for("migration Succeeded", lambda: migration_phase(env, name) == "Succeeded")
    vmi = get(env.vmis, "mover") or {}
    state = vmi["status"]["migrationState"]
    assert vmi["status"]["nodeName"] == state["targetNode"] != source == state["sourceNode"]
    assert state["completed"] and not state.get("failed") and state["startTimestamp"] and state["endTimestamp"]
    assert vmi["metadata"]["labels"]["kubevirt.io/nodeName"] == state["targetNode"]
    seen = [t["phase"] for t in (get(env.vmims, name) or {})["status"]["phaseTransitionTimestamps"]]
    assert seen[-5:] == ["Scheduled", "PreparingTarget", "TargetReady", "Running", "Succeeded"]

    moved_to = state["targetNode"]
    cancelled = migrate(env, "mover")["metadata"]["name"]
    wait_for("the migration under way", lambda: migration_phase(env, cancelled) in ("PreparingTarget", "TargetReady"),
             5, 0.02)
    env.vmims.delete(name=cancelled, namespace=NS)
    wait_for("the migration object to go", lambda: get(env.vmims, cancelled) is None)
    vmi = get(env.vmis, "mover") or {}
    state = vmi["status"]["migrationState"]
    assert state["abortStatus"] == "Succeeded" and state["abortRequested"]
    assert vmi["status"]["nodeName"] == moved_to and vmi["status"]["phase"] == "Running"
    wait_for("printableStatus Running", lambda: printable(env, "mover") == "Running")
    env.vms.delete(name="mover", namespace=NS)


def test_migration_fault_fails_once_and_leaves_the_vmi_on_its_source(env: Env) -> None:
    affinity = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
        {"matchExpressions": [{"key": "rack", "operator": "In", "values": ["r1", "r5"]}]}]}}}
    create_vm(env, "hopper", selector={}, affinity=affinity)
    if running_vmi(env, "hopper")["status"]["nodeName"] == "n-c":
        name = migrate(env, "hopper", "n-a")["metadata"]["name"]
        wait_for("migration to n-a", lambda: migration_phase(env, name) == "Succeeded")
    failing = migrate(env, "hopper", "n-c")["metadata"]["name"]
    wait_for("migration Failed", lambda: migration_phase(env, failing) == "Failed")
    vmi = get(env.vmis, "hopper") or {}
    assert vmi["status"]["nodeName"] == "n-a" and vmi["status"]["phase"] == "Running"
    assert vmi["status"]["migrationState"]["failed"] is True
    assert "n-c" in vmi["status"]["migrationState"]["failureReason"]
    code, body = vm_action(env, "hopper", "migrate", {"addedNodeSelector": {"kubernetes.io/hostname": "n-c"}})
    assert code == 202, body
    wait_for("the second migration to land on n-c", lambda: (get(env.vmis, "hopper") or {})["status"]["nodeName"] == "n-c")
    env.vms.delete(name="hopper", namespace=NS)


def test_pause_unpause_softreboot(env: Env) -> None:
    create_vm(env, "sleepy")
    running_vmi(env, "sleepy")
    assert vmi_action(env, "sleepy", "pause")[0] == 200
    wait_for("printableStatus Paused", lambda: printable(env, "sleepy") == "Paused")
    code, body = vmi_action(env, "sleepy", "pause")
    assert code == 409 and "VMI is already paused" in body["message"], body
    code, body = vmi_action(env, "sleepy", "softreboot")
    assert code == 409 and "VMI is paused" in body["message"], body
    assert vmi_action(env, "sleepy", "unpause")[0] == 200
    wait_for("printableStatus Running", lambda: printable(env, "sleepy") == "Running")
    code, body = vmi_action(env, "sleepy", "unpause")
    assert code == 409 and "VMI is not paused" in body["message"], body
    uid = (get(env.vmis, "sleepy") or {})["metadata"]["uid"]
    assert vmi_action(env, "sleepy", "softreboot")[0] == 200
    wait_for("a SoftRebooted event", lambda: events_for(env, "sleepy", "SoftRebooted"))
    assert (get(env.vmis, "sleepy") or {})["metadata"]["uid"] == uid
    assert vmi_action(env, "sleepy", "freeze")[0] == 200
    assert (get(env.vmis, "sleepy") or {})["status"]["fsFreezeStatus"] == "frozen"
    assert vmi_action(env, "sleepy", "unfreeze")[0] == 200
    assert "fsFreezeStatus" not in (get(env.vmis, "sleepy") or {})["status"]
    code, info = call(env, f"{SUB}/namespaces/{NS}/virtualmachineinstances/sleepy/guestosinfo", method="GET")
    assert code == 200 and info["os"]["id"] == "fedora" and info["hostname"] == "sleepy", info
    env.vms.delete(name="sleepy", namespace=NS)


def test_add_and_remove_volume(env: Env) -> None:
    create_vm(env, "disks")
    running_vmi(env, "disks")
    request = {"name": "data", "disk": {"disk": {"bus": "scsi"}},
               "volumeSource": {"persistentVolumeClaim": {"claimName": "data-pvc"}}}
    code, body = vm_action(env, "disks", "addvolume", request)
    assert code == 202, body
    template = (get(env.vms, "disks") or {})["spec"]["template"]["spec"]
    assert [v["name"] for v in template["volumes"]] == ["root", "data"]

    def data_ready() -> dict[str, Any] | None:
        volumes = (get(env.vmis, "disks") or {}).get("status", {}).get("volumeStatus") or []
        return next((v for v in volumes if v["name"] == "data" and v.get("phase") == "Ready"), None)

    entry = wait_for("volumeStatus of the hotplugged volume", data_ready)
    assert entry["target"] == "sda" and entry["hotplugVolume"]["attachPodName"].startswith("hp-volume-")
    code, body = vm_action(env, "disks", "addvolume", request)
    assert code == 409 and "already exists" in body["message"], body
    code, body = vm_action(env, "disks", "removevolume", {"name": "nope"})
    assert code == 400 and "does not exist" in body["message"], body
    code, body = vmi_action(env, "disks", "removevolume", {"name": "root"})
    assert code == 400 and "not hotpluggable" in body["message"], body
    code, body = vm_action(env, "disks", "removevolume", {"name": "data"})
    assert code == 202, body
    wait_for("the volume to leave the VMI status",
             lambda: [v["name"] for v in (get(env.vmis, "disks") or {})["status"]["volumeStatus"]] == ["root"])
    assert [v["name"] for v in (get(env.vms, "disks") or {})["spec"]["template"]["spec"]["volumes"]] == ["root"]
    env.vms.delete(name="disks", namespace=NS)


def test_crash_after_restarts_an_always_vm(env: Env) -> None:
    create_vm(env, "crashy")
    first = running_vmi(env, "crashy")
    crashed = wait_for("a GuestCrashed event", lambda: events_for(env, "crashy", "GuestCrashed"), 6)
    assert crashed[0]["type"] == "Warning"
    second = running_vmi(env, "crashy", timeout=6, not_uid=first["metadata"]["uid"])
    assert second["metadata"]["uid"] != first["metadata"]["uid"]
    env.vms.delete(name="crashy", namespace=NS)


def test_restricted_user_is_forbidden_and_anonymous_is_unauthorized(env: Env) -> None:
    create_vm(env, "guarded", strategy="Manual")
    code, body = vm_action(env, "guarded", "start", token=env.lab.restricted_token)
    assert code == 403, body
    assert body["kind"] == "Status" and body["reason"] == "Forbidden"
    assert 'User "restricted" cannot update resource "virtualmachines/start"' in body["message"]
    time.sleep(0.3)
    assert get(env.vmis, "guarded") is None
    # Straight to the simulator without the aggregator's client certificate.
    code, body = call(env, f"{SUB}/namespaces/{NS}/virtualmachines/guarded/start",
                      base=f"https://127.0.0.1:{env.sim_port}")
    assert code == 401 and body["reason"] == "Unauthorized", body
    env.vms.delete(name="guarded", namespace=NS)


def test_dry_run_changes_nothing(env: Env) -> None:
    create_vm(env, "dry", strategy="Manual")
    wait_for("printableStatus Stopped", lambda: printable(env, "dry") == "Stopped")
    assert vm_action(env, "dry", "start", {"dryRun": ["All"]})[0] == 202
    time.sleep(0.5)
    assert get(env.vmis, "dry") is None
    assert not (get(env.vms, "dry") or {})["status"].get("stateChangeRequests")
    assert vm_action(env, "dry", "start")[0] == 202
    running_vmi(env, "dry")
    assert vmi_action(env, "dry", "pause", {"dryRun": ["All"]})[0] == 200
    assert vm_action(env, "dry", "migrate", {"dryRun": ["All"]})[0] == 202
    assert vm_action(env, "dry", "stop", {"dryRun": ["All"]})[0] == 202
    time.sleep(0.5)
    vmi = get(env.vmis, "dry") or {}
    assert vmi["status"]["phase"] == "Running" and not vmi["metadata"].get("deletionTimestamp")
    assert "Paused" not in {c["type"] for c in vmi["status"]["conditions"]}
    assert env.vmims.get(namespace=NS).to_dict()["items"] == [] or all(
        m["spec"]["vmiName"] != "dry" for m in env.vmims.get(namespace=NS).to_dict()["items"])
    env.vms.delete(name="dry", namespace=NS)


def test_survives_an_apiserver_restart(env: Env) -> None:
    kubelab.restart(env.lab.run_dir, "apiserver")
    create_vm(env, "after-restart")
    running_vmi(env, "after-restart", timeout=20)
    # The aggregator rediscovers the APIService after its restart: 503 until then.
    wait_for("stop accepted", lambda: vm_action(env, "after-restart", "stop")[0] == 202, 20, 0.3)
    wait_for("the VMI to be gone", lambda: get(env.vmis, "after-restart") is None, 10)
    env.vms.delete(name="after-restart", namespace=NS)
