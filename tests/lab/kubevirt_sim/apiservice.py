"""Registration of the subresource server with the aggregator, and its TLS material.

The 1.20 aggregator maps an ExternalName Service to
``https://<externalName>:<APIService spec.service.port>`` and checks the
serving certificate against the APIService caBundle for the name
``<service>.<namespace>.svc`` (see kubelab's docstring), hence the Service
``kubevirt/virt-api`` with externalName ``localhost`` and a certificate for
``virt-api.kubevirt.svc``.
"""
from __future__ import annotations

import base64
import datetime
import ipaddress
import logging
import time
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from labkube.rest import APISERVICES, NAMESPACES, SERVICES, ApiError, Kube
from .subresources import GROUP, VERSION

LOG = logging.getLogger("kubevirt-sim")

NAMESPACE = "kubevirt"
SERVICE = "virt-api"
APISERVICE = f"{VERSION}.{GROUP}"
SERVING_NAMES = ["localhost", "127.0.0.1", f"{SERVICE}.{NAMESPACE}.svc"]


def _upsert(kube: Kube, path: str, name: str, body: dict[str, Any]) -> None:
    """Create, or replace keeping the server's resourceVersion (and a Service's clusterIP)."""
    try:
        current = kube.request("GET", f"{path}/{name}")
    except ApiError as err:
        if err.status != 404:
            raise
        kube.request("POST", path, body)
        return
    body["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
    kube.request("PUT", f"{path}/{name}", body)


def register(kube: Kube, port: int, ca_bundle: bytes) -> None:
    try:
        kube.request("POST", NAMESPACES.path(), {"apiVersion": "v1", "kind": "Namespace",
                                                 "metadata": {"name": NAMESPACE}})
    except ApiError as err:
        if err.status != 409:
            raise
    labels = {"app.kubernetes.io/component": "virt-api", "app.kubernetes.io/managed-by": "kubevirt-sim"}
    _upsert(kube, SERVICES.path(NAMESPACE), SERVICE, {
        "apiVersion": "v1", "kind": "Service", "metadata": {"name": SERVICE, "namespace": NAMESPACE, "labels": labels},
        "spec": {"type": "ExternalName", "externalName": "localhost",
                 "ports": [{"name": "https", "port": port, "protocol": "TCP", "targetPort": port}]},
    })
    _upsert(kube, APISERVICES.path(), APISERVICE, {
        "apiVersion": "apiregistration.k8s.io/v1", "kind": "APIService",
        "metadata": {"name": APISERVICE, "labels": labels},
        "spec": {"group": GROUP, "version": VERSION, "groupPriorityMinimum": 1000, "versionPriority": 15,
                 "service": {"namespace": NAMESPACE, "name": SERVICE, "port": port},
                 "caBundle": base64.b64encode(ca_bundle).decode()},
    })


def ensure_registered(kube: Kube, port: int, ca_bundle: bytes) -> bool:
    """Register again if the APIService went missing or points elsewhere; True when it did."""
    try:
        current = kube.request("GET", APISERVICES.path(None, APISERVICE))
    except ApiError as err:
        if err.status != 404:
            raise
        current = {}
    service = (current.get("spec") or {}).get("service") or {}
    if service.get("port") == port and (current.get("spec") or {}).get("caBundle") == base64.b64encode(ca_bundle).decode():
        return False
    register(kube, port, ca_bundle)
    return True


def wait_available(kube: Kube, timeout: float) -> str | None:
    """None once the aggregator reports the APIService Available, else the last reason."""
    deadline = time.monotonic() + timeout
    reason = "not checked"
    while time.monotonic() < deadline:
        try:
            current = kube.request("GET", APISERVICES.path(None, APISERVICE))
            cond: dict[str, Any] = next((c for c in (current.get("status") or {}).get("conditions") or []
                                         if c.get("type") == "Available"), {})
            reason = f"{cond.get('reason')}: {cond.get('message')}"
            if cond.get("status") == "True":
                # Available is set before the proxy route exists; discovery through it must answer too.
                kube.request("GET", f"/apis/{GROUP}/{VERSION}", timeout=5.0)
                return None
        except Exception as err:  # apiserver still coming up
            reason = str(err)
        time.sleep(0.2)
    return reason


def unregister(kube: Kube) -> None:
    """Without a backend the APIService would break discovery (and namespace deletion)."""
    try:
        kube.request("DELETE", APISERVICES.path(None, APISERVICE), timeout=5.0)
    except Exception as err:
        LOG.warning("could not remove APIService %s: %s", APISERVICE, err)


def ca_bundle(tls_cert: Path, ca_cert: Path | None) -> bytes:
    """The CA of the serving certificate: --ca-cert, else the chain's last certificate if it is a CA."""
    if ca_cert is not None:
        return bytes(ca_cert.read_bytes())
    chain = x509.load_pem_x509_certificates(tls_cert.read_bytes())
    last = chain[-1]
    if len(chain) > 1 or last.issuer == last.subject:
        return bytes(last.public_bytes(serialization.Encoding.PEM))
    raise ValueError(f"{tls_cert} holds only a leaf certificate; pass --ca-cert with the CA that signed it")


def self_signed(state_dir: Path) -> tuple[Path, Path, Path]:
    """A private CA and serving certificate in state_dir (kept across restarts)."""
    pki = state_dir / "pki"
    ca_path, cert_path, key_path = pki / "ca.crt", pki / "virt-api.crt", pki / "virt-api.key"
    if ca_path.exists() and cert_path.exists() and key_path.exists():
        return cert_path, key_path, ca_path
    pki.mkdir(parents=True, exist_ok=True)
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kubevirt-sim-ca")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(hours=1))
          .not_valid_after(now + datetime.timedelta(days=3650))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    sans: list[x509.GeneralName] = []
    for name in SERVING_NAMES:
        try:
            sans.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            sans.append(x509.DNSName(name))
    cert = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, SERVICE)]))
            .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1)).not_valid_after(now + datetime.timedelta(days=365))
            .add_extension(x509.SubjectAlternativeName(sans), critical=False)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .sign(ca_key, hashes.SHA256()))
    key_path.touch(mode=0o600)
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    ca_path.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    return cert_path, key_path, ca_path
