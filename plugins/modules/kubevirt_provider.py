# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ovirt_kubevirt.bridge contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: kubevirt_provider
short_description: Register a KubeVirt provider and record what it can do
description:
  - Registers a KubeVirt provider, a name for the Kubernetes API of a cluster running KubeVirt, in a namespace
    of that cluster.
  - Checks that the API answers, reads the server version, checks that KubeVirt's CRDs are installed
    (C(VirtualMachine), C(VirtualMachineInstance), C(VirtualMachineInstanceMigration) in C(kubevirt.io/v1)), lists the
    subresources virt-api serves, and reads KubeVirt's version and feature gates from the C(KubeVirt) CR when one
    exists. Fails naming the missing CRDs when KubeVirt is not installed.
  - The result is recorded in the ConfigMap C(ovirt-kubevirt-provider-<name>) in O(namespace), labelled
    C(app.kubernetes.io/managed-by=ovirt_kubevirt.bridge) and C(ovirt-kubevirt.io/provider=<name>). It holds the
    API URL, the CA certificate (public data), the capabilities as JSON, the server version and timestamps, and no
    secret. The credentials are always the module's Kubernetes connection options.
  - Other modules of the collection read the record to refuse operations the cluster cannot do.
  - The namespace is created when missing, and never deleted.
  - A rerun with nothing changed writes nothing, and the record's C(updated) timestamp moves only with a change.
version_added: 0.1.0
author:
  - ovirt_kubevirt.bridge contributors (@ovirt-kubevirt)
requirements:
  - python >= 3.10
  - kubernetes >= 29.0.0
options:
  name:
    description:
      - The provider's name, a DNS-1123 label.
    type: str
    required: true
  namespace:
    description:
      - The namespace that holds the provider's record, and the service account when O(create_service_account=true).
      - Created when missing.
    type: str
    required: true
  state:
    description:
      - V(present) registers the provider, or refreshes its capabilities.
      - V(absent) removes the record, and the service account objects this module created unless another provider
        is still registered in the namespace. The namespace is kept.
    type: str
    choices: [present, absent]
    default: present
  create_service_account:
    description:
      - Also create the ServiceAccount C(ovirt-kubevirt-bridge) in O(namespace), with a Role and RoleBinding allowing
        only what the collection needs there (KubeVirt VMs, VMIs and migrations, their start, stop, restart, migrate,
        pause, unpause, soft reboot and volume subresources, ConfigMaps, reading Events), and a ClusterRole and
        ClusterRoleBinding C(ovirt-kubevirt-bridge-<namespace>) allowing only to read nodes.
      - Returns a token for it in RV(service_account). Requesting a token is not a change of state, so a rerun with
        the objects in place reports no change. No token is requested in check mode.
    type: bool
    default: false
  token_duration:
    description:
      - Validity of the service account token, in seconds (the TokenRequest API needs at least 600; the API server
        may shorten it).
    type: int
    default: 3600
extends_documentation_fragment:
  - ovirt_kubevirt.bridge.connection.ovirt
  - ovirt_kubevirt.bridge.connection.kubernetes
  - ovirt_kubevirt.bridge.module
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.actiongroups
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
    details:
      - The diff shows the record's data before and after.
notes:
  - The oVirt O(auth) options are accepted, so that C(module_defaults) for the action group can set them, and unused.
  - Set C(no_log=true) on a task with O(create_service_account=true), as the returned token is a credential.
"""

EXAMPLES = r"""
- name: Register the KubeVirt cluster as provider kv1
  ovirt_kubevirt.bridge.kubevirt_provider:
    name: kv1
    namespace: vms
  register: kv1

- name: Refuse to go on without live migration
  ansible.builtin.assert:
    that: kv1.capabilities.operations.migrate

- name: Register it with a service account for the collection, and keep its token out of the logs
  ovirt_kubevirt.bridge.kubevirt_provider:
    name: kv1
    namespace: vms
    create_service_account: true
    token_duration: 7200
  no_log: true
  register: kv1_sa

- name: Unregister the provider
  ovirt_kubevirt.bridge.kubevirt_provider:
    name: kv1
    namespace: vms
    state: absent
"""

RETURN = r"""
capabilities:
  description: What the Kubernetes cluster and its KubeVirt can do.
  returned: when O(state=present)
  type: dict
  contains:
    server_version:
      description: The Kubernetes API server version (C(gitVersion) of C(/version)).
      type: str
      sample: v1.30.2
    kubevirt_version:
      description: KubeVirt's version from the C(KubeVirt) CR, null when no CR is readable.
      type: str
      sample: v1.8.4
    version:
      description:
        - The same as RV(capabilities.kubevirt_version). The collection supports KubeVirt v1.6 to v1.9 and warns
          outside them, or when the version is unknown.
      type: str
      sample: v1.8.4
    vm_rollout_strategy:
      description:
        - How KubeVirt rolls out changes to running VMs, V(LiveUpdate) or V(Stage) (the C(KubeVirt) CR's
          C(vmRolloutStrategy), or its default for the version, LiveUpdate from v1.6); null when no CR is readable.
      type: str
      sample: LiveUpdate
    workload_update_methods:
      description: The C(KubeVirt) CR's C(workloadUpdateStrategy.workloadUpdateMethods), such as V(LiveMigrate).
      type: list
      elements: str
      sample: [LiveMigrate]
    crds:
      description: Whether each KubeVirt kind is served in C(kubevirt.io/v1).
      type: dict
      sample: {VirtualMachine: true, VirtualMachineInstance: true, VirtualMachineInstanceMigration: true}
    subresources:
      description: The resources served under C(subresources.kubevirt.io/v1).
      type: list
      elements: str
      sample: [virtualmachines/start, virtualmachines/stop, virtualmachineinstances/pause]
    operations:
      description:
        - Whether each operation is available. C(hibernate) (suspend to disk) has no KubeVirt counterpart and is
          false unless a subresource for it is served.
      type: dict
      sample: {start: true, stop: true, restart: true, migrate: true, pause: true, unpause: true, softreboot: true,
               addvolume: true, removevolume: true, hibernate: false}
    feature_gates:
      description: The feature gates enabled in the C(KubeVirt) CR; empty when no CR is readable.
      type: list
      elements: str
      sample: [HotplugVolumes]
provider:
  description: The provider as recorded (what would be recorded, in check mode); empty after O(state=absent).
  returned: always
  type: dict
  contains:
    name:
      description: The provider's name.
      type: str
      sample: kv1
    namespace:
      description: The namespace of the record.
      type: str
      sample: vms
    api_url:
      description: The Kubernetes API URL.
      type: str
      sample: https://api.kv.example.com:6443
    ca_cert:
      description: PEM text of the CA that signs the API server's certificate, null when the system trust store is used.
      type: str
    server_version:
      description: The Kubernetes API server version.
      type: str
      sample: v1.30.2
    capabilities:
      description: As RV(capabilities).
      type: dict
    created:
      description: When the record was created (UTC, ISO 8601).
      type: str
      sample: "2026-01-05T10:00:00Z"
    updated:
      description: When the record last changed (UTC, ISO 8601).
      type: str
      sample: "2026-01-05T10:00:00Z"
service_account:
  description:
    - The collection's service account and a fresh token for it.
    - The token is a credential. Set C(no_log=true) on the task.
  returned: when O(create_service_account=true) and O(state=present), not in check mode
  type: dict
  contains:
    name:
      description: The ServiceAccount's name.
      type: str
      sample: ovirt-kubevirt-bridge
    namespace:
      description: The ServiceAccount's namespace.
      type: str
      sample: vms
    token:
      description: A bearer token for the ServiceAccount, from the TokenRequest API (sensitive).
      type: str
    expiration_timestamp:
      description: When the token expires.
      type: str
      sample: "2026-01-05T11:00:00Z"
changes:
  description: What was (or, in check mode, would be) created, updated or deleted.
  returned: always
  type: list
  elements: str
  sample: ["Namespace vms: created", "ConfigMap ovirt-kubevirt-provider-kv1: created"]
"""

from typing import Any, Dict

from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils._ansible.runner import create_module, run_module
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.clients.kube_session import open_kube_session
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.clients.session import Session
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.records import provider


def main() -> None:
    module = create_module(
        {
            "name": {"type": "str", "required": True},
            "namespace": {"type": "str", "required": True},
            "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
            "create_service_account": {"type": "bool", "default": False},
            "token_duration": {"type": "int", "default": 3600, "no_log": False},
        },
    )
    p = module.params

    def operation(session: Session) -> Dict[str, Any]:
        if p["state"] == "absent":
            return provider.remove_provider(session.kube, p["name"], p["namespace"], check_mode=module.check_mode)
        return provider.ensure_provider(session.kube, p["name"], p["namespace"],
                                        create_service_account=p["create_service_account"],
                                        token_duration=p["token_duration"], check_mode=module.check_mode)

    run_module(module, open_kube_session, operation)


if __name__ == "__main__":
    main()
