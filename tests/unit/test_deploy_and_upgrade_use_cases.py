# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ovirt_kubevirt.bridge contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""vm_deploy's and the upgrade's decisions on the typed fakes: what is created, resized, refused, disturbed."""
from __future__ import annotations

import datetime
from types import SimpleNamespace

import pytest
from fakes import FakeKube, FakeOvirt, sized, status
from test_use_cases import CLUSTERS, SETTINGS, provider_configmap

from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.common.errors import BridgeError, ItemsFailed
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.operations import upgrade, vm_deploy
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.records import registry

DC = SimpleNamespace(id="dc-1", name="dc1")
MAPS = {"storage_map": {}, "network_map": {}}


def engine(*vms):
    clusters = [SimpleNamespace(id=c.id, name=c.name, data_center=DC) for c in CLUSTERS]
    templates = [SimpleNamespace(id="t-blank", name="Blank"), SimpleNamespace(id="t-rhel", name="rhel9")]
    return FakeOvirt(clusters=clusters, templates=templates, datacenters=[DC], vms=list(vms))


def down_vm(name, memory_mib, cpus, state="down"):
    return sized(SimpleNamespace(id=f"id-{name}", name=name, cluster=CLUSTERS[0], status=status(state), host=None),
                 memory_mib, cpus)


def test_a_deployment_creates_and_resizes_then_a_second_run_writes_nothing():
    ovirt = engine(down_vm("db-1", 2048, 2))
    declared = [{"name": "web-1", "cluster": "kv-a", "template": "rhel9", "memory_mib": 1024, "cpus": 1},
                {"name": "db-1", "cluster": "kv-a", "memory_mib": 4096, "cpus": 4}]
    first = vm_deploy.deploy(ovirt, FakeKube(), declared, **MAPS)
    assert (first["created"], first["updated"], first["changed"]) == (["web-1"], ["db-1"], True)
    assert vm_deploy._size(ovirt.vm("db-1")) == (4096, 4)  # pylint: disable=protected-access
    writes = ovirt.writes
    again = vm_deploy.deploy(ovirt, FakeKube(), declared, **MAPS)
    assert again["changed"] is False and ovirt.writes == writes
    assert [r["action"] for r in again["results"]] == ["none", "none"]


def test_check_mode_plans_the_deployment_and_writes_nothing():
    ovirt = engine(down_vm("db-1", 2048, 2))
    planned = vm_deploy.deploy(ovirt, FakeKube(), [{"name": "web-1", "cluster": "kv-a", "template": "rhel9"},
                                                   {"name": "db-1", "cluster": "kv-a", "memory_mib": 4096, "cpus": 4}],
                               check_mode=True, **MAPS)
    assert (planned["created"], planned["updated"]) == (["web-1"], ["db-1"]) and ovirt.writes == 0


def test_each_failure_stays_with_its_vm_and_the_others_converge():
    ovirt = engine(down_vm("up-1", 2048, 2, state="up"))
    declared = [{"name": "new-1", "cluster": "kv-a"},
                {"name": "bad-1", "cluster": "nope"},
                {"name": "tpl-1", "cluster": "kv-a", "template": "missing"},
                {"name": "up-1", "cluster": "kv-a", "memory_mib": 4096, "cpus": 2}]
    with pytest.raises(ItemsFailed) as failed:
        vm_deploy.deploy(ovirt, FakeKube(), declared, **MAPS)
    details = failed.value.details
    assert details["created"] == ["new-1"] and details["failed"] == ["bad-1", "tpl-1", "up-1"]
    messages = {r["name"]: r.get("msg") for r in details["results"]}
    assert "no cluster named 'nope'" in messages["bad-1"] and "no template named 'missing'" in messages["tpl-1"]
    assert "its size changes only while it is down" in messages["up-1"]
    assert vm_deploy._size(ovirt.vm("up-1")) == (2048, 2)  # pylint: disable=protected-access


def test_runtime_info_sees_both_runtimes_and_names_each_disturbed_vm():
    host = SimpleNamespace(id="h-1", name="host-a1", cluster=CLUSTERS[0], status=status("up"))
    started = datetime.datetime(2026, 12, 3, 9, 0, tzinfo=datetime.timezone.utc)
    legacy = SimpleNamespace(id="id-web-1", name="web-1", cluster=CLUSTERS[0], status=status("up"),
                             host=SimpleNamespace(id="h-1"), start_time=started)
    moved = SimpleNamespace(id="id-db-1", name="db-1", cluster=CLUSTERS[1], status=status("down"), host=None)
    ovirt = engine(legacy, moved)
    ovirt._hosts = [host]  # pylint: disable=protected-access
    kube = FakeKube([provider_configmap()])
    registry.set_cluster_types(ovirt, kube, ["kv-b"], single=False, **SETTINGS)
    labels = {registry.CLUSTER_ID_LABEL: CLUSTERS[1].id, registry.VM_ID_LABEL: "id-db-1"}
    kube.create({"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachineInstance",
                 "metadata": {"name": "db-1", "namespace": "vms", "uid": "u1", "labels": labels},
                 "status": {"phase": "Running", "nodeName": "node-b1", "phaseTransitionTimestamps": [
                     {"phase": "Running", "phaseTransitionTimestamp": "2026-12-03T09:05:00Z"}]}})
    before = upgrade.runtime_info(ovirt, kube, "dc1", None, False)["vms"]
    assert before == {"web-1": {"runtime": "ovirt", "status": "up", "host": "host-a1", "start_time": started.isoformat()},
                      "db-1": {"runtime": "kubevirt", "status": "up", "host": "node-b1",
                               "start_time": "2026-12-03T09:05:00Z", "uid": "u1"}}
    assert upgrade.runtime_info(ovirt, kube, "dc1", before, True)["disturbed"] == []
    legacy.start_time = started + datetime.timedelta(minutes=1)
    kube.delete("kubevirt.io/v1", "VirtualMachineInstance", "db-1", "vms")
    with pytest.raises(BridgeError, match="2 running VM.s. were disturbed") as disturbed:
        upgrade.runtime_info(ovirt, kube, "dc1", before, True)
    assert disturbed.value.details["disturbed"] == [
        "VM db-1 was running (kubevirt on node-b1) and is not running now",
        f"VM web-1 was restarted: start_time {started.isoformat()} -> {legacy.start_time.isoformat()}"]
