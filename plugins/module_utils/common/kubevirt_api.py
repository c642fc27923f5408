# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ovirt_kubevirt.bridge contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The KubeVirt API the collection speaks: its group version, subresource path and VMI phases."""
from __future__ import annotations

KUBEVIRT_API = "kubevirt.io/v1"
SUBRESOURCES = "/apis/subresources.kubevirt.io/v1"
# VMI phases of a VM that holds (or is getting) a node, and phases it never leaves.
ACTIVE_PHASES = ("Pending", "Scheduling", "Scheduled", "Running")
FINAL_PHASES = ("Failed", "Succeeded")
