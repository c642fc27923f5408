# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ovirt_kubevirt.bridge contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Scheduler throughput: VM x host evaluations per second of schedule_batch, the filter plugin's core.

1000 VMs onto 500 hosts (each placement reserves its capacity for the next),
and 100 onto 50 in the same run: the ratio of their per-pair rates shows
whether the cost per evaluation stays flat as both grow.
"""
from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path
from typing import Any, Dict

from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.domxml.representation import build_representation
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.scheduling import scheduler

SAMPLE = Path(__file__).resolve().parents[1] / "tests" / "data" / "domxml" / "engine_vm_scsi_disk_spice_from_ovf_cluster42.xml"


def _rate(vms: int, hosts: int) -> Dict[str, Any]:
    base = build_representation(SAMPLE.read_bytes())
    request = scheduler.parse_request(base)
    requests = [dataclasses.replace(request, vm_id=f"id-{index}", name=f"vm-{index}", vcpus=1 + index % 4)
                for index in range(vms)]
    # Every host can run every VM (CPU level included), so each evaluation runs all filters and weights.
    inventory = [scheduler.parse_host({"name": f"host-{i:03d}", "cpus": 64, "memory_mib": 262144,
                                       "cpu_model": "Skylake-Client"}) for i in range(hosts)]
    started = time.perf_counter()
    results = scheduler.schedule_batch(inventory, requests)
    elapsed = time.perf_counter() - started
    placed = sum(1 for r in results if r["host"])
    return {"vms": vms, "hosts": hosts, "placed": placed, "seconds": round(elapsed, 3),
            "pairs_per_s": round(vms * hosts / elapsed)}


def run() -> Dict[str, Any]:
    small, large = _rate(100, 50), _rate(1000, 500)
    return {"small": small, "large": large, "large_to_small_rate": round(large["pairs_per_s"] / small["pairs_per_s"], 3)}


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
