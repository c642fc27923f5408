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
  - In a milestone-1 cluster oVirt chooses the host, so the reruns are oVirt's too. Without O(ovirt_rerun) this
    module only reads. With it, a failed VM is run again as M(ovirt_kubevirt.bridge.vm_run) runs it, on the
    next-best host oVirt-side scheduling picks among the hosts not tried yet, up to O(max_attempts) attempts in
    all; a VM that no other host can run fails with the scheduler's reasons. The
    P(ovirt_kubevirt.bridge.milestone1#role) role uses it so.
  - In a milestone-2 (or later) cluster the collection owns the reruns, as KubeVirt itself retries forever on any
    node. A VM that failed (VMI Failed, or not Running within O(timeout)) is rerun with a C(NotIn) node-affinity
    term excluding every node already tried, up to O(max_attempts) attempts in all. Each attempt and its reason
    is kept in the VirtualMachine's C(ovirt-kubevirt.io/run-attempts) annotation, so a later run resumes the count.
    A VM pinned to nodes that all failed is rerun on them, until the budget ends the runs.
  - Failures are told apart, not scheduled (no node fits), scheduled but failed to launch, and launched but crashed.
    A VM that no node fits is not rerun, as excluding more nodes cannot make one fit; its result gives the
    scheduler's reasons.
    Only launch failures count against a node; O(failure_threshold) of them within O(failure_window) make it
    non-operational (see M(ovirt_kubevirt.bridge.node_health)).
version_added: 0.1.0
author:
  - ovirt_kubevirt.bridge contributors (@ovirt-kubevirt)
options:
  vms:
    description:
      - Names of the oVirt VMs to wait for.
    type: list
    elements: str
    required: true
  timeout:
    description:
      - The monitoring timeout in seconds of one attempt, for all the VMs together.
    type: int
    default: 300
  max_attempts:
    description:
      - Attempts in all for a VM that is rerun, the first run included (oVirt's C(MaxRerunVmOnVdsCount) is 3).
    type: int
    default: 3
  ovirt_rerun:
    description:
      - Rerun failed milestone-1 VMs on the next-best host, placing them as M(ovirt_kubevirt.bridge.vm_run) does;
        give the same maps and policy as the vm_run task that started them. Omitted, milestone-1 VMs are not rerun.
      - It has no effect on milestone-2 VMs, which are always rerun, nor on VMs that oVirt runs.
    type: dict
    suboptions:
      storage_map:
        description: Where the disks go, keyed by oVirt storage domain name; see M(ovirt_kubevirt.bridge.vm_run).
        type: dict
        default: {}
      network_map:
        description: Where the NICs go, keyed by vNIC profile or network name; see M(ovirt_kubevirt.bridge.vm_run).
        type: dict
        default: {}
      node_map:
        description: oVirt host name to Kubernetes node name, where they differ.
        type: dict
        default: {}
      host_device_map:
        description: oVirt host device name or mdev type to the KubeVirt permitted device name.
        type: dict
        default: {}
      policy:
        description: The scheduling weight.
        type: str
        choices: [even_distribution, power_saving, vm_count]
        default: even_distribution
  failure_threshold:
    description:
      - Launch failures within O(failure_window) that make a node non-operational.
    type: int
    default: 3
  failure_window:
    description:
      - The window, in seconds, in which launch failures count against a node.
    type: int
    default: 1800
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
      - It waits and reports, but reruns nothing and records no attempt or node failure.
  diff_mode:
    support: N/A
    details:
      - The module only reads.
seealso:
  - module: ovirt_kubevirt.bridge.vm_run
"""

EXAMPLES = r"""
- name: Wait at most five minutes for the VMs to run
  ovirt_kubevirt.bridge.vm_run_wait:
    vms: [db-1, web-2]
    timeout: 300
  register: waited

- name: Wait for milestone-1 VMs, rerunning failures on the next-best host
  ovirt_kubevirt.bridge.vm_run_wait:
    vms: [batch-1]
    timeout: 120
    max_attempts: 3
    ovirt_rerun:
      storage_map: {data1: {pvc_name: "{vm}-{disk_id}"}}
      network_map: {ovirtmgmt: pod}

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
      description: The node (or host) the VM runs or was placed on (for a VMI not scheduled yet, the node its
        hostname nodeSelector names).
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
    failure:
      description: V(not_scheduled), V(launch_failed) or V(crashed), for a VM that did not run.
      type: str
    attempts:
      description: Every attempt of this run cycle, each with C(node) and C(reason) (V(running) for the one that ran).
      type: list
      elements: dict
waited_seconds:
  description: How long the module waited.
  returned: always
  type: float
"""

from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils._ansible.args import placement_argument_spec
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils._ansible.runner import create_module, run_module
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.clients.full_session import open_session
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.operations import vm_run_wait

ARGUMENT_SPEC = {
    "vms": {"type": "list", "elements": "str", "required": True},
    "timeout": {"type": "int", "default": 300},
    "max_attempts": {"type": "int", "default": 3},
    "failure_threshold": {"type": "int", "default": 3},
    "failure_window": {"type": "int", "default": 1800},
    "ovirt_rerun": {"type": "dict", "options": placement_argument_spec()},
}


def main() -> None:
    module = create_module(ARGUMENT_SPEC)
    p = module.params
    ovirt_rerun = vm_run_wait.OvirtRerun(**p["ovirt_rerun"]) if p["ovirt_rerun"] is not None else None
    run_module(module, open_session, lambda session: vm_run_wait.wait_vms(
        session.ovirt, session.kube, p["vms"], p["timeout"], max_attempts=p["max_attempts"],
        health={"threshold": p["failure_threshold"], "window_s": p["failure_window"]}, check_mode=module.check_mode,
        ovirt_rerun=ovirt_rerun))


if __name__ == "__main__":
    main()
