# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ovirt_kubevirt.bridge contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: vm_run
short_description: Run VMs the way their cluster's type says
description:
  - Starts each named VM. In a V(legacy) cluster (see M(ovirt_kubevirt.bridge.cluster_type)) the oVirt engine
    starts it, as C(ovirt.ovirt.ovirt_vm) does.
  - In a V(kubevirt) cluster (milestone 1) oVirt-side scheduling (the same core as the
    P(ovirt_kubevirt.bridge.schedule#filter) filter) chooses the host, counting both the VMs oVirt runs there and the
    VMIs KubeVirt runs on the node of the same name. The VM's representation becomes a VirtualMachine in the
    cluster's namespace, named after the VM's Kubernetes-safe name, labelled with its oVirt id and pinned to that
    node with a C(kubernetes.io/hostname) nodeSelector, and it is started.
  - Running VMs are never touched. A VM that runs under oVirt keeps running there until its next start, even in a
    V(kubevirt) cluster, so no VM ever runs twice. A VM whose VMI is active is left as it is.
  - Many VMs in one task are read with a few list calls and written concurrently (O(max_workers)).
  - It does not wait for the VMs to run; M(ovirt_kubevirt.bridge.vm_run_wait) does, with a monitoring timeout.
version_added: 0.1.0
author:
  - ovirt_kubevirt.bridge contributors (@ovirt-kubevirt)
requirements:
  - lxml
options:
  vms:
    description:
      - Names of the oVirt VMs to run.
    type: list
    elements: str
    required: true
  storage_map:
    description:
      - Where the disks of VMs started in KubeVirt go, keyed by oVirt storage domain name; see
        M(ovirt_kubevirt.bridge.vm_representation). A disk the map does not cover stops that VM from starting.
    type: dict
    default: {}
  network_map:
    description:
      - Where the NICs of VMs started in KubeVirt go, keyed by vNIC profile or network name
        (V(pod) or C(multus:NAMESPACE/NAME)).
    type: dict
    default: {}
  node_map:
    description:
      - oVirt host name to Kubernetes node name, where they differ.
    type: dict
    default: {}
  host_device_map:
    description:
      - oVirt host device name (C(pci_0000_05_00_1)) or mdev type to the KubeVirt permitted device name
        (its device-plugin resource), which passes the device through and makes the Kubernetes scheduler count it.
      - A host device the map misses is not passed through; the VM is kept to nodes labelled
        C(host-device.ovirt-kubevirt.io/DEVICE_NAME), and the result names it as a concern.
    type: dict
    default: {}
  policy:
    description:
      - The scheduling weight for VMs started in KubeVirt.
    type: str
    choices: [even_distribution, power_saving, vm_count]
    default: even_distribution
  exclude_hosts:
    description:
      - Per VM name, hosts not to choose, such as the hosts an earlier attempt failed on (the milestone-1 rerun).
    type: dict
    default: {}
  max_workers:
    description:
      - How many Kubernetes writes run at once, and how many engine connections read the VMs to start in
        KubeVirt at once (each extra connection is a login of its own, closed at the end).
    type: int
    default: 8
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
      - Reports what would start and where, and writes nothing.
  diff_mode:
    support: full
seealso:
  - module: ovirt_kubevirt.bridge.vm_run_wait
  - module: ovirt_kubevirt.bridge.cluster_type
"""

EXAMPLES = r"""
- name: Run two VMs; each goes where its cluster's type says
  ovirt_kubevirt.bridge.vm_run:
    vms: [db-1, web-2]
    storage_map:
      data1: {pvc_name: "{vm}-{disk_id}"}
    network_map:
      ovirtmgmt: pod
  register: run

- name: Wait until they run
  ovirt_kubevirt.bridge.vm_run_wait:
    vms: [db-1, web-2]
    timeout: 300
"""

RETURN = r"""
results:
  description: One entry per VM, in the order given.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: The VM's oVirt name.
      type: str
    runtime:
      description: V(kubevirt) when KubeVirt runs (or will run) the VM, V(legacy) when oVirt does.
      type: str
    host:
      description: The host (node) the VM runs or was scheduled on; null when the engine picks it.
      type: str
    changed:
      description: Whether this VM was started.
      type: bool
    action:
      description: V(start) or V(none).
      type: str
    namespace:
      description: The VirtualMachine's namespace (kubevirt runtime only).
      type: str
    kubernetes_name:
      description: The VirtualMachine's name (kubevirt runtime only).
      type: str
    concerns:
      description:
        - Warnings and critical concerns of the translation to KubeVirt for VMs started now (kubevirt runtime only),
          each C({id, category, message}), as M(ovirt_kubevirt.bridge.vm_representation) reports them.
      type: list
      elements: dict
"""

from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils._ansible.args import placement_argument_spec
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils._ansible.runner import create_module, run_module
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.clients.full_session import open_session
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.operations import vm_run

ARGUMENT_SPEC = {
    "vms": {"type": "list", "elements": "str", "required": True},
    **placement_argument_spec(),
    "exclude_hosts": {"type": "dict", "default": {}},
    "max_workers": {"type": "int", "default": 8},
}


def main() -> None:
    module = create_module(ARGUMENT_SPEC)
    p = module.params
    run_module(module, open_session, lambda session: vm_run.run_vms(
        session.ovirt, session.kube, p["vms"], storage_map=p["storage_map"], network_map=p["network_map"],
        policy=p["policy"], node_map=p["node_map"], host_device_map=p["host_device_map"],
        exclude_hosts=p["exclude_hosts"], check_mode=module.check_mode, max_workers=p["max_workers"],
        connect=session.more_ovirt_connections()))


if __name__ == "__main__":
    main()
