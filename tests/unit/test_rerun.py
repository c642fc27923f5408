"""Milestone-2 rerun rules: failure kinds, the attempts annotation, node exclusion."""
from __future__ import annotations

from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.scheduling import rerun


def vmi(phase, node=None, ran=False):
    transitions = [{"phase": "Scheduled"}] + ([{"phase": "Running"}] if ran else [])
    return {"status": {"phase": phase, "nodeName": node, "phaseTransitionTimestamps": transitions}}


def test_classify_tells_the_three_failures_apart():
    assert rerun.classify(vmi("Failed", "n1"), timed_out=False) == rerun.LAUNCH_FAILED
    assert rerun.classify(vmi("Scheduled", "n1"), timed_out=True) == rerun.LAUNCH_FAILED
    assert rerun.classify(vmi("Failed", "n1", ran=True), timed_out=False) == rerun.CRASHED
    assert rerun.classify(vmi("Scheduling"), timed_out=True) == rerun.NOT_SCHEDULED
    assert rerun.classify(None, timed_out=True) == rerun.NOT_SCHEDULED


def test_attempts_round_trip_through_the_annotation():
    record = {"attempts": [{"node": "n1", "reason": "LauncherFailed"}], "outcome": None}
    vm = {"metadata": {"annotations": {rerun.ATTEMPTS_ANNOTATION: rerun.encode_attempts(record)}}}
    assert rerun.read_attempts(vm) == record
    assert rerun.read_attempts({"metadata": {}}) == {"attempts": [], "outcome": None}
    broken = {"metadata": {"annotations": {rerun.ATTEMPTS_ANNOTATION: "{not json"}}}
    assert rerun.read_attempts(broken) == {"attempts": [], "outcome": None}


def test_tried_nodes_in_order_once_each():
    record = {"attempts": [{"node": "n2"}, {"node": None}, {"node": "n1"}, {"node": "n2"}]}
    assert rerun.tried_nodes(record) == ["n2", "n1"]


def test_exclusion_is_anded_into_every_term_and_replaces_an_earlier_one():
    spec = {"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
        {"matchExpressions": [{"key": "rack", "operator": "In", "values": ["r1"]}]},
        {"matchExpressions": [{"key": "kubernetes.io/hostname", "operator": "NotIn", "values": ["old"]}]}]}}}}
    result = rerun.exclude_nodes(spec, ["n2", "n1"])
    terms = result["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
    not_in = {"key": "kubernetes.io/hostname", "operator": "NotIn", "values": ["n1", "n2"]}
    assert terms[0]["matchExpressions"] == [{"key": "rack", "operator": "In", "values": ["r1"]}, not_in]
    assert terms[1]["matchExpressions"] == [not_in]
    assert spec["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"][1][
        "matchExpressions"][0]["values"] == ["old"], "the input was changed"


def test_exclusion_creates_the_affinity_when_there_is_none():
    result = rerun.exclude_nodes({"domain": {}}, ["n1"])
    assert result["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"] == [
        {"matchExpressions": [{"key": "kubernetes.io/hostname", "operator": "NotIn", "values": ["n1"]}]}]
    assert rerun.exclude_nodes({"domain": {}}, []) == {"domain": {}}


def test_a_vm_pinned_to_nodes_that_all_failed_is_rerun_on_them():
    pinned = {"nodeSelector": {"kubernetes.io/hostname": "n1"}}
    assert rerun.pinned_nodes(pinned) == ["n1"]
    assert rerun.nodes_to_exclude(pinned, ["n1"]) == []
    pinned_two = rerun.exclude_nodes({}, [])
    pinned_two["affinity"] = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
        {"matchExpressions": [{"key": "kubernetes.io/hostname", "operator": "In", "values": ["n1", "n2"]}]}]}}}
    assert rerun.nodes_to_exclude(pinned_two, ["n1"]) == ["n1"]
    assert rerun.nodes_to_exclude(pinned_two, ["n1", "n2"]) == []
    assert rerun.nodes_to_exclude({}, ["n1"]) == ["n1"]


def test_the_cluster_restriction_is_anded_into_every_term_and_pinning_is_their_intersection():
    spec = {"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
        {"matchExpressions": [{"key": rerun.HOSTNAME_LABEL, "operator": "In", "values": ["a", "x"]}]}]}}}}
    restricted = rerun.restrict_to_nodes(spec, ["b", "a", "c"])
    terms = restricted["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
    assert terms[0]["matchExpressions"][-1] == {"key": rerun.HOSTNAME_LABEL, "operator": "In", "values": ["a", "b", "c"]}
    assert rerun.pinned_nodes(restricted) == ["a"], "pinned to a or x, and within the cluster a, b, c: only a"
    assert rerun.restrict_to_nodes(restricted, ["a", "b", "c"]) == restricted, "applying it twice changes nothing"
    assert rerun.pinned_nodes(rerun.restrict_to_nodes({}, ["n2", "n1"])) == ["n1", "n2"]
