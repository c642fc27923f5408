# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ovirt_kubevirt.bridge contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""VM deployment at scale: one batched vm_deploy task against a loop, a bare client, and its own rerun.

One lab, a milestone-2 cluster of four roomy nodes. Each scenario uses VMs of
its own names. Times are whole ansible-playbook processes, as users run them:

- batched: one vm_deploy task declaring N VMs (created in oVirt from Blank and
  started in KubeVirt);
- the same N again (converged: reads only);
- loop: vm_deploy called once per VM with ``loop:``, for the smaller N;
- floor: N VirtualMachine creates by a bare DynamicClient from 8 threads.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Dict, List, Sequence

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "lab"))

import kubelab  # noqa: E402  (the lab's own modules live in tests/lab)
import labctl  # noqa: E402

NAMESPACE = "bench-deploy"
CLUSTER = "bench-deploy"
MAPS = {"storage_map": {"*": {"pvc_name": "{vm}-{disk_id}"}}, "network_map": {"*": "pod"}}


def _topology(path: Path) -> None:
    hosts = [{"name": f"dep-n{i}", "cpus": 2048, "memory_mib": 8 * 1024 * 1024} for i in range(4)]
    path.write_text(yaml.safe_dump({"datacenters": [{"name": "bench", "clusters": [{"name": CLUSTER, "hosts": hosts}]}]}))


def _declared(prefix: str, count: int) -> List[Dict[str, Any]]:
    return [{"name": f"{prefix}-{i:04d}", "cluster": CLUSTER, "memory_mib": 64, "cpus": 1, "state": "running"}
            for i in range(count)]


class _Player:
    def __init__(self, run_dir: Path) -> None:
        self.run_dir = run_dir
        self.env = dict(os.environ, **labctl.read_env(run_dir),
                        ANSIBLE_COLLECTIONS_PATH=str(ROOT / ".build" / "collections"),
                        ANSIBLE_COLLECTIONS_SCAN_SYS_PATH="false", ANSIBLE_PYTHON_INTERPRETER=sys.executable,
                        ANSIBLE_LOCALHOST_WARNING="false", ANSIBLE_INVENTORY_UNPARSED_WARNING="false")
        self.binary = str(Path(sys.executable).parent / "ansible-playbook")

    def seconds(self, name: str, tasks: Sequence[Dict[str, Any]]) -> float:
        path = self.run_dir / f"{name}.yml"
        path.write_text(yaml.safe_dump([{"hosts": "localhost", "connection": "local", "gather_facts": False,
                                         "tasks": list(tasks)}]))
        started = time.monotonic()
        proc = subprocess.run([self.binary, "-i", "localhost,", str(path)], env=self.env, capture_output=True,
                              text=True, check=False)
        elapsed = time.monotonic() - started
        if proc.returncode != 0:
            raise RuntimeError(f"{name} failed:\n{proc.stdout[-3000:]}")
        return elapsed


def run(sizes: Sequence[int] = (50, 200, 1000), loop_sizes: Sequence[int] = (50, 200)) -> Dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-deploy-") as tmp:
        run_dir = Path(tmp)
        _topology(run_dir / "topology.yaml")
        labctl.up(run_dir, run_dir / "topology.yaml")
        try:
            return _measure(run_dir, sizes, loop_sizes)
        finally:
            labctl.down(run_dir)


def _measure(run_dir: Path, sizes: Sequence[int], loop_sizes: Sequence[int]) -> Dict[str, Any]:
    client = kubelab.dynamic_client(kubelab.load(run_dir))
    client.resources.get(api_version="v1", kind="Namespace").create(
        body={"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}})
    player = _Player(run_dir)
    player.seconds("setup", [
        {"ovirt_kubevirt.bridge.kubevirt_provider": {"name": "kv", "namespace": NAMESPACE}},
        {"ovirt_kubevirt.bridge.cluster_type": {"cluster": CLUSTER, "type": "kubevirt", "provider": "kv",
                                                "namespace": NAMESPACE, "milestone": 2}}])
    trivial = player.seconds("trivial", [{"ansible.builtin.debug": {"msg": "x"}}])
    figures: Dict[str, Any] = {"trivial_playbook_s": round(trivial, 2), "sizes": {}}
    for count in sizes:
        vms = _declared(f"b{count}", count)
        task = [{"ovirt_kubevirt.bridge.vm_deploy": {"vms": vms, **MAPS, "max_workers": 8}}]
        first = player.seconds(f"batched-{count}", task)
        again = player.seconds(f"again-{count}", task)
        floor = _floor(client, count)
        figures["sizes"][count] = {"batched_s": round(first, 2), "rerun_s": round(again, 2),
                                   "floor_s": round(floor, 2), "rerun_to_first": round(again / first, 3),
                                   "batched_per_vm_ms": round(first / count * 1000, 1),
                                   "batched_to_floor": round(first / floor, 1)}
    figures["loops"] = []
    for count in loop_sizes:
        looped = player.seconds(f"loop-{count}", [{"ovirt_kubevirt.bridge.vm_deploy": {"vms": ["{{ item }}"], **MAPS},
                                                   "loop": _declared(f"loop{count}", count)}])
        batched = figures["sizes"].get(count) or {}
        figures["loops"].append({"vms": count, "loop_s": round(looped, 2),
                                 "loop_per_vm_ms": round(looped / count * 1000, 1),
                                 "batched_to_loop": round(batched["batched_s"] / looped, 3) if batched else None})
    return figures


def _floor(client: Any, count: int) -> float:
    """N bare VirtualMachine creates (runStrategy Always) from 8 threads: what the API itself costs."""
    vms = client.resources.get(api_version="kubevirt.io/v1", kind="VirtualMachine")

    def body(index: int) -> Dict[str, Any]:
        return {"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachine",
                "metadata": {"name": f"floor{count}-{index:04d}", "namespace": NAMESPACE},
                "spec": {"runStrategy": "Always", "template": {"spec": {"domain": {
                    "cpu": {"sockets": 1, "cores": 1, "threads": 1}, "memory": {"guest": "64Mi"}, "devices": {}}}}}}

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda i: vms.create(body=body(i), namespace=NAMESPACE), range(count)))
    return time.monotonic() - started


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
