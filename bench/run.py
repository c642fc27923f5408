# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ovirt_kubevirt.bridge contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""make bench: every benchmark, written to bench/results.md.

The representation benchmark runs in its own process because it pins itself
to one CPU, which the lab's processes must not inherit.
"""
from __future__ import annotations

import datetime
import json
import platform
import subprocess
import sys
from pathlib import Path

from bench import deploy, lab, milestone3, rerun, scheduler, upgrade, wait_latency

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results.md"


def representation_figures() -> dict:
    code = "import json, bench.representation as r; print(json.dumps(r.run(1.0)))"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def wait_section(waits: dict) -> list:
    return [
        f"## vm_run_wait reaction latency ({waits['rounds']} VMs, VMI Running to the wait returning)",
        "",
        "| follower | median | / vm_run_wait |",
        "|---|---|---|",
        f"| vm_run_wait (watch) | {waits['vm_run_wait_median_ms']} ms | 1 |",
        f"| 3 s polling loop (kubernetes.core) | {waits['poll_3s_median_ms']} ms | {waits['poll_3s_to_vm_run_wait']} |",
        f"| 5 s polling loop (ovirt.ovirt) | {waits['poll_5s_median_ms']} ms | {waits['poll_5s_to_vm_run_wait']} |",
        "",
    ]


def deploy_section(dep: dict) -> list:
    return [
        "## VM deployment (vm_deploy: created in oVirt from Blank, started in KubeVirt; whole ansible-playbook runs)",
        "",
        "| VMs | one batched task | per VM | rerun, converged | rerun / first | bare-client creates (floor) | batched / floor |",
        "|---|---|---|---|---|---|---|",
        *[f"| {n} | {f['batched_s']} s | {f['batched_per_vm_ms']} ms | {f['rerun_s']} s | {f['rerun_to_first']} | "
          f"{f['floor_s']} s | {f['batched_to_floor']} |" for n, f in dep["sizes"].items()],
        "",
        "| VMs | one vm_deploy call per VM in a `loop` | per VM | batched / loop |",
        "|---|---|---|---|",
        *[f"| {f['vms']} | {f['loop_s']} s | {f['loop_per_vm_ms']} ms | {f['batched_to_loop']} |" for f in dep["loops"]],
        "",
        f"A trivial playbook takes {dep['trivial_playbook_s']} s.",
        "",
    ]


def upgrade_section(up: dict) -> list:
    return [
        f"## Datacenter upgrade ({up['clusters']} clusters, {up['vms']} VMs, {up['running_vms']} running under oVirt; "
        "whole playbook runs)",
        "",
        "| run | seconds | ratio |",
        "|---|---|---|",
        f"| plan only (`--check`) | {up['plan_s']} | {up['plan_per_vm_ms']} ms per VM |",
        f"| upgrade: plan, snapshot, 3 waves each checked | {up['upgrade_s']} | {up['upgrade_to_plan']} of the plan |",
        f"| rerun (resume, nothing changes) | {up['rerun_s']} | {up['rerun_to_upgrade']} of the upgrade |",
        "",
        "No running VM was stopped, restarted or moved (the role fails otherwise).",
        "",
    ]


def main() -> None:
    rep = representation_figures()["all samples"]
    figures = lab.run(300)
    reruns = [rerun.run(4), rerun.run(30)]
    m3 = milestone3.run(100)
    dep = deploy.run()
    sched = scheduler.run()
    waits = wait_latency.run()
    upgraded = upgrade.run()
    lines = [
        "# Benchmark results",
        "",
        f"Measured {datetime.date.today()} on {platform.machine()}, Python {platform.python_version()}, "
        "by `make bench`. Ratios compare figures taken in the same run.",
        "",
        "## VM representation (one core, conversions per second, all samples)",
        "",
        "| stage | per second |",
        "|---|---|",
        f"| domxml to representation | {rep['to_representation']:.0f} |",
        f"| representation to manifest | {rep['to_manifest']:.0f} |",
        f"| representation to manifest, cold | {rep['to_manifest_cold']:.0f} |",
        f"| end to end | {rep['end_to_end']:.0f} |",
        "",
        f"## Lab throughput ({figures['vms']} VirtualMachines, bare DynamicClient, 8 threads)",
        "",
        "| figure | value |",
        "|---|---|",
        f"| warm `labctl up` | {figures['lab_up_seconds']} s |",
        f"| VirtualMachine creates | {figures['create_rate_per_s']} per s |",
        f"| VMs brought to Running | {figures['running_rate_per_s']} per s |",
        f"| create time / time until all Running | {figures['running_to_create_ratio']} |",
        "",
        "## Rerun decision latency (milestone 2, VMI Failed event to the next attempt's VMI created)",
        "",
        "Through ansible-playbook: vm_run, then vm_run_wait with max_attempts 3; the ratio compares the median",
        "with 1.5 s, the mean delay of a 3 s polling loop.",
        "",
        "| VMs failing at once | reruns seen | median | 95th percentile | median / 1.5 s |",
        "|---|---|---|---|---|",
        *[f"| {r['vms']} | {r['reruns']} | {r['median_ms']} ms | {r['p95_ms']} ms | {r['median_to_poll_ratio']} |"
          for r in reruns],
        "",
        f"## Milestone 3: state sync and HA recovery ({m3['vms']} VMs)",
        "",
        "| figure | value |",
        "|---|---|",
        f"| first vm_state_sync (reports every VM: {m3['sync_first_events']} events) | {m3['sync_first_vms_per_s']} VMs per s |",
        f"| the same sync again ({m3['sync_again_events']} events, no write) | {m3['sync_again_vms_per_s']} VMs per s |",
        f"| second sync time / first sync time | {m3['sync_again_to_first_time_ratio']} |",
        f"| follow-mode lag, pause call to oVirt event ({m3['lag_events']} pauses) | median {m3['lag_median_ms']} ms, "
        f"max {m3['lag_max_ms']} ms |",
        f"| HA VM back Running after its VMI crashed ({m3['ha_crash']['count']} crashes) | "
        f"median {m3['ha_crash']['median_s']} s, max {m3['ha_crash']['max_s']} s |",
        f"| HA VM back Running after its node went NotReady ({m3['ha_node_lost']['count']} VMs) | "
        f"median {m3['ha_node_lost']['median_s']} s, max {m3['ha_node_lost']['max_s']} s |",
        "",
        "HA recovery is counted from the VMI seen Failed; a real cluster adds the time to notice a lost node",
        "(virt-handler's heartbeat timeout), which the lab's instant NotReady leaves out.",
        "",
        *deploy_section(dep),
        "## Scheduler filter (schedule_batch, one core)",
        "",
        "| VMs x hosts | seconds | evaluations per s |",
        "|---|---|---|",
        *[f"| {f['vms']} x {f['hosts']} | {f['seconds']} | {f['pairs_per_s']} |" for f in (sched["small"], sched["large"])],
        "",
        f"Per-evaluation rate at 1000 x 500 over 100 x 50: {sched['large_to_small_rate']} (flat cost per evaluation).",
        "",
        *wait_section(waits),
        *upgrade_section(upgraded),
    ]
    RESULTS.write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
