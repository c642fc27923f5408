# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ovirt_kubevirt.bridge contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The oVirt VM statuses, as the REST API names them, and which of them may have a running VM."""
from __future__ import annotations

STATUSES = (
    "down", "up", "powering_up", "powering_down", "paused", "migrating", "unknown", "not_responding",
    "wait_for_launch", "reboot_in_progress", "saving_state", "restoring_state", "suspended", "image_locked",
)
# ovirt-engine's VMStatus.isNotRunning(): Down, Suspended, ImageLocked and ImageIllegal (which the REST API
# shows as image_locked). Every other status may have a qemu process on a host: unknown and not_responding
# mean the engine lost track of the VM, not that it stopped, so nothing starts such a VM anywhere else.
NOT_RUNNING = frozenset(("down", "suspended", "image_locked"))
MAY_RUN = frozenset(status for status in STATUSES if status not in NOT_RUNNING)
