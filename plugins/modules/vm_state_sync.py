# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ovirt_kubevirt.bridge contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: vm_state_sync
short_description: Report the runtime state of KubeVirt-run VMs to oVirt
description:
  - For every VM of a V(kubevirt) cluster that has a VirtualMachine in KubeVirt, reads its VMI and fills the
    representation's C(dynamic) part, status mapped onto oVirt's VM statuses, C(run_on_vds) (the oVirt host
    id of the node), console IP and guest IPs, guest OS, start time and migration state.
  - "The status mapping, first match wins: VMI phase Unknown is C(unknown); a VMI being deleted is
    C(reboot_in_progress) when the VirtualMachine asks to start again (a restart), else C(powering_down);
    no VMI, or a VMI Succeeded or Failed, is C(down); Pending or Scheduling is C(wait_for_launch); Scheduled
    is C(powering_up); Running with the Paused condition is C(paused); Running with a migration in progress
    is C(migrating); Running with the Ready condition False is C(not_responding); Running is C(up)."
  - Each real change of status, host, console IP or migration since the last report becomes one oVirt event,
    origin C(ovirt_kubevirt), tied to the VM, its cluster and host. What oVirt was last told is kept in the
    VirtualMachine's C(ovirt-kubevirt.io/reported-state) annotation with a report number, and each event's
    custom id derives from the VM, that number and the change, so a replay (a rerun, an overlapping scheduled
    job, a sync stopped between posting and recording) posts nothing twice.
  - The engine's own VM status is not changed; an API client cannot set it. The events and this module's
    results are where oVirt users see KubeVirt's state.
  - Runs once (from a playbook or a scheduled AWX job template), or with O(follow=true) keeps one watch per
    namespace open for O(duration) seconds and reports changes as they happen. Memory holds one state per VM
    and at most O(max_changes) recent changes, whatever the duration; the watch resumes after a dropped
    connection or 410 Gone.
version_added: 0.1.0
author:
  - ovirt_kubevirt.bridge contributors (@ovirt-kubevirt)
options:
  vms:
    description:
      - oVirt VM names to sync. Default, every VM of the selected clusters.
    type: list
    elements: str
  clusters:
    description:
      - oVirt cluster names (or ids) to sync. Default, every V(kubevirt) cluster. A legacy cluster named here
        gives a warning; oVirt owns its VMs' state.
    type: list
    elements: str
  follow:
    description:
      - Keep watching for O(duration) seconds and report each change as it happens.
    type: bool
    default: false
  duration:
    description:
      - How long O(follow=true) watches, in seconds.
    type: int
    default: 300
  max_changes:
    description:
      - How many recent changes RV(changes) keeps (older ones are only counted), which bounds memory in
        O(follow) mode.
    type: int
    default: 1000
  node_map:
    description:
      - oVirt host names mapped to Kubernetes node names, for hosts whose node has another name.
    type: dict
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
      - Computes the changes and counts the events it would post; posts and records nothing.
  diff_mode:
    support: none
seealso:
  - module: ovirt_kubevirt.bridge.vm_operation
  - module: ovirt_kubevirt.bridge.cluster_type
"""

EXAMPLES = r"""
- name: Report every KubeVirt-run VM's state once (for a scheduled AWX job template)
  ovirt_kubevirt.bridge.vm_state_sync:
  register: sync

- name: Follow the VMs of one cluster for ten minutes
  ovirt_kubevirt.bridge.vm_state_sync:
    clusters: [kv-b]
    follow: true
    duration: 600
"""

RETURN = r"""
vms:
  description: One entry per selected VM.
  returned: success
  type: list
  elements: dict
  contains:
    name:
      description: The oVirt VM name.
      type: str
    id:
      description: The oVirt VM id.
      type: str
    namespace:
      description: The namespace of its VirtualMachine.
      type: str
    kubernetes_name:
      description: The VirtualMachine's name.
      type: str
    in_kubevirt:
      description: Whether KubeVirt has a VirtualMachine for it (false, the VM has not run in KubeVirt yet).
      type: bool
    dynamic:
      description:
        - The representation's dynamic data, C(status), C(status_detail), C(run_on_vds), C(node),
          C(console_ip), C(guest_ips), C(guest_os), C(start_time) and C(migration), valid as the
          representation's C(dynamic) part; null when not in KubeVirt.
      type: dict
    changes:
      description: How many reported facts changed in this run.
      type: int
events_posted:
  description: oVirt events posted (in check mode, that would be posted).
  returned: success
  type: int
changes:
  description: The most recent changes, at most O(max_changes), each C({vm, field, before, after}).
  returned: success
  type: list
  elements: dict
report_lag_seconds:
  description: In O(follow) mode, the median and largest time from a VMI change reaching the module to its events being posted.
  returned: success
  type: dict
seconds:
  description: How long the module ran.
  returned: success
  type: float
"""

from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils._ansible.runner import create_module, run_module
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.clients.full_session import open_session
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.operations import vm_state_sync

ARGUMENT_SPEC = {
    "vms": {"type": "list", "elements": "str"},
    "clusters": {"type": "list", "elements": "str"},
    "follow": {"type": "bool", "default": False},
    "duration": {"type": "int", "default": 300},
    "max_changes": {"type": "int", "default": vm_state_sync.DEFAULT_MAX_CHANGES},
    "node_map": {"type": "dict"},
}


def main() -> None:
    module = create_module(ARGUMENT_SPEC)
    p = module.params
    run_module(module, open_session, lambda session: vm_state_sync.sync_states(
        session.ovirt, session.kube, vms=p["vms"], clusters=p["clusters"], node_map=p["node_map"], follow=p["follow"],
        duration_s=p["duration"], max_changes=p["max_changes"], check_mode=module.check_mode))


if __name__ == "__main__":
    main()
