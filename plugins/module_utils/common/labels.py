# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ovirt_kubevirt.bridge contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The label and annotation keys the collection puts on Kubernetes objects, in one place."""
from __future__ import annotations

PREFIX = "ovirt-kubevirt.io/"
VM_ID = PREFIX + "vm-id"
CLUSTER_ID = PREFIX + "cluster-id"
MANAGED_BY = "app.kubernetes.io/managed-by"
MANAGED_BY_VALUE = "ovirt_kubevirt.bridge"
# The well-known node label KubeVirt and the collection pin VMs with.
HOSTNAME = "kubernetes.io/hostname"
# Node labels KubeVirt's node-labeller sets; a VM needing a CPU model or feature selects on them.
CPU_MODEL_PREFIX = "cpu-model.node.kubevirt.io/"
CPU_FEATURE_PREFIX = "cpu-feature.node.kubevirt.io/"
# Node label an administrator (or NFD rule) sets on nodes holding an oVirt host device not passed through.
HOST_DEVICE_PREFIX = "host-device.ovirt-kubevirt.io/"
