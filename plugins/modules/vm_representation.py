# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ovirt_kubevirt.bridge contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: vm_representation
short_description: Describe a VM as oVirt hands it to KubeVirt
description:
  - Builds the VM representation (scheduling data, dynamic data and configuration) of a VM, and the
    C(kubevirt.io/v1) VirtualMachine it becomes, with the list of concerns (what KubeVirt cannot carry).
  - The VM comes from the oVirt engine (O(vm), with the O(auth) connection), or from a domxml
    (O(domxml) or O(domxml_path)), which needs no connection at all.
  - The oVirt REST API does not expose the engine's domxml. For O(vm) the module reads the VM's configuration
    (disks, NICs, vNIC profiles, graphics, host devices, NUMA, CPU pinning, custom properties) and writes the
    domxml the way the engine's builder does, with the engine's placeholders for host-local values.
  - The domxml parser never resolves entities, loads DTDs or reaches the network, and refuses documents
    over O(max_bytes). Hostile or malformed input fails the task with a message that names the problem.
  - The module only computes; it never changes anything.
version_added: 0.1.0
author:
  - ovirt_kubevirt.bridge contributors (@ovirt-kubevirt)
requirements:
  - python >= 3.10
  - lxml
  - jmespath (for O(query))
  - ovirt-engine-sdk-python >= 4.6.0 (for O(vm))
options:
  vm:
    description:
      - Name or id of the VM in the oVirt engine.
    type: str
  domxml:
    description:
      - The domxml of the VM, as a string. It is kept byte for byte in the representation.
    type: str
  domxml_path:
    description:
      - Path of a file holding the domxml of the VM.
    type: path
  scheduling:
    description:
      - Overrides of the representation's scheduling part, key by key (for example C(host), C(pinned_hosts),
        C(affinity_groups), C(cluster_id)).
    type: dict
  configuration_format:
    description:
      - V(hybrid) keeps the domxml and adds, as JSON, the properties KubeVirt needs.
      - V(json) has all of the configuration as JSON properties, V(xml) only the domxml.
    type: str
    choices: [hybrid, json, xml]
    default: hybrid
  storage_map:
    description:
      - Where each disk's storage goes, keyed by oVirt storage domain name (or disk id).
      - "Each value is a dict: C({pvc_name: '{vm}-{disk_id}'}) for an existing PVC,
        C({storage_class: fast, imageio: {...}}) or C({storage_class: fast, source: {...}}) for a DataVolume,
        or C({host_disk_path: '/var/lib/vms/{vm}/{disk_id}.img'}) for a hostDisk.
        A disk the map does not cover is a critical concern."
    type: dict
    default: {}
  network_map:
    description:
      - Where each NIC goes, keyed by oVirt vNIC profile or network name.
      - Values are V(pod) or C(multus:NAMESPACE/NAME). A NIC the map does not cover is a critical concern.
    type: dict
    default: {}
  host_device_map:
    description:
      - oVirt host device name to the Kubernetes device-plugin resource name that provides it.
    type: dict
  node_map:
    description:
      - oVirt host name to Kubernetes node name, where they differ.
    type: dict
  namespace:
    description:
      - Namespace of the VirtualMachine manifest.
    type: str
  name:
    description:
      - Name of the VirtualMachine. By default the VM's name, mapped deterministically to a Kubernetes name
        (a concern says when it had to change).
    type: str
  run_strategy:
    description:
      - The VirtualMachine's runStrategy. By default V(Always) for highly available VMs, V(Manual) for running
        VMs and V(Halted) for the others.
    type: str
    choices: [Always, Halted, Manual, RerunOnFailure, Once]
  delivery:
    description:
      - V(native) translates the configuration into KubeVirt's domain spec.
      - V(passthrough) also returns a ConfigMap with a hook-sidecar script that hands the oVirt domxml to the node
        as it is, but for its placeholders (needs KubeVirt's C(Sidecar) feature gate).
    type: str
    choices: [native, passthrough]
    default: native
  query:
    description:
      - A JMESPath expression applied to the result (C(representation), C(manifest), C(concerns)); the answer
        is returned as RV(query_result).
    type: str
  max_bytes:
    description:
      - The largest domxml accepted, in bytes.
    type: int
    default: 1048576
  feature_gates:
    description:
      - The KubeVirt feature gates enabled on the cluster the manifest is for, as
        M(ovirt_kubevirt.bridge.kubevirt_provider) reports them in C(capabilities.feature_gates).
      - A part of the manifest that needs a gate not in the list (hostDisk volumes need C(HostDisk), host devices
        C(HostDevices), passthrough delivery's hook sidecar C(Sidecar)) is a C(critical) concern, as virt-api refuses
        it. Omitted, the gates are not known and such a part is a C(warning).
    type: list
    elements: str
notes:
  - Give exactly one of O(vm), O(domxml) and O(domxml_path).
extends_documentation_fragment:
  - ovirt_kubevirt.bridge.connection.ovirt
  - ovirt_kubevirt.bridge.connection.kubernetes
  - ovirt_kubevirt.bridge.module
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.actiongroups
attributes:
  check_mode:
    support: full
    details:
      - The module only computes.
  diff_mode:
    support: N/A
    details:
      - The module only computes.
seealso:
  - module: ovirt_kubevirt.bridge.vm_run
"""

EXAMPLES = r"""
- name: Describe a VM from its domxml, no connection needed
  ovirt_kubevirt.bridge.vm_representation:
    domxml_path: /srv/vms/db-1.xml
    namespace: vms
    storage_map:
      data1: {pvc_name: "{vm}-{disk_id}"}
    network_map:
      ovirtmgmt: pod
  register: db1

- name: Describe a VM read from the oVirt engine (connection from OVIRT_* variables)
  ovirt_kubevirt.bridge.vm_representation:
    vm: web-1
    namespace: vms
    query: "concerns[?category=='critical'].message"
  register: web1

- name: Fail when something critical would be lost
  ansible.builtin.assert:
    that: web1.query_result | length == 0
    fail_msg: "{{ web1.query_result }}"
"""

RETURN = r"""
representation:
  description:
    - The VM representation, with C(schema_version), C(scheduling), C(dynamic) and C(configuration).
    - In the V(xml) and V(hybrid) formats the domxml is at C(configuration.domxml), unchanged.
  returned: success
  type: dict
manifest:
  description: The C(kubevirt.io/v1) VirtualMachine.
  returned: success
  type: dict
concerns:
  description: What could not be carried as it is, each with C(id), C(category) (critical, warning or info) and C(message).
  returned: success
  type: list
  elements: dict
  sample: [{id: ovirt_kubevirt.graphics.spice, category: info, message: "SPICE graphics become VNC"}]
configmap:
  description: The hook ConfigMap for O(delivery=passthrough); null otherwise.
  returned: success
  type: dict
query_result:
  description: The answer of O(query).
  returned: when O(query) is given
  type: raw
"""

from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils._ansible.runner import create_module, run_module
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.clients.ovirt_session import open_ovirt_session
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.clients.session import open_no_session
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.operations import vm_representation

ARGUMENT_SPEC = {
    "vm": {"type": "str"},
    "domxml": {"type": "str"},
    "domxml_path": {"type": "path"},
    "scheduling": {"type": "dict"},
    "configuration_format": {"type": "str", "choices": ["hybrid", "json", "xml"], "default": "hybrid"},
    "storage_map": {"type": "dict", "default": {}},
    "network_map": {"type": "dict", "default": {}},
    "host_device_map": {"type": "dict"},
    "node_map": {"type": "dict"},
    "namespace": {"type": "str"},
    "name": {"type": "str"},
    "run_strategy": {"type": "str", "choices": ["Always", "Halted", "Manual", "RerunOnFailure", "Once"]},
    "delivery": {"type": "str", "choices": ["native", "passthrough"], "default": "native"},
    "query": {"type": "str"},
    "max_bytes": {"type": "int", "default": 1048576},
    "feature_gates": {"type": "list", "elements": "str"},
}


def main() -> None:
    module = create_module(ARGUMENT_SPEC, mutually_exclusive=[("vm", "domxml", "domxml_path")],
                           required_one_of=[("vm", "domxml", "domxml_path")])
    p = module.params
    # A domxml needs no connection; a VM named in oVirt needs the engine only.
    run_module(module, open_ovirt_session if p["vm"] else open_no_session, lambda session: vm_representation.represent(
        session.ovirt if p["vm"] else None, vm=p["vm"], domxml=p["domxml"], domxml_path=p["domxml_path"],
        scheduling=p["scheduling"], configuration_format=p["configuration_format"], max_bytes=p["max_bytes"],
        storage_map=p["storage_map"], network_map=p["network_map"], namespace=p["namespace"], name=p["name"],
        run_strategy=p["run_strategy"], delivery=p["delivery"], host_device_map=p["host_device_map"],
        node_map=p["node_map"], query=p["query"], feature_gates=p["feature_gates"]))


if __name__ == "__main__":
    main()
