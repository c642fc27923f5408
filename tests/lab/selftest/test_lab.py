"""The lab itself: labctl up/down/restart, both clients see the topology, nothing is left behind."""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

import kubelab
import labctl
import labtopology
import ovirtsdk4
import pytest
import yaml

TOPOLOGY = labtopology.load(labctl.DEFAULT_TOPOLOGY)
LAB_KUBEVIRT = os.environ.get("LAB_KUBEVIRT", labctl.DEFAULT_KUBEVIRT)


def ovirt_connection(env: dict[str, str]) -> ovirtsdk4.Connection:
    return ovirtsdk4.Connection(url=env["OVIRT_URL"], username=env["OVIRT_USERNAME"],
                                password=env["OVIRT_PASSWORD"], ca_file=env["OVIRT_CAFILE"])


def test_env_file_configures_both_clients(lab):
    for key in ("OVIRT_URL", "OVIRT_USERNAME", "OVIRT_PASSWORD", "OVIRT_CAFILE", "K8S_AUTH_HOST",
                "K8S_AUTH_API_KEY", "K8S_AUTH_SSL_CA_CERT", "K8S_AUTH_KUBECONFIG"):
        assert lab.env.get(key), key
    assert lab.env["K8S_AUTH_VERIFY_SSL"] == "true"
    assert (lab.dir / "env").stat().st_mode & 0o077 == 0, "the env file holds credentials"
    assert lab.env["K8S_AUTH_HOST"].startswith("https://127.0.0.1:")
    assert lab.env["OVIRT_URL"].startswith("https://127.0.0.1:")


def test_kubectl_shows_the_topology(lab):
    out = subprocess.run(["kubectl", "--kubeconfig", lab.env["K8S_AUTH_KUBECONFIG"], "get", "nodes", "-o", "yaml"],
                         capture_output=True, text=True, check=True).stdout
    nodes = {n["metadata"]["name"]: n for n in yaml.safe_load(out)["items"]}
    assert set(nodes) == {h.name for h in TOPOLOGY.hosts}
    b1 = nodes["node-b1"]
    assert b1["metadata"]["labels"]["rack"] == "r1"
    assert b1["status"]["allocatable"]["cpu"] == "16"
    for resource in ("vm", "vmi", "vmim"):
        subprocess.run(["kubectl", "--kubeconfig", lab.env["K8S_AUTH_KUBECONFIG"], "get", resource, "-A"],
                       capture_output=True, text=True, check=True)


def test_ovirt_sdk_lists_the_topology(lab):
    connection = ovirt_connection(lab.env)
    try:
        system = connection.system_service()
        assert [d.name for d in system.data_centers_service().list()] == [d.name for d in TOPOLOGY.datacenters]
        assert {c.name for c in system.clusters_service().list()} == {c.name for c in TOPOLOGY.clusters}
        assert {h.name for h in system.hosts_service().list()} == {h.name for h in TOPOLOGY.hosts}
        vms = {v.name: v for v in system.vms_service().list()}
        assert set(vms) == {v.name for v in TOPOLOGY.vms}
        assert vms["web-1"].status == ovirtsdk4.types.VmStatus.UP
        assert vms["web-1"].start_time is not None
    finally:
        connection.close()


def test_restricted_token_is_denied_by_rbac(lab):
    restricted = kubelab.dynamic_client(kubelab.load(lab.dir), token=lab.env["LAB_RESTRICTED_TOKEN"])
    from kubernetes.dynamic.exceptions import ForbiddenError
    with pytest.raises(ForbiddenError):
        restricted.resources.get(api_version="kubevirt.io/v1", kind="VirtualMachine").get(namespace="default")


def test_bad_topology_is_refused_before_anything_starts(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("datacenters:\n  - name: dc\n    clusters:\n      - name: c\n        colour: blue\n")
    run_dir = tmp_path / "run"
    proc = subprocess.run([str(labctl.LAB_ROOT / "labctl"), "up", "--dir", str(run_dir), "--topology", str(bad)],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 1
    assert "unknown key(s) ['colour']" in proc.stderr
    assert not (run_dir / "pids.json").exists()


def test_second_lab_runs_beside_the_first_and_down_leaves_nothing(lab, tmp_path):
    topology = tmp_path / "small.yaml"
    topology.write_text(yaml.safe_dump({"datacenters": [{"name": "dc2", "clusters": [
        {"name": "c2", "hosts": [{"name": "n1", "cpus": 2, "memory_mib": 4096}]}]}]}))
    run_dir = tmp_path / "lab2"
    labctl.up(run_dir, topology, kubevirt=LAB_KUBEVIRT)
    try:
        env = labctl.read_env(run_dir)
        assert env["K8S_AUTH_HOST"] != lab.env["K8S_AUTH_HOST"]
        assert env["OVIRT_URL"] != lab.env["OVIRT_URL"]
        status = labctl.status(run_dir)
        assert status["running"] and set(status["components"]) >= {"apiserver", "etcd", "kubevirt", "ovirt"}
        pids = list(_pids(run_dir))
    finally:
        labctl.down(run_dir)
    assert pids
    assert not [p for p in pids if labctl._alive(p)], "labctl down left processes running"
    assert labctl.status(lab.dir)["running"], "stopping the second lab touched the first"


def _pids(run_dir: Path) -> list[int]:
    import json
    state = json.loads((run_dir / "lab.json").read_text())
    pids = list(json.loads((run_dir / "pids.json").read_text()).values())
    return pids + [c["pid"] for c in state["components"].values()]
