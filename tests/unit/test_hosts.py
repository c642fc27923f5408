# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ovirt_kubevirt.bridge contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The readiness check every milestone role runs before it changes a cluster."""
from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.ovirt_kubevirt.bridge.plugins.filter.hosts import unready_hosts as unready_hosts_filter
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.model.hosts import unready_hosts


def host(name, status="up", node_ready=True):
    return {"name": name, "status": status, "node": name, "node_ready": node_ready, "node_schedulable": True}


CLUSTERS = [
    {"name": "kv-a", "hosts": [host("a1"), host("a2", node_ready=False),
                               host("a3", status="maintenance", node_ready=False)]},
    {"name": "kv-b", "hosts": [host("b1", node_ready=None), host("b2")]},
    {"name": "legacy", "hosts": [host("l1", node_ready=False)]},
]


def test_up_hosts_without_a_ready_node_are_named_and_others_are_not():
    assert unready_hosts(CLUSTERS, ["kv-a", "kv-b"]) == ["a2", "b1"]  # b1: nodes not readable counts too


def test_without_names_every_cluster_is_checked():
    assert unready_hosts(CLUSTERS) == ["a2", "b1", "l1"]
    assert unready_hosts(CLUSTERS, []) == []


def test_the_filter_refuses_what_is_not_cluster_type_info_output():
    assert unready_hosts_filter(CLUSTERS, ["kv-b"]) == ["b1"]
    with pytest.raises(AnsibleFilterError, match="clusters list of cluster_type_info"):
        unready_hosts_filter({"clusters": CLUSTERS})
