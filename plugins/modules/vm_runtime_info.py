# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ovirt_kubevirt.bridge contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: vm_runtime_info
short_description: Record where every running VM of a datacenter runs, and prove an upgrade disturbed none
description:
  - Returns every running VM of the datacenter, under oVirt (status, host, start time) or in KubeVirt (node,
    start time, VMI uid).
  - With O(compare_to), a snapshot taken earlier, also lists each VM that was running then and was stopped,
    restarted (a new start time or VMI) or moved since; O(fail_on_change=true) fails the task naming them.
version_added: 0.1.0
author:
  - ovirt_kubevirt.bridge contributors (@ovirt-kubevirt)
options:
  datacenter:
    description: The oVirt datacenter's name or id.
    type: str
    required: true
  compare_to:
    description: An earlier RV(vms) of this module.
    type: dict
  fail_on_change:
    description: Fail when RV(disturbed) is not empty.
    type: bool
    default: false
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
    support: none
seealso:
  - module: ovirt_kubevirt.bridge.datacenter_upgrade_plan
"""

EXAMPLES = r"""
- name: Before
  ovirt_kubevirt.bridge.vm_runtime_info:
    datacenter: dc1
  register: before

- name: After, failing loudly if a VM was stopped, restarted or moved
  ovirt_kubevirt.bridge.vm_runtime_info:
    datacenter: dc1
    compare_to: "{{ before.vms }}"
    fail_on_change: true
"""

RETURN = r"""
vms:
  description: VM name to C(runtime) (V(ovirt) or V(kubevirt)), C(status), C(host) (host or node), C(start_time) and C(uid).
  returned: success
  type: dict
disturbed:
  description: What changed for VMs of O(compare_to) that were running.
  returned: when O(compare_to) is given
  type: list
  elements: str
"""

from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils._ansible.runner import create_module, run_module
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.clients.full_session import open_session
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.operations import upgrade

ARGUMENT_SPEC = {
    "datacenter": {"type": "str", "required": True},
    "compare_to": {"type": "dict"},
    "fail_on_change": {"type": "bool", "default": False},
}


def main() -> None:
    module = create_module(ARGUMENT_SPEC)
    p = module.params
    run_module(module, open_session, lambda session: upgrade.runtime_info(
        session.ovirt, session.kube, p["datacenter"], p["compare_to"], p["fail_on_change"]))


if __name__ == "__main__":
    main()
