# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ovirt_kubevirt.bridge contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One oVirt status vocabulary: what may run is everything ovirt-engine's VMStatus.isNotRunning() is not."""
from __future__ import annotations

from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.common import ovirt_status


def test_only_down_suspended_and_image_locked_are_not_running():
    assert ovirt_status.NOT_RUNNING == {"down", "suspended", "image_locked"}
    assert ovirt_status.MAY_RUN == set(ovirt_status.STATUSES) - ovirt_status.NOT_RUNNING


def test_a_vm_the_engine_lost_track_of_may_still_run():
    assert {"unknown", "not_responding", "paused", "saving_state", "restoring_state"} <= ovirt_status.MAY_RUN
