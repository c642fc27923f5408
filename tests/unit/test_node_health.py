"""The pure parts of node_health: window filtering, threshold, taint merge, annotation JSON."""
from __future__ import annotations

import datetime
import json

import pytest

from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.records import node_health as nh

NOW = datetime.datetime(2026, 1, 5, 10, 0, 0, tzinfo=datetime.timezone.utc)


def ago(seconds):
    return nh.format_time(NOW - datetime.timedelta(seconds=seconds))


def failure(seconds_ago, vm="vm-1", reason="boom"):
    return {"time": ago(seconds_ago), "vm": vm, "reason": reason}


class FakeKube:
    """A Node store with KubeService.get/update semantics (no conflicts)."""

    def __init__(self, node):
        self.node = node
        self.writes = 0

    def get(self, api_version, kind, name, namespace=None):
        assert (api_version, kind, namespace) == ("v1", "Node", None)
        return json.loads(json.dumps(self.node)) if name == self.node["metadata"]["name"] else None

    def update(self, api_version, kind, name, namespace, mutate):
        current = self.get(api_version, kind, name, namespace)
        desired = mutate(current)
        if desired is None:
            return self.get(api_version, kind, name, namespace), False
        self.writes += 1
        self.node = desired
        return desired, True


class NoOvirt:
    """An engine without the host: the oVirt side reports found=false and writes nothing."""

    def host(self, name):
        raise nh.NotFoundError(name)


def node(name="n1", taints=None, annotations=None):
    return {"metadata": {"name": name, "annotations": annotations or {}}, "spec": {"taints": taints or []}}


def test_format_and_parse_time_round_trip_in_utc():
    local = datetime.datetime(2026, 1, 5, 12, 0, 0, tzinfo=datetime.timezone(datetime.timedelta(hours=2)))
    assert nh.format_time(local) == "2026-01-05T10:00:00Z"
    assert nh.parse_time("2026-01-05T10:00:00Z") == NOW
    assert nh.parse_time("yesterday") is None and nh.parse_time(None) is None


def test_window_keeps_only_failures_inside_it_oldest_first():
    failures = [failure(10, "b"), failure(1801, "old"), failure(1799, "a"), failure(5000, "older")]
    kept = nh.within_window(failures, NOW, 1800)
    assert [f["vm"] for f in kept] == ["a", "b"]


def test_add_failure_prunes_to_window_and_caps_entries():
    failures = [failure(3000, "expired")] + [failure(100 + i, f"vm-{i}") for i in range(60)]
    result = nh.add_failure(failures, "new", "x" * 5000, NOW, 1800)
    assert len(result) == nh.MAX_ENTRIES
    assert result[-1]["vm"] == "new" and result[-1]["time"] == nh.format_time(NOW)
    assert len(result[-1]["reason"]) == nh.MAX_REASON
    assert all(f["vm"] != "expired" for f in result)


def test_annotation_json_round_trips_and_bad_input_is_empty():
    failures = [failure(1), failure(2, "vm-2", "no space")]
    assert nh.parse_failures(nh.dump_failures(failures)) == failures
    assert nh.parse_failures("not json") == []
    assert nh.parse_failures('{"a": 1}') == []
    assert nh.parse_failures('[{"vm": "x"}, {"time": "bad"}, 3]') == []
    assert nh.parse_failures(None) == []


def test_taint_merge_keeps_other_taints_and_is_idempotent():
    other = {"key": "dedicated", "value": "db", "effect": "NoSchedule"}
    once = nh.with_taint([other])
    assert other in once and nh.TAINT in once and len(once) == 2
    assert nh.with_taint(once) == once
    assert nh.without_taint(once) == [other]
    assert nh.has_taint(once) and not nh.has_taint([other]) and not nh.has_taint(None)


def test_clear_node_removes_only_ours_and_is_none_when_clean():
    annotations = {nh.REASON_ANNOTATION: "r", nh.SINCE_ANNOTATION: ago(0), nh.FAILURES_ANNOTATION: "[]", "keep": "1"}
    other = {"key": "dedicated", "effect": "NoSchedule"}
    cleared = nh.clear_node(node(taints=[other, dict(nh.TAINT)], annotations=annotations))
    assert cleared["metadata"]["annotations"] == {"keep": "1"}
    assert cleared["spec"]["taints"] == [other]
    assert nh.clear_node(node(taints=[other], annotations={"keep": "1"})) is None


def test_threshold_makes_the_node_non_operational_on_the_third_failure():
    kube = FakeKube(node(taints=[{"key": "dedicated", "effect": "NoSchedule"}]))
    states = []
    for i in range(3):
        result = nh.record_launch_failure(kube, NoOvirt(), "n1", f"vm-{i}", f"reason {i}",
                                          now=NOW + datetime.timedelta(seconds=i))
        states.append(result["state"])
    assert states == ["operational", "operational", "non_operational"]
    assert result["reason"] == "3 launch failures within 1800 s: reason 2"
    assert result["since"] == nh.format_time(NOW + datetime.timedelta(seconds=2))
    assert result["ovirt"] == {"host": "n1", "found": False, "maintenance": False}
    assert len(kube.node["spec"]["taints"]) == 2 and nh.is_non_operational(kube.node)
    recorded = json.loads(kube.node["metadata"]["annotations"][nh.FAILURES_ANNOTATION])
    assert [f["vm"] for f in recorded] == ["vm-0", "vm-1", "vm-2"]


def test_failures_outside_the_window_do_not_count():
    old = [failure(4000), failure(3000)]
    kube = FakeKube(node(annotations={nh.FAILURES_ANNOTATION: nh.dump_failures(old)}))
    result = nh.record_launch_failure(kube, NoOvirt(), "n1", "vm", "boom", now=NOW)
    assert result["state"] == "operational" and len(result["failures"]) == 1


def test_a_later_failure_keeps_since_and_reason():
    kube = FakeKube(node())
    for i in range(4):
        result = nh.record_launch_failure(kube, NoOvirt(), "n1", "vm", f"r{i}", now=NOW + datetime.timedelta(minutes=i))
    assert result["since"] == nh.format_time(NOW + datetime.timedelta(minutes=2))
    assert result["reason"].endswith(": r2") and len(result["failures"]) == 4


def test_check_mode_records_nothing():
    kube = FakeKube(node())
    result = nh.record_launch_failure(kube, NoOvirt(), "n1", "vm", "boom", now=NOW, check_mode=True)
    assert result["changed"] is True and len(result["failures"]) == 1 and kube.writes == 0


def test_expiry_only_for_nodes_whose_recorded_failures_all_left_the_window():
    tainted = [dict(nh.TAINT)]
    assert nh.expired(node(taints=tainted, annotations={nh.FAILURES_ANNOTATION: nh.dump_failures([failure(2000)])}),
                      NOW, 1800)
    assert not nh.expired(node(taints=tainted, annotations={nh.FAILURES_ANNOTATION: nh.dump_failures([failure(10)])}),
                          NOW, 1800)
    assert not nh.expired(node(taints=tainted), NOW, 1800)  # taken out by hand
    assert not nh.expired(node(annotations={nh.FAILURES_ANNOTATION: nh.dump_failures([failure(2000)])}), NOW, 1800)


@pytest.mark.parametrize("node_map, expected", [(None, "n1"), ({"host-1": "n1", "host-2": "n2"}, "host-1"),
                                                ({"host-2": "n2"}, "n1")])
def test_node_map_names_the_ovirt_host(node_map, expected):
    assert nh.host_name_for("n1", node_map) == expected
