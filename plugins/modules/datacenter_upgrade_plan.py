# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ovirt_kubevirt.bridge contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: datacenter_upgrade_plan
short_description: The pre-flight plan of a datacenter upgrade to KubeVirt
description:
  - Reads everything moving clusters of a datacenter to their target type depends on, and changes nothing in
    oVirt or Kubernetes. For each cluster moving to V(kubevirt), every up oVirt host must map to a Ready
    Kubernetes node; the cluster's VMs must fit under KubeVirt's requests (memory requests, and 100m per vCPU
    without an explicit CPU request, KubeVirt's default allocation ratio) on those nodes; every VM is translated
    with the storage and network maps, and a disk or NIC the maps miss blocks while other concerns warn; the
    provider must serve what the target milestone needs (start and stop block; pause, unpause, migrate, restart
    and volume hotplug only warn for milestone 3).
  - A cluster going back to V(legacy) is blocked while VMs of it run in KubeVirt.
  - The plan is returned, summarised in RV(summary), and written as JSON and Markdown under O(report_dir) (a
    report of the controller, written in check mode too).
version_added: 0.1.0
author:
  - ovirt_kubevirt.bridge contributors (@ovirt-kubevirt)
options:
  datacenter:
    description: The oVirt datacenter's name or id.
    type: str
    required: true
  targets:
    description:
      - Cluster name to its target, V(legacy) or a milestone V(1), V(2) or V(3) of type V(kubevirt).
    type: dict
    required: true
  provider:
    description: The registered KubeVirt provider the clusters move to.
    type: str
    required: true
  namespace:
    description: The provider's namespace.
    type: str
    required: true
  storage_map:
    description: Where disks go, as for M(ovirt_kubevirt.bridge.vm_run).
    type: dict
    default: {}
  network_map:
    description: Where NICs go, as for M(ovirt_kubevirt.bridge.vm_run).
    type: dict
    default: {}
  node_map:
    description: oVirt host name to Kubernetes node name, where they differ.
    type: dict
  report_dir:
    description: A directory on the controller for C(upgrade-plan-DATACENTER.json) and C(.md).
    type: path
  max_workers:
    description: Engine connections that read the VMs at once (each extra one is a login of its own).
    type: int
    default: 4
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
      - The plan only reads; the report files are written in check mode too.
  diff_mode:
    support: none
seealso:
  - module: ovirt_kubevirt.bridge.vm_runtime_info
  - module: ovirt_kubevirt.bridge.cluster_type
"""

EXAMPLES = r"""
- name: Plan the upgrade of dc1
  ovirt_kubevirt.bridge.datacenter_upgrade_plan:
    datacenter: dc1
    targets: {kv-b: 2, legacy-a: 1}
    provider: kv1
    namespace: ovirt-vms
    storage_map: {data1: {storage_class: ceph-rbd}}
    network_map: {ovirtmgmt: pod}
    report_dir: /var/tmp/upgrade
  register: plan
"""

RETURN = r"""
plan:
  description:
    - The plan, C(datacenter), C(provider), C(namespace), C(ready), C(blockers) and C(warnings) (counts),
      C(changes) (clusters that change) and C(clusters), each with C(name), C(current), C(target), C(change),
      C(blockers), C(warnings), C(vms) (name, status, runs_under, concerns, requests) and C(capacity).
  returned: success
  type: dict
summary:
  description: The plan in a few readable lines.
  returned: success
  type: list
  elements: str
report_files:
  description: The JSON and Markdown files written under O(report_dir).
  returned: when O(report_dir) is given
  type: list
  elements: str
"""

from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils._ansible.runner import create_module, run_module
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.clients.full_session import open_session
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.operations import upgrade

ARGUMENT_SPEC = {
    "datacenter": {"type": "str", "required": True},
    "targets": {"type": "dict", "required": True},
    "provider": {"type": "str", "required": True},
    "namespace": {"type": "str", "required": True},
    "storage_map": {"type": "dict", "default": {}},
    "network_map": {"type": "dict", "default": {}},
    "node_map": {"type": "dict"},
    "report_dir": {"type": "path"},
    "max_workers": {"type": "int", "default": 4},
}


def main() -> None:
    module = create_module(ARGUMENT_SPEC)
    p = module.params
    run_module(module, open_session, lambda session: upgrade.plan_result(upgrade.preflight(
        session.ovirt, session.kube, datacenter=p["datacenter"], targets=p["targets"], provider_name=p["provider"],
        namespace=p["namespace"], storage_map=p["storage_map"], network_map=p["network_map"], node_map=p["node_map"],
        connect=session.more_ovirt_connections(), max_workers=p["max_workers"]), p["report_dir"]))


if __name__ == "__main__":
    main()
