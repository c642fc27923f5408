# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ovirt_kubevirt.bridge contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The upgrade of a 3-cluster, 300-VM datacenter, end to end, through playbooks/upgrade_datacenter.yml.

Each cluster has 100 VMs, half of them running under oVirt. Timed as whole
ansible-playbook runs: the plan alone (--check), the upgrade (plan, snapshot,
three waves each checked for disturbed VMs), and the rerun (resume, nothing to
change). Ratios compare them; the upgrade must leave every running VM as it was.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Dict

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "lab"))

import labctl  # noqa: E402  (the lab's own modules live in tests/lab)

NAMESPACE = "bench-upgrade"
CLUSTERS = ("up-a", "up-b", "up-c")


def _topology(path: Path, per_cluster: int) -> None:
    clusters = []
    for cluster in CLUSTERS:
        hosts = [{"name": f"{cluster}-h{i}", "cpus": 512, "memory_mib": 1024 * 1024} for i in range(2)]
        vms = [{"name": f"{cluster}-vm{i:03d}", "cpus": 1, "memory_mib": 512,
                **({"status": "up", "host": hosts[i % 2]["name"]} if i % 2 == 0 else {})} for i in range(per_cluster)]
        clusters.append({"name": cluster, "hosts": hosts, "vms": vms})
    path.write_text(yaml.safe_dump({"datacenters": [{"name": "bench-dc", "clusters": clusters}]}))


def run(per_cluster: int = 100) -> Dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-upgrade-") as tmp:
        run_dir = Path(tmp)
        _topology(run_dir / "topology.yaml", per_cluster)
        labctl.up(run_dir, run_dir / "topology.yaml")
        try:
            return _measure(run_dir, per_cluster)
        finally:
            labctl.down(run_dir)


def _measure(run_dir: Path, per_cluster: int) -> Dict[str, Any]:
    env = dict(os.environ, **labctl.read_env(run_dir), ANSIBLE_COLLECTIONS_PATH=str(ROOT / ".build" / "collections"),
               ANSIBLE_COLLECTIONS_SCAN_SYS_PATH="false", ANSIBLE_PYTHON_INTERPRETER=sys.executable,
               ANSIBLE_LOCALHOST_WARNING="false", ANSIBLE_INVENTORY_UNPARSED_WARNING="false")
    binary = str(Path(sys.executable).parent / "ansible-playbook")
    setup = run_dir / "setup.yml"
    setup.write_text(yaml.safe_dump([{"hosts": "localhost", "connection": "local", "gather_facts": False, "tasks": [
        {"ovirt_kubevirt.bridge.kubevirt_provider": {"name": "kv", "namespace": NAMESPACE}}]}]))
    subprocess.run([binary, "-i", "localhost,", str(setup)], env=env, check=True, capture_output=True)
    variables = {"datacenter": "bench-dc", "provider": "kv", "namespace": NAMESPACE,
                 "targets": {c: 2 for c in CLUSTERS}, "report_dir": str(run_dir / "reports"),
                 "storage_map": {"*": {"pvc_name": "{vm}-{disk_id}"}}, "network_map": {"*": "pod"}}

    def timed(*extra: str) -> float:
        started = time.monotonic()
        proc = subprocess.run([binary, "-i", "localhost,", str(ROOT / "playbooks" / "upgrade_datacenter.yml"),
                               "-e", json.dumps(variables), *extra], env=env, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            raise RuntimeError(proc.stdout[-3000:])
        return time.monotonic() - started

    plan = timed("--check")
    upgrade = timed()
    rerun = timed()
    return {"clusters": len(CLUSTERS), "vms": per_cluster * len(CLUSTERS), "running_vms": per_cluster * len(CLUSTERS) // 2,
            "plan_s": round(plan, 1), "upgrade_s": round(upgrade, 1), "rerun_s": round(rerun, 1),
            "upgrade_to_plan": round(upgrade / plan, 2), "rerun_to_upgrade": round(rerun / upgrade, 2),
            "plan_per_vm_ms": round(plan / (per_cluster * len(CLUSTERS)) * 1000, 1)}


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
