"""labctl's contract for the real-KubeVirt lab: up writes env and kubeconfig, status and restart know every
component, a second lab runs beside the first, down leaves nothing running."""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

import yaml

import labctl
from conformance.conftest import RealLab

LABCTL = Path(labctl.__file__).resolve().parent / "labctl"
REAL_COMPONENTS = {"etcd", "apiserver", "controller-manager", "scheduler", "kwok", "standins", "virt-api",
                   "virt-controller", "ovirt"}


def _ours(run_dir: Path) -> list[int]:
    """Processes whose command line names the lab directory."""
    pids = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().decode(errors="replace")
        except OSError:
            continue
        if str(run_dir) in cmdline and int(proc.name) != os.getpid():
            pids.append(int(proc.name))
    return pids


def test_second_real_lab_beside_the_first_restart_and_down(real_lab: RealLab, tmp_path: Path) -> None:
    topology = tmp_path / "small.yaml"
    topology.write_text(yaml.safe_dump({"datacenters": [{"name": "dc2", "clusters": [
        {"name": "c2", "hosts": [{"name": "m1", "cpus": 4, "memory_mib": 8192}]}]}]}))
    run_dir = tmp_path / "lab2"
    up = subprocess.run([str(LABCTL), "up", "--kubevirt", "real", "--topology", str(topology), "--dir", str(run_dir)],
                        capture_output=True, text=True, check=False)
    assert up.returncode == 0, up.stderr[-3000:]
    try:
        env = labctl.read_env(run_dir)
        assert (run_dir / "kubeconfig").exists() and env["K8S_AUTH_KUBECONFIG"] == str(run_dir / "kubeconfig")
        assert set(env) >= {"OVIRT_URL", "OVIRT_USERNAME", "OVIRT_PASSWORD", "OVIRT_CAFILE", "K8S_AUTH_HOST",
                            "K8S_AUTH_API_KEY", "K8S_AUTH_SSL_CA_CERT", "K8S_AUTH_VERIFY_SSL", "K8S_AUTH_KUBECONFIG"}
        assert env["K8S_AUTH_HOST"] != real_lab.env["K8S_AUTH_HOST"]
        report = labctl.status(run_dir)
        assert report["running"] and report["kubevirt"] == "real"
        assert set(report["components"]) == REAL_COMPONENTS, report
        for component in ("virt-api", "standins"):
            restarted = subprocess.run([str(LABCTL), "restart", component, "--dir", str(run_dir)],
                                       capture_output=True, text=True, check=False)
            assert restarted.returncode == 0, restarted.stderr[-3000:]
        assert labctl.status(run_dir)["running"]
    finally:
        down = subprocess.run([str(LABCTL), "down", "--dir", str(run_dir)], capture_output=True, text=True,
                              check=False)
    assert down.returncode == 0, down.stderr
    assert _ours(run_dir) == []
    assert labctl.status(real_lab.dir)["running"], "the first lab must be untouched"
