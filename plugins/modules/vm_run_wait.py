# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ovirt_kubevirt.bridge contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: vm_run_wait
short_description: Wait until VMs run, with a monitoring timeout
description:
  - Waits until every named VM is running. A VM that is not running when O(timeout) passes, or whose
    VirtualMachineInstance failed, is a failed run, and the task fails.
  - VMs that KubeVirt runs are followed with a Kubernetes watch on their VMIs, resumed after a 410 Gone or a
    dropped connection; there is no sleep loop. For each VM that did not run, the result gives the phase it
    reached, the VMI's conditions (or the VirtualMachine's, when no VMI exists) and the Kubernetes events that
    explain it.
  - VMs that oVirt runs (legacy clusters, or legacy-runtime VMs) are followed through the engine, which has no
    watch API; their status is read once a second.
  - In milestone 1 oVirt does the reruns; the P(ovirt_kubevirt.bridge.milestone1#role) role retries a failed VM
    on the next-best host.
  - The module only reads; it reports C(changed=false).
version_added: 0.1.0
author:
  - ovirt_kubevirt.bridge contributors (@ovirt-kubevirt)
requirements:
  - python >= 3.10
  - kubernetes >= 29.0.0
  - ovirt-engine-sdk-python >= 4.6.0
options:
  vms:
    description:
      - Names of the oVirt VMs to wait for.
    type: list
    elements: str
    required: true
  timeout:
    description:
      - The monitoring timeout in seconds, for all the VMs together.
    type: int
    default: 300
extends_documentation_fragment:
  - ovirt_kubevirt.bridge.connection.ovirt
  - ovirt_kubevirt.bridge.connection.kubernetes
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
  platform:
    platforms: all
  action_group:
    support: full
    membership: [ovirt_kubevirt.bridge.all]
seealso:
  - module: ovirt_kubevirt.bridge.vm_run
"""

EXAMPLES = r"""
- name: Wait at most five minutes for the VMs to run
  ovirt_kubevirt.bridge.vm_run_wait:
    vms: [db-1, web-2]
    timeout: 300
  register: waited

- name: Show how long each took
  ansible.builtin.debug:
    msg: "{{ waited.results | items2dict(key_name='name', value_name='seconds_to_running') }}"
"""

RETURN = r"""
results:
  description: One entry per VM, in the order given; also returned when the task fails.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: The VM's oVirt name.
      type: str
    runtime:
      description: V(kubevirt) or V(legacy).
      type: str
    phase:
      description: The VMI phase reached (V(Running) when it runs), or the oVirt status for legacy VMs.
      type: str
    node:
      description: The node (or host) the VM runs or was placed on.
      type: str
    seconds_to_running:
      description:
        - Seconds from the VMI's creation to its Running transition, as the cluster recorded them
          (whole seconds); for legacy VMs, from the start of the wait. Null when it did not run.
      type: float
    conditions:
      description: The VMI's (or VirtualMachine's) conditions, for a VM that did not run.
      type: list
      elements: dict
    events:
      description: The latest Kubernetes events of the VM, for a VM that did not run.
      type: list
      elements: dict
    reason:
      description: Why the VM did not run.
      type: str
waited_seconds:
  description: How long the module waited.
  returned: always
  type: float
"""

from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils import registry, vm_wait_core
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.ansible_args import k8s_params
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.ansible_module import create_module, run_module

ARGUMENT_SPEC = {
    "vms": {"type": "list", "elements": "str", "required": True},
    "timeout": {"type": "int", "default": 300},
}


def main():
    module = create_module(ARGUMENT_SPEC)
    p = module.params

    def core():
        with registry.services(p["auth"], k8s_params(p)) as (ovirt, kube, warnings):
            result = vm_wait_core.wait_vms(ovirt, kube, p["vms"], p["timeout"])
        result["warnings"] = warnings
        return result

    run_module(module, core)


if __name__ == "__main__":
    main()
