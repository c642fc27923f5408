# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ovirt_kubevirt.bridge contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The lab's own throughput: how fast it takes VirtualMachine creates and runs them.

Starts a lab with ten roomy nodes, creates N VirtualMachines (runStrategy
Always) with a bare DynamicClient from 8 threads, and follows their VMIs with
one watch until all are Running. Reports the create rate, the running rate and
their ratio, all measured in this one run, plus the lab's warm start time.
"""
from __future__ import annotations

import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Dict

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "lab"))

import kubelab  # noqa: E402  (the lab's own modules live in tests/lab)
import labctl  # noqa: E402

NODES = 10
NAMESPACE = "bench"


def _topology(path: Path) -> None:
    hosts = [{"name": f"bench-n{i:02d}", "cpus": 128, "memory_mib": 1024 * 1024} for i in range(NODES)]
    path.write_text(yaml.safe_dump({"datacenters": [{"name": "bench", "clusters": [{"name": "bench", "hosts": hosts}]}]}))


def _vm(index: int) -> Dict[str, Any]:
    return {"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachine",
            "metadata": {"name": f"bench-{index:05d}", "namespace": NAMESPACE},
            "spec": {"runStrategy": "Always", "template": {"spec": {"domain": {
                "cpu": {"sockets": 1, "cores": 1, "threads": 1}, "memory": {"guest": "64Mi"},
                "devices": {}}}}}}


def run(count: int = 300) -> Dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="bench-lab-") as tmp:
        run_dir = Path(tmp)
        _topology(run_dir / "topology.yaml")
        started = time.monotonic()
        labctl.up(run_dir, run_dir / "topology.yaml")
        up_seconds = time.monotonic() - started
        try:
            client = kubelab.dynamic_client(kubelab.load(run_dir))
            client.resources.get(api_version="v1", kind="Namespace").create(
                body={"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}})
            vms = client.resources.get(api_version="kubevirt.io/v1", kind="VirtualMachine")
            vmis = client.resources.get(api_version="kubevirt.io/v1", kind="VirtualMachineInstance")
            version = vmis.get(namespace=NAMESPACE).metadata.resourceVersion
            begin = time.monotonic()
            with ThreadPoolExecutor(max_workers=8) as pool:
                list(pool.map(lambda i: vms.create(body=_vm(i), namespace=NAMESPACE), range(count)))
            created = time.monotonic() - begin
            running: set = set()
            for event in vmis.watch(namespace=NAMESPACE, resource_version=version, timeout=300):
                obj = event["raw_object"]
                if (obj.get("status") or {}).get("phase") == "Running":
                    running.add(obj["metadata"]["name"])
                if len(running) >= count:
                    break
            all_running = time.monotonic() - begin
        finally:
            labctl.down(run_dir)
    return {"vms": count, "lab_up_seconds": round(up_seconds, 1), "create_rate_per_s": round(count / created, 1),
            "running_rate_per_s": round(count / all_running, 1),
            "running_to_create_ratio": round(created / all_running, 3), "vms_running": len(running)}


def main() -> Dict[str, float]:
    result = run(int(sys.argv[1]) if len(sys.argv) > 1 else 300)
    for key, value in result.items():
        print(f"{key}: {value}")
    return result


if __name__ == "__main__":
    main()
