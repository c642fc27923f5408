# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ovirt_kubevirt.bridge contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: vm_deploy
short_description: Converge declared VMs, from oVirt templates to running where their cluster says
description:
  - Each declared VM exists in oVirt, created from its template in its cluster with its memory and vCPUs; a down
    VM whose size drifted is updated (a running one is reported, not changed). VMs with O(vms[].state=running)
    are then started as M(ovirt_kubevirt.bridge.vm_run) starts them, by oVirt or in KubeVirt as the cluster's
    type says.
  - One pass reads every VM, cluster and template once; engine writes go over up to O(max_workers) connections
    and KubeVirt writes over as many threads. A converged set of VMs costs reads only, C(changed=false).
  - A VM that fails (an unknown cluster or template, a refused write) is reported with its reason in
    RV(results) and the others still converge; the task then fails listing them.
version_added: 0.1.0
author:
  - ovirt_kubevirt.bridge contributors (@ovirt-kubevirt)
options:
  vms:
    description: The declared VMs.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: The VM's name.
        type: str
        required: true
      cluster:
        description: Its oVirt cluster.
        type: str
        required: true
      template:
        description: The oVirt template it is created from.
        type: str
        default: Blank
      memory_mib:
        description: Memory in MiB.
        type: int
        default: 1024
      cpus:
        description: vCPUs (sockets of one core).
        type: int
        default: 1
      state:
        description: V(present) exists; V(running) exists and runs.
        type: str
        choices: [present, running]
        default: present
      description:
        description: The VM's description, set when it is created.
        type: str
      high_availability:
        description: oVirt high availability (runStrategy Always in KubeVirt), set when it is created.
        type: bool
        default: false
  storage_map:
    description: Where disks of VMs started in KubeVirt go, as for M(ovirt_kubevirt.bridge.vm_run).
    type: dict
    default: {}
  network_map:
    description: Where NICs of VMs started in KubeVirt go, as for M(ovirt_kubevirt.bridge.vm_run).
    type: dict
    default: {}
  node_map:
    description: oVirt host name to Kubernetes node name, where they differ.
    type: dict
  max_workers:
    description: Concurrent API calls, on each side.
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
      - Reports what would be created, updated and started; a VM still to be created is not planned to start.
  diff_mode:
    support: none
seealso:
  - module: ovirt_kubevirt.bridge.vm_run
  - module: ovirt_kubevirt.bridge.vm_run_wait
"""

EXAMPLES = r"""
- name: Two web servers from a template, running where kv-b's type says
  ovirt_kubevirt.bridge.vm_deploy:
    vms:
      - {name: web-10, cluster: kv-b, template: rhel9, memory_mib: 4096, cpus: 2, state: running}
      - {name: web-11, cluster: kv-b, template: rhel9, memory_mib: 4096, cpus: 2, state: running}
    storage_map: {data1: {storage_class: ceph-rbd}}
    network_map: {ovirtmgmt: pod}
"""

RETURN = r"""
results:
  description:
    - One entry per declared VM, C(name), C(action) (V(create), V(update) or V(none)), C(changed), and for VMs to
      run C(runtime), C(host) and C(started); a failed VM has C(failed) and C(msg).
  returned: always
  type: list
  elements: dict
created:
  description: VMs created.
  returned: always
  type: list
  elements: str
updated:
  description: VMs whose size was updated.
  returned: always
  type: list
  elements: str
failed:
  description: VMs that failed.
  returned: always
  type: list
  elements: str
"""

from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils._ansible.runner import create_module, run_module
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.clients.full_session import open_session
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.operations import vm_deploy

ARGUMENT_SPEC = {
    "vms": {"type": "list", "elements": "dict", "required": True, "options": {
        "name": {"type": "str", "required": True},
        "cluster": {"type": "str", "required": True},
        "template": {"type": "str", "default": "Blank"},
        "memory_mib": {"type": "int", "default": 1024},
        "cpus": {"type": "int", "default": 1},
        "state": {"type": "str", "choices": ["present", "running"], "default": "present"},
        "description": {"type": "str"},
        "high_availability": {"type": "bool", "default": False},
    }},
    "storage_map": {"type": "dict", "default": {}},
    "network_map": {"type": "dict", "default": {}},
    "node_map": {"type": "dict"},
    "max_workers": {"type": "int", "default": 4},
}


def main() -> None:
    module = create_module(ARGUMENT_SPEC)
    p = module.params
    run_module(module, open_session, lambda session: vm_deploy.deploy(
        session.ovirt, session.kube, p["vms"], storage_map=p["storage_map"], network_map=p["network_map"],
        node_map=p["node_map"], connect=session.more_ovirt_connections(), max_workers=p["max_workers"],
        check_mode=module.check_mode))


if __name__ == "__main__":
    main()
