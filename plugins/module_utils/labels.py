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
