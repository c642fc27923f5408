# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ovirt_kubevirt.bridge contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The cluster type registry's pure parts: records, their revisions, and the audit event ids."""
from __future__ import annotations

import pytest

from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.common.errors import InputError
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.common.naming import event_custom_id
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.records import registry

CID = "b4136a84-e975-55ea-abd9-d799f5911168"
IDENTITY = {"engine_url": "https://engine/ovirt-engine/api", "cluster_id": CID, "cluster_name": "kv-b"}


def kubevirt(provider="kv1", namespace="vms", milestone=1):
    return registry.desired_state("kubevirt", provider, namespace, milestone)


def test_record_labels_have_their_published_values():
    assert registry.record_name(CID) == f"ovirt-cluster-{CID}"
    assert registry.record_labels(CID) == {"app.kubernetes.io/managed-by": "ovirt_kubevirt.bridge",
                                           "ovirt-kubevirt.io/registry": "cluster-type",
                                           "ovirt-kubevirt.io/cluster-id": CID}
    assert registry.cluster_selector(CID) == f"ovirt-kubevirt.io/registry=cluster-type,ovirt-kubevirt.io/cluster-id={CID}"


def test_first_record_is_revision_one_with_every_field():
    data = registry.plan(None, kubevirt(), IDENTITY, "T1")
    assert data == {"engine_url": "https://engine/ovirt-engine/api", "cluster_id": CID, "cluster_name": "kv-b",
                    "type": "kubevirt", "provider": "kv1", "namespace": "vms", "milestone": "1", "revision": "1",
                    "created": "T1", "updated": "T1"}
    assert all(isinstance(v, str) for v in data.values())  # ConfigMap data


def test_same_state_plans_nothing():
    data = registry.plan(None, kubevirt(), IDENTITY, "T1")
    assert registry.plan(data, kubevirt(), IDENTITY, "T2") is None


def test_identity_alone_is_not_a_change():
    data = registry.plan(None, kubevirt(), IDENTITY, "T1")
    renamed = dict(IDENTITY, cluster_name="kv-b-renamed", engine_url="https://alias/ovirt-engine/api")
    assert registry.plan(data, kubevirt(), renamed, "T2") is None


@pytest.mark.parametrize("change", [
    {"milestone": 2}, {"provider": "kv2"}, {"namespace": "other"},
])
def test_every_key_field_change_is_a_new_revision(change):
    first = registry.plan(None, kubevirt(), IDENTITY, "T1")
    second = registry.plan(first, kubevirt(**change), IDENTITY, "T2")
    assert second["revision"] == "2" and second["created"] == "T1" and second["updated"] == "T2"


def test_back_to_legacy_keeps_the_record_and_its_namespace():
    first = registry.plan(None, kubevirt(), IDENTITY, "T1")
    legacy = registry.plan(first, registry.desired_state("legacy", None, "vms", None), IDENTITY, "T2")
    assert legacy["type"] == "legacy" and legacy["revision"] == "2" and legacy["namespace"] == "vms"
    assert legacy["provider"] == "" and legacy["milestone"] == ""
    view = registry.view(legacy, CID, "kv-b")
    assert (view["type"], view["provider"], view["milestone"], view["namespace"]) == ("legacy", None, None, "vms")


def test_floor_revision_continues_a_moved_record():
    data = registry.plan(None, kubevirt(namespace="b"), IDENTITY, "T1", floor_revision=7)
    assert data["revision"] == "8"


def test_garbage_revision_counts_as_zero():
    assert registry.revision_of({"revision": "x"}) == 0
    assert registry.revision_of({"revision": "-3"}) == 0
    assert registry.revision_of(None) == 0


def test_desired_state_refuses_bad_input():
    with pytest.raises(InputError, match="needs provider and namespace"):
        registry.desired_state("kubevirt", None, "vms", 1)
    with pytest.raises(InputError, match="milestone 4"):
        registry.desired_state("kubevirt", "kv1", "vms", 4)
    with pytest.raises(InputError, match="unknown cluster type"):
        registry.desired_state("vmware", "kv1", "vms", 1)


def test_view_of_a_cluster_without_record_is_legacy():
    view = registry.view(None, CID, "legacy-a", "https://engine/ovirt-engine/api")
    assert view == {"name": "legacy-a", "id": CID, "type": "legacy", "provider": None, "namespace": None,
                    "milestone": None, "revision": 0, "engine_url": "https://engine/ovirt-engine/api",
                    "created": None, "updated": None}


def test_view_of_a_kubevirt_record():
    view = registry.view(registry.plan(None, kubevirt(milestone=3), IDENTITY, "T1"), CID, "kv-b")
    assert view["type"] == "kubevirt" and view["milestone"] == 3 and view["provider"] == "kv1"
    assert view["revision"] == 1 and view["created"] == "T1"


def test_event_id_is_the_documented_derivation():
    view = registry.view(registry.plan(None, kubevirt(), IDENTITY, "T1"), CID, "kv-b")
    assert registry.event_id(view) == event_custom_id(CID, "cluster_type", "1", "kubevirt", "kv1", "vms", "1")
    legacy = registry.view(registry.plan(None, registry.desired_state("legacy", None, "vms", None), IDENTITY, "T"),
                           CID, "kv-b")
    assert registry.event_id(legacy) == event_custom_id(CID, "cluster_type", "1", "legacy", "", "vms", "")


def test_event_ids_differ_per_revision_and_state_and_are_stable():
    base = registry.view(registry.plan(None, kubevirt(), IDENTITY, "T1"), CID, "kv-b")
    ids = {registry.event_id(dict(base, **change)) for change in
           ({}, {"revision": 2}, {"milestone": 2}, {"provider": "kv2"}, {"namespace": "x"}, {"type": "legacy"},
            {"id": "other"})}
    assert len(ids) == 7
    assert registry.event_id(dict(base)) == registry.event_id(dict(base, updated="later", name="renamed"))
    assert all(0 < i < 2**31 for i in ids)


def test_event_description():
    view = registry.view(registry.plan(None, kubevirt(), IDENTITY, "T1"), CID, "kv-b")
    assert registry.event_description(view).startswith(
        "Cluster kv-b type set to kubevirt (provider kv1, namespace vms, milestone 1) by ovirt_kubevirt.bridge")
    legacy = dict(view, type="legacy", provider=None, milestone=None, revision=2)
    assert registry.event_description(legacy).startswith("Cluster kv-b type set to legacy by ovirt_kubevirt.bridge")


def _cm(namespace, revision, updated="T"):
    return {"metadata": {"namespace": namespace}, "data": {"revision": str(revision), "updated": updated}}


def test_pick_current_takes_the_highest_revision():
    assert registry.pick_current([]) is None
    assert registry.pick_current([_cm("a", 3), _cm("b", 5), _cm("c", 4)])["metadata"]["namespace"] == "b"
    assert registry.pick_current([_cm("a", 2, "T1"), _cm("b", 2, "T2")])["metadata"]["namespace"] == "b"


@pytest.mark.parametrize("current, desired, leaving", [
    (None, "kubevirt", False),
    ({"type": "legacy"}, "kubevirt", False),
    ({"type": "kubevirt", "provider": "kv1", "namespace": "vms", "milestone": "1"}, "legacy", True),
    ({"type": "kubevirt", "provider": "kv1", "namespace": "vms", "milestone": "1"}, "kubevirt", False),
    ({"type": "kubevirt", "provider": "kv1", "namespace": "old", "milestone": "1"}, "kubevirt", True),
    ({"type": "kubevirt", "provider": "kv0", "namespace": "vms", "milestone": "1"}, "kubevirt", True),
])
def test_leaving_kubevirt_placement(current, desired, leaving):
    target = kubevirt(milestone=2) if desired == "kubevirt" else registry.desired_state("legacy", None, "vms", None)
    assert registry.leaving_kubevirt_placement(current, target) is leaving


def test_record_name_and_labels():
    assert registry.record_name(CID) == f"ovirt-cluster-{CID}"
    labels = registry.record_labels(CID)
    assert labels[registry.CLUSTER_ID_LABEL] == CID
    assert labels[registry.REGISTRY_LABEL] == registry.REGISTRY_VALUE


@pytest.mark.parametrize("data, expected", [
    (None, registry.ClusterType()),
    ({}, registry.ClusterType("legacy", None, None, 1)),
    ({"type": "kubevirt", "provider": "kv1", "namespace": "vms", "milestone": "3"},
     registry.ClusterType("kubevirt", "kv1", "vms", 3)),
    ({"type": "legacy", "provider": "", "namespace": "vms", "milestone": ""}, registry.ClusterType("legacy", None, "vms", 1)),
])
def test_a_record_reads_as_a_typed_cluster_type(data, expected):
    cluster_type = registry.ClusterType.of(data)
    assert cluster_type == expected
    assert cluster_type.is_kubevirt is (expected.type == "kubevirt")
