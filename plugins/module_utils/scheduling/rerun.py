# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ovirt_kubevirt.bridge contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Milestone-2 reruns: why a run failed, the attempts so far, and the nodes to avoid.

KubeVirt retries a failed VM forever, on any node, with backoff; oVirt reruns a
failed VM on another host, 3 hosts in all (MaxRerunVmOnVdsCount). The
collection owns that rule: every attempt and its reason is kept in an
annotation on the VirtualMachine, so a later run resumes the count, and each
rerun excludes every node already tried with a NotIn node-affinity term.
"""
from __future__ import annotations

import copy
import json
from typing import Any, Dict, List, Mapping, Optional, Set

from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.common import labels

ATTEMPTS_ANNOTATION = labels.RUN_ATTEMPTS
HOSTNAME_LABEL = labels.HOSTNAME
DEFAULT_MAX_ATTEMPTS = 3

NOT_SCHEDULED = "not_scheduled"
LAUNCH_FAILED = "launch_failed"
CRASHED = "crashed"


def classify(vmi: Optional[Mapping[str, Any]], timed_out: bool) -> str:
    """Not scheduled (no node fits), scheduled but failed to launch, or launched then crashed."""
    status = (vmi or {}).get("status") or {}
    ever_running = any(t.get("phase") == "Running" for t in status.get("phaseTransitionTimestamps") or [])
    if ever_running:
        return CRASHED
    if not status.get("nodeName"):
        return NOT_SCHEDULED
    # On a node and never Running: it failed there, or was still launching at the timeout.
    return LAUNCH_FAILED if status.get("phase") == "Failed" or timed_out else NOT_SCHEDULED


def placed_node(vmi: Optional[Mapping[str, Any]]) -> Optional[str]:
    """The node a VMI runs on, or the one its hostname nodeSelector pins it to before it is scheduled."""
    node = ((vmi or {}).get("status") or {}).get("nodeName")
    if node:
        return str(node)
    pinned = ((((vmi or {}).get("spec") or {}).get("nodeSelector")) or {}).get(HOSTNAME_LABEL)
    return str(pinned) if pinned else None


def read_attempts(vm: Optional[Mapping[str, Any]]) -> Dict[str, Any]:
    """The attempts record of a VirtualMachine: {"attempts": [{node, reason, kind}], "outcome": ...}."""
    raw = (((vm or {}).get("metadata") or {}).get("annotations") or {}).get(ATTEMPTS_ANNOTATION)
    if not raw:
        return {"attempts": [], "outcome": None}
    try:
        data = json.loads(raw)
    except ValueError:
        return {"attempts": [], "outcome": None}
    attempts = [a for a in data.get("attempts") or [] if isinstance(a, dict)]
    return {"attempts": attempts, "outcome": data.get("outcome")}


def encode_attempts(record: Mapping[str, Any]) -> str:
    return json.dumps({"attempts": list(record.get("attempts") or []), "outcome": record.get("outcome")},
                      sort_keys=True, separators=(",", ":"))


def tried_nodes(record: Mapping[str, Any]) -> List[str]:
    """Nodes an attempt of this cycle ran on, in order, once each."""
    return list(dict.fromkeys(a["node"] for a in record.get("attempts") or [] if a.get("node")))


def exclude_nodes(spec: Mapping[str, Any], nodes: List[str]) -> Dict[str, Any]:
    """A VMI template spec whose required node affinity also says NotIn ``nodes`` (ANDed into every term)."""
    if not nodes:
        return copy.deepcopy(dict(spec))
    return _and_into_every_term(spec, {"key": HOSTNAME_LABEL, "operator": "NotIn", "values": sorted(nodes)})


def restrict_to_nodes(spec: Mapping[str, Any], nodes: List[str]) -> Dict[str, Any]:
    """A VMI template spec whose required node affinity also says In ``nodes`` (ANDed into every term)."""
    return _and_into_every_term(spec, {"key": HOSTNAME_LABEL, "operator": "In", "values": sorted(set(nodes))})


def _and_into_every_term(spec: Mapping[str, Any], expression: Dict[str, Any]) -> Dict[str, Any]:
    """A copy of ``spec`` with ``expression`` in every required node-affinity term.

    A NotIn replaces the term's earlier hostname NotIn (the exclusions grow per attempt); an In is added once.
    """
    result = copy.deepcopy(dict(spec))
    affinity = result.setdefault("affinity", {})
    node_affinity = affinity.setdefault("nodeAffinity", {})
    required = node_affinity.setdefault("requiredDuringSchedulingIgnoredDuringExecution", {})
    terms = required.setdefault("nodeSelectorTerms", [])
    if not terms:
        terms.append({"matchExpressions": []})
    for term in terms:
        expressions = list(term.get("matchExpressions") or [])
        if expression["operator"] == "NotIn":
            expressions = [e for e in expressions if not (e.get("key") == HOSTNAME_LABEL and e.get("operator") == "NotIn")]
        if expression not in expressions:
            expressions.append(dict(expression))
        term["matchExpressions"] = expressions
    return result


def pinned_nodes(spec: Mapping[str, Any]) -> Optional[List[str]]:
    """The only nodes a template may run on (hostname nodeSelector or In terms), or None."""
    selector = (spec.get("nodeSelector") or {}).get(HOSTNAME_LABEL)
    if selector:
        return [selector]
    terms = ((((spec.get("affinity") or {}).get("nodeAffinity") or {})
              .get("requiredDuringSchedulingIgnoredDuringExecution") or {}).get("nodeSelectorTerms") or [])
    if not terms:
        return None
    allowed: Set[str] = set()
    for term in terms:
        lists = [set(e.get("values") or []) for e in term.get("matchExpressions") or []
                 if e.get("key") == HOSTNAME_LABEL and e.get("operator") == "In"]
        if not lists:
            return None  # a term without a hostname In admits any node
        allowed |= set.intersection(*lists)  # expressions of one term are ANDed
    return sorted(allowed)


def nodes_to_exclude(spec: Mapping[str, Any], tried: List[str]) -> List[str]:
    """The tried nodes to exclude; none when that would leave a pinned VM nowhere to run.

    A VM pinned to nodes that all failed is rerun on them, as oVirt reruns a
    VM pinned to one host there: the budget, not the pinning, ends the runs.
    """
    pinned = pinned_nodes(spec)
    if pinned is not None and set(pinned) <= set(tried):
        return []
    return tried
