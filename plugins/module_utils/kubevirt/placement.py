# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ovirt_kubevirt.bridge contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Placement: node selectors, node and pod affinity, eviction, tolerations."""
from __future__ import annotations

from typing import Any, Dict, List

from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.common import labels
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.common.naming import is_label_name
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.kubevirt.translation import HOSTNAME_LABEL, LABEL_VM_ID, TranslationBase


class PlacementPart(TranslationBase):
    """Placement: node selectors, node and pod affinity, eviction, tolerations."""

    def placement(self) -> Dict[str, Any]:
        s = self.scheduling
        result: Dict[str, Any] = {}
        policy = s.get("placement_policy", "migratable")
        # A VM oVirt may not migrate blocks the drain until someone acts, as it blocks host maintenance in oVirt.
        result["evictionStrategy"] = {"migratable": "LiveMigrate", "user_migratable": "External", "pinned": "External"}.get(policy, "LiveMigrate")
        hosts = [self.node(h) for h in s.get("pinned_hosts") or []] if s.get("host_pinning") else []
        if not hosts and s.get("host"):
            # The host oVirt scheduled the VM on is the node it starts on.
            hosts = [self.node(s["host"])]
            if policy != "pinned":
                self.concerns.add(
                    "placement.scheduled_host", "info",
                    f"The VM is bound to node {hosts[0]}, the host oVirt scheduled it on; to let KubeVirt live-migrate it "
                    "to another node, remove the nodeSelector once it runs.",
                )
        required: List[Dict[str, Any]] = []
        preferred: List[Dict[str, Any]] = []
        selector = self.cpu_node_selector()
        if len(hosts) == 1:
            selector[HOSTNAME_LABEL] = hosts[0]
        elif hosts:
            required.append({"key": HOSTNAME_LABEL, "operator": "In", "values": hosts})
        if selector:
            result["nodeSelector"] = selector
        required += [{"key": key, "operator": "Exists"} for key in self.required_node_labels]
        affinity = self.affinity_groups(required, preferred)
        node_affinity: Dict[str, Any] = {}
        if required:
            node_affinity["requiredDuringSchedulingIgnoredDuringExecution"] = {"nodeSelectorTerms": [{"matchExpressions": required}]}
        if preferred:
            node_affinity["preferredDuringSchedulingIgnoredDuringExecution"] = preferred
        if node_affinity:
            affinity["nodeAffinity"] = node_affinity
        if affinity:
            result["affinity"] = affinity
        if policy == "migratable":
            self.concerns.add(
                "placement.live_migration", "info",
                "The VM migrates on node drain (evictionStrategy LiveMigrate); live migration needs ReadWriteMany volumes.",
            )
        return result

    def cpu_node_selector(self) -> Dict[str, str]:
        """The CPU model (the cluster's CPU level) and required features as KubeVirt node-labeller selectors."""
        cpu = self.config.cpu
        selector: Dict[str, str] = {}
        wanted = [(labels.CPU_FEATURE_PREFIX, f.name) for f in cpu.features if (f.policy or "require") in ("require", "force")]
        if cpu.model and cpu.mode not in ("host-passthrough", "host-model"):
            wanted.insert(0, (labels.CPU_MODEL_PREFIX, cpu.model))
        for prefix, name in wanted:
            if is_label_name(name):
                selector[prefix + name] = "true"
            else:
                self.concerns.add("cpu.label", "warning", f"CPU {name!r} is not a valid node label name; scheduling does not select on it.")
        return selector

    def node(self, host: str) -> str:
        return str(self.node_map.get(host, host))

    def affinity_groups(self, node_required: List[Dict[str, Any]], node_preferred: List[Dict[str, Any]]) -> Dict[str, Any]:
        affinity: Dict[str, Any] = {}
        for group in self.scheduling.get("affinity_groups") or []:
            vm_rule, host_rule = group.get("vm_rule", "disabled"), group.get("host_rule", "disabled")
            others = [str(v) for v in group.get("vms") or [] if str(v) != self.config.uuid]
            if vm_rule != "disabled" and others:
                # The VM's own id is in the selector so the first VM of a positive group can schedule.
                selector = {"matchExpressions": [{"key": LABEL_VM_ID, "operator": "In", "values": [self.config.uuid] + others}]}
                term = {"labelSelector": selector, "topologyKey": HOSTNAME_LABEL}
                kind = "podAffinity" if vm_rule == "positive" else "podAntiAffinity"
                if group.get("vm_enforcing", False):
                    affinity.setdefault(kind, {}).setdefault("requiredDuringSchedulingIgnoredDuringExecution", []).append(term)
                else:
                    preferred = affinity.setdefault(kind, {}).setdefault("preferredDuringSchedulingIgnoredDuringExecution", [])
                    preferred.append({"weight": 100, "podAffinityTerm": term})
            hosts = [self.node(str(h)) for h in group.get("hosts") or []]
            if host_rule != "disabled" and hosts:
                expression = {"key": HOSTNAME_LABEL, "operator": "In" if host_rule == "positive" else "NotIn", "values": hosts}
                if group.get("host_enforcing", False):
                    node_required.append(expression)
                else:
                    node_preferred.append({"weight": 100, "preference": {"matchExpressions": [expression]}})
        return affinity
