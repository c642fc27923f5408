"""Load soak (`make soak`, too slow for CI): a datacenter of N VMs through milestone-1 deployment, a state sync
and a wave of 100 migrations, at two sizes so the growth can be read as a ratio.

Each phase is one ansible-playbook run whose module processes are measured: wall time and the peak resident memory
of the largest module process (the controller-side work), read from getrusage by an interpreter wrapper. The figures
go to tests/output/soak.json and the README.
"""
from __future__ import annotations

import contextlib
import json
import time
from pathlib import Path

import pytest
from harness import REPO_ROOT, engine, kubectl, own_lab, run_playbook

pytestmark = pytest.mark.soak

NAMESPACE = "soak"
CLUSTER = "soak-m1"       # N - 100 VMs deployed under milestone 1
MOBILE = "soak-m3"        # 100 VMs under milestone 3: milestone 1 binds a VM to its host, so these migrate
MIGRATIONS = 100
SIZES = (250, 1000)
MAPS = {"storage_map": {"*": {"pvc_name": "{vm}-{disk_id}"}}, "network_map": {"*": "pod"}}
# A node takes at most 110 pods (the kubelet's default, kept by the lab): 12 nodes hold 900 milestone-1 VMs.
TOPOLOGY = {"datacenters": [{"name": "dcsoak", "clusters": [
    {"name": name, "hosts": [{"name": f"{name}-{i}", "cpus": 2048, "memory_mib": 8 * 1024 * 1024}
                             for i in range(count)]}
    for name, count in ((CLUSTER, 12), (MOBILE, 3))]}]}
REPORT = REPO_ROOT / "tests" / "output" / "soak.json"


def measuring_interpreter(tmp_path: Path) -> tuple[Path, Path]:
    """A Python that runs the module and appends its peak RSS (KiB) to a log."""
    import sys

    log = tmp_path / "rss.log"
    wrapper = tmp_path / "python-rss"
    wrapper.write_text(f"#!{sys.executable}\n"
                       "import resource, subprocess, sys\n"
                       f"rc = subprocess.call([{sys.executable!r}] + sys.argv[1:])\n"
                       f"with open({str(log)!r}, 'a') as out:\n"
                       "    out.write(f'{resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}\\n')\n"
                       "sys.exit(rc)\n")
    wrapper.chmod(0o755)
    return wrapper, log


def phase(lab, tmp_path, name, tasks):
    wrapper, log = measuring_interpreter(tmp_path / name)
    log.unlink(missing_ok=True)
    began = time.monotonic()
    run = run_playbook(lab, tasks, tmp_path / name, env={"ANSIBLE_PYTHON_INTERPRETER": str(wrapper)})
    seconds = time.monotonic() - began
    peaks = [int(line) for line in log.read_text().split()] if log.exists() else []
    return run, {"seconds": round(seconds, 1), "peak_rss_mib": round(max(peaks) / 1024, 1) if peaks else None}


def soak(tmp_path_factory, size):
    figures = {"vms": size}
    with contextlib.contextmanager(own_lab)(tmp_path_factory, f"soak{size}", TOPOLOGY) as lab:
        tmp_path = tmp_path_factory.mktemp(f"soak{size}-runs")
        for name in ("deploy", "wait", "sync", "migrate", "setup"):
            (tmp_path / name).mkdir()
        run_playbook(lab, [
            {"name": "provider", "ovirt_kubevirt.bridge.kubevirt_provider": {"name": "kv1", "namespace": NAMESPACE}},
            {"name": "type", "ovirt_kubevirt.bridge.cluster_type": {
                "cluster": CLUSTER, "type": "kubevirt", "provider": "kv1", "namespace": NAMESPACE, "milestone": 1}},
            {"name": "type", "ovirt_kubevirt.bridge.cluster_type": {
                "cluster": MOBILE, "type": "kubevirt", "provider": "kv1", "namespace": NAMESPACE, "milestone": 3}},
        ], tmp_path / "setup")
        names = [f"s-{i:04d}" for i in range(size)]
        movers = names[:MIGRATIONS]
        declared = [{"name": n, "cluster": MOBILE if n in movers else CLUSTER, "memory_mib": 64, "cpus": 1,
                     "state": "running"} for n in names]
        run, figures["deploy"] = phase(lab, tmp_path, "deploy", [{"name": "deploy", "ovirt_kubevirt.bridge.vm_deploy": {
            "vms": declared, "max_workers": 4, **MAPS}}])
        assert not run.result("deploy").get("failed"), run.failure()
        run, figures["wait"] = phase(lab, tmp_path, "wait", [{"name": "wait", "ovirt_kubevirt.bridge.vm_run_wait": {
            "vms": names, "timeout": 600}}])
        assert not run.result("wait").get("failed"), run.failure()
        run, figures["sync"] = phase(lab, tmp_path, "sync", [{"name": "sync", "ovirt_kubevirt.bridge.vm_state_sync": {
            "clusters": [CLUSTER, MOBILE]}}])
        synced = run.result("sync")
        assert not synced.get("failed"), run.failure()
        assert len(synced["vms"]) == size and synced["events_posted"] >= size
        before = {i["metadata"]["name"]: i["status"]["nodeName"]
                  for i in kubectl(lab, "get", "vmi", "-n", NAMESPACE)["items"]}
        run, figures["migrate"] = phase(lab, tmp_path, "migrate", [{
            "name": "migrate", "ovirt_kubevirt.bridge.vm_operation": {"vm": "{{ item }}", "operation": "migrate",
                                                                      "timeout": 120},
            "loop": movers}])
        assert not run.result("migrate").get("failed"), run.failure()
        after = {i["metadata"]["name"]: (i["status"]["phase"], i["status"]["nodeName"])
                 for i in kubectl(lab, "get", "vmi", "-n", NAMESPACE)["items"]}
        assert len(after) == size and all(phase == "Running" for phase, _node in after.values()), "a VM stopped"
        assert all(after[n][1] != before[n] for n in movers), "a migration did not move its VM"
        assert len(engine(lab, "/lab/state")["vms"]) == size
    figures["migrate"]["per_migration_s"] = round(figures["migrate"]["seconds"] / MIGRATIONS, 2)
    return figures


def test_a_datacenter_deploys_syncs_and_migrates_in_linear_time_and_bounded_memory(tmp_path_factory):
    small, large = (soak(tmp_path_factory, size) for size in SIZES)
    factor = SIZES[1] / SIZES[0]
    ratios = {name: round(large[name]["seconds"] / small[name]["seconds"], 2) for name in ("deploy", "wait", "sync")}
    memory = {name: round(large[name]["peak_rss_mib"] / small[name]["peak_rss_mib"], 2)
              for name in ("deploy", "wait", "sync", "migrate")}
    report = {"sizes": SIZES, "small": small, "large": large, "time_ratio": ratios, "memory_ratio": memory,
              "size_ratio": factor}
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    REPORT.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))
    # Linear: growing the datacenter 4x grows each phase's time by no more than 1.5x that factor.
    assert all(ratio <= factor * 1.5 for ratio in ratios.values()), ratios
    # Bounded: the module's memory grows far slower than the datacenter, and stays under 1 GiB at the large size.
    assert all(ratio < factor / 2 for ratio in memory.values()), memory
    assert all(large[name]["peak_rss_mib"] < 1024 for name in ("deploy", "wait", "sync", "migrate")), large
