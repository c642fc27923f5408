# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ovirt_kubevirt.bridge contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""vm_run_wait's decisions on the typed fakes: who reruns a failed VM, where, and what is recorded.

The fake Kubernetes API plays virt-controller only as far as a test needs:
a start request makes a VMI, on the node the test says is next.
"""
from __future__ import annotations

import dataclasses
import json
from types import SimpleNamespace
from typing import Any, Dict, List, Optional, Sequence

import pytest
from fakes import FakeKube, FakeOvirt, Obj, status
from test_use_cases import CLUSTERS, provider_configmap, set_kv_b

from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.common.services import KubeApi, OvirtApi
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.operations import vm_run_wait
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.scheduling import rerun, scheduler

NS = "vms"
KUBEVIRT = "kubevirt.io/v1"
TIMEOUT_S = 0.5


def vmi(name: str, phase: str, node: Optional[str]) -> Obj:
    transitions = [{"phase": phase, "phaseTransitionTimestamp": "2026-12-03T10:00:05Z"}]
    return {"apiVersion": KUBEVIRT, "kind": "VirtualMachineInstance",
            "metadata": {"name": name, "namespace": NS, "uid": f"{name}-{phase}-{node}",
                         "creationTimestamp": "2026-12-03T10:00:00Z"},
            "spec": {"nodeSelector": {rerun.HOSTNAME_LABEL: node}} if node else {},
            "status": {"phase": phase, "nodeName": node if phase != "Pending" else None,
                       "phaseTransitionTimestamps": transitions}}


class Controller(FakeKube):
    """A start request makes a VMI on the next node of ``launches``: (node, phase)."""

    def __init__(self, objects: Sequence[Obj], launches: Sequence[tuple]) -> None:
        super().__init__(objects)
        self.launches = list(launches)

    def request(self, method: str, path: str, body: Optional[Obj] = None, what: Optional[str] = None) -> Obj:
        answer = super().request(method, path, body, what)
        if method == "PUT" and path.endswith("/start") and self.launches:
            node, phase = self.launches.pop(0)
            self.create(vmi(path.split("/")[-2], phase, node))
        return answer


def lab(milestone: int, first: Obj, launches: Sequence[tuple] = ()) -> tuple:
    """One down oVirt VM in cluster kv-b at ``milestone``, its VirtualMachine, and its first VMI."""
    vm = SimpleNamespace(id="vm-1", name="batch-1", cluster=CLUSTERS[1], status=status("down"), host=None)
    ovirt = FakeOvirt(clusters=CLUSTERS, vms=[vm])
    nodes = [{"apiVersion": "v1", "kind": "Node", "metadata": {"name": f"node-b{i}"}} for i in (1, 2, 3)]
    kube = Controller([provider_configmap(), *nodes], launches)
    set_kv_b(ovirt, kube, milestone)
    kube.create({"apiVersion": KUBEVIRT, "kind": "VirtualMachine", "metadata": {"name": "batch-1", "namespace": NS},
                 "spec": {"runStrategy": "Manual", "template": {"spec": {"domain": {}}}}})
    kube.create(first)
    return kube, ovirt


@dataclasses.dataclass(frozen=True)
class Placer(vm_run_wait.OvirtRerun):
    """vm_run's oVirt-side rerun, as the calls it gets: it places the VM on the next host of ``hosts``."""

    hosts: List[str] = dataclasses.field(default_factory=list)
    calls: List[List[str]] = dataclasses.field(default_factory=list)

    def rerun(self, ovirt: OvirtApi, kube: KubeApi, name: str, tried_nodes: Sequence[str]) -> None:
        self.calls.append(self.hosts_of(tried_nodes))
        if not self.hosts:
            raise scheduler.NoHostError(f"no host can run VM {name}: node-b1: Rerun (an earlier attempt failed on it)")
        kube.delete(KUBEVIRT, "VirtualMachineInstance", name, NS)
        kube.create(vmi(name, "Running", self.hosts.pop(0)))


def wait(kube: FakeKube, ovirt: FakeOvirt, **kwargs: Any) -> Dict[str, Any]:
    try:
        return vm_run_wait.wait_vms(ovirt, kube, ["batch-1"], TIMEOUT_S, **kwargs)
    except vm_run_wait.RunFailed as failed:
        return dict(failed.details, failed=True, msg=str(failed))


def test_milestone1_without_ovirt_rerun_only_reads_a_failed_run():
    kube, ovirt = lab(1, vmi("batch-1", "Failed", "node-b2"))
    writes = kube.writes
    result = wait(kube, ovirt)
    assert result["failed"] is True and "1 of 1 VM(s) not running" in result["msg"]
    (outcome,) = result["results"]
    assert outcome["phase"] == "Failed" and outcome["node"] == "node-b2" and len(outcome["attempts"]) == 1
    assert kube.writes == writes


def test_milestone1_ovirt_rerun_places_the_vm_again_avoiding_the_hosts_tried():
    kube, ovirt = lab(1, vmi("batch-1", "Failed", "worker-b2"))
    placer = Placer(hosts=["worker-b1"], node_map={"node-b2": "worker-b2", "node-b1": "worker-b1"})
    result = wait(kube, ovirt, ovirt_rerun=placer)
    assert "failed" not in result and result["changed"] is True
    (outcome,) = result["results"]
    assert outcome["phase"] == "Running" and outcome["node"] == "worker-b1"
    assert [a["node"] for a in outcome["attempts"]] == ["worker-b2", "worker-b1"]
    # The scheduler excludes oVirt hosts: the tried node is read back through node_map.
    assert placer.calls == [["node-b2"]]
    # oVirt's side keeps a milestone-1 rerun's attempts; nothing is annotated on the VirtualMachine.
    vm = kube.get(KUBEVIRT, "VirtualMachine", "batch-1", NS) or {}
    assert rerun.ATTEMPTS_ANNOTATION not in (vm["metadata"].get("annotations") or {})


def test_milestone1_rerun_of_a_vm_pinned_to_a_node_that_never_takes_it():
    """Pending with no node: the VM counts as tried on the node its nodeSelector names, and goes elsewhere."""
    kube, ovirt = lab(1, vmi("batch-1", "Pending", "node-b3"))
    placer = Placer(hosts=["node-b1"])
    result = wait(kube, ovirt, ovirt_rerun=placer)
    assert [a["node"] for a in result["results"][0]["attempts"]] == ["node-b3", "node-b1"]
    assert placer.calls == [["node-b3"]]


def test_milestone1_rerun_with_no_host_left_fails_with_the_schedulers_reasons():
    kube, ovirt = lab(1, vmi("batch-1", "Failed", "node-b1"))
    result = wait(kube, ovirt, ovirt_rerun=Placer(hosts=[]))
    assert result["failed"] is True
    (outcome,) = result["results"]
    assert "then no host can run VM batch-1: node-b1: Rerun" in outcome["reason"]
    assert [a["node"] for a in outcome["attempts"]] == ["node-b1"]


def test_milestone1_reruns_stop_at_max_attempts():
    kube, ovirt = lab(1, vmi("batch-1", "Failed", "node-b1"))
    placer = Placer(hosts=["node-b2", "node-b3"])
    kube.launches = []
    result = wait(kube, ovirt, ovirt_rerun=placer, max_attempts=2)
    assert result["results"][0]["phase"] == "Running" and placer.hosts == ["node-b3"]
    placer_short = Placer(hosts=["node-b2"])
    kube2, ovirt2 = lab(1, vmi("batch-1", "Failed", "node-b1"))
    only_one = wait(kube2, ovirt2, ovirt_rerun=placer_short, max_attempts=1)
    assert only_one["failed"] is True and placer_short.calls == []


def test_check_mode_reruns_nothing_at_either_milestone():
    for milestone in (1, 2):
        kube, ovirt = lab(milestone, vmi("batch-1", "Failed", "node-b2"))
        placer = Placer(hosts=["node-b1"])
        writes = kube.writes
        result = wait(kube, ovirt, ovirt_rerun=placer, check_mode=True)
        assert result["failed"] is True and placer.calls == [] and kube.writes == writes


def test_milestone2_reruns_itself_excluding_the_node_and_records_the_attempts():
    kube, ovirt = lab(2, vmi("batch-1", "Failed", "node-b2"), launches=[("node-b1", "Running")])
    placer = Placer(hosts=["never-used"])
    result = wait(kube, ovirt, ovirt_rerun=placer, health={"threshold": 3, "window_s": 60})
    (outcome,) = result["results"]
    assert outcome["phase"] == "Running" and [a["node"] for a in outcome["attempts"]] == ["node-b2", "node-b1"]
    assert placer.calls == [], "ovirt_rerun has no effect on milestone-2 VMs"
    vm = kube.get(KUBEVIRT, "VirtualMachine", "batch-1", NS) or {}
    record = json.loads(vm["metadata"]["annotations"][rerun.ATTEMPTS_ANNOTATION])
    assert record["outcome"] == "Running" and [a["node"] for a in record["attempts"]] == ["node-b2", "node-b1"]
    terms = vm["spec"]["template"]["spec"]["affinity"]["nodeAffinity"][
        "requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
    assert {"key": rerun.HOSTNAME_LABEL, "operator": "NotIn", "values": ["node-b2"]} in terms[0]["matchExpressions"]


def test_the_hosts_behind_nodes_are_read_through_node_map():
    placement = vm_run_wait.OvirtRerun(node_map={"host-1": "node-1"})
    assert placement.hosts_of(["node-1", "node-2"]) == ["host-1", "node-2"]


@pytest.mark.parametrize(("item", "expected"), [
    (vmi("a", "Running", "n1"), "n1"), (vmi("a", "Pending", "n2"), "n2"), (None, None),
    ({"spec": {}, "status": {"phase": "Pending"}}, None)])
def test_placed_node_is_the_node_or_the_one_the_selector_names(item, expected):
    assert rerun.placed_node(item) == expected
