# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ovirt_kubevirt.bridge contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""vm_run_wait's reaction latency against 3 s and 5 s polling loops.

Each round starts one VM (vm_run's core) on a node whose launches take 4 s,
then runs vm_run_wait's core and two polling loops that read the VMI every 3 s
and every 5 s (the waits of kubernetes.core and ovirt.ovirt), each loop at a
random phase, as a loop that began earlier would be. A watch notes when the VMI turns Running;
each follower's latency is from then to when it returns or notices. The cores
run in this process, so the figures leave out Ansible's own start-up, the same
for all three.
"""
from __future__ import annotations

import json
import random
import statistics
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

from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.clients.full_session import open_session  # noqa: E402
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.operations import vm_run, vm_run_wait  # noqa: E402
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.records import provider, registry  # noqa: E402

NAMESPACE = "bench-wait"
CLUSTER = "bench-wait"
MAPS = {"storage_map": {"*": {"pvc_name": "{vm}-{disk_id}"}}, "network_map": {"*": "pod"}}
POLLS = (3.0, 5.0)


def _topology(path: Path, rounds: int) -> None:
    hosts = [{"name": "slow-1", "cpus": 256, "memory_mib": 1024 * 1024, "faults": {"launch_delay_s": 4}}]
    vms = [{"name": f"w-{i:02d}", "cpus": 1, "memory_mib": 256} for i in range(rounds)]
    path.write_text(yaml.safe_dump({"datacenters": [{"name": "bench", "clusters": [
        {"name": CLUSTER, "hosts": hosts, "vms": vms}]}]}))


def _poll(kube: Any, name: str, period: float, phase: float, started: float, seen: Dict[str, float], key: str) -> None:
    time.sleep(phase)  # a loop that began at some earlier moment: its reads fall at a random phase
    while time.monotonic() - started < 60:
        vmi = kube.get("kubevirt.io/v1", "VirtualMachineInstance", name, NAMESPACE) or {}
        if (vmi.get("status") or {}).get("phase") == "Running":
            seen[key] = time.monotonic()
            return
        time.sleep(period)


def run(rounds: int = 12) -> Dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-wait-") as tmp:
        run_dir = Path(tmp)
        _topology(run_dir / "topology.yaml", rounds)
        labctl.up(run_dir, run_dir / "topology.yaml")
        try:
            return _measure(run_dir, rounds)
        finally:
            labctl.down(run_dir)


def _measure(run_dir: Path, rounds: int) -> Dict[str, Any]:
    env = labctl.read_env(run_dir)
    auth = {"url": env["OVIRT_URL"], "username": env["OVIRT_USERNAME"], "password": env["OVIRT_PASSWORD"],
            "ca_file": env["OVIRT_CAFILE"]}
    k8s = {"host": env["K8S_AUTH_HOST"], "api_key": env["K8S_AUTH_API_KEY"], "ca_cert": env["K8S_AUTH_SSL_CA_CERT"],
           "validate_certs": True}
    client = kubelab.dynamic_client(kubelab.load(run_dir))
    client.resources.get(api_version="v1", kind="Namespace").create(
        body={"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}})
    latencies: Dict[str, List[float]] = {"vm_run_wait": [], **{f"poll_{p:g}s": [] for p in POLLS}}
    rng = random.Random(7)
    with open_session(auth, k8s) as session:
        ovirt, kube = session.ovirt, session.kube
        provider.ensure_provider(kube, "kv", NAMESPACE)
        registry.set_cluster_type(ovirt, kube, engine_url=env["OVIRT_URL"], cluster=CLUSTER, cluster_type="kubevirt",
                                  provider="kv", namespace=NAMESPACE, milestone=2)
        for index in range(rounds):
            name = f"w-{index:02d}"
            vm_run.run_vms(ovirt, kube, [name], **MAPS)
            started = time.monotonic()
            seen: Dict[str, float] = {}
            pollers = [threading.Thread(target=_poll, args=(kube, name, p, rng.uniform(0, p), started, seen,
                                                            f"poll_{p:g}s")) for p in POLLS]
            for poller in pollers:
                poller.start()
            vm_run_wait.wait_vms(ovirt, kube, [name], 60)
            seen["vm_run_wait"] = time.monotonic()
            for poller in pollers:
                poller.join()
            vmi = kube.get("kubevirt.io/v1", "VirtualMachineInstance", name, NAMESPACE)
            running_at = _running_monotonic(vmi)
            for key, at in seen.items():
                latencies[key].append(max(0.0, at - running_at))
    medians = {k: statistics.median(v) for k, v in latencies.items()}
    return {"rounds": rounds, **{f"{k}_median_ms": round(v * 1000) for k, v in medians.items()},
            **{f"{k}_to_vm_run_wait": round(v / medians["vm_run_wait"], 1) for k, v in medians.items() if k != "vm_run_wait"}}


def _running_monotonic(vmi: Dict[str, Any]) -> float:
    """The VMI's Running transition (wall clock, microseconds in the lab) on this process's monotonic clock."""
    import datetime
    stamp = next(t["phaseTransitionTimestamp"] for t in vmi["status"]["phaseTransitionTimestamps"] if t["phase"] == "Running")
    wall = datetime.datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()
    return time.monotonic() - (time.time() - wall)


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
