# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ovirt_kubevirt.bridge contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: cluster_type_info
short_description: Report the type of oVirt clusters and where their VMs run
description:
  - Lists oVirt clusters with their type (V(legacy) or V(kubevirt), see M(ovirt_kubevirt.bridge.cluster_type)), the
    KubeVirt provider, namespace and milestone of V(kubevirt) clusters, and where their VMs run.
  - A cluster without a record in the registry is V(legacy).
  - Reads only; never changes anything.
version_added: 0.1.0
author:
  - ovirt_kubevirt.bridge contributors (@ovirt-kubevirt)
options:
  cluster:
    description:
      - The name or id of the oVirt cluster to report. All clusters when omitted.
    type: str
  namespace:
    description:
      - Look for records only in this namespace. Clusters whose record is elsewhere are reported as V(legacy).
      - Without it, records are searched in all namespaces, which needs permission to list ConfigMaps cluster-wide.
    type: str
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
    details:
      - The module only reads.
  diff_mode:
    support: N/A
    details:
      - The module only reads.
seealso:
  - module: ovirt_kubevirt.bridge.cluster_type
"""

EXAMPLES = r"""
- name: Report every cluster
  ovirt_kubevirt.bridge.cluster_type_info:
  register: types

- name: Show the clusters that run through KubeVirt
  ansible.builtin.debug:
    msg: "{{ types.clusters | selectattr('type', 'equalto', 'kubevirt') | map(attribute='name') | list }}"

- name: Report one cluster, looking only in its namespace
  ovirt_kubevirt.bridge.cluster_type_info:
    cluster: kv-b
    namespace: vms
"""

RETURN = r"""
clusters:
  description: One entry per oVirt cluster, sorted by name.
  returned: success
  type: list
  elements: dict
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
      description: The namespace of the cluster's record; null without a record.
      type: str
      sample: vms
    milestone:
      description: The milestone level; null for a V(legacy) cluster.
      type: int
      sample: 1
    revision:
      description: The record's revision; 0 for a cluster that was never switched.
      type: int
      sample: 1
    legacy_runtime_vms:
      description:
        - Names of the cluster's VMs running under oVirt (status not down) that have no VirtualMachine in KubeVirt.
        - In a V(kubevirt) cluster they keep running under oVirt until their next start.
      type: list
      elements: str
      sample: [app-1]
    ha_vms:
      description: Names of the cluster's highly-available VMs (oVirt's high availability enabled), running or not.
      type: list
      elements: str
      sample: [db-1]
    kubevirt_vms:
      description: Names of the VirtualMachines in the record's namespace labelled with the cluster's id.
      type: list
      elements: str
      sample: [db-1]
    hosts:
      description:
        - The cluster's oVirt hosts, each with its oVirt C(status) and its Kubernetes node of the same name
          (C(node), null when there is none), whether that node is Ready (C(node_ready); null when nodes cannot
          be read) and schedulable (C(node_schedulable)).
      type: list
      elements: dict
      sample: [{name: node-b1, status: up, node: node-b1, node_ready: true, node_schedulable: true}]
"""

from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils._ansible.runner import create_module, run_module
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.clients.full_session import open_session
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.records import registry


def main() -> None:
    module = create_module({"cluster": {"type": "str"}, "namespace": {"type": "str"}})
    p = module.params
    run_module(module, open_session, lambda session: {"changed": False, "clusters": registry.cluster_types(
        session.ovirt, session.kube, cluster=p["cluster"], namespace=p["namespace"])})


if __name__ == "__main__":
    main()
