"""Every manifest the collection writes is one real virt-api admits, or its refusal is predicted.

Each domxml under tests/data/domxml and each VM of the default topology is
translated by vm_representation, and each manifest is sent to the real
virt-api (KubeVirt's own webhooks, on the real-KubeVirt lab) as a server-side
dry run. A refusal must have been predicted by a critical concern; a manifest
without one must be admitted. Both on a cluster with the feature gates the
translation can use, and on one with none of them.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from harness import REPO_ROOT, Lab, run_playbook

LAB_ROOT = Path(__file__).resolve().parents[1] / "lab"
sys.path.insert(0, str(LAB_ROOT))

import labctl  # noqa: E402

NAMESPACE = "admission"
DOMXML = sorted((REPO_ROOT / "tests" / "data" / "domxml").glob("*.xml"))
# What the translation may use where the cluster has it (pkg/virt-config/featuregate).
GATES = ["HostDisk", "HostDevices", "Sidecar", "CPUManager", "HotplugVolumes"]
MAPS = {"storage_map": {"*": {"pvc_name": "{vm}-{target}"}},
        "network_map": {"ovirtmgmt": "pod", "*": f"multus:{NAMESPACE}/bridge"}}


@pytest.fixture(scope="module", params=[GATES, []], ids=["gates-on", "gates-off"])
def real_lab(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    """The default topology on the real KubeVirt control plane, with or without the gates."""
    run_dir = tmp_path_factory.mktemp("admission")
    topology = yaml.safe_load(labctl.DEFAULT_TOPOLOGY.read_text())
    topology["kubevirt"] = dict(topology.get("kubevirt") or {}, feature_gates=list(request.param))
    path = run_dir / "topology.yaml"
    path.write_text(yaml.safe_dump(topology))
    labctl.up(run_dir, path, kubevirt="real")
    lab = Lab(run_dir, labctl.read_env(run_dir))
    kubectl(lab, "create", "namespace", NAMESPACE)
    try:
        yield lab
    finally:
        labctl.down(run_dir)


def kubectl(lab: Lab, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(["kubectl", "--kubeconfig", lab.env["K8S_AUTH_KUBECONFIG"], *args], input=stdin,
                          capture_output=True, text=True, check=False)


def representations(lab: Lab, tmp_path: Path) -> dict[str, dict[str, Any]]:
    """vm_representation's manifest and concerns for every domxml file and every VM of the engine."""
    vms = ["web-1", "web-2", "db-1", "app-1", "batch-1"]
    run = run_playbook(lab, [
        {"name": "files", "loop": [str(p) for p in DOMXML],
         "ovirt_kubevirt.bridge.vm_representation": {"domxml_path": "{{ item }}", "namespace": NAMESPACE, **MAPS}},
        {"name": "vms", "loop": vms,
         "ovirt_kubevirt.bridge.vm_representation": {"vm": "{{ item }}", "namespace": NAMESPACE, **MAPS}},
    ], tmp_path)
    assert run.rc == 0, run.stdout[-3000:] + run.stderr[-2000:]
    found = {}
    for task in ("files", "vms"):
        for item in run.result(task)["results"]:
            found[Path(str(item["item"])).stem] = {"manifest": item["manifest"], "concerns": item["concerns"]}
    assert len(found) == len(DOMXML) + len(vms)
    return found


def admitted(lab: Lab, manifest: dict[str, Any]) -> tuple[bool, str]:
    """A server-side dry-run create: virt-api's mutating and validating webhooks, nothing stored."""
    proc = kubectl(lab, "create", "--dry-run=server", "-o", "name", "-f", "-", stdin=json.dumps(manifest))
    return proc.returncode == 0, (proc.stderr or proc.stdout).strip()


def test_every_refusal_is_predicted_and_every_unconcerned_vm_is_admitted(real_lab: Lab, tmp_path: Path) -> None:
    outcomes = {}
    for name, found in representations(real_lab, tmp_path).items():
        critical = [c["message"] for c in found["concerns"] if c["category"] == "critical"]
        ok, answer = admitted(real_lab, found["manifest"])
        outcomes[name] = (ok, critical, answer)
    # A refusal without a critical concern is a manifest the collection would write and KubeVirt refuse.
    unpredicted = {n: answer for n, (ok, critical, answer) in outcomes.items() if not ok and not critical}
    assert unpredicted == {}, "virt-api refused manifests no critical concern predicted"
    print({n: ("admitted" if ok else "refused, predicted") for n, (ok, _critical, _answer) in outcomes.items()})
