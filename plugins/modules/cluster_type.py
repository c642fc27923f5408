# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ovirt_kubevirt.bridge contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: cluster_type
short_description: Set whether an oVirt cluster runs its VMs through oVirt or KubeVirt
description:
  - Sets the type of an oVirt cluster. A V(legacy) cluster works as before. The VMs of a V(kubevirt) cluster run
    through the Kubernetes API of a KubeVirt provider registered with M(ovirt_kubevirt.bridge.kubevirt_provider),
    at a milestone level of 1, 2 or 3.
  - The oVirt API has no field for this, so the type is recorded on the Kubernetes side, in the ConfigMap
    C(ovirt-cluster-<cluster id>) in the provider's namespace, labelled
    C(app.kubernetes.io/managed-by=ovirt_kubevirt.bridge), C(ovirt-kubevirt.io/registry=cluster-type) and
    C(ovirt-kubevirt.io/cluster-id=<cluster id>). Its data (engine_url, cluster_id, cluster_name, type, provider,
    namespace, milestone, revision, created, updated) is readable with kubectl and holds no secret.
    Concurrent writers are safe, as writes are guarded by the ConfigMap's resourceVersion and re-planned on a conflict.
  - Every real change increments the record's revision and posts an oVirt event tied to the cluster (origin
    C(ovirt_kubevirt)). The record is written first, the event second, and every run makes sure the event of the
    current revision exists, so a run interrupted between the two is completed by the next one.
  - Running VMs are never stopped or touched. In a V(kubevirt) cluster the VMs running under oVirt keep running
    there until their next start.
  - A cluster without a record has never been switched and is V(legacy). Switching back to V(legacy) keeps the
    record, with type V(legacy) and a new revision.
  - Switching a V(kubevirt) cluster to V(legacy), or to another provider or namespace, is refused while
    VirtualMachineInstances labelled C(ovirt-kubevirt.io/cluster-id=<cluster id>) run in its namespace, unless
    O(wait=true).
version_added: 0.1.0
author:
  - ovirt_kubevirt.bridge contributors (@ovirt-kubevirt)
options:
  cluster:
    description:
      - The oVirt cluster's name or id.
      - Exactly one of O(cluster) and O(clusters) is required.
    type: str
  clusters:
    description:
      - Several oVirt clusters (names or ids) given the same type, provider, namespace and milestone in one task.
      - Each is set as with O(cluster), one after another; a cluster that fails is named with its reason in the
        task's failure, and the others are set all the same.
      - Exactly one of O(cluster) and O(clusters) is required.
    type: list
    elements: str
  type:
    description:
      - The cluster's type.
    type: str
    required: true
    choices: [legacy, kubevirt]
  provider:
    description:
      - The KubeVirt provider, registered in O(namespace). Required when O(type=kubevirt).
    type: str
  namespace:
    description:
      - The provider's namespace, where the cluster's record and VMs live. Required when O(type=kubevirt).
      - With O(type=legacy) the record is searched in all namespaces; O(namespace) is searched when the
        credentials may not list ConfigMaps in all namespaces.
    type: str
  milestone:
    description:
      - The milestone level of a V(kubevirt) cluster. Ignored for V(legacy).
    type: int
    choices: [1, 2, 3]
    default: 1
  wait:
    description:
      - When VirtualMachineInstances of the cluster still run in KubeVirt and the cluster is to leave its provider or
        namespace, wait (with a Kubernetes watch) until they are gone instead of failing.
      - Check mode does not wait.
    type: bool
    default: false
  wait_timeout:
    description:
      - How long to wait with O(wait=true), in seconds.
    type: int
    default: 300
extends_documentation_fragment:
  - ovirt_kubevirt.bridge.connection.ovirt
  - ovirt_kubevirt.bridge.connection.kubernetes
  - ovirt_kubevirt.bridge.module
  - ovirt_kubevirt.bridge.module.both_apis
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.actiongroups
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
    details:
      - The diff shows the record's data before and after.
seealso:
  - module: ovirt_kubevirt.bridge.kubevirt_provider
  - module: ovirt_kubevirt.bridge.cluster_type_info
"""

EXAMPLES = r"""
- name: Run the VMs of cluster kv-b through KubeVirt provider kv1
  ovirt_kubevirt.bridge.cluster_type:
    cluster: kv-b
    type: kubevirt
    provider: kv1
    namespace: vms
    milestone: 1

- name: Three clusters to milestone 2 in one task
  ovirt_kubevirt.bridge.cluster_type:
    clusters: [kv-a, kv-b, kv-c]
    type: kubevirt
    provider: kv1
    namespace: vms
    milestone: 2

- name: Back to oVirt, once the VMs running in KubeVirt are stopped or moved
  ovirt_kubevirt.bridge.cluster_type:
    cluster: kv-b
    type: legacy
    wait: true
    wait_timeout: 600
"""

RETURN = r"""
cluster:
  description: The cluster's record (what it would be, in check mode).
  returned: success, with O(cluster)
  type: dict
  contains:
    name:
      description: The cluster's name in oVirt.
      type: str
      sample: kv-b
    id:
      description: The cluster's id in oVirt.
      type: str
      sample: b4136a84-e975-55ea-abd9-d799f5911168
    type:
      description: V(legacy) or V(kubevirt).
      type: str
      sample: kubevirt
    provider:
      description: The KubeVirt provider; null for a V(legacy) cluster.
      type: str
      sample: kv1
    namespace:
      description: The namespace of the cluster's record (and, for V(kubevirt), of its VMs); null without a record.
      type: str
      sample: vms
    milestone:
      description: The milestone level; null for a V(legacy) cluster.
      type: int
      sample: 1
    revision:
      description: Incremented on every real change; 0 for a cluster that was never switched.
      type: int
      sample: 1
    engine_url:
      description: The oVirt engine API URL.
      type: str
      sample: https://engine.example.com/ovirt-engine/api
    created:
      description: When the record was created (UTC, ISO 8601); null without a record.
      type: str
      sample: "2026-01-05T10:00:00Z"
    updated:
      description: When the record last changed (UTC, ISO 8601); null without a record.
      type: str
      sample: "2026-01-05T10:00:00Z"
event:
  description: The oVirt event auditing the current revision; null for a cluster that was never switched.
  returned: success, with O(cluster)
  type: dict
  contains:
    custom_id:
      description: The event's custom id (origin C(ovirt_kubevirt)).
      type: int
      sample: 1187654321
    posted:
      description: Whether this run posted it (or would, in check mode).
      type: bool
      sample: true
results:
  description: With O(clusters), one entry per cluster, in the order given.
  returned: with O(clusters)
  type: list
  elements: dict
  contains:
    name:
      description: The cluster as O(clusters) names it.
      type: str
      sample: kv-a
    changed:
      description: Whether this cluster's record or event changed (or would, in check mode).
      type: bool
      sample: true
    cluster:
      description: The cluster's record, as RV(cluster) describes it.
      type: dict
    event:
      description: The oVirt event auditing the current revision, as RV(event) describes it.
      type: dict
"""

from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils._ansible.runner import create_module, run_module
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.clients.full_session import open_session
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.records import registry


def main() -> None:
    module = create_module(
        {
            "cluster": {"type": "str"},
            "clusters": {"type": "list", "elements": "str"},
            "type": {"type": "str", "required": True, "choices": ["legacy", "kubevirt"]},
            "provider": {"type": "str"},
            "namespace": {"type": "str"},
            "milestone": {"type": "int", "choices": [1, 2, 3], "default": 1},
            "wait": {"type": "bool", "default": False},
            "wait_timeout": {"type": "int", "default": 300},
        },
        required_if=[("type", "kubevirt", ("provider", "namespace"))],
        mutually_exclusive=[("cluster", "clusters")],
        required_one_of=[("cluster", "clusters")],
    )
    p = module.params
    run_module(module, open_session, lambda session: registry.set_cluster_types(
        session.ovirt, session.kube, p["clusters"] or [p["cluster"]], single=p["clusters"] is None,
        engine_url=p["auth"]["url"], cluster_type=p["type"], provider=p["provider"], namespace=p["namespace"],
        milestone=p["milestone"], wait=p["wait"], wait_timeout=p["wait_timeout"], check_mode=module.check_mode))


if __name__ == "__main__":
    main()
