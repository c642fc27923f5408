"""labctl: start, stop and inspect the local lab.

    labctl up [--kubevirt sim|real] [--topology FILE] [--dir DIR]
    labctl down [--dir DIR]
    labctl status [--dir DIR]
    labctl restart COMPONENT [--dir DIR]

`up` builds what is missing (cached under ~/.cache/ovirt-kubevirt-lab), starts
a Kubernetes control plane (kubelab) and KubeVirt, then the oVirt engine API
fake, and writes DIR/env: export lines that configure both the oVirt SDK and
the Kubernetes client. `--kubevirt` chooses KubeVirt:

  sim   (default) Kubernetes 1.20 from Debian's source and the KubeVirt simulator
  real  Kubernetes 1.34 and etcd 3.6 from the Go module proxy, KubeVirt's own
        virt-api and virt-controller, KWOK as the kubelet, and stand-ins for
        virt-handler and storage (reallab)

Everything listens on 127.0.0.1, on free ports, so two labs in two DIRs run
side by side. `down` stops by PID everything `up` started. COMPONENT is one of
etcd, apiserver, controller-manager, ovirt, kubevirt, and with a real lab
scheduler, kwok, standins, virt-api, virt-controller (kubevirt: both of these).
"""
from __future__ import annotations

import argparse
import json
import os
import secrets
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import kubelab
import labtopology
import reallab

LAB_ROOT = Path(__file__).resolve().parent
DEFAULT_DIR = LAB_ROOT / ".run"
DEFAULT_TOPOLOGY = LAB_ROOT / "topologies" / "default.yaml"
CRD_FILES = sorted((LAB_ROOT / "kubevirt").glob("crd-validation-*.yaml"))
OVIRT_USERNAME = "admin@internal"
# The aggregator verifies the simulator's serving certificate for this name.
VIRT_API_SERVICE_NAME = "virt-api.kubevirt.svc"
READY_TIMEOUT_S = 60.0
KUBEVIRT_KINDS = ("sim", "real")
DEFAULT_KUBEVIRT = "sim"
KUBE_COMPONENTS = ("etcd", "apiserver", "controller-manager", "scheduler")
RESTARTABLE = [*KUBE_COMPONENTS, "kubevirt", "ovirt", *reallab.COMPONENTS]
STOP_TIMEOUT_S = 10.0


class LabError(kubelab.LabError):
    """A lab component failed; the message names it and quotes its log."""


def main(argv: list[str] | None = None) -> int:
    args = _parse_args(argv)
    run_dir = Path(args.dir).resolve()
    try:
        if args.command == "up":
            state = up(run_dir, Path(args.topology).resolve(), kubevirt=args.kubevirt)
            print(f"lab up in {state['seconds_to_ready']:.1f} s; source {run_dir / 'env'}")
        elif args.command == "down":
            down(run_dir)
            print("lab down")
        elif args.command == "status":
            report = status(run_dir)
            print(json.dumps(report, indent=2))
            return 0 if report.get("running") else 1
        elif args.command == "restart":
            restart(run_dir, args.component)
            print(f"{args.component} restarted")
    except (kubelab.LabError, labtopology.TopologyError) as exc:
        print(f"labctl {args.command}: {exc}", file=sys.stderr)
        return 1
    return 0


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="labctl", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("up", "down", "status", "restart"):
        cmd = sub.add_parser(name)
        cmd.add_argument("--dir", default=os.environ.get("LAB_DIR", str(DEFAULT_DIR)))
        if name == "up":
            cmd.add_argument("--topology", default=str(DEFAULT_TOPOLOGY))
            cmd.add_argument("--kubevirt", choices=KUBEVIRT_KINDS, default=DEFAULT_KUBEVIRT,
                             help="the KubeVirt control plane: the simulator or the real one (default: %(default)s)")
        if name == "restart":
            cmd.add_argument("component", choices=RESTARTABLE)
    return parser.parse_args(argv)


def up(run_dir: Path, topology_path: Path, kubevirt: str = DEFAULT_KUBEVIRT) -> dict[str, Any]:
    """Start every component, or report that this DIR already runs a lab."""
    started = time.monotonic()
    if kubevirt not in KUBEVIRT_KINDS:
        raise LabError(f"--kubevirt must be one of {', '.join(KUBEVIRT_KINDS)}, not {kubevirt!r}")
    labtopology.load(topology_path)  # refuse a bad topology before starting anything
    if _state_path(run_dir).exists() and status(run_dir).get("running"):
        raise LabError(f"a lab already runs in {run_dir}; run 'labctl down --dir {run_dir}' first")
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "logs").mkdir(exist_ok=True)
    try:
        kube = kubelab.start(run_dir, "real" if kubevirt == "real" else "sim")
        state: dict[str, Any] = {
            "kubevirt": kubevirt,
            "topology": str(topology_path),
            "kube": json.loads((run_dir / "kube.json").read_text()),
            "ovirt_password": secrets.token_urlsafe(18),
            "components": {},
        }
        if kubevirt == "real":
            real = reallab.start(run_dir, kube, topology_path)
            state["components"].update(real.pop("components"))
            state["real"] = real
            _save_state(run_dir, state)
        else:
            state["crds"] = kubelab.install_crds(kube, CRD_FILES)
            _save_state(run_dir, state)
            _start_kubevirt(run_dir, state, kube)
        _start_ovirt(run_dir, state, kube)
        state["seconds_to_ready"] = time.monotonic() - started
        _save_state(run_dir, state)
        _write_env(run_dir, state)
    except Exception:
        down(run_dir)
        raise
    return state


def down(run_dir: Path) -> None:
    state = _load_state(run_dir)
    components = state.get("components", {})
    for name in ("ovirt", "kubevirt"):
        component = components.get(name)
        if component:
            _stop_pid(component["pid"])
    reallab.stop(components)
    kubelab.stop(run_dir)
    _state_path(run_dir).unlink(missing_ok=True)


def status(run_dir: Path) -> dict[str, Any]:
    state = _load_state(run_dir)
    if not state:
        return {"running": False, "dir": str(run_dir)}
    pids = dict(json.loads((run_dir / "pids.json").read_text())) if (run_dir / "pids.json").exists() else {}
    pids.update({name: c["pid"] for name, c in state.get("components", {}).items()})
    alive = {name: _alive(pid) for name, pid in pids.items()}
    return {
        "running": bool(alive) and all(alive.values()),
        "dir": str(run_dir),
        "components": alive,
        "kubevirt": state.get("kubevirt", "sim"),
        "kubernetes": state["kube"]["host"],
        "ovirt": state.get("components", {}).get("ovirt", {}).get("url"),
    }


def restart(run_dir: Path, component: str) -> None:
    """Stop and start one component in place, keeping its data and port."""
    state = _load_state(run_dir)
    if not state:
        raise LabError(f"no lab runs in {run_dir}")
    if component in KUBE_COMPONENTS:
        kubelab.restart(run_dir, component)
        return
    kube = kubelab.KubeLab(**_kube_fields(state["kube"]))
    if state.get("kubevirt") == "real" and component != "ovirt":
        if component not in ("kubevirt", *reallab.COMPONENTS):
            raise LabError(f"a real-KubeVirt lab has no component {component!r}")
        real = {**state["real"], "components": state["components"]}
        reallab.restart(run_dir, kube, Path(state["topology"]), real, component)
        _save_state(run_dir, state)
        return
    if component not in state["components"]:
        raise LabError(f"this lab has no component {component!r}")
    _stop_pid(state["components"][component]["pid"])
    if component == "kubevirt":
        _start_kubevirt(run_dir, state, kube, port=state["components"]["kubevirt"]["port"])
    else:
        _start_ovirt(run_dir, state, kube, port=state["components"]["ovirt"]["port"])
    _save_state(run_dir, state)


def _start_kubevirt(run_dir: Path, state: dict[str, Any], kube: kubelab.KubeLab, port: int = 0) -> None:
    cert, key = _serving_cert(run_dir, kube, "kubevirt-sim", ["localhost", "127.0.0.1", VIRT_API_SERVICE_NAME])
    command = [
        sys.executable, "-m", "kubevirt_sim",
        "--kubeconfig", str(kube.kubeconfig),
        "--topology", state["topology"],
        "--state-dir", str(run_dir / "kubevirt"),
        "--listen-port", str(port),
        "--tls-cert", str(cert),
        "--tls-key", str(key),
        "--ca-cert", str(kube.ca_cert),
        "--requestheader-ca", str(kube.front_proxy_ca),
    ]
    pid, ready = _spawn(run_dir, "kubevirt", command)
    state["components"]["kubevirt"] = {"pid": pid, "port": int(ready.split()[-1])}
    _save_state(run_dir, state)


def _start_ovirt(run_dir: Path, state: dict[str, Any], kube: kubelab.KubeLab, port: int = 0) -> None:
    cert, key = _serving_cert(run_dir, kube, "ovirt-engine", ["localhost", "127.0.0.1"])
    command = [
        sys.executable, "-m", "ovirt_fake",
        "--topology", state["topology"],
        "--port", str(port),
        "--cert", str(cert),
        "--key", str(key),
        "--state-dir", str(run_dir / "ovirt"),
        "--username", OVIRT_USERNAME,
        # One argument: a generated password may start with "-", which argparse would take for an option.
        f"--password={state['ovirt_password']}",
    ]
    pid, ready = _spawn(run_dir, "ovirt", command)
    url = ready.split()[-1]
    state["components"]["ovirt"] = {"pid": pid, "port": int(url.split(":")[2].split("/")[0]), "url": url}
    _save_state(run_dir, state)


def _serving_cert(run_dir: Path, kube: kubelab.KubeLab, name: str, sans: list[str]) -> tuple[Path, Path]:
    pki = run_dir / "pki"
    cert, key = pki / f"{name}.crt", pki / f"{name}.key"
    if cert.exists() and key.exists():
        return cert, key
    return kubelab.issue_cert(kube.ca_cert, kube.ca_key, pki, name, sans)


def _spawn(run_dir: Path, name: str, command: list[str]) -> tuple[int, str]:
    """Start a detached component and wait for its READY line on stdout."""
    out_path = run_dir / "logs" / f"{name}.out"
    log_path = run_dir / "logs" / f"{name}.log"
    env = dict(os.environ, PYTHONPATH=str(LAB_ROOT), PYTHONUNBUFFERED="1")
    with open(out_path, "wb") as out, open(log_path, "ab") as log:
        process = subprocess.Popen(  # pylint: disable=consider-using-with
            command, stdout=out, stderr=log, stdin=subprocess.DEVNULL, env=env, start_new_session=True
        )
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        for line in out_path.read_text(errors="replace").splitlines():
            if line.startswith("READY "):
                return process.pid, line.strip()
        if process.poll() is not None:
            raise LabError(f"{name} exited with code {process.returncode}: {_tail(log_path)}")
        time.sleep(0.05)
    _stop_pid(process.pid)
    raise LabError(f"{name} did not become ready within {READY_TIMEOUT_S:.0f} s: {_tail(log_path)}")


def _write_env(run_dir: Path, state: dict[str, Any]) -> None:
    kube, ovirt = state["kube"], state["components"]["ovirt"]
    values = {
        "OVIRT_URL": ovirt["url"],
        "OVIRT_USERNAME": OVIRT_USERNAME,
        "OVIRT_PASSWORD": state["ovirt_password"],
        "OVIRT_CAFILE": kube["ca_cert"],
        "K8S_AUTH_HOST": kube["host"],
        "K8S_AUTH_API_KEY": kube["admin_token"],
        "K8S_AUTH_SSL_CA_CERT": kube["ca_cert"],
        "K8S_AUTH_VERIFY_SSL": "true",
        "K8S_AUTH_KUBECONFIG": kube["kubeconfig"],
        "LAB_RESTRICTED_TOKEN": kube["restricted_token"],
        "LAB_DIR": str(run_dir),
    }
    env_path = run_dir / "env"
    text = "".join(f"export {key}={shlex.quote(str(value))}\n" for key, value in values.items())
    env_path.write_text(text)
    env_path.chmod(0o600)  # it holds the lab's credentials


def read_env(run_dir: Path) -> dict[str, str]:
    """The variables of DIR/env, for tests and tools that do not source it."""
    values: dict[str, str] = {}
    for line in (run_dir / "env").read_text().splitlines():
        key, _equals, value = line.removeprefix("export ").partition("=")
        values[key] = shlex.split(value)[0] if value else ""
    return values


def _kube_fields(data: dict[str, Any]) -> dict[str, Any]:
    fields = kubelab.KubeLab.__dataclass_fields__
    return {k: (Path(v) if isinstance(v, str) and fields[k].type in ("Path", Path) else v) for k, v in data.items() if k in fields}


def _state_path(run_dir: Path) -> Path:
    return run_dir / "lab.json"


def _load_state(run_dir: Path) -> dict[str, Any]:
    path = _state_path(run_dir)
    return json.loads(path.read_text()) if path.exists() else {}


def _save_state(run_dir: Path, state: dict[str, Any]) -> None:
    tmp = _state_path(run_dir).with_suffix(".tmp")
    tmp.write_text(json.dumps(state, indent=2, default=str))
    tmp.chmod(0o600)
    tmp.replace(_state_path(run_dir))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie child is not alive.
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return False


def _stop_pid(pid: int) -> None:
    if not _alive(pid):
        return
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT_S
    while time.monotonic() < deadline and _alive(pid):
        time.sleep(0.05)
    if _alive(pid):
        os.kill(pid, signal.SIGKILL)


def _tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


if __name__ == "__main__":
    sys.exit(main())
