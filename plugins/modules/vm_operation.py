# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ovirt_kubevirt.bridge contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: vm_operation
short_description: Carry out an oVirt VM operation through KubeVirt
description:
  - Operates a VM of a V(kubevirt) cluster that runs (or ran) in KubeVirt, under oVirt's operation names.
  - Every operation reads the VirtualMachine and its VMI first. A VM already in the target state is
    C(changed=false); a VM the operation cannot start from (not running, not paused) is refused with the
    reason; a 409 from KubeVirt is reported as KubeVirt's refusal. The module then waits, by watch, for the
    outcome, up to O(timeout) seconds.
  - "V(pause) and V(resume): the VMI's pause and unpause subresources. V(shutdown): stop, graceful.
    V(power_off): stop with grace period 0. V(reboot): restart, a new VMI (KubeVirt's soft reboot has no
    outcome the API shows, so it is not used). V(migrate): a VirtualMachineInstanceMigration, to O(target_node)
    when given (an added node selector); a failed migration leaves the VM running on its source and fails
    with KubeVirt's reason. V(cancel_migration): deletes the VM's active migration."
  - "V(hotplug_disk) and V(hotunplug_disk): the VM's addvolume and removevolume subresources, with O(disk).
    V(hotplug_nic) and V(hotunplug_nic): declarative NIC hotplug through the VM spec (KubeVirt 1.1 and later;
    bridge and SR-IOV bindings on a Multus network), with O(nic); an unplugged NIC stays in the spec marked
    C(state: absent), as KubeVirt wants it."
  - V(hibernate) and V(restore) (suspend to disk) exist only where the server offers them
    (C(virtualmachines/hibernate), C(virtualmachines/restore)); KubeVirt itself has no such feature, and the
    module then fails naming the alternatives (V(pause), V(shutdown)) and changes nothing.
  - V(reboot) and a V(migrate) without O(target_node) are not target states. With O(request_id), a request
    already carried out (recorded in the VirtualMachine's C(ovirt-kubevirt.io/operations) annotation) is
    C(changed=false); without it each call reboots or migrates again.
  - Division of ownership, oVirt keeps the static state (templates, host deployment, imports) and the
    runtime state of VMs in legacy clusters. A VM that still runs under oVirt because it started before its
    cluster became V(kubevirt) is refused here, as are legacy clusters' VMs.
version_added: 0.1.0
author:
  - ovirt_kubevirt.bridge contributors (@ovirt-kubevirt)
options:
  vm:
    description:
      - The oVirt VM name.
    type: str
    required: true
  operation:
    description:
      - The operation, with oVirt's name.
    type: str
    required: true
    choices: [hotplug_disk, hotunplug_disk, hotplug_nic, hotunplug_nic, hibernate, restore, pause, resume, migrate,
              cancel_migration, shutdown, reboot, power_off]
  disk:
    description:
      - The disk of V(hotplug_disk) and V(hotunplug_disk).
    type: dict
    suboptions:
      name:
        description: The disk's (and volume's) name in the VM, a DNS-1123 label.
        type: str
        required: true
      claim_name:
        description: The PersistentVolumeClaim to attach (V(hotplug_disk); or O(disk.data_volume)).
        type: str
      data_volume:
        description: The DataVolume to attach (V(hotplug_disk); or O(disk.claim_name)).
        type: str
      bus:
        description: The disk bus, V(scsi) or V(virtio), the buses KubeVirt hotplugs disks on.
        type: str
        default: scsi
  nic:
    description:
      - The NIC of V(hotplug_nic) and V(hotunplug_nic).
    type: dict
    suboptions:
      name:
        description: The interface's name in the VM, a DNS-1123 label.
        type: str
        required: true
      network:
        description: The Multus network attachment definition, C(NAMESPACE/NAME) (V(hotplug_nic)).
        type: str
      binding:
        description: The interface binding.
        type: str
        choices: [bridge, sriov]
        default: bridge
      mac:
        description: The MAC address; KubeVirt picks one when omitted.
        type: str
  target_node:
    description:
      - The node V(migrate) moves the VM to; the Kubernetes scheduler picks one when omitted.
    type: str
  request_id:
    description:
      - An id for this request of V(reboot) or V(migrate); a request with the same id already carried out is
        not repeated.
    type: str
  timeout:
    description:
      - How long to wait for the outcome, in seconds.
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
    details:
      - Decides from the VM's state, then sends the subresource call or write with C(dryRun), so KubeVirt's own
        checks run; nothing changes and nothing is waited for.
  diff_mode:
    support: full
    details:
      - The VM's oVirt status before and after.
seealso:
  - module: ovirt_kubevirt.bridge.vm_state_sync
  - module: ovirt_kubevirt.bridge.vm_run
"""

EXAMPLES = r"""
- name: Migrate a VM to a chosen node
  ovirt_kubevirt.bridge.vm_operation:
    vm: db-1
    operation: migrate
    target_node: node-b2

- name: Hot-plug a disk from a PVC
  ovirt_kubevirt.bridge.vm_operation:
    vm: db-1
    operation: hotplug_disk
    disk:
      name: scratch
      claim_name: db-1-scratch

- name: Reboot once per change ticket, however often the job runs
  ovirt_kubevirt.bridge.vm_operation:
    vm: app-1
    operation: reboot
    request_id: CHG-1042

- name: Power off
  ovirt_kubevirt.bridge.vm_operation:
    vm: batch-1
    operation: power_off
"""

RETURN = r"""
vm:
  description: The oVirt VM name.
  returned: success
  type: str
operation:
  description: The operation.
  returned: success
  type: str
namespace:
  description: The VirtualMachine's namespace.
  returned: success
  type: str
kubernetes_name:
  description: The VirtualMachine's name.
  returned: success
  type: str
status_before:
  description: The VM's oVirt status (mapped as M(ovirt_kubevirt.bridge.vm_state_sync) does) before the operation.
  returned: success
  type: str
status:
  description: The VM's oVirt status after the operation.
  returned: success
  type: str
migration:
  description: The VirtualMachineInstanceMigration created by V(migrate).
  returned: when a migration ran
  type: str
source_node:
  description: The node the VM ran on before V(migrate).
  returned: when a migration ran
  type: str
node:
  description: The node the VM runs on after V(migrate) or V(cancel_migration).
  returned: when a migration ran or was cancelled
  type: str
cancelled:
  description: The migrations V(cancel_migration) deleted.
  returned: when V(cancel_migration) changed something
  type: list
  elements: str
"""

from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils._ansible.runner import create_module, run_module
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.clients.full_session import open_session
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.operations import vm_operation

ARGUMENT_SPEC = {
    "vm": {"type": "str", "required": True},
    "operation": {"type": "str", "required": True, "choices": list(vm_operation.OPERATIONS)},
    "disk": {"type": "dict", "options": {
        "name": {"type": "str", "required": True},
        "claim_name": {"type": "str"},
        "data_volume": {"type": "str"},
        "bus": {"type": "str", "default": "scsi"},
    }},
    "nic": {"type": "dict", "options": {
        "name": {"type": "str", "required": True},
        "network": {"type": "str"},
        "binding": {"type": "str", "choices": ["bridge", "sriov"], "default": "bridge"},
        "mac": {"type": "str"},
    }},
    "target_node": {"type": "str"},
    "request_id": {"type": "str"},
    "timeout": {"type": "int", "default": vm_operation.DEFAULT_TIMEOUT_S},
}


def main() -> None:
    module = create_module(ARGUMENT_SPEC, required_if=[
        ("operation", "hotplug_disk", ("disk",)), ("operation", "hotunplug_disk", ("disk",)),
        ("operation", "hotplug_nic", ("nic",)), ("operation", "hotunplug_nic", ("nic",)),
    ])
    p = module.params
    run_module(module, open_session, lambda session: vm_operation.operate(
        session.ovirt, session.kube, p["vm"], p["operation"],
        params={k: p[k] for k in ("disk", "nic", "target_node", "request_id")}, timeout_s=p["timeout"],
        check_mode=module.check_mode))


if __name__ == "__main__":
    main()
