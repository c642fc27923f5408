"""The upgrade's pure parts: targets, requests, the disturbance check and the Markdown report."""
from __future__ import annotations

import pytest

from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.common.errors import InputError
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.operations import upgrade

RUNNING = {"runtime": "ovirt", "status": "up", "host": "h1", "start_time": "2026-11-24T08:00:00+00:00"}


@pytest.mark.parametrize("value, expected", [("legacy", {"type": "legacy", "milestone": None}),
                                             (2, {"type": "kubevirt", "milestone": 2}),
                                             ("3", {"type": "kubevirt", "milestone": 3})])
def test_targets_are_legacy_or_a_milestone(value, expected):
    assert upgrade._target(value, "c") == expected  # pylint: disable=protected-access


@pytest.mark.parametrize("value", ["kubevirt", 4, 0, "2.5"])
def test_other_targets_are_refused_by_name(value):
    with pytest.raises(InputError, match="cluster c: target"):
        upgrade._target(value, "c")  # pylint: disable=protected-access


def test_requests_follow_kubevirt_defaults():
    manifest = {"spec": {"template": {"spec": {"domain": {"cpu": {"sockets": 2, "cores": 2, "threads": 1},
                                                          "memory": {"guest": "2Gi"}}}}}}
    assert upgrade._vm_requests(manifest) == {"memory": 2 * 2**30, "millicores": 400}  # pylint: disable=protected-access
    manifest["spec"]["template"]["spec"]["domain"]["resources"] = {"requests": {"memory": "512Mi", "cpu": "1500m"}}
    assert upgrade._vm_requests(manifest) == {"memory": 512 * 2**20, "millicores": 1500}  # pylint: disable=protected-access


def test_an_undisturbed_datacenter_has_nothing_to_report():
    assert upgrade.disturbed({"a": RUNNING}, {"a": dict(RUNNING), "b": dict(RUNNING)}) == []


@pytest.mark.parametrize("after, words", [
    ({}, "is not running now"),
    ({"a": dict(RUNNING, host="h2")}, "was moved: host h1 -> h2"),
    ({"a": dict(RUNNING, start_time="2026-11-24T09:00:00+00:00")}, "was restarted"),
    ({"a": dict(RUNNING, runtime="kubevirt")}, "moved between oVirt and KubeVirt"),
])
def test_each_disturbance_is_named(after, words):
    (problem,) = upgrade.disturbed({"a": RUNNING}, after)
    assert problem.startswith("VM a ") and words in problem


def test_the_markdown_report_has_a_row_per_cluster_and_its_blockers():
    plan = {"datacenter": "dc1", "provider": "kv", "namespace": "vms", "ready": False, "blockers": 1, "warnings": 0,
            "clusters": [{"name": "c1", "current": "legacy", "target": "kubevirt milestone 2", "change": "legacy -> kubevirt milestone 2",
                          "vms": [{}], "blockers": ["host h1's node is not Ready"], "warnings": [], "capacity": {}}]}
    text = upgrade.markdown(plan)
    assert "**blocked (1 blocker(s))**" in text and "| c1 | legacy | kubevirt milestone 2 | 1 | 1 | 0 |" in text
    assert "- host h1's node is not Ready" in text
    assert upgrade.summary_lines(plan)[0] == "datacenter dc1: BLOCKED, 1 blocker(s), 0 warning(s)"
