# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ovirt_kubevirt.bridge contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: node_health
short_description: Report, clear or set the non-operational state of a KubeVirt node and its oVirt host
description:
  - A node whose VM launches fail C(failure_threshold) times within C(failure_window) seconds (options of
    M(ovirt_kubevirt.bridge.vm_run_wait), which records the failures) becomes non-operational, whichever
    VMs and playbook runs caused the failures. The failures are recorded on the Kubernetes Node, in the annotation
    C(ovirt-kubevirt.io/launch-failures) (a JSON list of C(time), C(vm), C(reason), pruned to the window and to
    the newest 50), through updates guarded by the Node's resourceVersion, so concurrent recorders lose nothing.
    The collection records them when a launch fails; this module reports and changes the resulting state.
  - A non-operational node carries the taint C(ovirt-kubevirt.io/non-operational=true:NoSchedule) (other taints
    are kept) and the annotations C(ovirt-kubevirt.io/non-operational-reason) and
    C(ovirt-kubevirt.io/non-operational-since).
  - An API client cannot set an oVirt host to C(non_operational) (only the engine does), so on the oVirt side
    the host is moved to maintenance with the reason (shown as the host's status detail), its external status
    is set to C(error), and one event of severity C(error), origin C(ovirt_kubevirt), tied to the host, is
    posted. Its custom id derives from the host id and the C(since) time, so a rerun posts nothing twice.
  - The engine refuses maintenance while VMs run on the host. The node then keeps its taint (KubeVirt launches
    nothing more on it), the host stays as it is, and RV(ovirt.refused) gives the engine's message.
  - The oVirt host has the node's name, unless O(node_map) maps another host name to the node.
  - Failures older than O(window) do not count and are not reported. A non-operational node stays so until
    O(state=operational) clears it, unless O(expire=true) is given.
version_added: 0.1.0
author:
  - ovirt_kubevirt.bridge contributors (@ovirt-kubevirt)
options:
  node:
    description:
      - The Kubernetes node's name.
    type: str
    required: true
  state:
    description:
      - V(operational) removes the taint, the two annotations and the recorded failures, activates the oVirt
        host when it is in maintenance and sets its external status back to C(ok).
      - V(non_operational) takes the node out by hand with O(reason), as the threshold would. A node already
        non-operational keeps its reason and since time.
      - Omitted, the module only reports the node's state (see O(expire)).
    type: str
    choices: [operational, non_operational]
  reason:
    description:
      - Why the node is taken out, with O(state=non_operational).
    type: str
  window:
    description:
      - The window in seconds; only failures inside it count and are reported.
    type: int
    default: 1800
  expire:
    description:
      - Without O(state), return a non-operational node to operational (as O(state=operational) does) when its
        recorded failures are all older than O(window). A node taken out by hand with no recorded failures never
        expires.
    type: bool
    default: false
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
  diff_mode:
    support: full
    details:
      - The diff shows the node's state, reason and since time before and after.
seealso:
  - module: ovirt_kubevirt.bridge.vm_run_wait
"""

EXAMPLES = r"""
- name: Report a node's health
  ovirt_kubevirt.bridge.node_health:
    node: node-b2
  register: health

- name: Return the node to service once repaired
  ovirt_kubevirt.bridge.node_health:
    node: node-b2
    state: operational
  when: health.state == 'non_operational'

- name: Take a node out by hand
  ovirt_kubevirt.bridge.node_health:
    node: node-b3
    state: non_operational
    reason: failing DIMM, replacement scheduled

- name: Return nodes whose failures have all expired
  ovirt_kubevirt.bridge.node_health:
    node: "{{ item }}"
    expire: true
    window: 3600
  loop: [node-b1, node-b2, node-b3]
"""

RETURN = r"""
node:
  description: The node's name.
  returned: success
  type: str
  sample: node-b2
state:
  description: V(operational) or V(non_operational) (what it would be, in check mode).
  returned: success
  type: str
  sample: non_operational
failures:
  description: The recorded launch failures inside the window, oldest first.
  returned: success
  type: list
  elements: dict
  contains:
    time:
      description: When the launch failed (UTC, RFC 3339).
      type: str
      sample: "2026-01-05T10:00:00Z"
    vm:
      description: The VM that failed to launch.
      type: str
      sample: batch-1
    reason:
      description: Why it failed.
      type: str
      sample: virt-launcher failed
reason:
  description: Why the node is non-operational; null when operational.
  returned: success
  type: str
  sample: "3 launch failures within 1800 s: virt-launcher failed"
since:
  description: When the node became non-operational (UTC, RFC 3339); null when operational.
  returned: success
  type: str
  sample: "2026-01-05T10:00:00Z"
expired:
  description: Whether O(expire) returned the node to operational in this run.
  returned: success
  type: bool
ovirt_host_status:
  description: The oVirt host's status, status detail and external status (null fields when there is no such host).
  returned: success
  type: dict
  sample: {host: node-b2, status: maintenance, status_detail: "3 launch failures ...", external_status: error}
ovirt:
  description: What was done on the oVirt side, with O(state=non_operational).
  returned: when O(state=non_operational)
  type: dict
  contains:
    host:
      description: The oVirt host's name.
      type: str
    found:
      description: Whether the engine has such a host.
      type: bool
    maintenance:
      description: Whether the host is (or, in check mode, would be) in maintenance.
      type: bool
    refused:
      description: The engine's message when it refused maintenance (VMs still run on the host).
      type: str
      returned: when refused
    event:
      description: The error event's custom id and whether this run posted it.
      type: dict
"""

from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils._ansible.runner import create_module, run_module
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.clients.full_session import open_session
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.records import node_health

ARGUMENT_SPEC = {
    "node": {"type": "str", "required": True},
    "state": {"type": "str", "choices": ["operational", "non_operational"]},
    "reason": {"type": "str"},
    "window": {"type": "int", "default": 1800},
    "expire": {"type": "bool", "default": False},
    "node_map": {"type": "dict"},
}


def main() -> None:
    module = create_module(ARGUMENT_SPEC)
    p = module.params
    run_module(module, open_session, lambda session: node_health.ensure_state(
        session.kube, session.ovirt, p["node"], p["state"], reason=p["reason"], window_s=p["window"],
        expire=p["expire"], node_map=p["node_map"], check_mode=module.check_mode))


if __name__ == "__main__":
    main()
