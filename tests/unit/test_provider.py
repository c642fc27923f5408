# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ovirt_kubevirt.bridge contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The provider's pure parts: capabilities, the record, its diff, and the RBAC it grants."""
from __future__ import annotations

import json

import pytest

from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.common.errors import InputError, NotFoundError
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.records import provider

ALL_CRDS = {"VirtualMachine": True, "VirtualMachineInstance": True, "VirtualMachineInstanceMigration": True}
KUBEVIRT_SUBRESOURCES = [
    "virtualmachines/start", "virtualmachines/stop", "virtualmachines/restart", "virtualmachines/migrate",
    "virtualmachines/addvolume", "virtualmachines/removevolume", "virtualmachineinstances/pause",
    "virtualmachineinstances/unpause", "virtualmachineinstances/softreboot", "virtualmachineinstances/freeze",
    "virtualmachineinstances/unfreeze", "virtualmachineinstances/addvolume", "virtualmachineinstances/removevolume",
    "virtualmachineinstances/guestosinfo",
]


def test_capabilities_of_a_full_kubevirt_without_cr():
    caps = provider.build_capabilities({"gitVersion": "v1.20.2"}, ALL_CRDS, KUBEVIRT_SUBRESOURCES, None)
    assert caps["server_version"] == "v1.20.2"
    assert caps["kubevirt_version"] is None and caps["feature_gates"] == []
    assert caps["crds"] == ALL_CRDS
    assert caps["subresources"] == sorted(KUBEVIRT_SUBRESOURCES)
    assert caps["operations"] == {"start": True, "stop": True, "restart": True, "migrate": True, "pause": True,
                                  "unpause": True, "softreboot": True, "addvolume": True, "removevolume": True,
                                  "hibernate": False}
    assert set(caps) == {"server_version", "kubevirt_version", "version", "vm_rollout_strategy", "workload_update_methods",
                         "crds", "subresources", "operations", "feature_gates"}
    assert caps["version"] is None and caps["vm_rollout_strategy"] is None and caps["workload_update_methods"] == []


def test_operations_follow_the_served_subresources():
    caps = provider.build_capabilities({}, dict(ALL_CRDS, VirtualMachineInstanceMigration=False),
                                       ["virtualmachines/start", "virtualmachineinstances/addvolume"], None)
    ops = caps["operations"]
    assert ops["start"] and ops["addvolume"]
    assert not ops["stop"] and not ops["pause"] and not ops["migrate"] and not ops["removevolume"]
    assert caps["server_version"] is None


def test_migrate_needs_only_the_migration_crd():
    caps = provider.build_capabilities({}, ALL_CRDS, [], None)
    assert caps["operations"]["migrate"] is True
    assert caps["operations"]["start"] is False


def test_version_and_feature_gates_come_from_the_kubevirt_cr():
    cr = {"status": {"observedKubeVirtVersion": "v1.3.1", "operatorVersion": "v1.3.0"},
          "spec": {"configuration": {"developerConfiguration": {"featureGates": ["Snapshot", "HotplugVolumes"]}}}}
    caps = provider.build_capabilities({}, ALL_CRDS, [], cr)
    assert caps["kubevirt_version"] == "v1.3.1"
    assert caps["feature_gates"] == ["HotplugVolumes", "Snapshot"]
    bare = provider.build_capabilities({}, ALL_CRDS, [], {"status": {"operatorVersion": "v1.2.0"}})
    assert bare["kubevirt_version"] == "v1.2.0" and bare["feature_gates"] == []


@pytest.mark.parametrize(("version", "configured", "rollout"), [
    ("v1.5.2", None, "Stage"), ("v1.6.0", None, "LiveUpdate"), ("v1.8.4", None, "LiveUpdate"),
    ("v1.8.4", "Stage", "Stage"), ("devel", None, None)])
def test_the_rollout_strategy_is_the_crs_or_virt_configs_default_for_the_version(version, configured, rollout):
    """pkg/virt-config/virt-config.go DefaultVMRolloutStrategy: Stage to v1.5, LiveUpdate from v1.6."""
    configuration = {"vmRolloutStrategy": configured} if configured else {}
    cr = {"status": {"observedKubeVirtVersion": version},
          "spec": {"configuration": configuration, "workloadUpdateStrategy": {"workloadUpdateMethods": ["LiveMigrate"]}}}
    caps = provider.build_capabilities({}, ALL_CRDS, [], cr)
    assert caps["version"] == version and caps["vm_rollout_strategy"] == rollout
    assert caps["workload_update_methods"] == ["LiveMigrate"]


@pytest.mark.parametrize(("version", "warned"), [
    ("v1.6.0", None), ("v1.9.1", None), ("v1.5.3", "outside the supported releases (v1.6 to v1.9)"),
    ("v1.10.0", "outside the supported releases"), (None, "the KubeVirt version is unknown")])
def test_versions_outside_the_supported_releases_are_warned_about(version, warned):
    warnings = provider.version_warnings(version)
    assert warnings == [] if warned is None else warned in warnings[0]


def test_missing_kinds_are_named_in_order():
    assert provider.missing_kinds({"VirtualMachine": True}) == ["VirtualMachineInstance",
                                                                "VirtualMachineInstanceMigration"]
    assert provider.missing_kinds(ALL_CRDS) == []


def test_capabilities_json_is_deterministic():
    a = provider.build_capabilities({"gitVersion": "v1"}, ALL_CRDS, list(reversed(KUBEVIRT_SUBRESOURCES)), None)
    b = provider.build_capabilities({"gitVersion": "v1"}, ALL_CRDS, KUBEVIRT_SUBRESOURCES, None)
    assert provider.dump_capabilities(a) == provider.dump_capabilities(b)
    assert json.loads(provider.dump_capabilities(a)) == a


@pytest.mark.parametrize("name", ["kv1", "a", "kv-east-1", "x" * 63])
def test_valid_names(name):
    assert provider.validate_name(name) == name


@pytest.mark.parametrize("name", ["", "KV1", "kv_1", "-kv", "kv-", "kv.1", "x" * 64])
def test_invalid_names_are_refused(name):
    with pytest.raises(InputError, match="DNS-1123"):
        provider.validate_name(name)


def test_record_is_planned_once_and_timestamps_move_only_with_a_change():
    caps = provider.build_capabilities({"gitVersion": "v1.20.2"}, ALL_CRDS, KUBEVIRT_SUBRESOURCES, None)
    core = provider.record_core("kv1", "https://api:6443", "PEM", caps)
    first = provider.plan_record(None, core, "T1")
    assert first == dict(core, created="T1", updated="T1")
    assert provider.plan_record(first, core, "T2") is None
    changed_caps = dict(caps, subresources=caps["subresources"][:2])
    second = provider.plan_record(first, provider.record_core("kv1", "https://api:6443", "PEM", changed_caps), "T3")
    assert second["created"] == "T1" and second["updated"] == "T3"


def test_record_configmap_and_provider_round_trip():
    caps = provider.build_capabilities({"gitVersion": "v1.20.2"}, ALL_CRDS, KUBEVIRT_SUBRESOURCES, None)
    data = provider.plan_record(None, provider.record_core("kv1", "https://api:6443", "", caps), "T1")
    cm = provider.record_configmap("kv1", "vms", data)
    assert cm["metadata"]["name"] == "ovirt-kubevirt-provider-kv1"
    assert cm["metadata"]["labels"] == {"app.kubernetes.io/managed-by": "ovirt_kubevirt.bridge",
                                        "ovirt-kubevirt.io/provider": "kv1"}
    assert all(isinstance(v, str) for v in cm["data"].values())
    loaded = provider.provider_from_record(cm)
    assert loaded["capabilities"] == caps and loaded["namespace"] == "vms" and loaded["ca_cert"] is None
    assert loaded["server_version"] == "v1.20.2"


def test_record_holds_no_credentials():
    caps = provider.build_capabilities({}, ALL_CRDS, [], None)
    data = provider.record_core("kv1", "https://api:6443", "PEM", caps)
    assert set(data) == set(provider.RECORD_KEYS)


class FakeKube:
    def __init__(self, objects):
        self.objects = objects

    def get(self, api_version, kind, name, namespace=None):
        return self.objects.get((kind, namespace, name))


def test_load_provider_names_what_is_missing():
    with pytest.raises(NotFoundError, match="provider kv9 is not registered in namespace vms; run kubevirt_provider first"):
        provider.load_provider(FakeKube({}), "kv9", "vms")
    # A ConfigMap of that name that is not a provider record does not count.
    foreign = {"metadata": {"name": "ovirt-kubevirt-provider-kv9", "labels": {}}, "data": {}}
    with pytest.raises(NotFoundError):
        provider.load_provider(FakeKube({("ConfigMap", "vms", "ovirt-kubevirt-provider-kv9"): foreign}), "kv9", "vms")


def _allowed(rules, group, resource, verb):
    return any(group in r["apiGroups"] and resource in r["resources"] and verb in r["verbs"] for r in rules)


def test_role_grants_only_what_the_collection_needs():
    objects = {o["kind"]: o for o in provider.rbac_objects("vms")}
    role = objects["Role"]["rules"]
    for resource in ("virtualmachines", "virtualmachineinstances", "virtualmachineinstancemigrations"):
        for verb in ("get", "list", "watch", "create", "update", "patch", "delete"):
            assert _allowed(role, "kubevirt.io", resource, verb)
    for sub in ("virtualmachines/start", "virtualmachines/stop", "virtualmachines/restart", "virtualmachines/migrate",
                "virtualmachines/addvolume", "virtualmachines/removevolume", "virtualmachineinstances/pause",
                "virtualmachineinstances/unpause", "virtualmachineinstances/softreboot",
                "virtualmachineinstances/addvolume", "virtualmachineinstances/removevolume"):
        assert _allowed(role, "subresources.kubevirt.io", sub, "update")
    assert _allowed(role, "", "configmaps", "create") and _allowed(role, "", "events", "watch")
    # Nothing more: no secrets, no pods, no write on events, no wildcards, no escalation.
    denied = (("", "secrets", "get"), ("", "pods", "list"), ("", "events", "create"), ("kubevirt.io", "kubevirts", "get"),
              ("subresources.kubevirt.io", "virtualmachineinstances/freeze", "update"),
              ("rbac.authorization.k8s.io", "roles", "create"))
    for group, resource, verb in denied:
        assert not _allowed(role, group, resource, verb)
    assert all("*" not in r["verbs"] and "*" not in r["resources"] and "*" not in r["apiGroups"] for r in role)
    cluster_role = objects["ClusterRole"]["rules"]
    assert cluster_role == [{"apiGroups": [""], "resources": ["nodes"], "verbs": ["get", "list", "watch"]}]


def test_rbac_objects_bind_the_service_account_of_the_namespace():
    objects = {o["kind"]: o for o in provider.rbac_objects("vms")}
    assert set(objects) == {"ServiceAccount", "Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding"}
    assert objects["ClusterRole"]["metadata"]["name"] == "ovirt-kubevirt-bridge-vms"
    assert "namespace" not in objects["ClusterRoleBinding"]["metadata"]
    for binding in ("RoleBinding", "ClusterRoleBinding"):
        assert objects[binding]["subjects"] == [{"kind": "ServiceAccount", "name": "ovirt-kubevirt-bridge",
                                                 "namespace": "vms"}]
    assert objects["ClusterRoleBinding"]["roleRef"]["name"] == "ovirt-kubevirt-bridge-vms"
    assert all(o["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "ovirt_kubevirt.bridge"
               for o in objects.values())


def test_rbac_difference_ignores_order_and_server_fields():
    desired = {o["kind"]: o for o in provider.rbac_objects("vms")}
    role = desired["Role"]
    current = json.loads(json.dumps(role))
    current["rules"] = list(reversed(current["rules"]))
    current["rules"][0]["verbs"] = list(reversed(current["rules"][0]["verbs"]))
    current["metadata"].update(resourceVersion="7", uid="u", labels=dict(role["metadata"]["labels"], extra="x"))
    assert provider.rbac_difference(current, role) is None
    current["rules"] = current["rules"][1:]
    assert provider.rbac_difference(current, role) == "rules"
    binding = json.loads(json.dumps(desired["RoleBinding"]))
    binding["subjects"][0]["namespace"] = "other"
    assert provider.rbac_difference(binding, desired["RoleBinding"]) == "subjects"
    binding["roleRef"]["name"] = "admin"
    assert provider.rbac_difference(binding, desired["RoleBinding"]) == "roleRef"
    unlabelled = json.loads(json.dumps(desired["ServiceAccount"]))
    unlabelled["metadata"]["labels"] = {}
    assert provider.rbac_difference(unlabelled, desired["ServiceAccount"]) == "labels"


def test_merged_for_replace_keeps_foreign_labels():
    role = {o["kind"]: o for o in provider.rbac_objects("vms")}["Role"]
    current = {"metadata": {"name": "x", "resourceVersion": "5", "labels": {"team": "a"}}, "rules": []}
    merged = provider.merged_for_replace(current, role)
    assert merged["metadata"]["labels"]["team"] == "a"
    assert merged["metadata"]["resourceVersion"] == "5"
    assert provider.rbac_difference(merged, role) is None


def test_token_duration_below_the_api_minimum_is_refused():
    assert provider.check_token_duration(600) == 600
    with pytest.raises(InputError, match="at least 600"):
        provider.check_token_duration(599)


class DiscoveryKube:
    """Just enough of KubeService for discover_capabilities."""

    def __init__(self, kinds, subresources=None):
        self.kinds = set(kinds)
        self.subresources = subresources or []
        version = json.dumps({"gitVersion": "v1.29.0"}).encode()
        self.client = type("Client", (), {
            "configuration": type("Configuration", (), {"host": "https://api.example:6443", "ssl_ca_cert": None})(),
            "request": staticmethod(lambda method, path, serialize=True: type("Response", (), {"data": version})()),
        })()

    def has_resource(self, api_version, kind):
        return kind in self.kinds

    def request(self, method, path, body=None, what=None):
        return {"kind": "APIResourceList", "resources": [{"name": n} for n in self.subresources]}


def test_missing_crds_fail_naming_them():
    from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.common.errors import UnsupportedError

    with pytest.raises(UnsupportedError) as refused:
        provider.discover_capabilities(DiscoveryKube({"VirtualMachine"}))
    message = str(refused.value)
    assert "KubeVirt is not installed at https://api.example:6443" in message
    assert "VirtualMachineInstance, VirtualMachineInstanceMigration" in message


def test_discovery_without_kubevirt_cr():
    caps, warnings = provider.discover_capabilities(DiscoveryKube(set(ALL_CRDS), ["virtualmachines/start"]))
    # Without a CR the version is unknown: the one warning says so and what the collection assumes.
    assert len(warnings) == 1 and warnings[0].startswith("the KubeVirt version is unknown")
    assert caps["server_version"] == "v1.29.0" and caps["subresources"] == ["virtualmachines/start"]
    assert caps["kubevirt_version"] is None and caps["feature_gates"] == []
