# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ovirt_kubevirt.bridge contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Non-operational nodes: launch failures counted on the Node, across VMs and runs.

A node that fails VM launches ``threshold`` times within ``window_s`` seconds
becomes non-operational, whichever VMs and playbook runs caused the failures.
The count lives on the Kubernetes Node, in the annotation
``ovirt-kubevirt.io/launch-failures`` (a JSON list of
``{"time", "vm", "reason"}``, pruned to the window), written through
resourceVersion-guarded updates retried on a conflict, so concurrent
recorders never lose a failure.

Non-operational means, on the Kubernetes side, the taint
``ovirt-kubevirt.io/non-operational=true:NoSchedule`` and the annotations
``ovirt-kubevirt.io/non-operational-reason`` and
``ovirt-kubevirt.io/non-operational-since``. An API client cannot set an
oVirt host non_operational, so on the oVirt side the host (same name as the
node unless a node_map says otherwise) is moved to maintenance with the
reason, its external status is set to ``error`` and an ``error`` event tied
to the host is posted once (its custom id derives from the host id and the
``since`` time). The engine refuses maintenance while VMs run on the host:
then the taint stays and the result says so.
"""
from __future__ import annotations

import copy
import datetime
import json
from typing import Any, Dict, List, Optional, Tuple

from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.clients.ovirt_service import status_of
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.common import labels
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.common.errors import ConflictError, InputError, NotFoundError
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.common.naming import event_custom_id
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.common.services import KubeApi, OvirtApi

Obj = Dict[str, Any]

FAILURES_ANNOTATION = labels.LAUNCH_FAILURES
REASON_ANNOTATION = labels.NON_OPERATIONAL_REASON
SINCE_ANNOTATION = labels.NON_OPERATIONAL_SINCE
TAINT_KEY = labels.NON_OPERATIONAL_TAINT
TAINT = {"key": TAINT_KEY, "value": "true", "effect": "NoSchedule"}

OPERATIONAL = "operational"
NON_OPERATIONAL = "non_operational"
STATES = (OPERATIONAL, NON_OPERATIONAL)
DEFAULT_THRESHOLD = 3
DEFAULT_WINDOW_S = 1800
MAX_ENTRIES = 50
MAX_REASON = 1000
MAINTENANCE_STATES = ("maintenance", "preparing_for_maintenance")


# -- pure parts -----------------------------------------------------------------

def utcnow() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc)


def format_time(moment: datetime.datetime) -> str:
    """RFC 3339, UTC, whole seconds."""
    return moment.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text: Any) -> Optional[datetime.datetime]:
    """An RFC 3339 time as an aware datetime; None when it is not one."""
    if not isinstance(text, str) or not text:
        return None
    try:
        moment = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.timezone.utc)
    return moment


def parse_failures(text: Optional[str]) -> List[Obj]:
    """The failure list of an annotation; entries that are not failures are dropped, bad JSON is empty."""
    if not text:
        return []
    try:
        data = json.loads(text)
    except ValueError:
        return []
    if not isinstance(data, list):
        return []
    found = []
    for entry in data:
        if isinstance(entry, dict) and parse_time(entry.get("time")) is not None:
            found.append({"time": entry["time"], "vm": str(entry.get("vm") or ""), "reason": str(entry.get("reason") or "")})
    return found


def dump_failures(failures: List[Obj]) -> str:
    return json.dumps(failures, separators=(",", ":"), sort_keys=True)


def within_window(failures: List[Obj], now: datetime.datetime, window_s: float) -> List[Obj]:
    """The failures not older than ``window_s`` seconds at ``now``, oldest first."""
    start, end = now - datetime.timedelta(seconds=window_s), now + datetime.timedelta(seconds=60)
    timed = [(parse_time(f.get("time")), f) for f in failures]
    kept = [(moment, f) for moment, f in timed if moment is not None and start <= moment <= end]
    return [f for _moment, f in sorted(kept, key=lambda pair: pair[0])]


def add_failure(failures: List[Obj], vm: str, reason: str, now: datetime.datetime, window_s: float,
                max_entries: int = MAX_ENTRIES) -> List[Obj]:
    """The list with one more failure at ``now``, pruned to the window and to the newest ``max_entries``."""
    entry = {"time": format_time(now), "vm": str(vm or ""), "reason": str(reason or "")[:MAX_REASON]}
    return within_window(failures + [entry], now, window_s)[-max_entries:]


def has_taint(taints: Optional[List[Obj]]) -> bool:
    return any(t.get("key") == TAINT_KEY and t.get("effect") == TAINT["effect"] for t in taints or [])


def with_taint(taints: Optional[List[Obj]]) -> List[Obj]:
    """The taints plus ours; the others are kept as they are."""
    taints = [dict(t) for t in taints or []]
    if not has_taint(taints):
        taints.append(dict(TAINT))
    return taints


def without_taint(taints: Optional[List[Obj]]) -> List[Obj]:
    return [dict(t) for t in taints or [] if t.get("key") != TAINT_KEY]


def threshold_reason(count: int, window_s: float, last_reason: str) -> str:
    return f"{count} launch failures within {window_s:g} s: {last_reason}".strip()


def annotations_of(node: Obj) -> Dict[str, str]:
    return dict((node.get("metadata") or {}).get("annotations") or {})


def is_non_operational(node: Obj) -> bool:
    return has_taint((node.get("spec") or {}).get("taints"))


def mark_non_operational(node: Obj, reason: str, since: str) -> Obj:
    """The node with our taint and annotations (in place); an existing ``since`` is kept."""
    node.setdefault("spec", {})["taints"] = with_taint(node["spec"].get("taints"))
    annotations = node.setdefault("metadata", {}).setdefault("annotations", {}) or {}
    node["metadata"]["annotations"] = annotations
    annotations.setdefault(REASON_ANNOTATION, reason[:MAX_REASON])
    annotations.setdefault(SINCE_ANNOTATION, since)
    return node


def clear_node(node: Obj) -> Optional[Obj]:
    """The node without our taint, annotations and failures; None when it has none of them."""
    annotations = annotations_of(node)
    ours = [k for k in (FAILURES_ANNOTATION, REASON_ANNOTATION, SINCE_ANNOTATION) if k in annotations]
    if not ours and not is_non_operational(node):
        return None
    for key in ours:
        del node["metadata"]["annotations"][key]
    spec = node.setdefault("spec", {})
    if spec.get("taints"):
        spec["taints"] = without_taint(spec["taints"])
    return node


def expired(node: Obj, now: datetime.datetime, window_s: float) -> bool:
    """A non-operational node whose recorded failures are all older than the window.

    A node taken out by hand with no recorded failures never expires.
    """
    if not is_non_operational(node):
        return False
    recorded = parse_failures(annotations_of(node).get(FAILURES_ANNOTATION))
    return bool(recorded) and not within_window(recorded, now, window_s)


def host_name_for(node: str, node_map: Optional[Dict[str, str]] = None) -> str:
    """The oVirt host of a node: the same name unless ``node_map`` (oVirt host -> node) names another."""
    for host, mapped in (node_map or {}).items():
        if mapped == node:
            return host
    return node


def summary(node_name: str, node: Obj, now: datetime.datetime, window_s: float) -> Obj:
    annotations = annotations_of(node)
    non_op = is_non_operational(node)
    return {
        "node": node_name,
        "state": NON_OPERATIONAL if non_op else OPERATIONAL,
        "failures": within_window(parse_failures(annotations.get(FAILURES_ANNOTATION)), now, window_s),
        "reason": annotations.get(REASON_ANNOTATION) if non_op else None,
        "since": annotations.get(SINCE_ANNOTATION) if non_op else None,
    }


# -- Kubernetes side ------------------------------------------------------------

def _read_node(kube: KubeApi, node: str) -> Obj:
    found = kube.get("v1", "Node", node)
    if found is None:
        raise NotFoundError(f"Kubernetes has no node named {node!r}")
    return found


def _update_node(kube: KubeApi, node: str, mutate: Any, check_mode: bool) -> Tuple[Obj, bool]:
    """Apply ``mutate`` (returns the node or None) through a guarded update; check mode only plans."""
    if check_mode:
        current = _read_node(kube, node)
        planned = mutate(copy.deepcopy(current))
        return (planned if planned is not None else current), planned is not None
    try:
        obj, changed = kube.update("v1", "Node", node, None, mutate)
    except NotFoundError:
        raise NotFoundError(f"Kubernetes has no node named {node!r}") from None
    return obj or {}, changed


# -- oVirt side -----------------------------------------------------------------

def set_host_external_status(ovirt: OvirtApi, host: Any, status: str) -> bool:
    """Set a host's external status (ok, info, warning, error, failure); False when it already is."""
    current = getattr(getattr(host, "external_status", None), "value", None)
    if current == status:
        return False
    types = ovirt.sdk.types
    service = ovirt.system.hosts_service().host_service(host.id)
    ovirt.call(f"setting the external status of host {host.name} to {status}",
               service.update, types.Host(external_status=types.ExternalStatus(status)))
    return True


def _find_host(ovirt: OvirtApi, name: str) -> Optional[Any]:
    try:
        return ovirt.host(name)
    except NotFoundError:
        return None


def event_id(host_id: str, since: str) -> int:
    return event_custom_id(str(host_id), "non_operational", since)


def ovirt_non_operational(ovirt: OvirtApi, host_name: str, node: str, reason: str, since: str,
                          check_mode: bool = False) -> Tuple[Obj, bool]:
    """Maintenance with the reason, external status error and one error event: (report, changed)."""
    host = _find_host(ovirt, host_name)
    if host is None:
        return {"host": host_name, "found": False, "maintenance": False}, False
    changed = False
    report: Obj = {"host": host_name, "found": True, "maintenance": False}
    if status_of(host) in MAINTENANCE_STATES:
        report["maintenance"] = True
    elif check_mode:
        report["maintenance"] = changed = True
    else:
        try:
            ovirt.deactivate_host(host, reason)
            report["maintenance"] = changed = True
        except ConflictError as exc:
            again = _find_host(ovirt, host_name)
            if again is not None and status_of(again) in MAINTENANCE_STATES:
                report["maintenance"] = True  # a concurrent recorder moved it first
            else:
                report["refused"] = exc.details.get("reason") or str(exc)
    if check_mode:
        changed = getattr(getattr(host, "external_status", None), "value", None) != "error" or changed
    else:
        changed = set_host_external_status(ovirt, host, "error") or changed
    custom_id = event_id(host.id, since)
    description = f"Host {host_name} (Kubernetes node {node}) is non-operational since {since}: {reason}"
    posted = ovirt.post_event(custom_id, description, "error", host_id=host.id, check_mode=check_mode)
    report["event"] = {"custom_id": custom_id, "posted": bool(posted)}
    return report, changed or bool(posted)


def ovirt_operational(ovirt: OvirtApi, host_name: str, check_mode: bool = False) -> Tuple[Obj, bool]:
    """Activate a host in maintenance and set its external status back to ok: (report, changed)."""
    host = _find_host(ovirt, host_name)
    if host is None:
        return {"host": host_name, "found": False}, False
    changed = False
    if status_of(host) in MAINTENANCE_STATES:
        changed = True
        if not check_mode:
            ovirt.activate_host(host)
    if getattr(getattr(host, "external_status", None), "value", None) not in (None, "ok"):
        changed = True
        if not check_mode:
            set_host_external_status(ovirt, host, "ok")
    return {"host": host_name, "found": True, "activated": changed}, changed


def host_status(ovirt: OvirtApi, host_name: str) -> Obj:
    host = _find_host(ovirt, host_name)
    if host is None:
        return {"host": host_name, "status": None, "status_detail": None, "external_status": None}
    return {"host": host_name, "status": status_of(host), "status_detail": getattr(host, "status_detail", None),
            "external_status": getattr(getattr(host, "external_status", None), "value", None)}


# -- operations -----------------------------------------------------------------

def record_launch_failure(kube: KubeApi, ovirt: OvirtApi, node: str, vm: str, reason: str, *,
                          threshold: int = DEFAULT_THRESHOLD, window_s: float = DEFAULT_WINDOW_S,
                          now: Optional[datetime.datetime] = None, node_map: Optional[Dict[str, str]] = None,
                          check_mode: bool = False) -> Obj:
    """Record one launch failure of ``vm`` on ``node``; at ``threshold`` failures in the window, take it out.

    Returns ``{node, state, failures, reason, changed, ovirt}``; ``ovirt`` is
    set when the node is non-operational (the oVirt side is brought in line
    on every call, so an interrupted run is completed by the next failure).
    """
    if threshold < 1:
        raise ValueError("threshold must be at least 1")
    now = now or utcnow()

    def mutate(obj: Obj) -> Obj:
        annotations = obj.setdefault("metadata", {}).get("annotations") or {}
        obj["metadata"]["annotations"] = annotations
        failures = add_failure(parse_failures(annotations.get(FAILURES_ANNOTATION)), vm, reason, now, window_s)
        annotations[FAILURES_ANNOTATION] = dump_failures(failures)
        if len(failures) >= threshold and not is_non_operational(obj):
            mark_non_operational(obj, threshold_reason(len(failures), window_s, failures[-1]["reason"]),
                                 format_time(now))
        return obj

    obj, changed = _update_node(kube, node, mutate, check_mode)
    result = summary(node, obj, now, window_s)
    result["changed"] = changed
    result["ovirt"] = None
    if result["state"] == NON_OPERATIONAL:
        result["ovirt"], _ovirt_changed = ovirt_non_operational(
            ovirt, host_name_for(node, node_map), node, result["reason"] or "", result["since"] or format_time(now),
            check_mode)
    return result


def node_status(kube: KubeApi, ovirt: OvirtApi, node: str, window_s: float = DEFAULT_WINDOW_S, *,
                node_map: Optional[Dict[str, str]] = None, now: Optional[datetime.datetime] = None) -> Obj:
    """``{node, state, failures (inside the window), reason, since, ovirt_host_status}``; reads only."""
    now = now or utcnow()
    result = summary(node, _read_node(kube, node), now, window_s)
    result["ovirt_host_status"] = host_status(ovirt, host_name_for(node, node_map))
    return result


def set_operational(kube: KubeApi, ovirt: OvirtApi, node: str, check_mode: bool = False, *,
                    node_map: Optional[Dict[str, str]] = None) -> bool:
    """Clear the taint, annotations and failures, activate the host; False when nothing was to change."""
    _obj, kube_changed = _update_node(kube, node, clear_node, check_mode)
    _report, ovirt_changed = ovirt_operational(ovirt, host_name_for(node, node_map), check_mode)
    return kube_changed or ovirt_changed


def set_non_operational(kube: KubeApi, ovirt: OvirtApi, node: str, reason: str, check_mode: bool = False, *,
                        node_map: Optional[Dict[str, str]] = None,
                        now: Optional[datetime.datetime] = None) -> Tuple[bool, Obj]:
    """Take a node out by hand; a node already non-operational keeps its reason and since. (changed, oVirt report)."""
    now = now or utcnow()
    reason = reason or "set non-operational by an administrator"

    def mutate(obj: Obj) -> Optional[Obj]:
        if is_non_operational(obj):
            return None
        return mark_non_operational(obj, reason, format_time(now))

    obj, kube_changed = _update_node(kube, node, mutate, check_mode)
    annotations = annotations_of(obj)
    report, ovirt_changed = ovirt_non_operational(
        ovirt, host_name_for(node, node_map), node, annotations.get(REASON_ANNOTATION) or reason,
        annotations.get(SINCE_ANNOTATION) or format_time(now), check_mode)
    return kube_changed or ovirt_changed, report


def ensure_state(kube: KubeApi, ovirt: OvirtApi, node: str, state: Optional[str], *, reason: Optional[str] = None,
                 window_s: float = DEFAULT_WINDOW_S, expire: bool = False,
                 node_map: Optional[Dict[str, str]] = None, check_mode: bool = False,
                 now: Optional[datetime.datetime] = None) -> Obj:
    """What the node_health module does: report, or make the node ``state``; with ``expire`` and no
    state, a node whose recorded failures all left the window is returned to operational."""
    if state is not None and state not in STATES:
        raise ValueError(f"unknown state {state!r}")
    if window_s < 1:
        raise InputError(f"window must be at least 1 second, got {window_s:g}")
    now = now or utcnow()
    before = summary(node, _read_node(kube, node), now, window_s)
    ovirt_report: Optional[Obj] = None
    expired_now = False
    if state == OPERATIONAL:
        changed = set_operational(kube, ovirt, node, check_mode, node_map=node_map)
    elif state == NON_OPERATIONAL:
        changed, ovirt_report = set_non_operational(kube, ovirt, node, reason or "", check_mode,
                                                    node_map=node_map, now=now)
    elif expire and expired(_read_node(kube, node), now, window_s):
        changed = expired_now = set_operational(kube, ovirt, node, check_mode, node_map=node_map)
    else:
        changed = False
    after = node_status(kube, ovirt, node, window_s, node_map=node_map, now=now)
    if check_mode and changed:
        after = dict(after)
        planned = state or OPERATIONAL
        after.update(state=planned)
        if planned == OPERATIONAL:
            after.update(failures=[], reason=None, since=None)
        elif before["state"] == OPERATIONAL:
            after.update(reason=reason or "set non-operational by an administrator", since=format_time(now))
    result = dict(after)
    result.update(changed=changed, expired=expired_now)
    if ovirt_report is not None:
        result["ovirt"] = ovirt_report
    result["diff"] = {"before": {k: before[k] for k in ("state", "reason", "since")},
                      "after": {k: after[k] for k in ("state", "reason", "since")}}
    return result
