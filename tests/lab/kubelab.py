"""A real Kubernetes control plane on loopback for the test lab.

``start(run_dir, flavor)`` runs etcd, kube-apiserver and kube-controller-manager
on 127.0.0.1 with free ports, a lab PKI and token authentication, and returns a
:class:`KubeLab` with everything a client needs.  Processes are detached (own
session) so they outlive the caller; ``stop(run_dir)`` ends them by the PIDs
recorded in run_dir.  Two flavors:

* ``sim``: Kubernetes 1.20.2 built from Debian's source package by
  ``build-kube.sh``, with Debian's etcd, for the KubeVirt simulator;
* ``real``: Kubernetes 1.34 and etcd 3.6 built from the Go module proxy by
  ``build-go.sh`` (wrapper modules in ``go/``), plus kube-scheduler, for the
  real KubeVirt control plane (virt-controller needs policy/v1 and the CRDs
  carry CEL rules, so 1.20 cannot serve it).

run_dir layout::

    pki/         lab CA, serving/client certs, front-proxy CA, SA key pair, tokens.csv
    etcd/        etcd data (kept across stop/start)
    logs/        <component>.log
    ports.json   ports chosen at first start, reused by start()/restart()
    pids.json    component -> pid
    kube.json    the KubeLab as JSON
    kubeconfig   admin kubeconfig (token + lab CA)

Aggregated API servers (e.g. a KubeVirt simulator with its own HTTPS endpoint)
------------------------------------------------------------------------------
Register them with a Service of type ExternalName and an APIService::

    Service    <svc>/<ns>: type ExternalName, externalName: localhost
    APIService v1.subresources.kubevirt.io: service {namespace: <ns>, name: <svc>,
               port: <simulator port>}, caBundle: base64(lab CA)

What the 1.20 aggregator does with that (kube-aggregator/pkg/apiserver):

* Routing: with ``--enable-aggregator-routing=false`` (set here, the default)
  the ClusterIP resolver maps an ExternalName Service to
  ``https://<externalName>:<APIService spec.service.port>``; the Service's own
  ports are ignored.  Endpoints can not be used instead: API validation rejects
  127.0.0.0/8 addresses in Endpoints, and the endpoint resolver
  (``--enable-aggregator-routing=true``) refuses ExternalName Services.
  ``localhost`` may resolve to ::1 first; Go falls back to 127.0.0.1.
* TLS: the proxy verifies the simulator's certificate against the APIService
  ``caBundle`` with server name ``<svc>.<ns>.svc`` (not the externalName), so
  issue it with ``issue_cert(lab.ca_cert, lab.ca_key, dir, name,
  ["<svc>.<ns>.svc", "localhost", "127.0.0.1"])``.
* Client identity: the proxy presents the front-proxy client certificate
  (CN ``front-proxy-client``, signed by ``front_proxy_ca``) and passes the
  user in ``X-Remote-User``, ``X-Remote-Group`` and ``X-Remote-Extra-*``.  The
  same CA and allowed names are published in the ConfigMap
  ``kube-system/extension-apiserver-authentication``.
* Availability: the APIService becomes Available only once
  ``GET /apis/<group>/<version>`` answers 2xx (within 5 s).  That probe does
  not verify TLS (its SNI is the externalName), presents the same client
  certificate, and sends ``X-Remote-User: system:kube-aggregator``,
  ``X-Remote-Group: system:masters``.  The proxy route is registered
  separately: for a moment after Available=True the group can still answer
  404, so wait until its discovery answers 200 through kube-apiserver.
* Authorization happens in kube-apiserver before proxying: RBAC rules for
  e.g. ``virtualmachines/start`` in group ``subresources.kubevirt.io`` decide.

Verified with this lab: proxied requests arrived with SNI ``<svc>.<ns>.svc``,
client CN ``front-proxy-client`` and ``X-Remote-User: admin``,
``X-Remote-Group: system:masters, system:authenticated``.
"""

from __future__ import annotations

import copy
import datetime
import ipaddress
import json
import logging
import os
import re
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

LOG = logging.getLogger("kubelab")

HERE = Path(__file__).resolve().parent
BUILD_SCRIPT = HERE / "build-kube.sh"
GO_BUILD_SCRIPT = HERE / "build-go.sh"
FLAVORS = ("sim", "real")
COMPONENTS_OF = {"sim": ("etcd", "apiserver", "controller-manager"),
                 "real": ("etcd", "apiserver", "controller-manager", "scheduler")}
# Every component any flavor runs, in start order.
COMPONENTS = COMPONENTS_OF["real"]
SERVICE_CLUSTER_IP_RANGE = "10.96.0.0/16"
SERVICE_ACCOUNT_ISSUER = "https://kubernetes.default.svc"
FRONT_PROXY_CLIENT = "front-proxy-client"
CONTROLLER_MANAGER_USER = "system:kube-controller-manager"
SCHEDULER_USER = "system:kube-scheduler"
APISERVER_SANS = ["127.0.0.1", "localhost", "kubernetes", "kubernetes.default",
                  "kubernetes.default.svc", "kubernetes.default.svc.cluster.local"]
READY_TIMEOUT = {"etcd": 30.0, "apiserver": 90.0, "controller-manager": 60.0, "scheduler": 60.0}
# SIGTERM grace before SIGKILL.  kube-apiserver's graceful shutdown waits up to
# 60 s for open watches to end, so it gets little; its state is all in etcd.
STOP_TIMEOUT = {"etcd": 15.0, "apiserver": 5.0, "controller-manager": 15.0, "scheduler": 15.0}
CERT_DAYS = 365
CA_DAYS = 3650

# Popen objects of processes started by this Python process, kept so that they
# are reaped (no zombies) and do not warn when garbage-collected.
_CHILDREN: dict[int, subprocess.Popen[bytes]] = {}


class LabError(RuntimeError):
    """A lab component failed to start, stop or become ready."""


@dataclass
class KubeLab:
    """Everything a client needs; all paths absolute."""

    run_dir: Path
    host: str  # https://127.0.0.1:<port>
    ca_cert: Path  # the lab CA that signed every serving cert
    ca_key: Path
    admin_token: str
    restricted_token: str  # user "restricted", no groups, no RBAC bindings
    kubeconfig: Path  # admin kubeconfig using the token and the CA
    front_proxy_ca: Path  # CA of the aggregator's client certificate
    pids: dict[str, int]  # component name -> pid
    flavor: str = "sim"

    def to_json(self) -> str:
        data = {k: str(v) if isinstance(v, Path) else v for k, v in asdict(self).items()}
        return json.dumps(data, indent=2, sort_keys=True) + "\n"

    @classmethod
    def from_json(cls, text: str) -> KubeLab:
        data = json.loads(text)
        for key in ("run_dir", "ca_cert", "ca_key", "kubeconfig", "front_proxy_ca"):
            data[key] = Path(data[key])
        return cls(**data)


# --------------------------------------------------------------------- binaries


def _run_build(argv: list[str], binaries: tuple[str, ...]) -> Path:
    """Run a build script (instant when cached) and return the bin dir it prints."""
    proc = subprocess.run(argv, stdout=subprocess.PIPE, text=True, check=False)
    if proc.returncode != 0:
        raise LabError(f"{' '.join(argv)} failed with exit code {proc.returncode} (its output is above)")
    bin_dir = Path(proc.stdout.strip().splitlines()[-1])
    for name in binaries:
        if not os.access(bin_dir / name, os.X_OK):
            raise LabError(f"{argv[0]} reported {bin_dir} but {name} is not there")
    return bin_dir


def go_component(name: str, binaries: tuple[str, ...]) -> Path:
    """The bin dir of a Go component built by build-go.sh (etcd, kube, kwok, kubevirt)."""
    return _run_build([str(GO_BUILD_SCRIPT), name], binaries)


def ensure_binaries(flavor: str = "sim") -> dict[str, Path]:
    """The path of every binary the flavor runs: etcd, kube-apiserver, ..."""
    if flavor == "real":
        kube = go_component("kube", ("kube-apiserver", "kube-controller-manager", "kube-scheduler"))
        etcd = go_component("etcd", ("etcd",))
        return {"etcd": etcd / "etcd", "kube-apiserver": kube / "kube-apiserver",
                "kube-controller-manager": kube / "kube-controller-manager",
                "kube-scheduler": kube / "kube-scheduler"}
    bin_dir = _run_build([str(BUILD_SCRIPT)], ("kube-apiserver", "kube-controller-manager"))
    return {"etcd": Path(_etcd_binary()), "kube-apiserver": bin_dir / "kube-apiserver",
            "kube-controller-manager": bin_dir / "kube-controller-manager"}


def _etcd_binary() -> str:
    etcd = shutil.which("etcd") or "/usr/bin/etcd"
    if not os.access(etcd, os.X_OK):
        raise LabError("etcd not found; install etcd-server (build-kube.sh does it as root)")
    return etcd


# -------------------------------------------------------------------------- PKI


def _utcnow() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def _file_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", name)


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey) -> None:
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    path.touch(mode=0o600)
    path.write_bytes(pem)


def _write_cert(path: Path, cert: x509.Certificate) -> None:
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def _load_ca(cert_path: Path, key_path: Path) -> tuple[x509.Certificate, Any]:
    cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    return cert, key


def _san(names: list[str]) -> x509.SubjectAlternativeName:
    entries: list[x509.GeneralName] = []
    for name in names:
        try:
            entries.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            entries.append(x509.DNSName(name))
    return x509.SubjectAlternativeName(entries)


def _make_ca(cert_path: Path, key_path: Path, common_name: str) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject).issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(_utcnow() - datetime.timedelta(hours=1))
        .not_valid_after(_utcnow() + datetime.timedelta(days=CA_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                     content_commitment=False, key_encipherment=False,
                                     data_encipherment=False, key_agreement=False,
                                     encipher_only=False, decipher_only=False), critical=True)
        .add_extension(ski, critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski),
                       critical=False)
        .sign(key, hashes.SHA256())
    )
    _write_key(key_path, key)
    _write_cert(cert_path, cert)


def _authority_key_id(ca_cert: x509.Certificate) -> x509.AuthorityKeyIdentifier:
    # Python 3.13's default TLS verification (VERIFY_X509_STRICT) wants this extension.
    try:
        ski = ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    except x509.ExtensionNotFound:
        return x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_cert.public_key())  # type: ignore[arg-type]
    return x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski)


def issue_cert(lab_ca_cert: Path, lab_ca_key: Path, out_dir: Path, name: str,
               sans: list[str], client: bool = False, organization: str | None = None) -> tuple[Path, Path]:
    """Issue a certificate signed by the given CA; returns (cert, key) paths.

    ``name`` is the subject CN (the user name for client certs) and, made safe,
    the file name: out_dir/<name>.crt and .key.  ``sans`` are DNS names or IP
    addresses.  ``client=False`` gives a serving cert (serverAuth),
    ``client=True`` a client cert (clientAuth); ``organization`` is the subject O, the
    group Kubernetes' x509 authenticator gives a client (``system:nodes`` for a kubelet).
    """
    ca_cert, ca_key = _load_ca(lab_ca_cert, lab_ca_key)
    key = ec.generate_private_key(ec.SECP256R1())
    usage = ExtendedKeyUsageOID.CLIENT_AUTH if client else ExtendedKeyUsageOID.SERVER_AUTH
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name(([x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization)] if organization
                                 else []) + [x509.NameAttribute(NameOID.COMMON_NAME, name)]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(_utcnow() - datetime.timedelta(hours=1))
        .not_valid_after(_utcnow() + datetime.timedelta(days=CERT_DAYS))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=False, crl_sign=False,
                                     content_commitment=False, key_encipherment=False,
                                     data_encipherment=False, key_agreement=False,
                                     encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(_authority_key_id(ca_cert), critical=False)
    )
    if sans:
        builder = builder.add_extension(_san(sans), critical=False)
    cert = builder.sign(ca_key, hashes.SHA256())
    out_dir.mkdir(parents=True, exist_ok=True)
    cert_path = out_dir / f"{_file_name(name)}.crt"
    key_path = out_dir / f"{_file_name(name)}.key"
    _write_key(key_path, key)
    _write_cert(cert_path, cert)
    return cert_path, key_path


def _pki(run_dir: Path) -> Path:
    return run_dir / "pki"


def _ensure_pki(run_dir: Path) -> dict[str, str]:
    """Create whatever part of the PKI is missing (first start); returns the tokens."""
    pki = _pki(run_dir)
    pki.mkdir(parents=True, exist_ok=True)
    ca, ca_key = pki / "ca.crt", pki / "ca.key"
    if not ca.exists():
        _make_ca(ca, ca_key, "ovirt-kubevirt-lab-ca")
    if not (pki / "front-proxy-ca.crt").exists():
        _make_ca(pki / "front-proxy-ca.crt", pki / "front-proxy-ca.key", "ovirt-kubevirt-lab-front-proxy-ca")
    wanted = [
        (ca, ca_key, "kube-apiserver", APISERVER_SANS, False),
        (ca, ca_key, "kube-controller-manager", ["127.0.0.1", "localhost"], False),
        (ca, ca_key, CONTROLLER_MANAGER_USER, [], True),
        (ca, ca_key, "kube-scheduler", ["127.0.0.1", "localhost"], False),
        (ca, ca_key, SCHEDULER_USER, [], True),
        (pki / "front-proxy-ca.crt", pki / "front-proxy-ca.key", FRONT_PROXY_CLIENT, [], True),
    ]
    for issuer, issuer_key, name, sans, client in wanted:
        if not (pki / f"{_file_name(name)}.crt").exists():
            issue_cert(issuer, issuer_key, pki, name, sans, client)
    if not (pki / "sa.key").exists():
        # RSA: service-account tokens are RS256 JWTs.
        sa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        (pki / "sa.pub").write_bytes(sa_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
        _write_key(pki / "sa.key", sa_key)
    return _ensure_tokens(pki / "tokens.csv")


def _ensure_tokens(path: Path) -> dict[str, str]:
    """--token-auth-file: token,user,uid[,"groups"]; admin is in system:masters."""
    if not path.exists():
        admin, restricted = secrets.token_hex(24), secrets.token_hex(24)
        path.touch(mode=0o600)
        path.write_text(f'{admin},admin,admin,"system:masters"\n'
                        f"{restricted},restricted,restricted\n")
    tokens = {}
    for line in path.read_text().splitlines():
        token, user = line.split(",")[:2]
        tokens[user] = token
    return tokens


# ------------------------------------------------------------------ ports/state


def _port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # Like Go's listeners: a TIME_WAIT left by our own previous run is no conflict.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


PORT_NAMES = ("etcd", "etcd-peer", "apiserver", "controller-manager", "scheduler")


def _ensure_ports(run_dir: Path) -> dict[str, int]:
    """Ports chosen once and kept; one taken meanwhile by someone else is replaced."""
    path = run_dir / "ports.json"
    ports: dict[str, int] = json.loads(path.read_text()) if path.exists() else {}
    for name in PORT_NAMES:
        if name not in ports or not _port_is_free(ports[name]):
            if name in ports:
                LOG.warning("port %d for %s is taken, choosing another", ports[name], name)
            ports[name] = _free_port()
    _write_json(path, ports)
    return ports


def _write_json(path: Path, data: Any) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    tmp.replace(path)


def _read_json(path: Path) -> Any:
    return json.loads(path.read_text()) if path.exists() else {}


def _save_pid(run_dir: Path, component: str, pid: int | None) -> dict[str, int]:
    pids: dict[str, int] = _read_json(run_dir / "pids.json")
    if pid is None:
        pids.pop(component, None)
    else:
        pids[component] = pid
    _write_json(run_dir / "pids.json", pids)
    return pids


def _refresh_kube_json(run_dir: Path) -> None:
    """Keep the pids in kube.json equal to pids.json."""
    if (run_dir / "kube.json").exists():
        (run_dir / "kube.json").write_text(load(run_dir).to_json())


def load(run_dir: Path) -> KubeLab:
    """The KubeLab of a started lab (from run_dir/kube.json, with current pids)."""
    run_dir = run_dir.resolve()
    lab = KubeLab.from_json((run_dir / "kube.json").read_text())
    lab.pids = _read_json(run_dir / "pids.json")
    return lab


# ------------------------------------------------------------------- processes


def _alive(pid: int) -> bool:
    child = _CHILDREN.get(pid)
    if child is not None:
        return child.poll() is None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie (not ours to reap) is dead
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _is_ours(pid: int, run_dir: Path) -> bool:
    """Guard against PID reuse: every component's command line names run_dir."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    except OSError:
        return False
    return f"{run_dir}/" in cmdline


def _stop_pid(pid: int, run_dir: Path, timeout: float) -> None:
    if not _alive(pid) or not _is_ours(pid, run_dir):
        _CHILDREN.pop(pid, None)
        return
    for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 5.0)):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            break
        deadline = time.monotonic() + wait
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        if not _alive(pid):
            break
        LOG.info("pid %d still running %.0f s after %s", pid, wait, sig.name)
    _CHILDREN.pop(pid, None)
    if _alive(pid):
        raise LabError(f"pid {pid} survived SIGKILL")


def _log_path(run_dir: Path, component: str) -> Path:
    return run_dir / "logs" / f"{component}.log"


def _log_tail(run_dir: Path, component: str, lines: int = 30) -> str:
    try:
        text = _log_path(run_dir, component).read_text(errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:])


def _spawn(run_dir: Path, component: str, argv: list[str]) -> int:
    log_path = _log_path(run_dir, component)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log:
        log.write(f"\n=== {_utcnow().isoformat()} kubelab: {' '.join(argv)}\n".encode())
        log.flush()
        # Own session: the component outlives the caller and its terminal signals.
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                cwd=run_dir, start_new_session=True, close_fds=True)
    _CHILDREN[proc.pid] = proc
    return proc.pid


# ------------------------------------------------------------- configuration


@dataclass
class _Plan:
    """Everything needed to (re)start a component of one lab."""

    run_dir: Path
    binaries: dict[str, Path]
    ports: dict[str, int]
    tokens: dict[str, str]
    flavor: str

    def pki(self, name: str) -> str:
        return str(_pki(self.run_dir) / name)

    @property
    def host(self) -> str:
        return f"https://127.0.0.1:{self.ports['apiserver']}"

    @property
    def components(self) -> tuple[str, ...]:
        return COMPONENTS_OF[self.flavor]

    def argv(self, component: str) -> list[str]:
        return {"etcd": self._etcd, "apiserver": self._apiserver,
                "controller-manager": self._controller_manager,
                "scheduler": self._scheduler}[component]()

    def _etcd(self) -> list[str]:
        client = f"http://127.0.0.1:{self.ports['etcd']}"
        peer = f"http://127.0.0.1:{self.ports['etcd-peer']}"
        return [
            str(self.binaries["etcd"]), "--name=lab", f"--data-dir={self.run_dir / 'etcd'}",
            f"--listen-client-urls={client}", f"--advertise-client-urls={client}",
            # The peer port is bound even for one member; the default (2380) would clash between labs.
            f"--listen-peer-urls={peer}", f"--initial-advertise-peer-urls={peer}",
            f"--initial-cluster=lab={peer}", "--logger=zap", "--log-outputs=stderr",
        ]

    def _apiserver(self) -> list[str]:
        admission = ("NamespaceLifecycle,LimitRanger,ServiceAccount,DefaultStorageClass,"
                     "DefaultTolerationSeconds,MutatingAdmissionWebhook,"
                     "ValidatingAdmissionWebhook,ResourceQuota,NodeRestriction")
        return [
            str(self.binaries["kube-apiserver"]),
            f"--etcd-servers=http://127.0.0.1:{self.ports['etcd']}",
            "--bind-address=127.0.0.1", "--advertise-address=127.0.0.1",
            f"--secure-port={self.ports['apiserver']}",
            *self._sim_only(
                # 1.20 still serves an unauthenticated port 8080 unless told not to (the flag is gone in 1.24).
                "--insecure-port=0"),
            # Loopback errors in the lease reconciler for the kubernetes Service endpoints.
            "--endpoint-reconciler-type=none",
            f"--cert-dir={self.run_dir / 'apiserver'}",
            f"--tls-cert-file={self.pki('kube-apiserver.crt')}",
            f"--tls-private-key-file={self.pki('kube-apiserver.key')}",
            f"--client-ca-file={self.pki('ca.crt')}",
            f"--token-auth-file={self.pki('tokens.csv')}",
            "--authorization-mode=Node,RBAC",
            f"--service-account-issuer={SERVICE_ACCOUNT_ISSUER}",
            f"--service-account-key-file={self.pki('sa.pub')}",
            f"--service-account-signing-key-file={self.pki('sa.key')}",
            f"--service-cluster-ip-range={SERVICE_CLUSTER_IP_RANGE}",
            "--allow-privileged=true",
            f"--enable-admission-plugins={admission}",
            # Aggregation: see the module docstring.
            "--enable-aggregator-routing=false",
            f"--requestheader-client-ca-file={self.pki('front-proxy-ca.crt')}",
            f"--requestheader-allowed-names={FRONT_PROXY_CLIENT}",
            "--requestheader-username-headers=X-Remote-User",
            "--requestheader-group-headers=X-Remote-Group",
            "--requestheader-extra-headers-prefix=X-Remote-Extra-",
            f"--proxy-client-cert-file={self.pki(FRONT_PROXY_CLIENT + '.crt')}",
            f"--proxy-client-key-file={self.pki(FRONT_PROXY_CLIENT + '.key')}",
            "--v=1",
        ]

    def _served_by(self, component: str, binary: str) -> list[str]:
        """A control-plane component's identity (its own kubeconfig), serving port and certificate."""
        kubeconfig = str(self.run_dir / f"{component}.kubeconfig")
        return [
            str(self.binaries[binary]),
            f"--kubeconfig={kubeconfig}",
            f"--authentication-kubeconfig={kubeconfig}",
            f"--authorization-kubeconfig={kubeconfig}",
            "--bind-address=127.0.0.1", f"--secure-port={self.ports[component]}",
            f"--tls-cert-file={self.pki(binary + '.crt')}",
            f"--tls-private-key-file={self.pki(binary + '.key')}",
            # One instance: leader election would only delay restarts by the lease time.
            "--leader-elect=false",
            "--v=1",
        ]

    def _controller_manager(self) -> list[str]:
        return [
            *self._served_by("controller-manager", "kube-controller-manager"),
            *self._sim_only(
                # 1.20 still serves an insecure port 10252 unless told not to (the flag is gone in 1.24).
                "--port=0"),
            f"--service-account-private-key-file={self.pki('sa.key')}",
            f"--root-ca-file={self.pki('ca.crt')}",
            "--use-service-account-credentials=true",
            # Everything on by default except the controllers that need a cloud provider.
            "--controllers=*,-cloud-node-lifecycle,-route,-service",
            # CSR signing with the lab CA, as kubeadm does.
            f"--cluster-signing-cert-file={self.pki('ca.crt')}",
            f"--cluster-signing-key-file={self.pki('ca.key')}",
        ]

    def _scheduler(self) -> list[str]:
        return self._served_by("scheduler", "kube-scheduler")

    def _sim_only(self, *flags: str) -> tuple[str, ...]:
        return flags if self.flavor == "sim" else ()

    def ready_url(self, component: str) -> str:
        return {
            "etcd": f"http://127.0.0.1:{self.ports['etcd']}/health",
            "apiserver": f"{self.host}/readyz",
            "controller-manager": f"https://127.0.0.1:{self.ports['controller-manager']}/healthz",
            "scheduler": f"https://127.0.0.1:{self.ports['scheduler']}/healthz",
        }[component]


def _kubeconfig(host: str, ca: Path, user: dict[str, str]) -> str:
    config = {
        "apiVersion": "v1", "kind": "Config", "current-context": "lab",
        "clusters": [{"name": "lab", "cluster": {"server": host, "certificate-authority": str(ca)}}],
        "users": [{"name": "lab", "user": user}],
        "contexts": [{"name": "lab", "context": {"cluster": "lab", "user": "lab"}}],
    }
    return yaml.safe_dump(config, sort_keys=False)


def _write_kubeconfigs(plan: _Plan) -> Path:
    ca = _pki(plan.run_dir) / "ca.crt"
    admin = plan.run_dir / "kubeconfig"
    admin.touch(mode=0o600)
    admin.write_text(_kubeconfig(plan.host, ca, {"token": plan.tokens["admin"]}))
    for component, user in (("controller-manager", CONTROLLER_MANAGER_USER), ("scheduler", SCHEDULER_USER)):
        cert_user = {"client-certificate": plan.pki(_file_name(user) + ".crt"),
                     "client-key": plan.pki(_file_name(user) + ".key")}
        (plan.run_dir / f"{component}.kubeconfig").write_text(_kubeconfig(plan.host, ca, cert_user))
    return admin


def _flavor(run_dir: Path, flavor: str | None) -> str:
    """The flavor asked for, remembered in run_dir; a run_dir keeps the flavor its etcd data was made by."""
    path = run_dir / "flavor"
    known = path.read_text().strip() if path.exists() else None
    if flavor is None:
        return known or "sim"
    if flavor not in FLAVORS:
        raise LabError(f"unknown lab flavor {flavor!r}; expected one of {', '.join(FLAVORS)}")
    if known and known != flavor and (run_dir / "etcd").exists():
        raise LabError(f"{run_dir} holds a {known!r} lab's etcd data; use another directory for a "
                       f"{flavor!r} lab, or remove {run_dir}")
    path.write_text(flavor + "\n")
    return flavor


def _plan(run_dir: Path, new_ports: bool, flavor: str | None = None) -> _Plan:
    ports = _ensure_ports(run_dir) if new_ports else _read_json(run_dir / "ports.json")
    if set(PORT_NAMES) - set(ports):
        raise LabError(f"{run_dir} has no complete ports.json; start() the lab first")
    chosen = _flavor(run_dir, flavor)
    return _Plan(run_dir=run_dir, binaries=ensure_binaries(chosen), ports=ports,
                 tokens=_ensure_pki(run_dir), flavor=chosen)


# -------------------------------------------------------------------- readiness


def _get(url: str, cafile: str | None, token: str | None, timeout: float = 3.0) -> tuple[int, bytes]:
    """GET a lab URL: (status, body); raises URLError/OSError when unreachable."""
    handlers: list[urllib.request.BaseHandler] = [urllib.request.ProxyHandler({})]  # loopback: no proxy
    if cafile:
        handlers.append(urllib.request.HTTPSHandler(context=ssl.create_default_context(cafile=cafile)))
    request = urllib.request.Request(url)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.build_opener(*handlers).open(request, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


def _probe(plan: _Plan, component: str) -> str | None:
    """None when ready, else why not."""
    https = component != "etcd"
    try:
        status, body = _get(plan.ready_url(component), plan.pki("ca.crt") if https else None,
                            plan.tokens["admin"] if https else None)
    except (urllib.error.URLError, OSError) as err:
        return str(err)
    return None if status == 200 else f"HTTP {status}: {body[:300].decode(errors='replace')}"


def _wait_ready(plan: _Plan, component: str, pid: int) -> None:
    # A bounded probe loop: this is process start-up, there is nothing to watch yet.
    deadline = time.monotonic() + READY_TIMEOUT[component]
    reason = "not probed"
    while time.monotonic() < deadline:
        if not _alive(pid):
            raise LabError(f"{component} (pid {pid}) exited during start-up; "
                           f"end of {_log_path(plan.run_dir, component)}:\n"
                           f"{_log_tail(plan.run_dir, component)}")
        reason = _probe(plan, component) or ""
        if not reason:
            return
        time.sleep(0.2)
    raise LabError(f"{component} (pid {pid}) not ready after {READY_TIMEOUT[component]:.0f} s "
                   f"({plan.ready_url(component)}: {reason}); end of "
                   f"{_log_path(plan.run_dir, component)}:\n{_log_tail(plan.run_dir, component)}")


def _start_component(plan: _Plan, component: str) -> int:
    pid = _spawn(plan.run_dir, component, plan.argv(component))
    _save_pid(plan.run_dir, component, pid)
    _wait_ready(plan, component, pid)
    return pid


# ---------------------------------------------------------------------- public


def _lab(plan: _Plan, kubeconfig: Path, pids: dict[str, int]) -> KubeLab:
    pki = _pki(plan.run_dir)
    return KubeLab(run_dir=plan.run_dir, host=plan.host, ca_cert=pki / "ca.crt",
                   ca_key=pki / "ca.key", admin_token=plan.tokens["admin"],
                   restricted_token=plan.tokens["restricted"], kubeconfig=kubeconfig,
                   front_proxy_ca=pki / "front-proxy-ca.crt", pids=pids, flavor=plan.flavor)


def _running(run_dir: Path) -> bool:
    pids: dict[str, int] = _read_json(run_dir / "pids.json")
    return set(pids) == set(COMPONENTS_OF[_flavor(run_dir, None)]) and all(
        _alive(pid) and _is_ours(pid, run_dir) for pid in pids.values())


def start(run_dir: Path, flavor: str = "sim") -> KubeLab:
    """Start the flavor's components (etcd, kube-apiserver, kube-controller-manager, and
    kube-scheduler for ``real``); return when all are ready.

    The PKI, tokens, ports and etcd data of an earlier start in the same run_dir
    are reused.  A lab already running there is returned as it is.
    """
    run_dir = run_dir.resolve()
    (run_dir / "logs").mkdir(parents=True, exist_ok=True)
    _flavor(run_dir, flavor)
    if _running(run_dir) and (run_dir / "kube.json").exists():
        plan = _plan(run_dir, new_ports=False)
        if _probe(plan, "apiserver") is None:
            return load(run_dir)
    stop(run_dir)  # leftovers of a partial start
    began = time.monotonic()
    plan = _plan(run_dir, new_ports=True, flavor=flavor)
    kubeconfig = _write_kubeconfigs(plan)
    try:
        for component in plan.components:
            _start_component(plan, component)
    except BaseException:
        stop(run_dir)
        raise
    lab = _lab(plan, kubeconfig, _read_json(run_dir / "pids.json"))
    (run_dir / "kube.json").write_text(lab.to_json())
    LOG.info("%s lab ready in %.1f s at %s (run dir %s)", flavor, time.monotonic() - began, lab.host, run_dir)
    return lab


def stop(run_dir: Path) -> None:
    """Stop every recorded component by PID (SIGTERM, SIGKILL after a timeout)."""
    run_dir = run_dir.resolve()
    pids: dict[str, int] = _read_json(run_dir / "pids.json")
    for component in reversed(COMPONENTS):
        if component in pids:
            _stop_pid(pids[component], run_dir, STOP_TIMEOUT[component])
            _save_pid(run_dir, component, None)
    _refresh_kube_json(run_dir)


def restart(run_dir: Path, component: str) -> None:
    """Stop and start one component in place, keeping its data and port."""
    run_dir = run_dir.resolve()
    plan = _plan(run_dir, new_ports=False)
    if component not in plan.components:
        raise ValueError(f"component must be one of {plan.components}, not {component!r}")
    pid = _read_json(run_dir / "pids.json").get(component)
    if pid is not None:
        _stop_pid(pid, run_dir, STOP_TIMEOUT[component])
    began = time.monotonic()
    _start_component(plan, component)
    _refresh_kube_json(run_dir)
    LOG.info("%s restarted in %.1f s", component, time.monotonic() - began)


# ------------------------------------------------------------------------ CRDs


def api_client(lab: KubeLab, token: str | None = None) -> Any:
    """A kubernetes.client.ApiClient for the lab (admin unless another token is given)."""
    from kubernetes import client  # here: importing kubernetes is slow and stop() needs none of it

    config = client.Configuration()
    config.host = lab.host
    config.ssl_ca_cert = str(lab.ca_cert)
    config.api_key = {"BearerToken": token or lab.admin_token}
    config.api_key_prefix = {"BearerToken": "Bearer"}
    return client.ApiClient(config)


def dynamic_client(lab: KubeLab, token: str | None = None) -> Any:
    """A kubernetes DynamicClient with its discovery cache inside run_dir."""
    from kubernetes.dynamic import DynamicClient

    cache = str(lab.run_dir / "discovery-cache.json")
    return DynamicClient(api_client(lab, token), cache_file=cache)  # type: ignore[no-untyped-call]


def _column(name: str, json_path: str, type_: str = "string", priority: int = 0,
            description: str = "") -> dict[str, Any]:
    column: dict[str, Any] = {"name": name, "type": type_, "jsonPath": json_path}
    if priority:
        column["priority"] = priority
    if description:
        column["description"] = description
    return column


_AGE = _column("Age", ".metadata.creationTimestamp", "date")
_READY = _column("Ready", ".status.conditions[?(@.type=='Ready')].status")
# Names and printer columns as KubeVirt's virt-operator builds them
# (pkg/virt-operator/resource/generate/components/crds.go, see kubevirt/SOURCES.md).
KUBEVIRT_CRDS: dict[str, dict[str, Any]] = {
    "virtualmachine": {
        "kind": "VirtualMachine", "plural": "virtualmachines", "shortNames": ["vm", "vms"],
        "columns": [_AGE, _column("Status", ".status.printableStatus",
                                  description="Human Readable Status"), _READY],
    },
    "virtualmachineinstance": {
        "kind": "VirtualMachineInstance", "plural": "virtualmachineinstances",
        "shortNames": ["vmi", "vmis"],
        "columns": [_AGE, _column("Phase", ".status.phase"),
                    _column("IP", ".status.interfaces[0].ipAddress"),
                    _column("NodeName", ".status.nodeName"), _READY,
                    _column("Live-Migratable",
                            ".status.conditions[?(@.type=='LiveMigratable')].status", priority=1),
                    _column("Paused", ".status.conditions[?(@.type=='Paused')].status", priority=1)],
    },
    "virtualmachineinstancemigration": {
        "kind": "VirtualMachineInstanceMigration", "plural": "virtualmachineinstancemigrations",
        "shortNames": ["vmim", "vmims"],
        "columns": [_column("Phase", ".status.phase",
                            description="The current phase of VM instance migration"),
                    _column("VMI", ".spec.vmiName",
                            description="The name of the VMI to perform the migration on")],
    },
}


def kubevirt_crd(singular: str, validation: dict[str, Any]) -> dict[str, Any]:
    """Wrap one of KubeVirt's validation schemas ({openAPIV3Schema: ...}) into its CRD."""
    names = KUBEVIRT_CRDS[singular]
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{names['plural']}.kubevirt.io", "labels": {"kubevirt.io": ""}},
        "spec": {
            "group": "kubevirt.io",
            "scope": "Namespaced",
            "names": {"kind": names["kind"], "listKind": names["kind"] + "List",
                      "plural": names["plural"], "singular": singular,
                      "shortNames": names["shortNames"], "categories": ["all"]},
            "versions": [{
                "name": "v1", "served": True, "storage": True,
                "schema": {"openAPIV3Schema": copy.deepcopy(validation["openAPIV3Schema"])},
                "subresources": {"status": {}},
                "additionalPrinterColumns": names["columns"],
            }],
        },
    }


def drop_empty_string_defaults(schema: Any) -> int:
    """Remove every ``default: ""`` from an OpenAPI v3 schema in place; returns how many.

    kube-apiserver 1.20 turns an empty-string default into null when it
    validates defaults and then refuses the whole CRD; KubeVirt's schemas carry
    one on every LocalObjectReference ``name``.  Other defaults are kept.
    """
    count = 0
    if isinstance(schema, dict):
        if schema.get("default") == "":
            del schema["default"]
            count += 1
        for value in schema.values():
            count += drop_empty_string_defaults(value)
    elif isinstance(schema, list):
        for item in schema:
            count += drop_empty_string_defaults(item)
    return count


def _load_crd(path: Path) -> dict[str, Any]:
    """A full CRD object, or a KubeVirt crd-validation-<singular>.yaml wrapped into one."""
    doc = yaml.safe_load(path.read_text())
    if isinstance(doc, dict) and doc.get("kind") == "CustomResourceDefinition":
        return doc
    singular = path.stem.removeprefix("crd-validation-")
    if not (isinstance(doc, dict) and "openAPIV3Schema" in doc and singular in KUBEVIRT_CRDS):
        raise ValueError(f"{path}: neither a CRD nor a KubeVirt validation schema "
                         f"({', '.join(KUBEVIRT_CRDS)})")
    return kubevirt_crd(singular, doc)


def _established(crd: Any) -> bool:
    conditions = (crd.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Established" and c.get("status") == "True" for c in conditions)


def _wait_established(crd_api: Any, name: str, timeout: int = 60) -> None:
    current = crd_api.get(name=name).to_dict()
    if _established(current):
        return
    for event in crd_api.watch(field_selector=f"metadata.name={name}", timeout=timeout,
                               resource_version=current["metadata"]["resourceVersion"]):
        obj = event["raw_object"]
        if _established(obj):
            return
        for cond in (obj.get("status") or {}).get("conditions") or []:
            if cond.get("type") == "NamesAccepted" and cond.get("status") == "False":
                raise LabError(f"CRD {name}: {cond.get('message')}")
    raise LabError(f"CRD {name} not Established after {timeout} s")


def _wait_discovery(lab: KubeLab, group_version: str, plural: str, timeout: float = 30.0) -> None:
    # Discovery is published a moment after Established and is not watchable;
    # clients (DynamicClient, kubectl) find kinds only through it.
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            status, body = _get(f"{lab.host}/apis/{group_version}", str(lab.ca_cert), lab.admin_token)
        except (urllib.error.URLError, OSError):
            status, body = 0, b""
        if status == 200 and any(r["name"] == plural for r in json.loads(body)["resources"]):
            return
        time.sleep(0.2)
    raise LabError(f"{plural} not in discovery of {group_version} after {timeout:.0f} s")


def install_crds(lab: KubeLab, crd_files: list[Path]) -> list[str]:
    """Create or replace CRDs and wait until they are Established and discoverable.

    Each file is a CRD or a KubeVirt ``crd-validation-<singular>.yaml`` (only the
    schema; wrapped into the kubevirt.io/v1 CRD here).  Empty-string defaults
    are dropped from the schemas (see drop_empty_string_defaults) and counted
    in the log.  Returns the CRD names.
    """
    from kubernetes.dynamic.exceptions import NotFoundError

    crd_api = dynamic_client(lab).resources.get(api_version="apiextensions.k8s.io/v1",
                                                kind="CustomResourceDefinition")
    installed = []
    for path in crd_files:
        crd = _load_crd(Path(path))
        name = crd["metadata"]["name"]
        dropped = sum(drop_empty_string_defaults(v.get("schema")) for v in crd["spec"]["versions"])
        LOG.info("CRD %s: dropped %d empty-string defaults (kube-apiserver 1.20 would turn "
                 "them into null and refuse the CRD)", name, dropped)
        try:
            existing = crd_api.get(name=name)
        except NotFoundError:
            crd_api.create(body=crd)
        else:
            crd["metadata"]["resourceVersion"] = existing.metadata.resourceVersion
            crd_api.replace(body=crd)
        _wait_established(crd_api, name)
        served = [v["name"] for v in crd["spec"]["versions"] if v.get("served")]
        for version in served:
            _wait_discovery(lab, f"{crd['spec']['group']}/{version}", crd["spec"]["names"]["plural"])
        installed.append(name)
    return installed
