"""Pure placement logic: which node a VirtualMachineInstance lands on, and why not.

No I/O and no clock: the caller hands in the VMI request and the nodes (with
what is already placed on them); the result is the chosen node or the
kube-scheduler style message naming why each node was rejected. Filters run in
kube-scheduler's order and the first failing filter rejects a node (as with
``runAllFilters: false``), except that all missing resources are reported.
"""
from __future__ import annotations

import re
from collections import Counter
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

CPU = "cpu"
MEMORY = "memory"
PODS = "pods"
DEVICE_PREFIX = "devices.kubevirt.io/"

_QUANTITY = re.compile(r"^([+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)([a-zA-Z]*)$")
_SUFFIX = {
    "": Fraction(1), "m": Fraction(1, 1000), "k": Fraction(10**3), "M": Fraction(10**6),
    "G": Fraction(10**9), "T": Fraction(10**12), "P": Fraction(10**15), "E": Fraction(10**18),
    "Ki": Fraction(2**10), "Mi": Fraction(2**20), "Gi": Fraction(2**30), "Ti": Fraction(2**40),
    "Pi": Fraction(2**50), "Ei": Fraction(2**60),
}


def parse_quantity(value: Any) -> Fraction:
    """A Kubernetes quantity ("500m", "2Gi", "1e3", 4) as an exact number."""
    if isinstance(value, bool):
        raise ValueError(f"invalid quantity {value!r}")
    if isinstance(value, (int, float)):
        return Fraction(value)
    match = _QUANTITY.match(str(value).strip())
    if not match or match.group(2) not in _SUFFIX:
        raise ValueError(f"invalid quantity {value!r}")
    return Fraction(match.group(1)) * _SUFFIX[match.group(2)]


def resource_amount(name: str, value: Any) -> int:
    """Integer amount in scheduler units: millicores for cpu, bytes/counts otherwise."""
    quantity = parse_quantity(value)
    if name == CPU:
        quantity *= 1000
    # Kubernetes rounds requests up to the unit it accounts in.
    return int(-(-quantity.numerator // quantity.denominator))


def device_resource(name: str) -> str:
    """Topology device names become device-plugin resources unless already qualified."""
    return name if "/" in name else DEVICE_PREFIX + name


@dataclass(frozen=True)
class PlacedVmi:
    """A VMI already occupying a node, as far as pod (anti-)affinity cares."""

    namespace: str
    labels: Mapping[str, str]


@dataclass
class NodeInfo:
    name: str
    labels: Mapping[str, str] = field(default_factory=dict)
    taints: list[Mapping[str, str]] = field(default_factory=list)
    unschedulable: bool = False
    ready: bool = True
    allocatable: Mapping[str, int] = field(default_factory=dict)
    used: Mapping[str, int] = field(default_factory=dict)
    vmis: list[PlacedVmi] = field(default_factory=list)


@dataclass(frozen=True)
class Request:
    """What a VMI needs from a node (already reduced from its spec)."""

    resources: Mapping[str, int] = field(default_factory=dict)
    node_selector: Mapping[str, str] = field(default_factory=dict)
    required_terms: list[Mapping[str, Any]] | None = None  # None: no required node affinity
    preferred_terms: list[tuple[int, Mapping[str, Any]]] = field(default_factory=list)
    tolerations: list[Mapping[str, Any]] = field(default_factory=list)
    namespace: str = "default"
    labels: Mapping[str, str] = field(default_factory=dict)
    pod_affinity: list[Mapping[str, Any]] = field(default_factory=list)
    pod_anti_affinity: list[Mapping[str, Any]] = field(default_factory=list)


@dataclass
class Decision:
    node: str | None
    message: str = ""
    reasons: dict[str, list[str]] = field(default_factory=dict)  # node -> why it was rejected

    @property
    def scheduled(self) -> bool:
        return self.node is not None


# ------------------------------------------------------------------- requests


def _cpu_count(domain: Mapping[str, Any]) -> int:
    cpu = domain.get("cpu") or {}
    return max(1, int(cpu.get("sockets") or 1) * int(cpu.get("cores") or 1) * int(cpu.get("threads") or 1))


def vmi_resources(spec: Mapping[str, Any], pods: bool = True) -> dict[str, int]:
    """Requests of a VMI spec: explicit requests, else limits, else derived from the domain."""
    domain = spec.get("domain") or {}
    resources = domain.get("resources") or {}
    requests = dict(resources.get("limits") or {})
    requests.update(resources.get("requests") or {})
    result: dict[str, int] = {}
    result[CPU] = resource_amount(CPU, requests[CPU]) if CPU in requests else 1000 * _cpu_count(domain)
    guest = (domain.get("memory") or {}).get("guest")
    if MEMORY in requests:
        result[MEMORY] = resource_amount(MEMORY, requests[MEMORY])
    elif guest is not None:
        result[MEMORY] = resource_amount(MEMORY, guest)
    else:
        result[MEMORY] = 0
    for name, value in requests.items():
        if name not in (CPU, MEMORY):
            result[name] = resource_amount(name, value)
    devices = domain.get("devices") or {}
    for device in list(devices.get("hostDevices") or []) + list(devices.get("gpus") or []):
        if device.get("deviceName"):
            result[device["deviceName"]] = result.get(device["deviceName"], 0) + 1
    if pods:
        result[PODS] = 1
    return result


def request_from_vmi(vmi: Mapping[str, Any], added_node_selector: Mapping[str, str] | None = None) -> Request:
    """Reduce a VMI object to a scheduling Request.

    ``added_node_selector`` (a migration's addedNodeSelector) may only restrict:
    on a key collision the VMI's own selector wins, as in KubeVirt.
    """
    spec = vmi.get("spec") or {}
    meta = vmi.get("metadata") or {}
    selector = dict(added_node_selector or {})
    selector.update(spec.get("nodeSelector") or {})
    model = ((spec.get("domain") or {}).get("cpu") or {}).get("model")
    if model and model not in ("host-model", "host-passthrough"):
        # virt-controller adds this selector so the guest CPU model exists on the node.
        selector.setdefault(f"cpu-model.node.kubevirt.io/{model}", "true")
    affinity = spec.get("affinity") or {}
    node_aff = affinity.get("nodeAffinity") or {}
    required = node_aff.get("requiredDuringSchedulingIgnoredDuringExecution")
    preferred = [
        (int(p.get("weight") or 0), p.get("preference") or {})
        for p in node_aff.get("preferredDuringSchedulingIgnoredDuringExecution") or []
    ]
    return Request(
        resources=vmi_resources(spec),
        node_selector=selector,
        required_terms=list(required.get("nodeSelectorTerms") or []) if required is not None else None,
        preferred_terms=preferred,
        tolerations=list(spec.get("tolerations") or []),
        namespace=meta.get("namespace") or "default",
        labels=dict(meta.get("labels") or {}),
        pod_affinity=list((affinity.get("podAffinity") or {}).get("requiredDuringSchedulingIgnoredDuringExecution") or []),
        pod_anti_affinity=list(
            (affinity.get("podAntiAffinity") or {}).get("requiredDuringSchedulingIgnoredDuringExecution") or []
        ),
    )


# -------------------------------------------------------------------- matching


def match_expression(expr: Mapping[str, Any], labels: Mapping[str, str]) -> bool:
    key, op = expr.get("key", ""), expr.get("operator", "")
    values = list(expr.get("values") or [])
    present = key in labels
    if op == "In":
        return present and labels[key] in values
    if op == "NotIn":
        return not present or labels[key] not in values
    if op == "Exists":
        return present
    if op == "DoesNotExist":
        return not present
    if op in ("Gt", "Lt"):
        try:
            have, want = int(labels[key]), int(values[0])
        except (KeyError, IndexError, ValueError):
            return False
        return have > want if op == "Gt" else have < want
    return False


def match_node_selector_term(term: Mapping[str, Any], node_name: str, labels: Mapping[str, str]) -> bool:
    """Expressions within a term are ANDed; an empty term matches nothing (as in Kubernetes)."""
    exprs = list(term.get("matchExpressions") or [])
    fields = list(term.get("matchFields") or [])
    if not exprs and not fields:
        return False
    field_labels = {"metadata.name": node_name}
    return all(match_expression(e, labels) for e in exprs) and all(match_expression(f, field_labels) for f in fields)


def match_label_selector(selector: Mapping[str, Any] | None, labels: Mapping[str, str]) -> bool:
    """metav1.LabelSelector: an absent selector matches nothing, an empty one everything."""
    if selector is None:
        return False
    if any(labels.get(k) != v for k, v in (selector.get("matchLabels") or {}).items()):
        return False
    return all(match_expression(e, labels) for e in selector.get("matchExpressions") or [])


def tolerates(toleration: Mapping[str, Any], taint: Mapping[str, Any]) -> bool:
    if toleration.get("effect") and toleration["effect"] != taint.get("effect"):
        return False
    operator = toleration.get("operator") or "Equal"
    key = toleration.get("key") or ""
    if operator == "Exists":
        return not key or key == taint.get("key")
    return key == taint.get("key") and (toleration.get("value") or "") == (taint.get("value") or "")


def untolerated_taint(tolerations: Iterable[Mapping[str, Any]], taints: Iterable[Mapping[str, Any]],
                      effects: Collection[str] = ("NoSchedule", "NoExecute")) -> Mapping[str, Any] | None:
    tolerations = list(tolerations)
    for taint in taints:
        if taint.get("effect") in effects and not any(tolerates(t, taint) for t in tolerations):
            return taint
    return None


# ------------------------------------------------------------------- filters


def _unschedulable(req: Request, node: NodeInfo) -> list[str]:
    if not node.unschedulable:
        return []
    cordon = {"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"}
    return [] if any(tolerates(t, cordon) for t in req.tolerations) else ["node(s) were unschedulable"]


def _not_ready(req: Request, node: NodeInfo) -> list[str]:
    return [] if node.ready else ["node(s) were not ready"]


def _taints(req: Request, node: NodeInfo) -> list[str]:
    taint = untolerated_taint(req.tolerations, node.taints)
    if taint is None:
        return []
    return [f"node(s) had taint {{{taint.get('key', '')}: {taint.get('value', '')}}}, that the pod didn't tolerate"]


def _node_affinity(req: Request, node: NodeInfo) -> list[str]:
    if any(node.labels.get(k) != v for k, v in req.node_selector.items()):
        return ["node(s) didn't match node selector"]
    if req.required_terms is not None and not any(
        match_node_selector_term(t, node.name, node.labels) for t in req.required_terms
    ):
        return ["node(s) didn't match node selector"]
    return []


def _resources(req: Request, node: NodeInfo) -> list[str]:
    reasons = []
    for name, amount in sorted(req.resources.items()):
        if amount <= 0:
            continue
        free = node.allocatable.get(name, 0) - node.used.get(name, 0)
        if amount > free:
            reasons.append("Too many pods" if name == PODS else f"Insufficient {name}")
    return reasons


def _term_namespaces(term: Mapping[str, Any], req: Request) -> set[str]:
    return set(term.get("namespaces") or []) or {req.namespace}


def _domain_vmis(term: Mapping[str, Any], node: NodeInfo, nodes: list[NodeInfo]) -> Iterable[PlacedVmi] | None:
    """VMIs in the same topology domain as ``node``; None when the node lacks the key."""
    key = term.get("topologyKey") or "kubernetes.io/hostname"
    if key == "kubernetes.io/hostname" and key not in node.labels:
        return node.vmis
    if key not in node.labels:
        return None
    value = node.labels[key]
    return (v for n in nodes if n.labels.get(key) == value for v in n.vmis)


def _matches(term: Mapping[str, Any], req: Request, vmi: PlacedVmi) -> bool:
    return vmi.namespace in _term_namespaces(term, req) and match_label_selector(term.get("labelSelector"), vmi.labels)


def _pod_affinity(req: Request, node: NodeInfo, nodes: list[NodeInfo]) -> list[str]:
    for term in req.pod_anti_affinity:
        placed = _domain_vmis(term, node, nodes)
        if placed is not None and any(_matches(term, req, v) for v in placed):
            return ["node(s) didn't match pod anti-affinity rules"]
    for term in req.pod_affinity:
        placed = _domain_vmis(term, node, nodes)
        if placed is not None and any(_matches(term, req, v) for v in placed):
            continue
        # Kubernetes lets the first pod of a self-affine group in anywhere.
        anywhere = any(_matches(term, req, v) for n in nodes for v in n.vmis)
        own = req.namespace in _term_namespaces(term, req) and match_label_selector(term.get("labelSelector"), req.labels)
        if anywhere or not own or placed is None:
            return ["node(s) didn't match pod affinity rules"]
    return []


def node_reasons(req: Request, node: NodeInfo, nodes: list[NodeInfo] | None = None) -> list[str]:
    """Why ``node`` can not take the request (empty when it can)."""
    for check in (_unschedulable, _not_ready, _taints, _node_affinity, _resources):
        reasons = check(req, node)
        if reasons:
            return reasons
    return _pod_affinity(req, node, nodes if nodes is not None else [node])


# -------------------------------------------------------------------- scoring


def allocated_fraction(req: Request, node: NodeInfo) -> float:
    """Mean cpu/memory share of the node in use after placing the request."""
    shares = []
    for name in (CPU, MEMORY):
        total = node.allocatable.get(name, 0)
        if total > 0:
            shares.append((node.used.get(name, 0) + req.resources.get(name, 0)) / total)
    return sum(shares) / len(shares) if shares else 0.0


def preference(req: Request, node: NodeInfo) -> int:
    return sum(w for w, term in req.preferred_terms if match_node_selector_term(term, node.name, node.labels))


def soft_taints(req: Request, node: NodeInfo) -> int:
    return sum(
        1 for t in node.taints
        if t.get("effect") == "PreferNoSchedule" and not any(tolerates(tol, t) for tol in req.tolerations)
    )


def rank_key(req: Request, node: NodeInfo) -> tuple[int, int, float, str]:
    """Preferred affinity first, then fewer PreferNoSchedule taints, least allocated, name."""
    return (-preference(req, node), soft_taints(req, node), round(allocated_fraction(req, node), 9), node.name)


def failure_message(total: int, reasons: Mapping[str, list[str]]) -> str:
    """kube-scheduler's "0/3 nodes are available: 1 Insufficient memory, 2 ...." form."""
    counts = Counter(r for rs in reasons.values() for r in rs)
    parts = sorted(f"{n} {reason}" for reason, n in counts.items())
    return f"0/{total} nodes are available: {', '.join(parts)}." if parts else f"0/{total} nodes are available."


def schedule(req: Request, nodes: list[NodeInfo], exclude: Mapping[str, str] | None = None) -> Decision:
    """Pick a node for ``req``; ``exclude`` maps node names to the reason they are out
    (a migration's source node, for instance)."""
    exclude = exclude or {}
    reasons: dict[str, list[str]] = {}
    fits = []
    for node in nodes:
        why = [exclude[node.name]] if node.name in exclude else node_reasons(req, node, nodes)
        if why:
            reasons[node.name] = why
        else:
            fits.append(node)
    if not fits:
        return Decision(None, failure_message(len(nodes), reasons), reasons)
    best = min(fits, key=lambda n: rank_key(req, n))
    return Decision(best.name, "", reasons)
