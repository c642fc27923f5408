"""The real KubeVirt control plane of the lab (``labctl up --kubevirt real``).

On top of kubelab's ``real`` flavor (etcd 3.6, kube-apiserver, controller-manager
and scheduler 1.34) this starts, all on 127.0.0.1:

* KWOK, the kubelet of the fake nodes, with KWOK's own node and pod Stages
  (and the lab's pod-delete Stages, see ``kwok/pod-delete-ended.yaml``);
* the stand-ins (``python -m standins``): virt-handler on the fake nodes, a
  volume provisioner and CDI's importer;
* KubeVirt's own virt-api and virt-controller, built from the module proxy,
  installed as virt-operator would (``kubevirt_install``), each with its
  ServiceAccount's token.

``start`` returns the components' records (pid, port) for labctl's state;
``stop`` and ``restart`` act on them by name.
"""
from __future__ import annotations

import logging
import os
import signal
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import kubelab
import kubevirt_install
import labtopology
from labkube.rest import NODES, PODS, Kube
from standins import nodes as standin_nodes
from standins.storage import PROVISIONER, STORAGE_CLASS

LOG = logging.getLogger("reallab")
HERE = Path(__file__).resolve().parent
COMPONENTS = ("kwok", "standins", "virt-api", "virt-controller")
LAB_STAGES = sorted((HERE / "kwok").glob("*.yaml"))
READY_TIMEOUT_S = 120.0
STOP_TIMEOUT_S = 15.0
# Leader election on a loaded 2-core machine: the defaults (15 s lease, 10 s renew deadline) lose the
# lease under load, which is fatal to virt-controller.
LEADER_ELECTION = ["--leader-elect-lease-duration=60s", "--leader-elect-renew-deadline=45s",
                   "--leader-elect-retry-period=5s"]


class RealLabError(kubelab.LabError):
    """A real-KubeVirt component failed to start; the message names it and quotes its log."""


def binaries() -> dict[str, Path]:
    kubevirt = kubelab.go_component("kubevirt", ("virt-api", "virt-controller", "lab-install-strategy"))
    return {"kubevirt": kubevirt, "kwok": kubelab.go_component("kwok", ("kwok",)),
            "cdi": kubelab.go_component("cdi", ("lab-cdi-crds",))}


def kubevirt_version(bin_dir: Path) -> str:
    """The version in the cache directory's name (<name>-<version>-<hash>, see build-go.sh)."""
    return bin_dir.parent.name.split("-")[1]


def start(run_dir: Path, kube: kubelab.KubeLab, topology_path: Path, ports: dict[str, int] | None = None) -> dict[str, Any]:
    """Install KubeVirt and start every component; returns {"components": {...}, "ports": {...}, ...}."""
    topology = labtopology.load(topology_path)
    bins = binaries()
    version = kubevirt_version(bins["kubevirt"])
    ports = dict(ports or {})
    for name in ("virt-api", "virt-controller", "handler"):
        ports.setdefault(name, kubelab._free_port())  # pylint: disable=protected-access
    admin = Kube.from_kubeconfig(kube.kubeconfig, user_agent="labctl")
    pki = kubevirt_install.ensure_pki(run_dir)
    objects = kubevirt_install.strategy(bins["kubevirt"], version)
    kubevirt_install.install_before_virt_api(admin, objects, kubevirt_install.cdi_crds(bins["cdi"]), pki,
                                             ports["virt-api"])
    kubevirt_install.apply_storage_class(admin, STORAGE_CLASS, PROVISIONER)
    kubevirt_install.apply_kubevirt_cr(admin, topology.kubevirt.as_dict(), version)
    kubeconfigs = _component_kubeconfigs(run_dir, kube, admin)
    standin_nodes.register_nodes(admin, topology)
    state: dict[str, Any] = {"ports": ports, "version": version, "components": {}}
    plan = _Plan(run_dir, kube, topology_path, bins, ports, pki, kubeconfigs, version)
    for name in COMPONENTS:
        state["components"][name] = plan.start(name)
        if name == "virt-api":
            kubevirt_install.install_after_virt_api(admin, objects, pki, ports["virt-api"])
    _wait_subresources(kube)
    return state


def stop(components: dict[str, Any]) -> None:
    for name in reversed(COMPONENTS):
        record = components.get(name)
        if record:
            _stop_pid(record["pid"])


def restart(run_dir: Path, kube: kubelab.KubeLab, topology_path: Path, state: dict[str, Any], name: str) -> None:
    """Stop and start one component (virt-api, virt-controller, kwok, standins; kubevirt: both KubeVirt ones)."""
    names = ("virt-api", "virt-controller") if name == "kubevirt" else (name,)
    bins = binaries()
    pki = kubevirt_install.ensure_pki(run_dir)
    kubeconfigs = {n: run_dir / f"{n}.kubeconfig" for n in ("virt-api", "virt-controller")}
    plan = _Plan(run_dir, kube, topology_path, bins, state["ports"], pki, kubeconfigs, state["version"])
    for component in names:
        _stop_pid(state["components"][component]["pid"])
        state["components"][component] = plan.start(component)


def _component_kubeconfigs(run_dir: Path, kube: kubelab.KubeLab, admin: Kube) -> dict[str, Path]:
    """virt-api and virt-controller as their ServiceAccounts, the identities virt-api's admitters know."""
    out = {}
    for name, account in (("virt-api", kubevirt_install.API_SA), ("virt-controller", kubevirt_install.CONTROLLER_SA)):
        token = kubevirt_install.service_account_token(admin, account)
        out[name] = kubevirt_install.write_kubeconfig(run_dir / f"{name}.kubeconfig", kube.host, kube.ca_cert, token)
    return out


class _Plan:
    def __init__(self, run_dir: Path, kube: kubelab.KubeLab, topology_path: Path, bins: dict[str, Path],
                 ports: dict[str, int], pki: kubevirt_install.Pki, kubeconfigs: dict[str, Path],
                 version: str) -> None:
        self.run_dir, self.kube, self.topology_path, self.bins = run_dir, kube, topology_path, bins
        self.ports, self.pki, self.kubeconfigs, self.version = ports, pki, kubeconfigs, version

    def start(self, name: str) -> dict[str, Any]:
        began = time.monotonic()
        record = {"kwok": self._kwok, "standins": self._standins, "virt-api": self._virt_api,
                  "virt-controller": self._virt_controller}[name]()
        LOG.info("%s ready in %.1f s", name, time.monotonic() - began)
        return record

    def _kwok(self) -> dict[str, Any]:
        stages = sorted((self.bins["kwok"].parent / "stages").glob("*.yaml")) + LAB_STAGES
        argv = [str(self.bins["kwok"] / "kwok"), f"--kubeconfig={self.kube.kubeconfig}",
                f"--manage-nodes-with-label-selector={standin_nodes.KWOK_LABEL}=true",
                "--node-lease-duration-seconds=40", "--cidr=10.244.0.0/16", f"--node-ip={standin_nodes.NODE_IP}",
                *[f"--config={path}" for path in stages]]
        # KWOK reads ~/.kwok/kwok.yaml unless its work dir is elsewhere: keep it in the lab.
        env = dict(os.environ, KWOK_WORKDIR=str(self.run_dir / "kwok"))
        pid = _spawn(self.run_dir, "kwok", argv, env)
        admin = Kube.from_kubeconfig(self.kube.kubeconfig)
        topology = labtopology.load(self.topology_path)
        self._wait(pid, "kwok", lambda: self._nodes_ready(admin, topology))
        standin_nodes.create_handler_pods(admin, topology, self.version)
        self._wait(pid, "kwok", lambda: self._handler_pods_running(admin, topology))
        return {"pid": pid}

    @staticmethod
    def _answering(topology: labtopology.Topology) -> list[str]:
        return [h.name for h in topology.hosts if h.status not in ("down", "non_operational")]

    def _nodes_ready(self, admin: Kube, topology: labtopology.Topology) -> str | None:
        for name in self._answering(topology):
            node = admin.get(NODES, None, name)
            ready = [c for c in (node.get("status") or {}).get("conditions") or [] if c.get("type") == "Ready"]
            if not ready or ready[0].get("status") != "True":
                return f"node {name} not Ready yet"
        return None

    def _handler_pods_running(self, admin: Kube, topology: labtopology.Topology) -> str | None:
        for name in self._answering(topology):
            pod = admin.get_or_none(PODS, kubevirt_install.NAMESPACE, standin_nodes.handler_pod_name(name))
            if pod is None or (pod.get("status") or {}).get("phase") != "Running":
                return f"virt-handler pod on {name} not Running yet"
        return None

    def _standins(self) -> dict[str, Any]:
        server_cert, server_key = self.pki.handler_server
        argv = [sys.executable, "-m", "standins", f"--kubeconfig={self.kube.kubeconfig}",
                f"--topology={self.topology_path}", f"--state-dir={self.run_dir / 'standins'}",
                f"--pki-dir={self.run_dir / 'pki'}", f"--handler-cert={server_cert}",
                f"--handler-key={server_key}", f"--kubevirt-ca={self.pki.ca_cert}",
                f"--handler-port={self.ports['handler']}"]
        env = dict(os.environ, PYTHONPATH=str(HERE), PYTHONUNBUFFERED="1")
        pid = _spawn(self.run_dir, "standins", argv, env, stdout=self.run_dir / "logs" / "standins.out")
        self._wait(pid, "standins", lambda: None if "READY" in _read(self.run_dir / "logs" / "standins.out")
                   else "no READY line yet")
        return {"pid": pid, "port": self.ports["handler"]}

    def _virt_api(self) -> dict[str, Any]:
        cert, key = self.pki.virt_api
        client_cert, client_key = self.pki.handler_client
        argv = [str(self.bins["kubevirt"] / "virt-api"), f"--kubeconfig={self.kubeconfigs['virt-api']}",
                "--listen=127.0.0.1", f"--port={self.ports['virt-api']}",
                f"--tls-cert-file={cert}", f"--tls-key-file={key}",
                f"--handler-cert-file={client_cert}", f"--handler-key-file={client_key}",
                f"--console-server-port={self.ports['handler']}"]
        pid = _spawn(self.run_dir, "virt-api", argv)
        self._wait(pid, "virt-api", lambda: _https_ok(f"https://127.0.0.1:{self.ports['virt-api']}/healthz",
                                                      self.pki.ca_cert))
        return {"pid": pid, "port": self.ports["virt-api"]}

    def _virt_controller(self) -> dict[str, Any]:
        cert, key = self.pki.virt_controller
        argv = [str(self.bins["kubevirt"] / "virt-controller"),
                f"--kubeconfig={self.kubeconfigs['virt-controller']}",
                "--listen=127.0.0.1", f"--port={self.ports['virt-controller']}",
                f"--launcher-image=registry.lab.invalid/virt-launcher:{self.version}",
                f"--exporter-image=registry.lab.invalid/virt-exportserver:{self.version}",
                f"--prom-cert-file={cert}", f"--prom-key-file={key}", *LEADER_ELECTION]
        pid = _spawn(self.run_dir, "virt-controller", argv)
        self._wait(pid, "virt-controller",
                   lambda: _https_ok(f"https://127.0.0.1:{self.ports['virt-controller']}/leader", self.pki.ca_cert))
        return {"pid": pid, "port": self.ports["virt-controller"]}

    def _wait(self, pid: int, name: str, probe: Any) -> None:
        # A bounded probe loop: process start-up, nothing to watch yet.
        deadline = time.monotonic() + READY_TIMEOUT_S
        reason = "not probed"
        while time.monotonic() < deadline:
            if not _alive(pid):
                raise RealLabError(f"{name} (pid {pid}) exited during start-up; end of its log:\n"
                                   f"{_tail(self.run_dir / 'logs' / f'{name}.log')}")
            try:
                reason = probe() or ""
            except Exception as err:  # not listening yet
                reason = str(err)
            if not reason:
                return
            time.sleep(0.25)
        raise RealLabError(f"{name} (pid {pid}) not ready after {READY_TIMEOUT_S:.0f} s ({reason}); end of its log:\n"
                           f"{_tail(self.run_dir / 'logs' / f'{name}.log')}")


def _wait_subresources(kube: kubelab.KubeLab, timeout: float = 60.0) -> None:
    """The aggregator routes subresources.kubevirt.io to virt-api (its discovery answers 200)."""
    deadline = time.monotonic() + timeout
    reason = ""
    while time.monotonic() < deadline:
        status, body = kubelab._get(f"{kube.host}/apis/subresources.kubevirt.io/v1/version",  # pylint: disable=protected-access
                                    str(kube.ca_cert), kube.admin_token)
        if status == 200:
            return
        reason = f"HTTP {status}: {body[:200]!r}"
        time.sleep(0.25)
    raise RealLabError(f"subresources.kubevirt.io not served through kube-apiserver after {timeout:.0f} s: {reason}")


def _https_ok(url: str, ca: Path) -> str | None:
    context = ssl.create_default_context(cafile=str(ca))
    context.check_hostname = False
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), urllib.request.HTTPSHandler(context=context))
    try:
        with opener.open(url, timeout=3) as response:
            return None if response.status == 200 else f"HTTP {response.status}"
    except urllib.error.HTTPError as err:
        return f"HTTP {err.code}"


def _spawn(run_dir: Path, name: str, argv: list[str], env: dict[str, str] | None = None,
           stdout: Path | None = None) -> int:
    log = run_dir / "logs" / f"{name}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") as err, open(stdout or log, "ab") as out:
        err.write(f"\n=== {time.strftime('%Y-%m-%dT%H:%M:%S')} reallab: {' '.join(argv)}\n".encode())
        err.flush()
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=err, env=env, cwd=run_dir,  # pylint: disable=consider-using-with
                                start_new_session=True, close_fds=True)
    kubelab._CHILDREN[proc.pid] = proc  # pylint: disable=protected-access
    return proc.pid


def _alive(pid: int) -> bool:
    return kubelab._alive(pid)  # pylint: disable=protected-access


def _stop_pid(pid: int) -> None:
    if not _alive(pid):
        return
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + STOP_TIMEOUT_S
    while time.monotonic() < deadline and _alive(pid):
        time.sleep(0.05)
    if _alive(pid):
        os.kill(pid, signal.SIGKILL)


def _read(path: Path) -> str:
    try:
        return path.read_text(errors="replace")
    except OSError:
        return ""


def _tail(path: Path, lines: int = 25) -> str:
    return "\n".join(_read(path).splitlines()[-lines:]) or "(no log)"
