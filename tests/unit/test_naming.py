"""Kubernetes-safe names and event custom ids are deterministic and valid."""
from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.common.naming import (
    event_custom_id,
    is_dns1123_label,
    kubernetes_name,
)


def test_valid_name_is_kept():
    assert kubernetes_name("web-1") == ("web-1", False)


def test_invalid_name_is_mapped_and_reported():
    name, changed = kubernetes_name("Web_Server.01")
    assert changed
    assert name.startswith("web-server-01-")
    assert is_dns1123_label(name)


def test_distinct_names_that_normalise_alike_do_not_collide():
    assert kubernetes_name("DB_1")[0] != kubernetes_name("db.1")[0]


@settings(max_examples=300, deadline=None)
@given(st.text(min_size=1, max_size=300))
def test_any_name_maps_to_a_stable_dns1123_label(name):
    mapped, changed = kubernetes_name(name)
    assert is_dns1123_label(mapped)
    assert kubernetes_name(name) == (mapped, changed)
    assert changed == (mapped != name)


def test_event_custom_id_is_deterministic_positive_int32():
    first = event_custom_id("cluster-id", "type", "kubevirt")
    assert first == event_custom_id("cluster-id", "type", "kubevirt")
    assert first != event_custom_id("cluster-id", "type", "legacy")
    assert 0 < first < 2**31
    # Joining must not make ("a", "bc") and ("ab", "c") equal.
    assert event_custom_id("a", "bc") != event_custom_id("ab", "c")
