"""The lab harness of the integration tests and the lab's self-tests: one lab per test session, and
playbooks run as users run them (tests import these helpers; conftest.py files only declare the fixture).

Set LAB_DIR to a running lab (`tests/lab/labctl up --dir DIR`) to reuse it
across pytest runs while developing; otherwise the session starts its own lab
in a temporary directory and stops it at the end. LAB_KUBEVIRT=real runs every
lab of the session on the real KubeVirt control plane (`labctl up --kubevirt real`).
"""
from __future__ import annotations

import base64
import json
import os
import ssl
import subprocess
import sys
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
LAB_ROOT = REPO_ROOT / "tests" / "lab"
sys.path.insert(0, str(LAB_ROOT))

import labctl  # noqa: E402  (needs LAB_ROOT on sys.path)

COLLECTIONS = REPO_ROOT / ".build" / "collections"
LAB_KUBEVIRT = os.environ.get("LAB_KUBEVIRT", labctl.DEFAULT_KUBEVIRT)


@dataclass
class Lab:
    dir: Path
    env: dict[str, str]

    def command_env(self, **extra: str) -> dict[str, str]:
        """The process environment of a user who sourced DIR/env."""
        env = dict(os.environ)
        env.update(self.env)
        env.update(
            ANSIBLE_COLLECTIONS_PATH=str(COLLECTIONS),
            ANSIBLE_COLLECTIONS_SCAN_SYS_PATH="false",
            ANSIBLE_STDOUT_CALLBACK="results_json",
            ANSIBLE_CALLBACK_PLUGINS=str(LAB_ROOT / "callback_plugins"),
            ANSIBLE_LOCALHOST_WARNING="false",
            ANSIBLE_INVENTORY_UNPARSED_WARNING="false",
            ANSIBLE_PYTHON_INTERPRETER=sys.executable,
        )
        env.update(extra)
        return env


@dataclass
class PlaybookRun:
    rc: int
    stdout: str
    stderr: str
    data: dict[str, Any]

    def task_results(self, name: str) -> list[dict[str, Any]]:
        """Per-host results of every task with this name, in play order."""
        found = []
        for play in self.data.get("plays", []):
            for task in play.get("tasks", []):
                if task["task"]["name"] == name:
                    found.extend(task["hosts"].values())
        return found

    def result(self, name: str) -> dict[str, Any]:
        results = self.task_results(name)
        assert results, f"no task named {name!r} ran; {self.failure()}"
        return results[-1]

    def failure(self) -> str:
        """What stopped the play: the failed tasks' messages and the end of stderr."""
        failed = [f"{task['task']['name']}: {result.get('msg')}" for play in self.data.get("plays", [])
                  for task in play.get("tasks", []) for result in task["hosts"].values() if result.get("failed")]
        return f"failed tasks: {failed}; stderr: {self.stderr[-2000:]}"


def _lab_running(run_dir: Path) -> bool:
    return labctl.status(run_dir).get("running", False)


@pytest.fixture(scope="session")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Lab:
    reuse = os.environ.get("LAB_DIR")
    if reuse and _lab_running(Path(reuse)):
        yield Lab(Path(reuse), labctl.read_env(Path(reuse)))
        return
    run_dir = tmp_path_factory.mktemp("lab")
    labctl.up(run_dir, labctl.DEFAULT_TOPOLOGY, kubevirt=LAB_KUBEVIRT)
    try:
        yield Lab(run_dir, labctl.read_env(run_dir))
    finally:
        labctl.down(run_dir)


def own_lab(tmp_path_factory: pytest.TempPathFactory, name: str, topology: dict[str, Any]) -> Iterator[Lab]:
    """A lab of a test module's own, on its own topology, so no other test touches its state."""
    run_dir = tmp_path_factory.mktemp(name)
    path = run_dir / "topology.yaml"
    path.write_text(yaml.safe_dump(topology))
    labctl.up(run_dir, path, kubevirt=LAB_KUBEVIRT)
    try:
        yield Lab(run_dir, labctl.read_env(run_dir))
    finally:
        labctl.down(run_dir)


def kubectl(lab: Lab, *args: str) -> dict[str, Any]:
    """kubectl ... -o json against the lab, as an administrator would look."""
    out = subprocess.run(["kubectl", "--kubeconfig", lab.env["K8S_AUTH_KUBECONFIG"], *args, "-o", "json"],
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out)


def engine(lab: Lab, path: str, method: str = "GET", body: Any = None) -> Any:
    """A call to the oVirt fake's /lab/ control API (state, request counters, injected faults)."""
    base = lab.env["OVIRT_URL"].split("/ovirt-engine")[0]
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(base + path, data=data, method=method)
    if data is not None:
        request.add_header("Content-Type", "application/json")
    token = base64.b64encode(f"{lab.env['OVIRT_USERNAME']}:{lab.env['OVIRT_PASSWORD']}".encode()).decode()
    request.add_header("Authorization", f"Basic {token}")
    context = ssl.create_default_context(cafile=lab.env["OVIRT_CAFILE"])
    with urllib.request.urlopen(request, context=context) as reply:
        return json.loads(reply.read())


def k8s_params(env: dict[str, str], **overrides: Any) -> dict[str, Any]:
    """The collection's Kubernetes connection options for a lab's env (admin token unless overridden)."""
    params = {"host": env["K8S_AUTH_HOST"], "api_key": env["K8S_AUTH_API_KEY"], "ca_cert": env["K8S_AUTH_SSL_CA_CERT"],
              "validate_certs": True, "kubeconfig": None, "context": None}
    params.update(overrides)
    return params


def run_playbook(lab: Lab, tasks: list[dict[str, Any]], tmp_path: Path, *, extra_args: list[str] | None = None,
                 env: dict[str, str] | None = None, gather_facts: bool = False) -> PlaybookRun:
    """Run tasks on localhost through ansible-playbook, the way users run the collection."""
    return finish_playbook(start_playbook(lab, tasks, tmp_path, extra_args=extra_args, env=env,
                                          gather_facts=gather_facts))


def start_playbook(lab: Lab, tasks: list[dict[str, Any]], tmp_path: Path, *, extra_args: list[str] | None = None,
                   env: dict[str, str] | None = None, gather_facts: bool = False,
                   name: str = "playbook") -> subprocess.Popen:
    """Start tasks in the background (to act on the lab while they run); finish_playbook collects them."""
    playbook = [{"name": "test", "hosts": "localhost", "connection": "local", "gather_facts": gather_facts, "tasks": tasks}]
    path = tmp_path / f"{name}.yml"
    path.write_text(yaml.safe_dump(playbook, sort_keys=False))
    command = [str(Path(sys.executable).parent / "ansible-playbook"), "-i", "localhost,", str(path)] + (extra_args or [])
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=lab.command_env(**(env or {})))


def finish_playbook(proc: subprocess.Popen, timeout_s: float = 1800) -> PlaybookRun:
    stdout, stderr = proc.communicate(timeout=timeout_s)
    try:
        data = json.loads(stdout[stdout.index("{"):]) if "{" in stdout else {}
    except json.JSONDecodeError:
        data = {}
    return PlaybookRun(proc.returncode, stdout, stderr, data)
