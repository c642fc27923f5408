"""Fixtures of the lab conformance tests: one real-KubeVirt lab on the conformance topology.

Set CONFORMANCE_LAB_DIR to a lab started with that topology
(``labctl up --kubevirt real --topology tests/lab/conformance/topology.yaml --dir DIR``)
to reuse it while developing; the tests that depend on timing from the lab's
start (the lost node) then need a fresh one.
"""
from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

LAB_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(LAB_ROOT))

import labctl  # noqa: E402
from labkube.rest import NAMESPACES, VMS, ApiError, Kube, Resource  # noqa: E402

TOPOLOGY = Path(__file__).resolve().parent / "topology.yaml"
NAMESPACE = "conformance"
# Started with the lab: n-lost stops reporting 60 s after the lab's stand-ins started (topology.yaml).
LOST_NODE_VM = "on-lost-node"


@dataclass
class RealLab:
    dir: Path
    env: dict[str, str]
    kube: Kube

    def wait_for(self, res: Resource, namespace: str | None, name: str, ready: Callable[[dict[str, Any]], bool],
                 timeout: float, what: str = "") -> dict[str, Any]:
        """The object once ``ready(obj)``, following a watch (relisting when it ends)."""
        deadline = time.monotonic() + timeout
        last: dict[str, Any] | None = None
        selectors = {"fieldSelector": f"metadata.name={name}"}
        while time.monotonic() < deadline:
            items, rv = self.kube.list(res, namespace, selectors=selectors)
            for item in items:
                last = item
                if ready(item):
                    return item
            remaining = max(1, int(deadline - time.monotonic()))
            try:
                for event in self.kube.watch(res, rv, timeout_s=min(remaining, 30), selectors=selectors,
                                             namespace=namespace):
                    obj = event.get("object") or {}
                    if event.get("type") in ("ADDED", "MODIFIED"):
                        last = obj
                        if ready(obj):
                            return obj
            except ApiError as err:
                if err.status != 410:
                    raise
        raise AssertionError(f"{res.kind} {namespace}/{name} not {what or 'ready'} after {timeout:.0f} s; "
                             f"last seen: {str(last)[:3000]}")


def lost_node_vm_manifest() -> dict[str, Any]:
    """A VM on n-lost, which tolerates its taint and nothing else."""
    return {"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachine",
            "metadata": {"name": LOST_NODE_VM, "namespace": NAMESPACE},
            "spec": {"runStrategy": "Always", "template": {"metadata": {"labels": {"app": LOST_NODE_VM}}, "spec": {
                "domain": {"cpu": {"cores": 1}, "memory": {"guest": "1Gi"},
                           "devices": {"interfaces": [{"name": "default", "masquerade": {}}]}},
                "networks": [{"name": "default", "pod": {}}],
                "nodeSelector": {"kubernetes.io/hostname": "n-lost"},
                "tolerations": [{"key": "lab.ovirt-kubevirt.io/reserved", "operator": "Equal", "value": "n-lost",
                                 "effect": "NoSchedule"}]}}}}


@pytest.fixture(scope="session")
def real_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RealLab]:
    reuse = os.environ.get("CONFORMANCE_LAB_DIR")
    if reuse and labctl.status(Path(reuse)).get("running"):
        run_dir, started = Path(reuse), False
    else:
        run_dir, started = tmp_path_factory.mktemp("conformance"), True
        labctl.up(run_dir, TOPOLOGY, kubevirt="real")
    env = labctl.read_env(run_dir)
    kube = Kube.from_kubeconfig(env["K8S_AUTH_KUBECONFIG"], user_agent="lab-conformance")
    try:
        kube.create(NAMESPACES, None, {"metadata": {"name": NAMESPACE}})
    except ApiError as err:
        if err.status != 409:
            raise
    lab = RealLab(run_dir, env, kube)
    try:
        kube.create(VMS, NAMESPACE, lost_node_vm_manifest())
    except ApiError as err:
        if err.status != 409:
            raise
    try:
        yield lab
    finally:
        if started:
            labctl.down(run_dir)
