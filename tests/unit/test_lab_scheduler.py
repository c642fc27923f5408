"""The KubeVirt simulator's placement rules (tests/lab/kubevirt_sim/scheduler.py), no cluster needed."""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lab"))

from kubevirt_sim import scheduler
from kubevirt_sim.scheduler import NodeInfo, PlacedVmi

GI = 2**30


def node(name: str, cpus: int = 8, mem_gi: int = 32, used_cpus: float = 0, used_gi: float = 0,
         **kwargs: Any) -> NodeInfo:
    labels = {"kubernetes.io/hostname": name, **kwargs.pop("labels", {})}
    allocatable = {"cpu": cpus * 1000, "memory": mem_gi * GI, "pods": 110, **kwargs.pop("extra", {})}
    used = {"cpu": int(used_cpus * 1000), "memory": int(used_gi * GI), **kwargs.pop("used", {})}
    return NodeInfo(name=name, labels=labels, allocatable=allocatable, used=used, **kwargs)


def vmi(cpu: str | None = None, memory: str | None = "1Gi", cores: int | None = None, namespace: str = "ns",
        labels: dict[str, str] | None = None, **spec: Any) -> dict[str, Any]:
    domain: dict[str, Any] = {"devices": spec.pop("devices", {})}
    requests = {k: v for k, v in (("cpu", cpu), ("memory", memory)) if v is not None}
    if requests:
        domain["resources"] = {"requests": requests}
    if cores:
        domain["cpu"] = {"cores": cores}
    domain.update(spec.pop("domain", {}))
    return {"metadata": {"name": "v", "namespace": namespace, "labels": labels or {}}, "spec": {"domain": domain, **spec}}


def place(obj: dict[str, Any], nodes: list[NodeInfo], **kwargs: Any) -> scheduler.Decision:
    return scheduler.schedule(scheduler.request_from_vmi(obj), nodes, **kwargs)


def term(*exprs: tuple[str, str, list[str]]) -> dict[str, Any]:
    return {"matchExpressions": [{"key": k, "operator": op, "values": vals} for k, op, vals in exprs]}


def required(*terms: dict[str, Any]) -> dict[str, Any]:
    return {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": list(terms)}}}


# ------------------------------------------------------------------ quantities


@pytest.mark.parametrize("text,expected", [("500m", 0.5), ("2", 2), ("1Gi", GI), ("1G", 10**9), ("1.5Gi", 1.5 * GI),
                                           ("1e3", 1000), ("128974848", 128974848), ("129e6", 129e6), (4, 4)])
def test_parse_quantity(text: Any, expected: float) -> None:
    assert float(scheduler.parse_quantity(text)) == pytest.approx(expected)


def test_parse_quantity_rejects_garbage() -> None:
    with pytest.raises(ValueError):
        scheduler.parse_quantity("12 apples")


def test_requests_come_from_resources_else_cpu_topology_and_guest_memory() -> None:
    explicit = scheduler.vmi_resources(vmi(cpu="500m", memory="3Gi")["spec"])
    assert (explicit["cpu"], explicit["memory"], explicit["pods"]) == (500, 3 * GI, 1)
    derived = scheduler.vmi_resources({"domain": {"cpu": {"sockets": 2, "cores": 2, "threads": 2},
                                                  "memory": {"guest": "2Gi"}, "devices": {}}})
    assert (derived["cpu"], derived["memory"]) == (8000, 2 * GI)
    limits_only = scheduler.vmi_resources({"domain": {"resources": {"limits": {"memory": "1Gi"}}, "devices": {}}})
    assert (limits_only["cpu"], limits_only["memory"]) == (1000, GI)


def test_device_requests_count_host_devices_and_gpus() -> None:
    spec = {"domain": {"devices": {"gpus": [{"name": "g", "deviceName": "nvidia.com/T4"}],
                                   "hostDevices": [{"name": "a", "deviceName": "devices.kubevirt.io/fpga"},
                                                   {"name": "b", "deviceName": "devices.kubevirt.io/fpga"}]}}}
    resources = scheduler.vmi_resources(spec)
    assert resources["nvidia.com/T4"] == 1 and resources["devices.kubevirt.io/fpga"] == 2
    assert scheduler.device_resource("fpga") == "devices.kubevirt.io/fpga"
    assert scheduler.device_resource("nvidia.com/T4") == "nvidia.com/T4"


# ------------------------------------------------------------------- selectors


def test_node_selector_picks_only_matching_nodes() -> None:
    nodes = [node("a", labels={"rack": "r1"}), node("b", labels={"rack": "r2"})]
    decision = place(vmi(nodeSelector={"rack": "r2"}), nodes)
    assert decision.node == "b"
    assert decision.reasons == {"a": ["node(s) didn't match node selector"]}


def test_cpu_model_becomes_a_node_selector() -> None:
    nodes = [node("old", labels={"cpu-model.node.kubevirt.io/Haswell-noTSX": "true"}),
             node("new", labels={"cpu-model.node.kubevirt.io/Haswell-noTSX": "true",
                                 "cpu-model.node.kubevirt.io/Skylake-Client": "true"}, used_cpus=4)]
    assert place(vmi(domain={"cpu": {"model": "Skylake-Client"}}), nodes).node == "new"
    assert place(vmi(domain={"cpu": {"model": "host-model"}}), nodes).node == "old"


@pytest.mark.parametrize("op,values,matching", [
    ("In", ["r1", "r3"], {"a", "c"}),
    ("NotIn", ["r1"], {"b", "c", "d"}),  # NotIn matches nodes without the label
    ("Exists", [], {"a", "b", "c"}),
    ("DoesNotExist", [], {"d"}),
])
def test_required_affinity_operators(op: str, values: list[str], matching: set[str]) -> None:
    nodes = [node("a", labels={"rack": "r1"}), node("b", labels={"rack": "r2"}),
             node("c", labels={"rack": "r3"}), node("d")]
    req = scheduler.request_from_vmi(vmi(affinity=required(term(("rack", op, values)))))
    fits = {n.name for n in nodes if not scheduler.node_reasons(req, n)}
    assert fits == matching


def test_terms_are_ored_and_expressions_anded() -> None:
    nodes = [node("a", labels={"rack": "r1", "ssd": "yes"}), node("b", labels={"rack": "r1"}),
             node("c", labels={"zone": "z2"})]
    affinity = required(term(("rack", "In", ["r1"]), ("ssd", "Exists", [])), term(("zone", "In", ["z2"])))
    req = scheduler.request_from_vmi(vmi(affinity=affinity))
    assert {n.name for n in nodes if not scheduler.node_reasons(req, n)} == {"a", "c"}


def test_empty_term_matches_nothing() -> None:
    req = scheduler.request_from_vmi(vmi(affinity=required({})))
    assert scheduler.node_reasons(req, node("a")) == ["node(s) didn't match node selector"]


def test_preferred_affinity_outweighs_allocation() -> None:
    nodes = [node("busy", labels={"gpu": "yes"}, used_cpus=6), node("idle")]
    affinity = {"nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
        {"weight": 10, "preference": term(("gpu", "In", ["yes"]))}]}}
    assert place(vmi(affinity=affinity), nodes).node == "busy"
    assert place(vmi(), nodes).node == "idle"


# -------------------------------------------------------------------- taints


def test_no_schedule_taint_needs_a_toleration() -> None:
    tainted = node("t", taints=[{"key": "dedicated", "value": "db", "effect": "NoSchedule"}])
    decision = place(vmi(), [tainted])
    assert decision.node is None
    assert decision.message == "0/1 nodes are available: 1 node(s) had taint {dedicated: db}, that the pod didn't tolerate."
    tolerations = [{"key": "dedicated", "operator": "Equal", "value": "db", "effect": "NoSchedule"}]
    assert place(vmi(tolerations=tolerations), [tainted]).node == "t"


@pytest.mark.parametrize("toleration,ok", [
    ({"key": "dedicated", "operator": "Exists"}, True),
    ({"operator": "Exists"}, True),  # tolerates everything
    ({"key": "dedicated", "value": "web", "effect": "NoExecute"}, False),
    ({"key": "dedicated", "value": "db", "effect": "NoSchedule"}, False),  # wrong effect
    ({"key": "other", "operator": "Exists"}, False),
])
def test_toleration_matching(toleration: dict[str, str], ok: bool) -> None:
    tainted = node("t", taints=[{"key": "dedicated", "value": "db", "effect": "NoExecute"}])
    assert (place(vmi(tolerations=[toleration]), [tainted]).node == "t") is ok


def test_prefer_no_schedule_only_steers() -> None:
    nodes = [node("a", taints=[{"key": "soft", "effect": "PreferNoSchedule"}]), node("b", used_cpus=6)]
    assert place(vmi(), nodes).node == "b"
    assert place(vmi(), nodes[:1]).node == "a"


# ------------------------------------------------------- cordon and readiness


def test_cordoned_and_not_ready_nodes_are_skipped() -> None:
    nodes = [node("cordoned", unschedulable=True), node("down", ready=False), node("ok", used_cpus=7)]
    decision = place(vmi(), nodes)
    assert decision.node == "ok"
    assert decision.reasons == {"cordoned": ["node(s) were unschedulable"], "down": ["node(s) were not ready"]}


def test_cordon_toleration_is_honoured() -> None:
    tolerations = [{"key": "node.kubernetes.io/unschedulable", "operator": "Exists", "effect": "NoSchedule"}]
    assert place(vmi(tolerations=tolerations), [node("cordoned", unschedulable=True)]).node == "cordoned"


# ------------------------------------------------------------------- capacity


def test_capacity_counts_what_is_already_placed() -> None:
    nodes = [node("a", cpus=4, mem_gi=8, used_gi=7.5), node("b", cpus=4, mem_gi=8, used_cpus=4)]
    decision = place(vmi(cpu="1", memory="1Gi"), nodes)
    assert decision.node is None
    assert decision.message == "0/2 nodes are available: 1 Insufficient cpu, 1 Insufficient memory."


def test_all_missing_resources_of_a_node_are_reported() -> None:
    decision = place(vmi(cpu="8", memory="64Gi"), [node("a", cpus=4, mem_gi=8)])
    assert decision.reasons == {"a": ["Insufficient cpu", "Insufficient memory"]}


def test_pods_limit() -> None:
    full = node("a", used={"pods": 110})
    assert place(vmi(), [full]).reasons == {"a": ["Too many pods"]}


def test_device_plugin_resources() -> None:
    gpu_spec = {"gpus": [{"name": "g", "deviceName": "devices.kubevirt.io/t4"}]}
    nodes = [node("plain"), node("gpu", extra={"devices.kubevirt.io/t4": 1}, used_cpus=6)]
    assert place(vmi(devices=gpu_spec), nodes).node == "gpu"
    nodes[1].used["devices.kubevirt.io/t4"] = 1
    decision = place(vmi(devices=gpu_spec), nodes)
    assert decision.node is None
    assert decision.message == "0/2 nodes are available: 2 Insufficient devices.kubevirt.io/t4."


def test_message_groups_and_sorts_reasons_like_kube_scheduler() -> None:
    nodes = [node("a", mem_gi=1), node("b", labels={"x": "1"}), node("c", labels={"x": "1"}, unschedulable=True)]
    decision = place(vmi(memory="2Gi", nodeSelector={"x": "2"}), nodes)
    assert decision.message == ("0/3 nodes are available: 1 node(s) were unschedulable, "
                                "2 node(s) didn't match node selector.")


# ------------------------------------------------------------------ tie-break


def test_least_allocated_then_name() -> None:
    assert place(vmi(), [node("b"), node("a")]).node == "a"
    assert place(vmi(), [node("a", used_cpus=2), node("b")]).node == "b"
    # Shares count against each node's own size: 4 of 16 beats 3 of 8.
    assert place(vmi(cpu="1", memory="0"), [node("small", cpus=8, used_cpus=3),
                                            node("big", cpus=16, used_cpus=4)]).node == "big"


def test_exclusion_with_reason() -> None:
    decision = place(vmi(), [node("src"), node("dst", used_cpus=7)], exclude={"src": "node(s) were the migration source"})
    assert decision.node == "dst"
    assert decision.reasons["src"] == ["node(s) were the migration source"]


# ------------------------------------------------------------ pod affinity


def test_pod_anti_affinity_by_labels() -> None:
    anti = {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
        {"labelSelector": {"matchLabels": {"app": "db"}}, "topologyKey": "kubernetes.io/hostname"}]}}
    nodes = [node("a", vmis=[PlacedVmi("ns", {"app": "db"})]), node("b", used_cpus=7,
                                                                    vmis=[PlacedVmi("other", {"app": "db"})])]
    decision = place(vmi(affinity=anti, labels={"app": "db"}), nodes)
    assert decision.node == "b"  # the VMI in another namespace does not count
    assert decision.reasons == {"a": ["node(s) didn't match pod anti-affinity rules"]}


def test_pod_affinity_by_zone() -> None:
    affinity = {"podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
        {"labelSelector": {"matchExpressions": [{"key": "app", "operator": "In", "values": ["web"]}]},
         "topologyKey": "topology.kubernetes.io/zone"}]}}
    nodes = [node("a", labels={"topology.kubernetes.io/zone": "z1"}),
             node("b", labels={"topology.kubernetes.io/zone": "z2"}, used_cpus=6),
             node("c", labels={"topology.kubernetes.io/zone": "z2"}, vmis=[PlacedVmi("ns", {"app": "web"})], used_cpus=7)]
    assert place(vmi(affinity=affinity), nodes).node == "b"
