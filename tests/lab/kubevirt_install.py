"""Install real KubeVirt into the lab's Kubernetes as virt-operator would, without virt-operator.

The objects come from KubeVirt's own install-strategy code (the wrapper
command ``lab-install-strategy``, see ``go/kubevirt``), so the CRDs, RBAC,
webhooks, APIServices and the node-restriction policy are exactly those of
the KubeVirt version the lab runs. What virt-operator then does on top, this
module does, each step naming the operator code it stands for:

* the CA: ``kubevirt-ca`` (ConfigMap key ``ca-bundle``) and certificates
  signed by it, as ``components.NewCertSecrets`` issues them, with the
  same common names (virt-api checks them, ``pkg/util/tls``);
* ``caBundle`` injected into webhooks and APIServices
  (``apply/admissionregistration.go``, ``apply/apiservices.go``);
* the KubeVirt CR with ``status.phase: Deployed`` and
  ``status.defaultArchitecture`` (``pkg/virt-config/configuration.go`` reads
  configuration only from a CR with a phase);
* virt-api reached through an ExternalName Service: kube-apiserver resolves
  it to ``https://<externalName>:<port>`` for webhooks and APIServices, so
  the port in each webhook and APIService is virt-api's loopback port
  instead of the in-cluster 443.

Left out: virt-operator's own webhook (no operator runs), the launcher pod
mutator (only installed while the ContainerPathVolumes gate is on,
``createOrDeleteContainerPathVolumesWebhook``), Deployments and the
DaemonSet (virt-api and virt-controller run as processes; the virt-handler
stand-in plays the DaemonSet).
"""
from __future__ import annotations

import base64
import copy
import json
import logging
import subprocess
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

import kubelab
from labkube.rest import (CONFIGMAPS, KUBEVIRTS, NAMESPACES, SERVICE_ACCOUNTS, SERVICES, ApiError, Kube,
                          Resource)

LOG = logging.getLogger("kubevirt-install")

NAMESPACE = "kubevirt"
VIRT_API_SERVICE = "virt-api"
# Service account names: components/serviceaccountnames.go; virt-api's admitters recognise
# exactly these usernames (pkg/virt-api/webhooks/serviceaccounts.go, KubeVirtServiceAccounts).
API_SA, CONTROLLER_SA, HANDLER_SA = "kubevirt-apiserver", "kubevirt-controller", "kubevirt-handler"
# Common names of components/secrets.go; virt-api and virt-handler check them (pkg/util/tls, verifyPeerCert).
HANDLER_SERVER_CN = "kubevirt.io:system:node:virt-handler"
HANDLER_CLIENT_CN = "kubevirt.io:system:client:virt-handler"
# What a real install has that the lab leaves out (see the module docstring).
SKIPPED = {("ValidatingWebhookConfiguration", "virt-operator-validator"),
           ("Service", "kubevirt-operator-webhook"),
           ("MutatingWebhookConfiguration", "virt-launcher-pod-mutator")}
# Apply order: what others refer to first; webhooks last, once virt-api answers.
BEFORE_VIRT_API = ("CustomResourceDefinition", "ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role",
                   "RoleBinding", "ConfigMap", "Service", "APIService", "ValidatingAdmissionPolicy",
                   "ValidatingAdmissionPolicyBinding")
AFTER_VIRT_API = ("ValidatingWebhookConfiguration", "MutatingWebhookConfiguration")
TOKEN_SECONDS = 30 * 24 * 3600

_RESOURCES = {
    "CustomResourceDefinition": Resource("apiextensions.k8s.io", "v1", "customresourcedefinitions",
                                         "CustomResourceDefinition", namespaced=False),
    "ServiceAccount": SERVICE_ACCOUNTS,
    "ClusterRole": Resource("rbac.authorization.k8s.io", "v1", "clusterroles", "ClusterRole", namespaced=False),
    "ClusterRoleBinding": Resource("rbac.authorization.k8s.io", "v1", "clusterrolebindings", "ClusterRoleBinding",
                                   namespaced=False),
    "Role": Resource("rbac.authorization.k8s.io", "v1", "roles", "Role"),
    "RoleBinding": Resource("rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding"),
    "ConfigMap": CONFIGMAPS,
    "Service": SERVICES,
    "APIService": Resource("apiregistration.k8s.io", "v1", "apiservices", "APIService", namespaced=False),
    "ValidatingAdmissionPolicy": Resource("admissionregistration.k8s.io", "v1", "validatingadmissionpolicies",
                                          "ValidatingAdmissionPolicy", namespaced=False),
    "ValidatingAdmissionPolicyBinding": Resource("admissionregistration.k8s.io", "v1",
                                                 "validatingadmissionpolicybindings",
                                                 "ValidatingAdmissionPolicyBinding", namespaced=False),
    "ValidatingWebhookConfiguration": Resource("admissionregistration.k8s.io", "v1",
                                               "validatingwebhookconfigurations",
                                               "ValidatingWebhookConfiguration", namespaced=False),
    "MutatingWebhookConfiguration": Resource("admissionregistration.k8s.io", "v1", "mutatingwebhookconfigurations",
                                             "MutatingWebhookConfiguration", namespaced=False),
    "StorageClass": Resource("storage.k8s.io", "v1", "storageclasses", "StorageClass", namespaced=False),
}
CRDS = _RESOURCES["CustomResourceDefinition"]
TOKEN_REQUESTS_SUB = "token"


class InstallError(kubelab.LabError):
    """Installing KubeVirt failed; the message names the object and the server's answer."""


@dataclass
class Pki:
    """The certificates of the KubeVirt components, all in run_dir/pki/kubevirt."""

    ca_cert: Path
    ca_key: Path
    virt_api: tuple[Path, Path]
    handler_client: tuple[Path, Path]
    handler_server: tuple[Path, Path]
    virt_controller: tuple[Path, Path]


def ensure_pki(run_dir: Path) -> Pki:
    """The kubevirt-ca and what components/secrets.go issues from it (made once per run_dir)."""
    pki = run_dir / "pki" / "kubevirt"
    pki.mkdir(parents=True, exist_ok=True)
    ca, ca_key = pki / "kubevirt-ca.crt", pki / "kubevirt-ca.key"
    if not ca.exists():
        kubelab._make_ca(ca, ca_key, "kubevirt.io")  # pylint: disable=protected-access

    def issued(name: str, sans: list[str], client: bool) -> tuple[Path, Path]:
        cert = pki / f"{kubelab._file_name(name)}.crt"  # pylint: disable=protected-access
        if cert.exists():
            return cert, cert.with_suffix(".key")
        return kubelab.issue_cert(ca, ca_key, pki, name, sans, client)

    service = f"{VIRT_API_SERVICE}.{NAMESPACE}.svc"
    return Pki(
        ca_cert=ca, ca_key=ca_key,
        # kube-apiserver verifies virt-api for the Service's DNS name (webhooks and aggregation).
        virt_api=issued(service, [service, f"{service}.cluster.local", "localhost", "127.0.0.1"], False),
        handler_client=issued(HANDLER_CLIENT_CN, [], True),
        handler_server=issued(HANDLER_SERVER_CN, ["localhost", "127.0.0.1"], False),
        virt_controller=issued(f"virt-controller.{NAMESPACE}.svc", ["localhost", "127.0.0.1"], False),
    )


def strategy(bin_dir: Path, version: str) -> dict[str, list[dict[str, Any]]]:
    """What virt-operator would install, by kind, from KubeVirt's install-strategy code."""
    proc = subprocess.run([str(bin_dir / "lab-install-strategy"), "--namespace", NAMESPACE, "--version", version],
                          capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise InstallError(f"lab-install-strategy failed ({proc.returncode}): {proc.stderr[-2000:]}")
    objects: dict[str, list[dict[str, Any]]] = {}
    for kind, items in json.loads(proc.stdout)["objects"].items():
        kept = [o for o in items or [] if (kind, o["metadata"]["name"]) not in SKIPPED]
        # ConfigMaps appear twice in the strategy (added in two places of GenerateCurrentInstallStrategy).
        unique = {(o["metadata"].get("namespace"), o["metadata"]["name"]): o for o in kept}
        objects[kind] = list(unique.values())
    return objects


# The CDI kinds virt-controller watches once the DataVolume API exists (pkg/controller/virtinformers.go).
CDI_KINDS = ("datavolume", "cdi", "cdiconfig", "datasource", "storageprofile")


def cdi_crds(bin_dir: Path) -> list[dict[str, Any]]:
    """CDI's CRDs as CDI's generator wrote them."""
    proc = subprocess.run([str(bin_dir / "lab-cdi-crds"), *CDI_KINDS], capture_output=True, text=True,
                          check=False)
    if proc.returncode != 0:
        raise InstallError(f"lab-cdi-crds failed ({proc.returncode}): {proc.stderr[-2000:]}")
    return [d for d in yaml.safe_load_all(proc.stdout) if d]


# ----------------------------------------------------------------- applying


def _prepared(kind: str, obj: dict[str, Any], ca_bundle: str, virt_api_port: int) -> dict[str, Any]:
    """An install-strategy object as virt-operator would write it, for a virt-api on loopback."""
    obj = copy.deepcopy(obj)
    # The generator's TypeMeta is not always right (its ValidatingAdmissionPolicy says "v1"):
    # virt-operator writes through typed clients, so only the kind's own group version counts.
    obj["kind"], obj["apiVersion"] = kind, _RESOURCES[kind].api_version
    obj.pop("status", None)
    obj["metadata"].pop("creationTimestamp", None)
    if kind == "Service" and obj["metadata"]["name"] == VIRT_API_SERVICE:
        obj["spec"] = {"type": "ExternalName", "externalName": "localhost",
                       "ports": [{"name": "https", "port": virt_api_port, "protocol": "TCP"}]}
    elif kind == "APIService":
        obj["spec"]["caBundle"] = ca_bundle
        obj["spec"]["service"]["port"] = virt_api_port
    elif kind in ("ValidatingWebhookConfiguration", "MutatingWebhookConfiguration"):
        for hook in obj["webhooks"]:
            hook["clientConfig"]["caBundle"] = ca_bundle
            hook["clientConfig"]["service"]["port"] = virt_api_port
    elif kind == "ConfigMap" and obj["metadata"]["name"] == "kubevirt-ca":
        obj["data"] = {"ca-bundle": base64.b64decode(ca_bundle).decode()}
    return obj


def _apply(kube: Kube, kind: str, obj: dict[str, Any]) -> dict[str, Any]:
    """Create, or replace what an earlier start created (same run_dir)."""
    res = _RESOURCES[kind]
    meta = obj["metadata"]
    namespace = meta.get("namespace") if res.namespaced else None
    try:
        return kube.create(res, namespace, obj)
    except ApiError as err:
        if err.status != 409:
            raise InstallError(f"creating {kind} {meta['name']}: {err}") from err
    current = kube.get(res, namespace, meta["name"])
    obj = dict(obj, metadata=dict(meta, resourceVersion=current["metadata"]["resourceVersion"]))
    try:
        return kube.replace(res, obj)
    except ApiError as err:
        raise InstallError(f"replacing {kind} {meta['name']}: {err}") from err


def _wait_established(kube: Kube, names: Iterable[str], timeout: float = 60.0) -> None:
    pending = set(names)
    deadline = time.monotonic() + timeout
    # A bounded poll: a handful of CRDs, each Established within a second of its create.
    while pending and time.monotonic() < deadline:
        for name in sorted(pending):
            crd = kube.get(CRDS, None, name)
            conditions = {c["type"]: c for c in (crd.get("status") or {}).get("conditions") or []}
            if conditions.get("Established", {}).get("status") == "True":
                pending.discard(name)
            elif conditions.get("NamesAccepted", {}).get("status") == "False":
                raise InstallError(f"CRD {name}: {conditions['NamesAccepted'].get('message')}")
        if pending:
            time.sleep(0.2)
    if pending:
        raise InstallError(f"CRDs not Established after {timeout:.0f} s: {sorted(pending)}")


def install_before_virt_api(kube: Kube, objects: dict[str, list[dict[str, Any]]], extra_crds: list[dict[str, Any]],
                            pki: Pki, virt_api_port: int) -> None:
    """Everything virt-api and virt-controller need to start: CRDs, RBAC, CA, Services, APIServices."""
    _ensure_namespace(kube, NAMESPACE)
    ca_bundle = base64.b64encode(pki.ca_cert.read_bytes()).decode()
    for kind in BEFORE_VIRT_API:
        items = objects.get(kind, []) + (extra_crds if kind == "CustomResourceDefinition" else [])
        for obj in items:
            _apply(kube, kind, _prepared(kind, obj, ca_bundle, virt_api_port))
        if kind == "CustomResourceDefinition":
            _wait_established(kube, [o["metadata"]["name"] for o in items])


def install_after_virt_api(kube: Kube, objects: dict[str, list[dict[str, Any]]], pki: Pki,
                           virt_api_port: int) -> None:
    """The webhooks (FailurePolicy Fail): only once virt-api answers."""
    ca_bundle = base64.b64encode(pki.ca_cert.read_bytes()).decode()
    for kind in AFTER_VIRT_API:
        for obj in objects.get(kind, []):
            _apply(kube, kind, _prepared(kind, obj, ca_bundle, virt_api_port))


def _ensure_namespace(kube: Kube, name: str) -> None:
    try:
        kube.create(NAMESPACES, None, {"metadata": {"name": name}})
    except ApiError as err:
        if err.status != 409:
            raise InstallError(f"creating namespace {name}: {err}") from err


# ------------------------------------------------------------ the KubeVirt CR


def kubevirt_cr(settings: dict[str, Any]) -> dict[str, Any]:
    """The KubeVirt CR for the topology's ``kubevirt:`` settings (KubeVirt's defaults where unset)."""
    configuration: dict[str, Any] = {}
    developer: dict[str, Any] = {}
    if settings.get("feature_gates"):
        developer["featureGates"] = list(settings["feature_gates"])
    if settings.get("cpu_allocation_ratio") is not None:
        developer["cpuAllocationRatio"] = int(settings["cpu_allocation_ratio"])
    if developer:
        configuration["developerConfiguration"] = developer
    if settings.get("vm_rollout_strategy"):
        configuration["vmRolloutStrategy"] = settings["vm_rollout_strategy"]
    spec: dict[str, Any] = {"configuration": configuration}
    if settings.get("workload_update_methods") is not None:
        spec["workloadUpdateStrategy"] = {"workloadUpdateMethods": list(settings["workload_update_methods"])}
    return {"apiVersion": KUBEVIRTS.api_version, "kind": "KubeVirt",
            "metadata": {"name": "kubevirt", "namespace": NAMESPACE}, "spec": spec}


def apply_kubevirt_cr(kube: Kube, settings: dict[str, Any], version: str) -> dict[str, Any]:
    """Create or update the CR, then write the status virt-operator writes once it deployed."""
    wanted = kubevirt_cr(settings)
    current = kube.get_or_none(KUBEVIRTS, NAMESPACE, "kubevirt")
    if current is None:
        current = kube.create(KUBEVIRTS, NAMESPACE, wanted)
    else:
        current["spec"] = wanted["spec"]
        current = kube.replace(KUBEVIRTS, current)
    # virt-config reads the CR only once status.phase is set (configuration.go, the KubeVirt informer).
    current["status"] = {
        "phase": "Deployed",
        "defaultArchitecture": "amd64",
        "observedKubeVirtVersion": version, "targetKubeVirtVersion": version,
        "observedKubeVirtRegistry": "registry.lab.invalid", "targetKubeVirtRegistry": "registry.lab.invalid",
        "conditions": [
            {"type": "Available", "status": "True", "reason": "AllComponentsReady",
             "message": "All components are ready."},
            {"type": "Progressing", "status": "False", "reason": "AllComponentsReady",
             "message": "All components are ready."},
            {"type": "Degraded", "status": "False", "reason": "AllComponentsReady",
             "message": "All components are ready."},
        ],
    }
    return kube.replace(KUBEVIRTS, current, sub="status")


# -------------------------------------------------------------- identities


def service_account_token(kube: Kube, name: str, namespace: str = NAMESPACE,
                          bound_pod: dict[str, Any] | None = None) -> str:
    """A TokenRequest for a ServiceAccount; bound to a pod, the token carries the pod's node name
    (user extra ``authentication.kubernetes.io/node-name``), as a pod's projected token does."""
    spec: dict[str, Any] = {"audiences": [], "expirationSeconds": TOKEN_SECONDS}
    if bound_pod is not None:
        spec["boundObjectRef"] = {"kind": "Pod", "apiVersion": "v1", "name": bound_pod["metadata"]["name"],
                                  "uid": bound_pod["metadata"]["uid"]}
    body = {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": spec}
    path = SERVICE_ACCOUNTS.path(namespace, name, TOKEN_REQUESTS_SUB)
    answer = kube.request("POST", path, body)
    return str(answer["status"]["token"])


def write_kubeconfig(path: Path, host: str, ca_cert: Path, token: str) -> Path:
    config = {
        "apiVersion": "v1", "kind": "Config", "current-context": "lab",
        "clusters": [{"name": "lab", "cluster": {"server": host, "certificate-authority": str(ca_cert)}}],
        "users": [{"name": "lab", "user": {"token": token}}],
        "contexts": [{"name": "lab", "context": {"cluster": "lab", "user": "lab"}}],
    }
    path.touch(mode=0o600)
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def storage_class(name: str, provisioner: str) -> dict[str, Any]:
    return {"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
            "metadata": {"name": name, "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}},
            "provisioner": provisioner, "reclaimPolicy": "Delete", "volumeBindingMode": "Immediate",
            "allowVolumeExpansion": True}


def apply_storage_class(kube: Kube, name: str, provisioner: str) -> None:
    _apply(kube, "StorageClass", storage_class(name, provisioner))
