# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ovirt_kubevirt.bridge contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Rerun decision latency: from a VMI's Failed event to the next attempt's VMI being created.

A milestone-2 cluster has one roomy node that fails every launch, 3 s after the
VMI is scheduled (so vm_run_wait is already watching), and two that work; the
simulator puts most VMs on the failing node first. The VMs are
started with vm_run and followed with vm_run_wait, both through
ansible-playbook as users run them. Beside them, one watch on the namespace's
VMIs notes when each VMI is first seen Failed and when the same VM's next VMI
appears; both are seen through the same watch, so its delivery delay cancels.
The figures are that latency's median and 95th percentile, and their ratio to
1.5 s, the mean delay of the 3 s polling loop kubernetes.core's k8s wait uses.
"""
from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Dict, List

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "lab"))

import kubelab  # noqa: E402  (the lab's own modules live in tests/lab)
import labctl  # noqa: E402

NAMESPACE = "bench-rerun"
POLL_MEAN_S = 1.5


def _topology(path: Path, count: int) -> None:
    hosts = [{"name": "bad-1", "cpus": 512, "memory_mib": 4 * 1024 * 1024, "faults": {"fail_launches": 100000, "launch_delay_s": 3}},
             {"name": "good-1", "cpus": 64, "memory_mib": 256 * 1024},
             {"name": "good-2", "cpus": 64, "memory_mib": 256 * 1024}]
    vms = [{"name": f"rr-{i:03d}", "cpus": 1, "memory_mib": 256} for i in range(count)]
    path.write_text(yaml.safe_dump({"datacenters": [{"name": "bench", "clusters": [
        {"name": "bench-rerun", "hosts": hosts, "vms": vms}]}]}))


def _playbook(path: Path, names: List[str]) -> None:
    maps = {"storage_map": {"*": {"pvc_name": "{vm}-{disk_id}"}}, "network_map": {"*": "pod"}}
    tasks = [
        {"ovirt_kubevirt.bridge.kubevirt_provider": {"name": "kv", "namespace": NAMESPACE}},
        {"ovirt_kubevirt.bridge.cluster_type": {"cluster": "bench-rerun", "type": "kubevirt", "provider": "kv",
                                                "namespace": NAMESPACE, "milestone": 2}},
        {"ovirt_kubevirt.bridge.vm_run": {"vms": names, **maps}},
        {"ovirt_kubevirt.bridge.vm_run_wait": {"vms": names, "timeout": 60, "max_attempts": 3,
                                               "failure_threshold": 1000000}},
    ]
    path.write_text(yaml.safe_dump([{"hosts": "localhost", "gather_facts": False, "tasks": tasks}]))


class _Watcher(threading.Thread):
    """Notes, per VM, when a VMI is first seen Failed and when its next VMI appears."""

    def __init__(self, client: Any) -> None:
        super().__init__(daemon=True)
        self.api = client.resources.get(api_version="kubevirt.io/v1", kind="VirtualMachineInstance")
        self.failed_at: Dict[str, float] = {}
        self.latencies: List[float] = []
        self.stop = threading.Event()

    def run(self) -> None:
        try:
            self._watch()
        except Exception:  # pylint: disable=broad-except  # the lab stopping ends the watch
            pass

    def _watch(self) -> None:
        failed_uids = set()
        for event in self.api.watch(namespace=NAMESPACE, timeout=120):
            now = time.monotonic()
            obj = event["raw_object"]
            name, uid = obj["metadata"]["name"], obj["metadata"]["uid"]
            if event["type"] == "ADDED" and name in self.failed_at:
                self.latencies.append(now - self.failed_at.pop(name))
            elif (obj.get("status") or {}).get("phase") == "Failed" and uid not in failed_uids:
                failed_uids.add(uid)
                self.failed_at[name] = now
            if self.stop.is_set():
                return


def run(count: int = 30) -> Dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-rerun-") as tmp:
        run_dir = Path(tmp)
        _topology(run_dir / "topology.yaml", count)
        names = [f"rr-{i:03d}" for i in range(count)]
        _playbook(run_dir / "play.yml", names)
        labctl.up(run_dir, run_dir / "topology.yaml")
        try:
            client = kubelab.dynamic_client(kubelab.load(run_dir))
            client.resources.get(api_version="v1", kind="Namespace").create(
                body={"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}})
            watcher = _Watcher(client)
            watcher.start()
            env = dict(os.environ, **labctl.read_env(run_dir), ANSIBLE_COLLECTIONS_PATH=str(ROOT / ".build" / "collections"),
                       ANSIBLE_COLLECTIONS_SCAN_SYS_PATH="false", ANSIBLE_PYTHON_INTERPRETER=sys.executable,
                       ANSIBLE_LOCALHOST_WARNING="false", ANSIBLE_INVENTORY_UNPARSED_WARNING="false")
            playbook = [str(Path(sys.executable).parent / "ansible-playbook"), "-i", "localhost,", "-c", "local",
                        str(run_dir / "play.yml")]
            proc = subprocess.run(playbook, env=env, capture_output=True, text=True, check=False)
            watcher.stop.set()
            if proc.returncode != 0:
                raise RuntimeError(f"the rerun playbook failed:\n{proc.stdout[-3000:]}")
        finally:
            labctl.down(run_dir)
    latencies = sorted(watcher.latencies)
    if not latencies:
        raise RuntimeError("no VM was rerun: the failing node got no launch")
    median = statistics.median(latencies)
    p95 = latencies[min(len(latencies) - 1, int(0.95 * len(latencies)))]
    return {"vms": count, "reruns": len(latencies), "median_ms": round(median * 1000, 1), "p95_ms": round(p95 * 1000, 1),
            "median_to_poll_ratio": round(median / POLL_MEAN_S, 3)}


if __name__ == "__main__":
    print(json.dumps(run(int(sys.argv[1]) if len(sys.argv) > 1 else 30), indent=2))
