# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ovirt_kubevirt.bridge contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Milestone 3 figures: state sync throughput and lag, and HA recovery time.

One milestone-3 cluster of four nodes. VMs are started with vm_run through
ansible-playbook, as users run them.

- Sync throughput: a one-shot vm_state_sync over every VM (the first report,
  about three events per VM), then the same sync again (nothing changed, so no
  write), as VMs per second and their ratio.
- Sync lag: a follow-mode sync runs while a bare client pauses and unpauses
  VMs; the lag is from the pause call to the oVirt fake's event time (both on
  this machine's clock), median and maximum, in ms.
- HA recovery: HA VMs (runStrategy Always) whose VMI crashes after a few
  seconds, and HA VMs on a node that goes NotReady; one watch notes when each
  VMI is seen Failed and when the VM's next VMI is seen Running.
"""
from __future__ import annotations

import datetime
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

NAMESPACE = "bench-m3"
CLUSTER = "bench-m3"
SUBRESOURCES = "/apis/subresources.kubevirt.io/v1"


def _topology(path: Path, plain: int, crashing: int) -> None:
    hosts = [{"name": f"m3-n{i}", "cpus": 256, "memory_mib": 1024 * 1024} for i in range(3)]
    # The roomiest node, so the least-allocated rule puts the lost-* VMs there first.
    hosts.append({"name": "m3-lost", "cpus": 4096, "memory_mib": 16 * 1024 * 1024, "faults": {"not_ready_after_s": 45}})
    healthy = [h["name"] for h in hosts[:3]]
    vms = [{"name": f"sync-{i:03d}", "cpus": 1, "memory_mib": 256, "placement_hosts": healthy} for i in range(plain)]
    vms += [{"name": f"crash-{i:02d}", "cpus": 1, "memory_mib": 256, "high_availability": True,
             "placement_hosts": healthy, "faults": {"crash_after_s": 20}} for i in range(crashing)]
    vms += [{"name": f"lost-{i:02d}", "cpus": 1, "memory_mib": 256, "high_availability": True,
             "placement_hosts": ["m3-lost", "m3-n0", "m3-n1", "m3-n2"]} for i in range(crashing)]
    path.write_text(yaml.safe_dump({"datacenters": [{"name": "bench", "clusters": [
        {"name": CLUSTER, "hosts": hosts, "vms": vms}]}]}))


def _playbook(run_dir: Path, name: str, tasks: List[Dict[str, Any]]) -> Path:
    path = run_dir / f"{name}.yml"
    path.write_text(yaml.safe_dump([{"hosts": "localhost", "connection": "local", "gather_facts": False,
                                     "tasks": tasks}]))
    return path


class _Player:
    def __init__(self, run_dir: Path) -> None:
        self.env = dict(os.environ, **labctl.read_env(run_dir),
                        ANSIBLE_COLLECTIONS_PATH=str(ROOT / ".build" / "collections"),
                        ANSIBLE_COLLECTIONS_SCAN_SYS_PATH="false", ANSIBLE_PYTHON_INTERPRETER=sys.executable,
                        ANSIBLE_LOCALHOST_WARNING="false", ANSIBLE_INVENTORY_UNPARSED_WARNING="false",
                        ANSIBLE_STDOUT_CALLBACK="results_json",
                        ANSIBLE_CALLBACK_PLUGINS=str(ROOT / "tests" / "lab" / "callback_plugins"))
        self.binary = str(Path(sys.executable).parent / "ansible-playbook")

    def start(self, playbook: Path) -> subprocess.Popen:
        return subprocess.Popen([self.binary, "-i", "localhost,", str(playbook)], env=self.env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def run(self, playbook: Path) -> Dict[str, Any]:
        proc = self.start(playbook)
        out, err = proc.communicate()
        if proc.returncode != 0:
            raise RuntimeError(f"{playbook.name} failed:\n{out[-3000:]}\n{err[-2000:]}")
        return json.loads(out)


def _task_result(output: Dict[str, Any], index: int) -> Dict[str, Any]:
    return output["plays"][0]["tasks"][index]["hosts"]["localhost"]


class _Recovery(threading.Thread):
    """Per VM: when a VMI is first seen Failed, and when the VM's next VMI is seen Running."""

    def __init__(self, client: Any, duration_s: float) -> None:
        super().__init__(daemon=True)
        self.api = client.resources.get(api_version="kubevirt.io/v1", kind="VirtualMachineInstance")
        self.duration_s = duration_s
        self.failed_at: Dict[str, tuple] = {}
        self.recoveries: Dict[str, List[float]] = {"crash": [], "lost": []}

    def run(self) -> None:
        end = time.monotonic() + self.duration_s
        while time.monotonic() < end:
            try:
                self._watch(end)
            except Exception:  # pylint: disable=broad-except  # a dropped watch: watch again
                time.sleep(0.2)

    def _watch(self, end: float) -> None:
        for event in self.api.watch(namespace=NAMESPACE, timeout=max(1, int(end - time.monotonic()))):
            now = time.monotonic()
            obj = event["raw_object"]
            name, uid = obj["metadata"]["name"], obj["metadata"]["uid"]
            phase = (obj.get("status") or {}).get("phase")
            kind = name.split("-")[0]
            if kind not in self.recoveries:
                continue
            if phase in ("Failed", "Unknown") and name not in self.failed_at:
                self.failed_at[name] = (uid, now)
            elif phase == "Running" and name in self.failed_at and self.failed_at[name][0] != uid:
                self.recoveries[kind].append(now - self.failed_at.pop(name)[1])


def _engine_events(env: Dict[str, str]) -> List[Dict[str, Any]]:
    import base64
    import ssl
    import urllib.request
    base = env["OVIRT_URL"].split("/ovirt-engine")[0]
    request = urllib.request.Request(base + "/lab/state")
    token = base64.b64encode(f"{env['OVIRT_USERNAME']}:{env['OVIRT_PASSWORD']}".encode()).decode()
    request.add_header("Authorization", f"Basic {token}")
    with urllib.request.urlopen(request, context=ssl.create_default_context(cafile=env["OVIRT_CAFILE"])) as reply:
        state = json.loads(reply.read())
    vm_names = {v["id"]: v["name"] for v in state["vms"].values()}
    return [dict(e, vm=vm_names.get(e.get("vm_id"))) for e in state["events"].values()
            if e.get("origin") == "ovirt_kubevirt"]


def run(plain: int = 100, crashing: int = 6, paused: int = 10) -> Dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-m3-") as tmp:
        run_dir = Path(tmp)
        _topology(run_dir / "topology.yaml", plain, crashing)
        labctl.up(run_dir, run_dir / "topology.yaml")
        try:
            return _measure(run_dir, plain, crashing, paused)
        finally:
            labctl.down(run_dir)


def _measure(run_dir: Path, plain: int, crashing: int, paused: int) -> Dict[str, Any]:
    client = kubelab.dynamic_client(kubelab.load(run_dir))
    client.resources.get(api_version="v1", kind="Namespace").create(
        body={"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}})
    player = _Player(run_dir)
    maps = {"storage_map": {"*": {"pvc_name": "{vm}-{disk_id}"}}, "network_map": {"*": "pod"}}
    sync_vms = [f"sync-{i:03d}" for i in range(plain)]
    ha_vms = [f"crash-{i:02d}" for i in range(crashing)] + [f"lost-{i:02d}" for i in range(crashing)]
    recovery = _Recovery(client, 120)
    recovery.start()
    player.run(_playbook(run_dir, "setup", [
        {"ovirt_kubevirt.bridge.kubevirt_provider": {"name": "kv", "namespace": NAMESPACE}},
        {"ovirt_kubevirt.bridge.cluster_type": {"cluster": CLUSTER, "type": "kubevirt", "provider": "kv",
                                                "namespace": NAMESPACE, "milestone": 3}},
        # The HA VMs first: the lost-* ones must run on m3-lost before it goes NotReady.
        {"ovirt_kubevirt.bridge.vm_run": {"vms": ha_vms, **maps}},
        {"ovirt_kubevirt.bridge.vm_run_wait": {"vms": ha_vms, "timeout": 60}},
        {"ovirt_kubevirt.bridge.vm_run": {"vms": sync_vms, **maps}},
        {"ovirt_kubevirt.bridge.vm_run_wait": {"vms": sync_vms, "timeout": 120}},
    ]))
    once = _playbook(run_dir, "once", [{"ovirt_kubevirt.bridge.vm_state_sync": {"vms": sync_vms}}])
    first = _task_result(player.run(once), 0)
    second = _task_result(player.run(once), 0)

    follow = player.start(_playbook(run_dir, "follow", [
        {"ovirt_kubevirt.bridge.vm_state_sync": {"vms": sync_vms[:paused], "follow": True, "duration": 25}}]))
    time.sleep(8)  # the follow task's module has started and listed the VMs
    pause_walltimes: Dict[str, float] = {}
    for name in sync_vms[:paused]:
        pause_walltimes[name] = time.time()
        client.request("PUT", f"{SUBRESOURCES}/namespaces/{NAMESPACE}/virtualmachineinstances/{name}/pause", body={})
        time.sleep(0.2)
    out, err = follow.communicate()
    if follow.returncode != 0:
        raise RuntimeError(f"the follow sync failed:\n{out[-3000:]}\n{err[-2000:]}")
    followed = _task_result(json.loads(out), 0)
    lags = sorted(
        e["time_ms"] / 1000.0 - pause_walltimes[e["vm"]] for e in _engine_events(player.env)
        if e["vm"] in pause_walltimes and "-> paused" in e["description"])
    recovery.join()
    crash, lost = sorted(recovery.recoveries["crash"]), sorted(recovery.recoveries["lost"])

    def spread(values: List[float]) -> Dict[str, Any]:
        return {"count": len(values), "median_s": round(statistics.median(values), 2) if values else None,
                "max_s": round(max(values), 2) if values else None}

    return {
        "vms": plain,
        "sync_first_vms_per_s": round(plain / first["seconds"], 1),
        "sync_first_events": first["events_posted"],
        "sync_again_vms_per_s": round(plain / second["seconds"], 1),
        "sync_again_events": second["events_posted"],
        "sync_again_to_first_time_ratio": round(second["seconds"] / first["seconds"], 3),
        "pauses": paused,
        "lag_events": len(lags),
        "lag_median_ms": round(statistics.median(lags) * 1000) if lags else None,
        "lag_max_ms": round(max(lags) * 1000) if lags else None,
        "module_lag": followed.get("report_lag_seconds"),
        "ha_crash": spread(crash),
        "ha_node_lost": spread(lost),
        "measured": datetime.date.today().isoformat(),
    }


if __name__ == "__main__":
    print(json.dumps(run(*(int(a) for a in sys.argv[1:])), indent=2))
