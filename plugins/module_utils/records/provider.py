# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ovirt_kubevirt.bridge contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""KubeVirt providers: what a Kubernetes cluster with KubeVirt can do, recorded once.

A provider is a name for a Kubernetes API (URL and CA) with KubeVirt, and its
capabilities as found when it was registered: server version, KubeVirt's CRDs,
the subresources virt-api serves, the KubeVirt CR's version and feature gates,
and the operations those allow. The record is a ConfigMap
``ovirt-kubevirt-provider-<name>`` in the provider's namespace. It holds no
secret: the credentials are always the caller's Kubernetes connection options.

Optionally a ServiceAccount with a Role, RoleBinding, ClusterRole and
ClusterRoleBinding granting only what the collection needs, and a short-lived
token for it from the TokenRequest API.
"""
from __future__ import annotations

import copy
import datetime
import json
import os
import re
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.clients.k8s_service import translate
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.common import labels
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.common.errors import (
    ApiError,
    ConflictError,
    InputError,
    NotFoundError,
    UnsupportedError,
)
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.common.kubevirt_api import KUBEVIRT_API
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.common.services import KubeApi
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.kubevirt.feature_gates import effective_gates

Obj = Dict[str, Any]

MANAGED_BY_LABEL = labels.MANAGED_BY_LABEL
MANAGED_BY = labels.MANAGED_BY
PROVIDER_LABEL = labels.PROVIDER
RECORD_PREFIX = "ovirt-kubevirt-provider-"
SERVICE_ACCOUNT = "ovirt-kubevirt-bridge"
CLUSTER_ROLE_PREFIX = "ovirt-kubevirt-bridge-"
SUBRESOURCE_GROUP = "subresources.kubevirt.io"
SUBRESOURCE_GV = SUBRESOURCE_GROUP + "/v1"
REQUIRED_KINDS = ("VirtualMachine", "VirtualMachineInstance", "VirtualMachineInstanceMigration")
# TokenRequest refuses shorter tokens ("may not specify a duration less than 10 minutes").
MIN_TOKEN_DURATION_S = 600
RECORD_KEYS = ("name", "api_url", "ca_cert", "capabilities", "server_version")

# Each operation and the virt-api subresources that provide it (any one is enough).
OPERATION_SUBRESOURCES: Dict[str, Tuple[str, ...]] = {
    "start": ("virtualmachines/start",),
    "stop": ("virtualmachines/stop",),
    "restart": ("virtualmachines/restart",),
    "migrate": ("virtualmachines/migrate",),
    "pause": ("virtualmachineinstances/pause",),
    "unpause": ("virtualmachineinstances/unpause",),
    "softreboot": ("virtualmachineinstances/softreboot",),
    "addvolume": ("virtualmachines/addvolume", "virtualmachineinstances/addvolume"),
    "removevolume": ("virtualmachines/removevolume", "virtualmachineinstances/removevolume"),
    # KubeVirt has no suspend-to-disk; oVirt's hibernate has no counterpart unless one appears.
    "hibernate": ("virtualmachines/hibernate", "virtualmachineinstances/hibernate"),
}

_DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")

ROLE_RULES: List[Obj] = [
    {"apiGroups": ["kubevirt.io"],
     "resources": ["virtualmachines", "virtualmachineinstances", "virtualmachineinstancemigrations"],
     "verbs": ["get", "list", "watch", "create", "update", "patch", "delete"]},
    {"apiGroups": [SUBRESOURCE_GROUP],
     "resources": ["virtualmachines/start", "virtualmachines/stop", "virtualmachines/restart",
                   "virtualmachines/migrate", "virtualmachines/addvolume", "virtualmachines/removevolume",
                   "virtualmachineinstances/pause", "virtualmachineinstances/unpause",
                   "virtualmachineinstances/softreboot", "virtualmachineinstances/addvolume",
                   "virtualmachineinstances/removevolume"],
     "verbs": ["update"]},
    {"apiGroups": [""], "resources": ["configmaps"],
     "verbs": ["get", "list", "watch", "create", "update", "patch", "delete"]},
    {"apiGroups": [""], "resources": ["events"], "verbs": ["get", "list", "watch"]},
]
CLUSTER_ROLE_RULES: List[Obj] = [
    {"apiGroups": [""], "resources": ["nodes"], "verbs": ["get", "list", "watch"]},
]


# -- pure parts -----------------------------------------------------------------

def now_iso() -> str:
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def validate_name(name: str) -> str:
    """A provider name is a DNS-1123 label: it is part of an object name and a label value."""
    if not name or len(name) > 63 or not _DNS1123_LABEL.match(name):
        raise InputError(f"provider name {name!r} is invalid: use a DNS-1123 label (lowercase letters, digits and "
                         "'-', starting and ending with a letter or digit, at most 63 characters)")
    return name


def validate_namespace(namespace: str) -> str:
    if not namespace or len(namespace) > 63 or not _DNS1123_LABEL.match(namespace):
        raise InputError(f"namespace {namespace!r} is not a valid Kubernetes namespace name (a DNS-1123 label)")
    return namespace


def record_name(name: str) -> str:
    return RECORD_PREFIX + name


def record_labels(name: str) -> Dict[str, str]:
    return {MANAGED_BY_LABEL: MANAGED_BY, PROVIDER_LABEL: name}


def managed_labels() -> Dict[str, str]:
    return {MANAGED_BY_LABEL: MANAGED_BY}


def missing_kinds(crds: Dict[str, bool]) -> List[str]:
    return [kind for kind in REQUIRED_KINDS if not crds.get(kind)]


# The KubeVirt releases the collection is built and checked against (the real-KubeVirt lab runs v1.8).
SUPPORTED_KUBEVIRT = ((1, 6), (1, 9))
# virt-config's DefaultVMRolloutStrategy: Stage up to v1.5, LiveUpdate from v1.6 (pkg/virt-config/virt-config.go).
LIVE_UPDATE_DEFAULT_FROM = (1, 6)


def kubevirt_release(version: Optional[str]) -> Optional[Tuple[int, int]]:
    """(major, minor) of a KubeVirt version such as v1.8.4 or 1.9.0-rc.1; None when it cannot be read."""
    match = re.match(r"v?(\d+)\.(\d+)", version or "")
    return (int(match.group(1)), int(match.group(2))) if match else None


def version_warnings(version: Optional[str]) -> List[str]:
    """A warning when the KubeVirt version is unknown or outside the supported releases."""
    low, high = SUPPORTED_KUBEVIRT
    supported = f"v{low[0]}.{low[1]} to v{high[0]}.{high[1]}"
    release = kubevirt_release(version)
    if release is None:
        return [f"the KubeVirt version is unknown (no readable KubeVirt CR); the collection supports {supported}, "
                "and assumes their rules (such as the LiveUpdate rollout strategy)"]
    if not low <= release <= high:
        return [f"KubeVirt {version} is outside the supported releases ({supported}): its admission rules and "
                "fields may differ from what the collection writes and checks"]
    return []


def build_capabilities(version: Obj, crds: Dict[str, bool], subresources: Sequence[str],
                       kubevirt_cr: Optional[Obj]) -> Obj:
    """The capabilities document from what discovery found."""
    served = sorted(set(subresources))
    operations = {op: any(name in served for name in names) for op, names in OPERATION_SUBRESOURCES.items()}
    # A migration is a VirtualMachineInstanceMigration object; the subresource only creates one.
    operations["migrate"] = operations["migrate"] or bool(crds.get("VirtualMachineInstanceMigration"))
    kubevirt_version = None
    feature_gates: List[str] = []
    rollout: Optional[str] = None
    update_methods: List[str] = []
    if kubevirt_cr:
        status = kubevirt_cr.get("status") or {}
        kubevirt_version = status.get("observedKubeVirtVersion") or status.get("operatorVersion") or None
        spec = kubevirt_cr.get("spec") or {}
        configuration = spec.get("configuration") or {}
        developer = configuration.get("developerConfiguration") or {}
        release = kubevirt_release(kubevirt_version)
        feature_gates = effective_gates(developer.get("featureGates") or [], developer.get("disabledFeatureGates") or [],
                                        release)
        rollout = configuration.get("vmRolloutStrategy") or (
            None if release is None else "LiveUpdate" if release >= LIVE_UPDATE_DEFAULT_FROM else "Stage")
        update_methods = [str(m) for m in (spec.get("workloadUpdateStrategy") or {}).get("workloadUpdateMethods") or []]
    return {
        "server_version": version.get("gitVersion") or None,
        "kubevirt_version": kubevirt_version,
        "version": kubevirt_version,
        "vm_rollout_strategy": rollout,
        "workload_update_methods": update_methods,
        "crds": {kind: bool(crds.get(kind)) for kind in REQUIRED_KINDS},
        "subresources": served,
        "operations": operations,
        "feature_gates": feature_gates,
    }


def dump_capabilities(capabilities: Obj) -> str:
    """Deterministic JSON, so equal capabilities compare equal as text."""
    return json.dumps(capabilities, sort_keys=True, separators=(",", ":"))


def record_core(name: str, api_url: str, ca_cert: str, capabilities: Obj) -> Dict[str, str]:
    """The record's data without its timestamps."""
    return {
        "name": name,
        "api_url": api_url,
        "ca_cert": ca_cert,
        "capabilities": dump_capabilities(capabilities),
        "server_version": capabilities.get("server_version") or "",
    }


def plan_record(current: Optional[Dict[str, str]], core: Dict[str, str], now: str) -> Optional[Dict[str, str]]:
    """The data to write, or None when the current record already says all of ``core``."""
    current = current or {}
    if current and all(current.get(key, "") == value for key, value in core.items()):
        return None
    data = dict(core)
    data["created"] = current.get("created") or now
    data["updated"] = now
    return data


def record_configmap(name: str, namespace: str, data: Dict[str, str]) -> Obj:
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": record_name(name), "namespace": namespace, "labels": record_labels(name)},
            "data": dict(data)}


def provider_from_record(configmap: Obj) -> Obj:
    """The provider as other modules use it, from its ConfigMap."""
    data = configmap.get("data") or {}
    meta = configmap.get("metadata") or {}
    try:
        capabilities = json.loads(data.get("capabilities") or "{}")
    except ValueError as exc:
        raise InputError(f"the provider record {meta.get('namespace')}/{meta.get('name')} holds invalid capabilities "
                         f"JSON ({exc}); run kubevirt_provider again to refresh it") from exc
    return {
        "name": data.get("name") or meta.get("labels", {}).get(PROVIDER_LABEL),
        "namespace": meta.get("namespace"),
        "api_url": data.get("api_url"),
        "ca_cert": data.get("ca_cert") or None,
        "server_version": data.get("server_version") or None,
        "capabilities": capabilities,
        "created": data.get("created"),
        "updated": data.get("updated"),
    }


def rbac_objects(namespace: str) -> List[Obj]:
    """ServiceAccount, Role, RoleBinding, ClusterRole, ClusterRoleBinding for the collection in ``namespace``."""
    labels = managed_labels()
    cluster_name = CLUSTER_ROLE_PREFIX + namespace
    subject = [{"kind": "ServiceAccount", "name": SERVICE_ACCOUNT, "namespace": namespace}]
    return [
        {"apiVersion": "v1", "kind": "ServiceAccount",
         "metadata": {"name": SERVICE_ACCOUNT, "namespace": namespace, "labels": dict(labels)}},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
         "metadata": {"name": SERVICE_ACCOUNT, "namespace": namespace, "labels": dict(labels)},
         "rules": copy.deepcopy(ROLE_RULES)},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
         "metadata": {"name": SERVICE_ACCOUNT, "namespace": namespace, "labels": dict(labels)},
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": SERVICE_ACCOUNT},
         "subjects": copy.deepcopy(subject)},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
         "metadata": {"name": cluster_name, "labels": dict(labels)},
         "rules": copy.deepcopy(CLUSTER_ROLE_RULES)},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
         "metadata": {"name": cluster_name, "labels": dict(labels)},
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": cluster_name},
         "subjects": copy.deepcopy(subject)},
    ]


def _normal_rules(rules: Any) -> List[Tuple[Tuple[str, ...], ...]]:
    normal = []
    for rule in rules or []:
        normal.append(tuple(tuple(sorted(rule.get(key) or [])) for key in
                            ("apiGroups", "resources", "resourceNames", "verbs", "nonResourceURLs")))
    return sorted(normal)


def rbac_difference(current: Obj, desired: Obj) -> Optional[str]:
    """What differs between an existing RBAC object and the desired one (None when nothing does).

    ``roleRef`` is immutable: a difference there means delete and create.
    """
    labels = (current.get("metadata") or {}).get("labels") or {}
    if any(labels.get(k) != v for k, v in desired["metadata"]["labels"].items()):
        return "labels"
    if "rules" in desired and _normal_rules(current.get("rules")) != _normal_rules(desired["rules"]):
        return "rules"
    if "roleRef" in desired:
        ref = current.get("roleRef") or {}
        if (ref.get("kind"), ref.get("name")) != (desired["roleRef"]["kind"], desired["roleRef"]["name"]):
            return "roleRef"
        subjects = sorted((s.get("kind"), s.get("name"), s.get("namespace")) for s in current.get("subjects") or [])
        if subjects != sorted((s["kind"], s["name"], s["namespace"]) for s in desired["subjects"]):
            return "subjects"
    return None


def merged_for_replace(current: Obj, desired: Obj) -> Obj:
    """The current object with the desired labels and content, keeping what others added."""
    merged = copy.deepcopy(current)
    merged.setdefault("metadata", {}).setdefault("labels", {}).update(desired["metadata"]["labels"])
    for key in ("rules", "subjects"):
        if key in desired:
            merged[key] = copy.deepcopy(desired[key])
    return merged


def check_token_duration(seconds: int) -> int:
    if seconds < MIN_TOKEN_DURATION_S:
        raise InputError(f"token_duration {seconds} is too short: the TokenRequest API needs at least "
                         f"{MIN_TOKEN_DURATION_S} seconds")
    return seconds


# -- Kubernetes side ------------------------------------------------------------

def _raw_get(kube: KubeApi, path: str) -> Obj:
    """GET a JSON document that may have no ``kind`` (``/version``), which DynamicClient cannot serialise."""
    try:
        response = kube.client.request("GET", path, serialize=False)
    except Exception as exc:  # pylint: disable=broad-except  # API and transport errors, translated
        raise translate(exc, f"GET {path}") from exc
    data = getattr(response, "data", response)
    if isinstance(data, bytes):
        data = data.decode("utf-8", "replace")
    try:
        return json.loads(data) if isinstance(data, str) else dict(data)
    except ValueError as exc:
        raise ApiError(f"GET {path}: the Kubernetes API answered something that is not JSON: {str(data)[:200]}") from exc


def _converging_to(desired: Obj) -> Callable[[Obj], Optional[Obj]]:
    """The update that makes an RBAC object what ``desired`` says, or leaves it (None) when it already is."""
    def mutate(current: Obj) -> Optional[Obj]:
        return merged_for_replace(current, desired) if rbac_difference(current, desired) else None
    return mutate


def api_url(kube: KubeApi) -> str:
    return str(getattr(kube.client.configuration, "host", "") or "")


def ca_cert_text(kube: KubeApi) -> str:
    """PEM text of the CA the connection trusts (public data), or '' when it uses the system store."""
    path = getattr(kube.client.configuration, "ssl_ca_cert", None)
    if not path or not os.path.exists(path):
        return ""
    with open(path, "r", encoding="utf-8", errors="replace") as handle:
        return handle.read()


def served_subresources(kube: KubeApi) -> Tuple[List[str], List[str]]:
    """Resource names served under subresources.kubevirt.io/v1, and warnings."""
    try:
        document = kube.request("GET", "/apis/" + SUBRESOURCE_GV, what=f"discovering {SUBRESOURCE_GV}")
    except NotFoundError:
        return [], [f"the Kubernetes API serves no {SUBRESOURCE_GV} (virt-api is not registered): "
                    "no start, stop, migrate or other VM operations are available"]
    except ApiError as exc:
        raise ApiError(f"KubeVirt's subresource API {SUBRESOURCE_GV} (virt-api) does not answer: {exc}; "
                       "check that virt-api runs and its APIService is Available", status=exc.status) from exc
    return sorted(str(r.get("name")) for r in document.get("resources") or [] if r.get("name")), []


def kubevirt_cr(kube: KubeApi) -> Tuple[Optional[Obj], List[str]]:
    """The cluster's KubeVirt CR, if the CRD exists and one is readable."""
    if not kube.has_resource(KUBEVIRT_API, "KubeVirt"):
        return None, []
    try:
        items, _rv = kube.list(KUBEVIRT_API, "KubeVirt")
    except ApiError as exc:
        if exc.status == 403:
            return None, ["cannot read the KubeVirt CR (forbidden): kubevirt_version and feature_gates are unknown"]
        raise
    return (items[0] if items else None), []


def discover_capabilities(kube: KubeApi) -> Tuple[Obj, List[str]]:
    """What the cluster can do. Fails naming the missing CRDs when KubeVirt is not installed."""
    version = _raw_get(kube, "/version")
    crds = {kind: kube.has_resource(KUBEVIRT_API, kind) for kind in REQUIRED_KINDS}
    missing = missing_kinds(crds)
    if missing:
        raise UnsupportedError(
            f"KubeVirt is not installed at {api_url(kube)}: the Kubernetes API serves no "
            f"{', '.join(missing)} in {KUBEVIRT_API}; install KubeVirt (its operator and CRDs) first")
    subresources, warnings = served_subresources(kube)
    cr, cr_warnings = kubevirt_cr(kube)
    capabilities = build_capabilities(version, crds, subresources, cr)
    return capabilities, warnings + cr_warnings + version_warnings(capabilities["version"])


def known_feature_gates(capabilities: Mapping[str, Any]) -> Optional[List[str]]:
    """The enabled feature gates, when the KubeVirt CR was read (its version is known); otherwise None."""
    if not (capabilities.get("version") or capabilities.get("kubevirt_version")):
        return None
    return [str(g) for g in capabilities.get("feature_gates") or []]


def load_provider(kube: KubeApi, name: str, namespace: str) -> Obj:
    """The registered provider, for modules that need its capabilities."""
    configmap = kube.get("v1", "ConfigMap", record_name(name), namespace)
    labels = ((configmap or {}).get("metadata") or {}).get("labels") or {}
    if configmap is None or labels.get(PROVIDER_LABEL) != name:
        raise NotFoundError(f"provider {name} is not registered in namespace {namespace}; run kubevirt_provider first")
    return provider_from_record(configmap)


def ensure_namespace(kube: KubeApi, namespace: str, check_mode: bool) -> bool:
    """Create the namespace when missing; True when it was (or would be) created."""
    if kube.get("v1", "Namespace", namespace) is not None:
        return False
    if check_mode:
        return True
    try:
        kube.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
    except ConflictError:
        return False  # created concurrently
    return True


def _write_record(kube: KubeApi, name: str, namespace: str, core: Dict[str, str],
                  check_mode: bool) -> Tuple[Optional[Dict[str, str]], Dict[str, str], bool]:
    """(data before, data after, changed) for the provider record, retried on conflicts."""
    return kube.write_configmap_data(record_name(name), namespace, record_labels(name),
                                     lambda current: plan_record(current, core, now_iso()),
                                     check_mode=check_mode, what="provider record")


def ensure_rbac(kube: KubeApi, namespace: str, check_mode: bool) -> List[str]:
    """Create or fix the service account objects; returns what changed ('Kind name: why')."""
    changes = []
    for desired in rbac_objects(namespace):
        meta = desired["metadata"]
        kind = desired["kind"]
        current = kube.get(desired["apiVersion"], kind, meta["name"], meta.get("namespace"))
        if current is None:
            changes.append(f"{kind} {meta['name']}: created")
            if not check_mode:
                try:
                    kube.create(desired)
                except ConflictError:
                    changes.pop()  # created concurrently; the next run checks its content
            continue
        why = rbac_difference(current, desired)
        if why is None:
            continue
        changes.append(f"{kind} {meta['name']}: {why} updated")
        if check_mode:
            continue
        if why == "roleRef":
            kube.delete(desired["apiVersion"], kind, meta["name"], meta.get("namespace"))
            kube.create(desired)
        else:
            kube.update(desired["apiVersion"], kind, meta["name"], meta.get("namespace"), _converging_to(desired))
    return changes


def remove_rbac(kube: KubeApi, namespace: str, check_mode: bool) -> List[str]:
    """Delete the service account objects this collection created (labelled as managed by it)."""
    removed = []
    for desired in reversed(rbac_objects(namespace)):
        meta = desired["metadata"]
        current = kube.get(desired["apiVersion"], desired["kind"], meta["name"], meta.get("namespace"))
        labels = ((current or {}).get("metadata") or {}).get("labels") or {}
        if current is None or labels.get(MANAGED_BY_LABEL) != MANAGED_BY:
            continue
        if check_mode or kube.delete(desired["apiVersion"], desired["kind"], meta["name"], meta.get("namespace")):
            removed.append(f"{desired['kind']} {meta['name']}")
    return removed


def request_token(kube: KubeApi, namespace: str, duration_s: int) -> Obj:
    body = {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
            "spec": {"expirationSeconds": int(duration_s)}}
    path = f"/api/v1/namespaces/{namespace}/serviceaccounts/{SERVICE_ACCOUNT}/token"
    answer = kube.request("POST", path, body=body,
                          what=f"requesting a token for ServiceAccount {namespace}/{SERVICE_ACCOUNT}")
    status = answer.get("status") or {}
    if not status.get("token"):
        raise ApiError(f"the TokenRequest for ServiceAccount {namespace}/{SERVICE_ACCOUNT} returned no token")
    return {"name": SERVICE_ACCOUNT, "namespace": namespace, "token": status["token"],
            "expiration_timestamp": status.get("expirationTimestamp")}


def _other_providers(kube: KubeApi, namespace: str, name: str) -> List[str]:
    items, _rv = kube.list("v1", "ConfigMap", namespace, label_selector=f"{MANAGED_BY_LABEL}={MANAGED_BY},{PROVIDER_LABEL}")
    return sorted(n for n in (((i.get("metadata") or {}).get("labels") or {}).get(PROVIDER_LABEL) for i in items)
                  if n and n != name)


def ensure_provider(kube: KubeApi, name: str, namespace: str, *, create_service_account: bool = False,
                    token_duration: int = 3600, check_mode: bool = False) -> Obj:
    """Register (or refresh) a provider; the module's whole job for state=present."""
    validate_name(name)
    validate_namespace(namespace)
    if create_service_account:
        check_token_duration(token_duration)
    capabilities, warnings = discover_capabilities(kube)
    changes: List[str] = []
    if ensure_namespace(kube, namespace, check_mode):
        changes.append(f"Namespace {namespace}: created")
    core = record_core(name, api_url(kube), ca_cert_text(kube), capabilities)
    before, after, record_changed = _write_record(kube, name, namespace, core, check_mode)
    if record_changed:
        changes.append(f"ConfigMap {record_name(name)}: {'updated' if before else 'created'}")
    result: Obj = {"changed": False, "capabilities": capabilities, "warnings": warnings}
    if create_service_account:
        changes.extend(ensure_rbac(kube, namespace, check_mode))
        if not check_mode:
            # A fresh token is not a change of state: it expires on its own.
            result["service_account"] = request_token(kube, namespace, token_duration)
    provider = provider_from_record(record_configmap(name, namespace, after))
    result.update(changed=bool(changes), changes=changes, provider=provider,
                  diff={"before": before or {}, "after": after})
    return result


def remove_provider(kube: KubeApi, name: str, namespace: str, *, check_mode: bool = False) -> Obj:
    """Unregister: the record, and the service account objects unless another provider in the namespace remains."""
    validate_name(name)
    validate_namespace(namespace)
    changes: List[str] = []
    current = kube.get("v1", "ConfigMap", record_name(name), namespace)
    labels = ((current or {}).get("metadata") or {}).get("labels") or {}
    before = dict((current or {}).get("data") or {}) if current else {}
    if current is not None and labels.get(MANAGED_BY_LABEL) == MANAGED_BY:
        if check_mode or kube.delete("v1", "ConfigMap", record_name(name), namespace):
            changes.append(f"ConfigMap {record_name(name)}: deleted")
    warnings: List[str] = []
    others = _other_providers(kube, namespace, name) if kube.get("v1", "Namespace", namespace) else []
    if others:
        warnings.append(f"the service account objects in {namespace} are kept: provider(s) {', '.join(others)} "
                        "are still registered there")
    else:
        changes.extend(f"{what}: deleted" for what in remove_rbac(kube, namespace, check_mode))
    return {"changed": bool(changes), "changes": changes, "provider": {}, "warnings": warnings,
            "diff": {"before": before, "after": {}}}
