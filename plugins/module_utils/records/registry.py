# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ovirt_kubevirt.bridge contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The cluster type registry: which oVirt clusters run their VMs through KubeVirt.

The oVirt API has no field for it (and drops unknown scheduling policy
properties), so the registry is on the Kubernetes side: one ConfigMap
``ovirt-cluster-<cluster id>`` per oVirt cluster, in the namespace of the
cluster's provider, readable with kubectl and holding no secret. Writers are
safe against each other through resourceVersion: an update re-reads and
re-plans on a conflict, a create that finds the object already there re-reads
and updates it.

Every real change increments ``revision`` and is audited by an oVirt event
tied to the cluster, whose custom id is derived from the new state and the
revision. The registry is written first, the event second; every run makes
sure the event of the current revision exists, so a run interrupted between
the two is completed by the next one, and a run that changes nothing posts
nothing (the engine refuses a second event with the same origin and id).

Nothing here touches a VM: a cluster's running VMs keep running where they
are, whatever its type.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.clients.ovirt_service import status_of
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.common import labels
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.common.errors import (
    ApiError,
    BridgeError,
    ConflictError,
    Failure,
    InputError,
    ItemsFailed,
    NotFoundError,
)
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.common.kubevirt_api import KUBEVIRT_API
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.common.naming import (
    event_custom_id,
    is_label_name,
    kubernetes_name,
)
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.common.services import KubeApi, OvirtApi
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.records.provider import (
    MANAGED_BY,
    MANAGED_BY_LABEL,
    load_provider,
    now_iso,
    validate_name,
    validate_namespace,
)

Obj = Dict[str, Any]

TYPES = ("legacy", "kubevirt")
MILESTONES = (1, 2, 3)
REGISTRY_LABEL = labels.REGISTRY
REGISTRY_VALUE = "cluster-type"
CLUSTER_ID_LABEL = labels.CLUSTER_ID
VM_ID_LABEL = labels.VM_ID
RECORD_PREFIX = "ovirt-cluster-"
# What decides a cluster's type; a change of any of them is a new revision.
KEY_FIELDS = ("type", "provider", "namespace", "milestone")


# -- pure parts -----------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class ClusterType:
    """A cluster's type as its current registry record says; a cluster without a record is legacy."""

    type: str = "legacy"
    provider: Optional[str] = None
    namespace: Optional[str] = None
    milestone: int = 1

    @classmethod
    def of(cls, data: Optional[Mapping[str, str]]) -> "ClusterType":
        """The type a record's data gives (current_records' values); None or {} is a never-switched cluster."""
        if not data:
            return cls()
        milestone = str(data.get("milestone") or "")
        return cls(type=data.get("type") or "legacy", provider=data.get("provider") or None,
                   namespace=data.get("namespace") or None, milestone=int(milestone) if milestone.isdigit() else 1)

    @property
    def is_kubevirt(self) -> bool:
        return self.type == "kubevirt"


def record_name(cluster_id: str) -> str:
    return kubernetes_name(RECORD_PREFIX + str(cluster_id).lower(), 253)[0]


def record_labels(cluster_id: str) -> Dict[str, str]:
    return {MANAGED_BY_LABEL: MANAGED_BY, REGISTRY_LABEL: REGISTRY_VALUE, CLUSTER_ID_LABEL: str(cluster_id)}


def cluster_selector(cluster_id: Optional[str] = None) -> str:
    if cluster_id and not is_label_name(cluster_id):  # a label value follows the same rule
        # Engine ids are UUIDs; anything else must not extend the selector.
        raise InputError(f"cluster id {cluster_id!r} is not a valid label value")
    selector = f"{REGISTRY_LABEL}={REGISTRY_VALUE}"
    return f"{selector},{CLUSTER_ID_LABEL}={cluster_id}" if cluster_id else selector


def desired_state(cluster_type: str, provider: Optional[str], namespace: Optional[str],
                  milestone: Optional[int]) -> Dict[str, str]:
    """The key fields a record must hold for the requested type.

    For legacy, ``namespace`` is where the record stays; provider and
    milestone do not apply.
    """
    if cluster_type not in TYPES:
        raise InputError(f"unknown cluster type {cluster_type!r}; use one of {', '.join(TYPES)}")
    if cluster_type == "legacy":
        return {"type": "legacy", "provider": "", "namespace": namespace or "", "milestone": ""}
    if not provider or not namespace:
        raise InputError("type kubevirt needs provider and namespace (a provider registered with kubevirt_provider)")
    if milestone not in MILESTONES:
        raise InputError(f"milestone {milestone!r} is invalid; use one of {', '.join(map(str, MILESTONES))}")
    return {"type": "kubevirt", "provider": provider, "namespace": namespace, "milestone": str(milestone)}


def revision_of(data: Optional[Dict[str, str]]) -> int:
    try:
        return max(0, int((data or {}).get("revision") or 0))
    except (TypeError, ValueError):
        return 0


def plan(current: Optional[Dict[str, str]], desired: Dict[str, str], identity: Dict[str, str], now: str,
         floor_revision: int = 0) -> Optional[Dict[str, str]]:
    """The record data to write, or None when ``current`` already has the desired key fields.

    ``identity`` (engine_url, cluster_id, cluster_name) is refreshed only along
    with a real change: a new engine URL alias or a renamed cluster alone is
    not a change of type. ``floor_revision`` continues the numbering of a
    record that moves from another namespace.
    """
    current = current or {}
    if current and all(current.get(key, "") == desired[key] for key in KEY_FIELDS):
        return None
    revision = max(revision_of(current), floor_revision) + 1
    data = dict(identity)
    data.update(desired)
    data.update(revision=str(revision), created=current.get("created") or now, updated=now)
    return data


def view(data: Optional[Dict[str, str]], cluster_id: str, cluster_name: str, engine_url: str = "") -> Obj:
    """The record as modules return it; a cluster without a record is legacy."""
    data = data or {}
    cluster_type = data.get("type") or "legacy"
    milestone = data.get("milestone")
    return {
        "name": cluster_name,
        "id": cluster_id,
        "type": cluster_type,
        "provider": (data.get("provider") or None) if cluster_type == "kubevirt" else None,
        "namespace": data.get("namespace") or None,
        "milestone": int(milestone) if cluster_type == "kubevirt" and milestone and milestone.isdigit() else None,
        "revision": revision_of(data),
        "engine_url": data.get("engine_url") or engine_url or None,
        "created": data.get("created") or None,
        "updated": data.get("updated") or None,
    }


def event_id(record: Obj) -> int:
    """The custom id of the event auditing this revision of a record (as returned by view())."""
    milestone = record.get("milestone")
    return event_custom_id(record["id"], "cluster_type", str(record["revision"]), record["type"],
                           record.get("provider") or "", record.get("namespace") or "",
                           "" if milestone is None else str(milestone))


def event_description(record: Obj) -> str:
    if record["type"] == "kubevirt":
        detail = (f" (provider {record['provider']}, namespace {record['namespace']}, "
                  f"milestone {record['milestone']})")
    else:
        detail = ""
    return (f"Cluster {record['name']} type set to {record['type']}{detail} by ovirt_kubevirt.bridge "
            f"(registry revision {record['revision']})")


def pick_current(items: Sequence[Obj]) -> Optional[Obj]:
    """The record that counts when a cluster has several: highest revision, then latest update."""
    if not items:
        return None
    return max(items, key=lambda o: (revision_of(o.get("data")), (o.get("data") or {}).get("updated") or "",
                                     (o.get("metadata") or {}).get("namespace") or ""))


def leaving_kubevirt_placement(current: Optional[Dict[str, str]], desired: Dict[str, str]) -> bool:
    """True when a kubevirt cluster would stop using its provider and namespace (legacy, or elsewhere)."""
    if not current or current.get("type") != "kubevirt":
        return False
    if desired["type"] != "kubevirt":
        return True
    return (current.get("provider"), current.get("namespace")) != (desired["provider"], desired["namespace"])


def _meta(obj: Optional[Obj]) -> Obj:
    return (obj or {}).get("metadata") or {}


def _present(value: Optional[str], what: str) -> str:
    """A value the record's rules guarantee; a BridgeError, not a None further on, if one ever lacks it."""
    if not value:
        raise BridgeError(f"the cluster type record has no {what}")
    return value


# -- Kubernetes side ------------------------------------------------------------

def find_records(kube: KubeApi, cluster_id: Optional[str], namespace: Optional[str] = None) -> List[Obj]:
    """Registry ConfigMaps (of one cluster, or all), in every namespace the caller may list.

    Without permission to list cluster-wide, the search falls back to
    ``namespace`` when one is given, else to the namespace of the
    ServiceAccount whose token is used (kubevirt_provider's account lives
    where its clusters' records are).
    """
    selector = f"{MANAGED_BY_LABEL}={MANAGED_BY},{cluster_selector(cluster_id)}"
    try:
        items, _rv = kube.list("v1", "ConfigMap", None, label_selector=selector)
    except ApiError as exc:
        if exc.status != 403:
            raise
        namespace = namespace or kube.token_namespace()
        if not namespace:
            raise ApiError(f"{exc}; without permission to list ConfigMaps in all namespaces, give the namespace "
                           "of the cluster's record (namespace option)", status=exc.status) from exc
        items, _rv = kube.list("v1", "ConfigMap", namespace, label_selector=selector)
    return items


def running_vmis(kube: KubeApi, namespace: str, cluster_id: str) -> List[str]:
    items, _rv = kube.list(KUBEVIRT_API, "VirtualMachineInstance", namespace,
                           label_selector=f"{CLUSTER_ID_LABEL}={cluster_id}")
    return sorted(_meta(i).get("name", "") for i in items)


def wait_vmis_gone(kube: KubeApi, namespace: str, cluster_id: str, timeout_s: float) -> List[str]:
    """Wait with a watch until no VMI labelled with the cluster is left; returns those still there."""
    return kube.wait_gone(KUBEVIRT_API, "VirtualMachineInstance", namespace,
                          label_selector=f"{CLUSTER_ID_LABEL}={cluster_id}", timeout_s=timeout_s)


def _write(kube: KubeApi, cluster_id: str, target_ns: str, desired: Dict[str, str], identity: Dict[str, str],
           floor_revision: int, check_mode: bool) -> Tuple[Optional[Dict[str, str]], Dict[str, str], bool]:
    """Make the record in ``target_ns`` say ``desired``: (data before, data after, changed)."""
    return kube.write_configmap_data(record_name(cluster_id), target_ns, record_labels(cluster_id),
                                     lambda current: plan(current, desired, identity, now_iso(), floor_revision),
                                     check_mode=check_mode, what="registry record")


def set_cluster_type(ovirt: OvirtApi, kube: KubeApi, *, engine_url: str, cluster: str, cluster_type: str,
                     provider: Optional[str] = None, namespace: Optional[str] = None, milestone: Optional[int] = 1,
                     wait: bool = False, wait_timeout: float = 300, check_mode: bool = False) -> Obj:
    """Set an oVirt cluster's type in the registry and audit it with an oVirt event. Never touches a VM."""
    if namespace:
        validate_namespace(namespace)
    if cluster_type == "kubevirt":
        desired_state(cluster_type, provider, namespace, milestone)  # input errors before any lookup
        validate_name(_present(provider, "provider"))
    found = ovirt.cluster(cluster)
    cluster_id, cluster_name = str(found.id), str(found.name)
    if cluster_type == "kubevirt":
        load_provider(kube, _present(provider, "provider"), _present(namespace, "namespace"))
    records = find_records(kube, cluster_id, namespace)
    current_obj = pick_current(records)
    current = dict(current_obj.get("data") or {}) if current_obj else None
    current_ns: Optional[str] = _meta(current_obj).get("namespace")
    warnings: List[str] = []

    if cluster_type == "legacy" and current_obj is None:
        # Never switched: legacy already, and nothing to write or audit.
        record = view(None, cluster_id, cluster_name, engine_url)
        return {"changed": False, "cluster": record, "event": None, "warnings": warnings,
                "diff": {"before": {}, "after": {}}}

    target_ns = _present(namespace if cluster_type == "kubevirt" else current_ns, "namespace")
    desired = desired_state(cluster_type, provider, target_ns, milestone)
    if current is not None and leaving_kubevirt_placement(current, desired):
        old_ns = _present(current_ns or current.get("namespace"), "namespace")
        still = running_vmis(kube, old_ns, cluster_id)
        if still and wait and not check_mode:
            still = wait_vmis_gone(kube, old_ns, cluster_id, wait_timeout)
            if still:
                raise ConflictError(
                    f"cluster {cluster_name} still runs VMs in KubeVirt after waiting {wait_timeout:g} s: "
                    f"VirtualMachineInstances {', '.join(still)} in namespace {old_ns}; stop or move them first",
                    vmis=still)
        elif still and wait:
            warnings.append(f"check mode does not wait: VirtualMachineInstances {', '.join(still)} in namespace "
                            f"{old_ns} still run")
        elif still:
            raise ConflictError(
                f"cluster {cluster_name} still runs VMs in KubeVirt: VirtualMachineInstances {', '.join(still)} "
                f"in namespace {old_ns} are labelled {CLUSTER_ID_LABEL}={cluster_id}; stop or move them first, "
                "or set wait to wait until they are gone", vmis=still)

    identity = {"engine_url": engine_url, "cluster_id": cluster_id, "cluster_name": cluster_name}
    floor = max((revision_of(o.get("data")) for o in records), default=0)
    before, after, changed = _write(kube, cluster_id, target_ns, desired, identity, floor, check_mode)
    if before is None and current_obj is not None and current_ns != target_ns:
        before = current  # the record moves from another namespace
    if changed and not check_mode:
        _drop_superseded(kube, records, target_ns, warnings)

    record = view(after, cluster_id, cluster_name, engine_url)
    custom_id = event_id(record)
    posted = ovirt.post_event(custom_id, event_description(record), "normal", cluster_id=cluster_id,
                              check_mode=check_mode)
    return {"changed": bool(changed or posted), "cluster": record,
            "event": {"custom_id": custom_id, "posted": bool(posted)}, "warnings": warnings,
            "diff": {"before": before or {}, "after": after}}


def set_cluster_types(ovirt: OvirtApi, kube: KubeApi, clusters: Sequence[str], *, single: bool, **settings: Any) -> Obj:
    """set_cluster_type for each cluster in turn; ``single`` keeps the one-cluster result as it is.

    A cluster that fails does not stop the others; then the whole call fails
    with ItemsFailed, naming each failed cluster with its reason.
    """
    if single:
        (cluster,) = clusters
        return set_cluster_type(ovirt, kube, cluster=cluster, **settings)
    if not clusters:
        raise InputError("clusters is empty: name at least one oVirt cluster")
    results: List[Obj] = []
    warnings: List[str] = []
    failures: List[Failure] = []
    diff: Obj = {"before": {}, "after": {}}
    for cluster in dict.fromkeys(clusters):
        try:
            one = set_cluster_type(ovirt, kube, cluster=cluster, **settings)
        except BridgeError as exc:
            failures.append(Failure(cluster, str(exc)))
            continue
        warnings += one.get("warnings", [])
        diff["before"][cluster], diff["after"][cluster] = one["diff"]["before"], one["diff"]["after"]
        results.append({"name": cluster, "changed": one["changed"], "cluster": one["cluster"], "event": one["event"]})
    outcome = {"changed": any(r["changed"] for r in results), "results": results, "warnings": warnings, "diff": diff}
    if failures:
        raise ItemsFailed(failures, len(dict.fromkeys(clusters)), "cluster(s)", changed=outcome["changed"],
                          results=results)
    return outcome


def _drop_superseded(kube: KubeApi, records: Sequence[Obj], target_ns: str, warnings: List[str]) -> None:
    """Delete a cluster's records left in other namespaces once the new one is written."""
    for obj in records:
        meta = _meta(obj)
        if meta.get("namespace") == target_ns:
            continue
        try:
            kube.delete("v1", "ConfigMap", str(meta.get("name")), meta.get("namespace"))
        except BridgeError as exc:
            warnings.append(f"the superseded registry record {meta.get('namespace')}/{meta.get('name')} "
                            f"could not be deleted: {exc}")


def records_by_cluster(items: Sequence[Obj]) -> Dict[str, List[Obj]]:
    """Registry records grouped by the oVirt cluster id they describe."""
    by_cluster: Dict[str, List[Obj]] = {}
    for obj in items:
        cid = (_meta(obj).get("labels") or {}).get(CLUSTER_ID_LABEL) or (obj.get("data") or {}).get("cluster_id")
        if cid:
            by_cluster.setdefault(cid, []).append(obj)
    return by_cluster


def current_records(kube: KubeApi) -> Dict[str, Dict[str, str]]:
    """The data of every cluster's current record, from all namespaces, by cluster id."""
    return {cid: dict((pick_current(objs) or {}).get("data") or {})
            for cid, objs in records_by_cluster(find_records(kube, None)).items()}


def cluster_types(ovirt: OvirtApi, kube: KubeApi, *, cluster: Optional[str] = None,
                  namespace: Optional[str] = None) -> List[Obj]:
    """Every oVirt cluster (or one) with its type and where its VMs run. Reads only."""
    if namespace:
        validate_namespace(namespace)
    clusters = [ovirt.cluster(cluster)] if cluster else list(ovirt.clusters())
    selector = f"{MANAGED_BY_LABEL}={MANAGED_BY},{cluster_selector()}"
    if namespace:
        items, _rv = kube.list("v1", "ConfigMap", namespace, label_selector=selector)
    else:
        items = find_records(kube, None)
    by_cluster = records_by_cluster(items)

    vms_by_cluster: Dict[str, List[Any]] = {}
    for vm in ovirt.vms(clusters[0].name if cluster else None):
        cid = getattr(getattr(vm, "cluster", None), "id", None)
        vms_by_cluster.setdefault(str(cid), []).append(vm)

    hosts = host_nodes(ovirt, kube)
    kubevirt_vms = _kubevirt_vms(kube, {_meta(pick_current(objs)).get("namespace") for cid, objs in by_cluster.items()
                                        if any(str(c.id) == cid for c in clusters)})
    result = []
    for found in clusters:
        cid = str(found.id)
        current = pick_current(by_cluster.get(cid, []))
        record = view(current.get("data") if current else None, cid, str(found.name))
        ns = str(_meta(current).get("namespace") or "")
        in_kubevirt = [vm for vm in kubevirt_vms.get(ns, []) if (_meta(vm).get("labels") or {}).get(CLUSTER_ID_LABEL) == cid]
        kubevirt_ids = {(_meta(vm).get("labels") or {}).get(VM_ID_LABEL) for vm in in_kubevirt}
        kubevirt_names = {str(_meta(vm).get("name")) for vm in in_kubevirt}
        legacy_runtime = []
        for vm in vms_by_cluster.get(cid, []):
            if status_of(vm) in ("down", ""):
                continue
            if str(vm.id) in kubevirt_ids or kubernetes_name(str(vm.name))[0] in kubevirt_names:
                continue
            legacy_runtime.append(str(vm.name))
        result.append({
            "name": record["name"], "id": cid, "type": record["type"], "provider": record["provider"],
            "namespace": record["namespace"], "milestone": record["milestone"], "revision": record["revision"],
            "legacy_runtime_vms": sorted(legacy_runtime), "kubevirt_vms": sorted(kubevirt_names),
            "ha_vms": sorted(str(vm.name) for vm in vms_by_cluster.get(cid, [])
                             if getattr(getattr(vm, "high_availability", None), "enabled", False)),
            "hosts": [{k: v for k, v in h.items() if k != "cluster_id"} for h in hosts if h["cluster_id"] == cid],
        })
    return sorted(result, key=lambda c: c["name"])


def host_nodes(ovirt: OvirtApi, kube: KubeApi) -> List[Obj]:
    """Every oVirt host with its Kubernetes node of the same name: exists, Ready, schedulable.

    ``node_ready`` is None when the nodes cannot be read (no cluster-wide permission).
    """
    try:
        nodes = {_meta(n).get("name"): n for n in kube.list("v1", "Node")[0]}
        readable = True
    except BridgeError:
        nodes, readable = {}, False
    found = []
    for host in ovirt.hosts():
        node = nodes.get(host.name)
        conditions = ((node or {}).get("status") or {}).get("conditions") or []
        ready = any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)
        found.append({
            "name": str(host.name), "cluster_id": str(getattr(getattr(host, "cluster", None), "id", "")),
            "status": status_of(host), "node": host.name if node else None,
            "node_ready": (ready if node else False) if readable else None,
            "node_schedulable": (not ((node or {}).get("spec") or {}).get("unschedulable")) if node else False,
        })
    return found


def _kubevirt_vms(kube: KubeApi, namespaces: Any) -> Dict[str, List[Obj]]:
    found: Dict[str, List[Obj]] = {}
    for ns in sorted(n for n in namespaces if n):
        try:
            items, _rv = kube.list(KUBEVIRT_API, "VirtualMachine", ns, label_selector=CLUSTER_ID_LABEL)
        except NotFoundError:
            items = []  # KubeVirt gone from this cluster: nothing runs there
        found[ns] = items
    return found
