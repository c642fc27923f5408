# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ovirt_kubevirt.bridge contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Use cases on the typed fakes (tests/unit/fakes.py): their decisions, without the lab."""
from __future__ import annotations

from types import SimpleNamespace

import pytest
from fakes import FakeKube, FakeOvirt, status, typed

from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.common.errors import ItemsFailed, NotFoundError
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.operations import targets, vm_state_sync
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.records import provider, registry

ENGINE = "https://engine.example/ovirt-engine/api"
CLUSTERS = [SimpleNamespace(id="c0a1b2c3-0000-4000-8000-00000000000a", name="kv-a"),
            SimpleNamespace(id="c0a1b2c3-0000-4000-8000-00000000000b", name="kv-b")]
SETTINGS = {"engine_url": ENGINE, "cluster_type": "kubevirt", "provider": "kv1", "namespace": "vms", "milestone": 2,
            "wait": False, "wait_timeout": 1}


def set_kv_b(ovirt, kube, milestone):
    """Cluster kv-b of type kubevirt at ``milestone``, provider kv1 in namespace vms."""
    settings = {key: value for key, value in SETTINGS.items() if key != "milestone"}
    registry.set_cluster_types(ovirt, kube, ["kv-b"], single=False, milestone=milestone, **settings)


def provider_configmap(name="kv1", namespace="vms"):
    crds = {"VirtualMachine": True, "VirtualMachineInstance": True}
    capabilities = provider.build_capabilities({"gitVersion": "v1.34.4"}, crds, [], None)
    data = provider.plan_record(None, provider.record_core(name, "https://api:6443", "", capabilities), "T1")
    return provider.record_configmap(name, namespace, data)


@pytest.fixture()
def services():
    return FakeKube([provider_configmap()]), FakeOvirt(clusters=CLUSTERS)


def test_clusters_are_set_once_and_a_second_run_writes_nothing(services):
    kube, ovirt = services
    kube_api, ovirt_api = typed(kube, ovirt)
    first = registry.set_cluster_types(ovirt_api, kube_api, ["kv-a", "kv-b"], single=False, **SETTINGS)
    assert first["changed"] is True
    assert [(r["name"], r["cluster"]["type"], r["cluster"]["milestone"]) for r in first["results"]] == [
        ("kv-a", "kubevirt", 2), ("kv-b", "kubevirt", 2)]
    assert len(ovirt.events) == 2
    writes = (kube.writes, ovirt.writes)
    again = registry.set_cluster_types(ovirt, kube, ["kv-a", "kv-b"], single=False, **SETTINGS)
    assert again["changed"] is False and (kube.writes, ovirt.writes) == writes


def test_check_mode_plans_the_clusters_and_writes_nothing(services):
    kube, ovirt = services
    planned = registry.set_cluster_types(ovirt, kube, ["kv-a"], single=False, check_mode=True, **SETTINGS)
    assert planned["changed"] is True and planned["results"][0]["cluster"]["type"] == "kubevirt"
    assert (kube.writes, ovirt.writes) == (0, 0)


def test_one_unknown_cluster_is_named_and_the_others_are_set(services):
    kube, ovirt = services
    with pytest.raises(ItemsFailed) as failed:
        registry.set_cluster_types(ovirt, kube, ["nope", "kv-b"], single=False, **SETTINGS)
    assert str(failed.value).startswith("1 of 2 cluster(s) failed: nope: the oVirt engine has no cluster")
    assert [r["name"] for r in failed.value.details["results"]] == ["kv-b"]
    assert registry.ClusterType.of(registry.current_records(kube)[CLUSTERS[1].id]) == registry.ClusterType(
        "kubevirt", "kv1", "vms", 2)


def test_a_missing_provider_fails_before_any_write():
    kube, ovirt = FakeKube(), FakeOvirt(clusters=CLUSTERS)
    with pytest.raises(NotFoundError, match="provider kv1 is not registered in namespace vms"):
        registry.set_cluster_types(ovirt, kube, ["kv-a"], single=True, **SETTINGS)
    assert (kube.writes, ovirt.writes) == (0, 0)


def test_targets_carry_their_cluster_type(services):
    kube, _ovirt = services
    vms = [SimpleNamespace(id=f"v{i}", name=name, cluster=cluster, status=status("down"), host=None)
           for i, (name, cluster) in enumerate((("web-1", CLUSTERS[0]), ("db-1", CLUSTERS[1])))]
    ovirt = FakeOvirt(clusters=CLUSTERS, vms=vms)
    registry.set_cluster_types(ovirt, kube, ["kv-b"], single=False, **SETTINGS)
    planned, _all_vms, _hosts = targets.plan_targets(ovirt, kube, ["web-1", "db-1", "web-1"])
    assert [(t.name, t.cluster_type.is_kubevirt, t.cluster_type.milestone) for t in planned] == [
        ("web-1", False, 1), ("db-1", True, 2)]
    with pytest.raises(NotFoundError, match="no VM named 'gone'"):
        targets.plan_targets(ovirt, kube, ["gone"])


def test_the_state_sync_reports_a_change_once_and_a_replay_posts_nothing(services):
    kube, _ovirt = services
    host = SimpleNamespace(id="h-1", name="node-b1", cluster=CLUSTERS[1], status=status("up"))
    vm = SimpleNamespace(id="vm-1", name="sy-1", cluster=CLUSTERS[1], status=status("down"), host=None)
    ovirt = FakeOvirt(clusters=CLUSTERS, hosts=[host], vms=[vm])
    registry.set_cluster_types(ovirt, kube, ["kv-b"], single=False, **SETTINGS)
    labels = {registry.CLUSTER_ID_LABEL: CLUSTERS[1].id, registry.VM_ID_LABEL: "vm-1"}
    kube.create({"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachine",
                 "metadata": {"name": "sy-1", "namespace": "vms", "labels": labels},
                 "spec": {"runStrategy": "Always"}, "status": {"printableStatus": "Running", "ready": True}})
    kube.create({"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachineInstance",
                 "metadata": {"name": "sy-1", "namespace": "vms", "labels": labels},
                 "status": {"phase": "Running", "nodeName": "node-b1",
                            "conditions": [{"type": "Ready", "status": "True"}]}})
    events_before = len(ovirt.events)
    first = vm_state_sync.sync_states(ovirt, kube, vms=["sy-1"])
    assert first["changed"] is True
    assert first["changes"] == [{"vm": "sy-1", "field": "status", "before": "down", "after": "up"},
                                {"vm": "sy-1", "field": "run_on_vds", "before": None, "after": "h-1"}]
    assert first["events_posted"] == 2 and first["vms"][0]["dynamic"]["node"] == "node-b1"
    posted = len(ovirt.events) - events_before
    writes = (kube.writes, ovirt.writes)
    replay = vm_state_sync.sync_states(ovirt, kube, vms=["sy-1"])
    assert replay["changed"] is False and replay["events_posted"] == 0 and replay["changes"] == []
    assert (kube.writes, ovirt.writes) == writes and len(ovirt.events) - events_before == posted
