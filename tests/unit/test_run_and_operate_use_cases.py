# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ovirt_kubevirt.bridge contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""vm_run's and vm_operation's decisions on the typed fakes: what is started, refused or left alone.

The fake plays virt-api's pause and unpause only: a PUT sets or clears the
VMI's Paused condition, as virt-handler reports it.
"""
from __future__ import annotations

from types import SimpleNamespace
from typing import Optional, Sequence

import pytest
from fakes import FakeKube, FakeOvirt, Obj, status
from test_use_cases import CLUSTERS, provider_configmap, set_kv_b

from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.common.errors import ApiError, InputError, UnsupportedError
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.operations import targets, vm_operation, vm_run

NS = "vms"
KUBEVIRT = "kubevirt.io/v1"
MAPS = {"storage_map": {}, "network_map": {}}


class VirtApi(FakeKube):
    """PUT .../virtualmachineinstances/NAME/pause or unpause sets the VMI's Paused condition."""

    def request(self, method: str, path: str, body: Optional[Obj] = None, what: Optional[str] = None) -> Obj:
        answer = super().request(method, path, body, what)
        name, action = path.split("/")[-2:]
        if method == "PUT" and action in ("pause", "unpause") and not (body or {}).get("dryRun"):
            paused = action == "pause"

            def mutate(vmi: Obj) -> Obj:
                others = [c for c in vmi["status"].get("conditions") or [] if c["type"] != "Paused"]
                vmi["status"]["conditions"] = others + ([{"type": "Paused", "status": "True"}] if paused else [])
                return vmi
            self.update(KUBEVIRT, "VirtualMachineInstance", name, NS, mutate)
        return answer


def ovirt_vm(name: str, cluster: SimpleNamespace, state: str = "down", host: Optional[SimpleNamespace] = None):
    return SimpleNamespace(id=f"id-{name}", name=name, cluster=cluster, status=status(state), host=host)


def kubevirt_vm(name: str, phase: Optional[str] = "Running", node: str = "node-b1") -> Sequence[Obj]:
    objects = [{"apiVersion": KUBEVIRT, "kind": "VirtualMachine", "metadata": {"name": name, "namespace": NS},
                "spec": {"runStrategy": "Manual", "template": {"spec": {}}}}]
    if phase:
        objects.append({"apiVersion": KUBEVIRT, "kind": "VirtualMachineInstance",
                        "metadata": {"name": name, "namespace": NS, "uid": f"uid-{name}"},
                        "status": {"phase": phase, "nodeName": node, "conditions": []}})
    return objects


@pytest.fixture()
def datacenter():
    """kv-a legacy, kv-b kubevirt at milestone 1; a host in each; VMs in every state the decisions tell apart."""
    host_a = SimpleNamespace(id="h-a1", name="host-a1", cluster=CLUSTERS[0], status=status("up"))
    host_b = SimpleNamespace(id="h-b1", name="node-b1", cluster=CLUSTERS[1], status=status("up"))
    vms = [ovirt_vm("web-2", CLUSTERS[0]), ovirt_vm("web-1", CLUSTERS[0], "up", host_a),
           ovirt_vm("app-1", CLUSTERS[1], "up", host_b), ovirt_vm("db-1", CLUSTERS[1]),
           ovirt_vm("never-1", CLUSTERS[1])]
    ovirt = FakeOvirt(clusters=CLUSTERS, hosts=[host_a, host_b], vms=vms)
    kube = VirtApi([provider_configmap(), *kubevirt_vm("db-1")])
    set_kv_b(ovirt, kube, milestone=1)
    return kube, ovirt


def test_vm_run_starts_legacy_vms_through_oVirt_and_leaves_running_ones_alone(datacenter):
    kube, ovirt = datacenter
    writes = kube.writes
    result = vm_run.run_vms(ovirt, kube, ["web-2", "web-1", "app-1", "db-1"], **MAPS)
    by_name = {r["name"]: r for r in result["results"]}
    assert ovirt.actions == [("web-2", "start")]
    assert by_name["web-1"]["action"] == "none" and by_name["web-1"]["host"] == "host-a1"
    # Running under oVirt in a kubevirt cluster: it stays there until its next start.
    assert by_name["app-1"]["runtime"] == "legacy" and by_name["app-1"]["action"] == "none"
    # An active VMI is left as it is.
    assert by_name["db-1"]["runtime"] == "kubevirt" and by_name["db-1"]["action"] == "none"
    assert by_name["db-1"]["host"] == "node-b1" and kube.writes == writes
    assert result["changed"] is True and list(result["diff"]["after"]) == ["web-2"]


def test_vm_run_in_check_mode_plans_the_start_and_writes_nothing(datacenter):
    kube, ovirt = datacenter
    writes = (kube.writes, ovirt.writes)
    result = vm_run.run_vms(ovirt, kube, ["web-2"], check_mode=True, **MAPS)
    assert result["changed"] is True and ovirt.actions == [] and (kube.writes, ovirt.writes) == writes


def test_pause_then_resume_and_each_second_call_changes_nothing(datacenter):
    kube, ovirt = datacenter
    paused = vm_operation.operate(ovirt, kube, "db-1", "pause", timeout_s=5)
    assert paused["changed"] is True and paused["status_before"] == "up" and paused["status"] == "paused"
    writes = kube.writes
    assert vm_operation.operate(ovirt, kube, "db-1", "pause", timeout_s=5)["changed"] is False
    assert kube.writes == writes
    resumed = vm_operation.operate(ovirt, kube, "db-1", "resume", timeout_s=5)
    assert resumed["changed"] is True and resumed["status"] == "up"
    assert vm_operation.operate(ovirt, kube, "db-1", "resume", timeout_s=5)["changed"] is False


def test_check_mode_sends_the_operation_as_a_dry_run(datacenter):
    kube, ovirt = datacenter
    planned = vm_operation.operate(ovirt, kube, "db-1", "pause", timeout_s=5, check_mode=True)
    assert planned["changed"] is True and planned["status"] == "up"
    method, path, body = kube.requests[-1]
    assert (method, path.rsplit("/", 1)[-1], body) == ("PUT", "pause", {"dryRun": ["All"]})
    assert vm_operation.is_paused(kube.get(KUBEVIRT, "VirtualMachineInstance", "db-1", NS)) is False


@pytest.mark.parametrize(("vm", "message"), [
    ("web-2", "in a legacy cluster: oVirt runs it"),
    ("app-1", r"still runs under oVirt \(status up on node-b1\)"),
    ("never-1", "has never run in KubeVirt"),
])
def test_operations_on_vms_kubevirt_does_not_run_are_refused_with_the_reason(datacenter, vm, message):
    kube, ovirt = datacenter
    writes = kube.writes
    with pytest.raises(vm_operation.OperationRefused, match=message):
        vm_operation.operate(ovirt, kube, vm, "pause", timeout_s=5)
    assert kube.writes == writes


def test_hibernate_without_suspend_to_disk_names_the_alternatives_and_changes_nothing(datacenter):
    kube, ovirt = datacenter
    with pytest.raises(UnsupportedError, match="offers no suspend-to-disk.*operation pause keeps"):
        vm_operation.operate(ovirt, kube, "db-1", "hibernate", timeout_s=5)
    assert [r for r in kube.requests if r[0] != "GET"] == []


def test_a_disk_hotplug_on_a_bus_kubevirt_refuses_is_named_before_any_request(datacenter):
    kube, ovirt = datacenter
    with pytest.raises(InputError, match="disk.bus 'sata': KubeVirt hotplugs disks only on scsi or virtio"):
        vm_operation.operate(ovirt, kube, "db-1", "hotplug_disk", params={"disk": {"name": "data", "claim_name": "c",
                                                                                   "bus": "sata"}}, timeout_s=5)
    assert [r for r in kube.requests if r[0] != "GET"] == []


class Underway(FakeKube):
    """virt-api with a start already queued on the VirtualMachine: a lifecycle PUT answers 500."""

    def __init__(self, objects, message="unable to complete request: stop/start already underway"):
        super().__init__(objects)
        self.message = message

    def request(self, method, path, body=None, what=None):
        super().request(method, path, body, what)
        if method == "PUT":
            raise ApiError(f"{what}: the Kubernetes API answered 500: {self.message}", status=500, reason=self.message)
        return {}


def queued_vm():
    (vm,) = kubevirt_vm("q-1", phase=None)
    vm["status"] = {"stateChangeRequests": [{"action": "Start"}]}
    return vm


def test_a_start_refused_as_already_underway_converges_on_the_queued_start():
    kube = Underway([queued_vm()])
    targets.start_fresh(kube, NS, "q-1", "Manual", has_vmi=False)  # returns: the queued start makes the VMI
    assert [r[0] for r in kube.requests] == ["PUT"]


def test_any_other_500_on_a_start_is_raised():
    kube = Underway([queued_vm()], message="etcdserver: request timed out")
    with pytest.raises(ApiError, match="request timed out"):
        targets.start_fresh(kube, NS, "q-1", "Manual", has_vmi=False)


def test_a_reboot_while_a_change_is_queued_is_refused_with_the_reason(datacenter):
    kube, ovirt = datacenter
    underway = Underway([provider_configmap(), *kubevirt_vm("db-1")])
    underway.objects.update({k: v for k, v in kube.objects.items() if k[1] == "ConfigMap"})
    with pytest.raises(vm_operation.OperationRefused, match="KubeVirt refused restart of VM db-1: .*already underway"):
        vm_operation.operate(ovirt, underway, "db-1", "reboot", timeout_s=5)
