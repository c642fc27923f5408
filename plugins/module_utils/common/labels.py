# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ovirt_kubevirt.bridge contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The label and annotation keys the collection puts on Kubernetes objects, in one place."""
from __future__ import annotations

PREFIX = "ovirt-kubevirt.io/"
VM_ID = PREFIX + "vm-id"
CLUSTER_ID = PREFIX + "cluster-id"
# Every object the collection writes carries MANAGED_BY_LABEL=MANAGED_BY.
MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
MANAGED_BY = "ovirt_kubevirt.bridge"
# Records (ConfigMaps): a provider's, and a cluster type's with its cluster id.
PROVIDER = PREFIX + "provider"
REGISTRY = PREFIX + "registry"
# Annotations the collection keeps its state in.
RUN_ATTEMPTS = PREFIX + "run-attempts"
LAUNCH_FAILURES = PREFIX + "launch-failures"
NON_OPERATIONAL_REASON = PREFIX + "non-operational-reason"
NON_OPERATIONAL_SINCE = PREFIX + "non-operational-since"
OPERATIONS = PREFIX + "operations"
REPORTED_STATE = PREFIX + "reported-state"
# What a VirtualMachine says of the oVirt VM it runs (kubevirt.vm_manifest).
VM_NAME = PREFIX + "vm-name"
DOMXML_SHA256 = PREFIX + "domxml-sha256"
HA_PRIORITY = PREFIX + "ha-priority"
DELIVERY = PREFIX + "delivery"
# oVirt affinity labels, kept as VM labels under this prefix.
AFFINITY_LABEL_PREFIX = "affinity-label.ovirt-kubevirt.io/"
# The node taint of a non-operational node (records.node_health).
NON_OPERATIONAL_TAINT = PREFIX + "non-operational"
# KubeVirt's own annotation for hook sidecars.
HOOK_SIDECARS = "hooks.kubevirt.io/hookSidecars"
# The well-known node label KubeVirt and the collection pin VMs with.
HOSTNAME = "kubernetes.io/hostname"
# Node labels KubeVirt's node-labeller sets; a VM needing a CPU model or feature selects on them.
CPU_MODEL_PREFIX = "cpu-model.node.kubevirt.io/"
CPU_FEATURE_PREFIX = "cpu-feature.node.kubevirt.io/"
# Node label an administrator (or NFD rule) sets on nodes holding an oVirt host device not passed through.
HOST_DEVICE_PREFIX = "host-device.ovirt-kubevirt.io/"
