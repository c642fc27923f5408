# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ovirt_kubevirt.bridge contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The names KubeVirt devices get from their oVirt counterparts.

The translation (vm_manifest) names the devices; the passthrough hook finds
them in KubeVirt's domain by the same names. The hook script inlines this
module from its ``hook-script: begin`` line, so both always agree.
"""
from __future__ import annotations

# hook-script: begin
DISK_NAME_PREFIX = "disk-"
HOST_DEVICE_NAME_PREFIX = "ovirt-hostdev-"


def kubevirt_disk_name(target: str) -> str:
    """The KubeVirt disk name given to the oVirt disk with guest device ``target``."""
    return DISK_NAME_PREFIX + target


def kubevirt_host_device_name(index: int) -> str:
    """The KubeVirt host device (or GPU) name of the ``index``-th oVirt ``<hostdev>``."""
    return f"{HOST_DEVICE_NAME_PREFIX}{index}"
