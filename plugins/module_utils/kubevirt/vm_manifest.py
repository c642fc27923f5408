# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ovirt_kubevirt.bridge contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Translate a VM representation into a ``kubevirt.io/v1`` VirtualMachine.

``representation_to_vm`` returns ``(manifest, concerns)``. The manifest
carries everything KubeVirt can express; each concern
(``{id, category, message}``, category critical / warning / info) names what
could not be carried or was changed on the way. A critical concern means the
VM would not run as it did (a disk or NIC the maps do not cover).

Maps supplied by the caller:

* ``storage_map``: storage domain name (or storage domain id, LUN GUID, or
  ``"*"``) -> one of
    - ``{"storage_class": sc, "pvc_name": "{vm}-{disk_id}", "imageio": {...} | "source": {...}}``:
      a DataVolume template; ``imageio`` (``url``, ``secret_ref``,
      ``cert_config_map``, ``insecure_skip_verify``) imports the oVirt disk,
      ``source`` is any CDI source; optional ``size``, ``volume_mode``,
      ``access_modes``;
    - ``{"pvc_name": "{vm}-{disk_id}"}``: an existing PersistentVolumeClaim;
    - ``{"host_disk_path": "/var/lib/vms/{vm}/{disk_id}.img"}``: a hostDisk.
  Templates may use ``{vm}``, ``{disk_id}``, ``{disk_name}``, ``{target}``,
  ``{index}`` and ``{storage_domain}``.
* ``network_map``: vNIC profile name, network name or ``"*"`` -> ``"pod"``,
  ``"multus:<namespace>/<name>"``, or ``{"type": "pod"|"multus", "name":
  "<ns>/<name>", "binding": "masquerade"|"bridge"|"sriov"}``. Only one NIC may
  use the pod network.
* ``host_device_map`` (optional): oVirt host device name (``pci_0000_05_00_1``)
  or mdev type (``nvidia-22``) -> KubeVirt permitted device name.
* ``node_map`` (optional): oVirt host name -> Kubernetes node name.

Scheduling: high availability gives runStrategy ``Always``, otherwise a
running VM gets ``Manual`` and a stopped one ``Halted`` (``run_strategy``
overrides). A single pinned or scheduled host becomes a
``kubernetes.io/hostname`` nodeSelector, a pinned-host list required node
affinity (In); affinity groups become pod (anti-)affinity on the VM id label
and node affinity; the placement policy sets the evictionStrategy
(migratable: LiveMigrate; pinned and user_migratable: External, so a drain
waits for an operator as host maintenance does in oVirt).

``delivery="passthrough"`` additionally asks KubeVirt to start the oVirt
domxml itself through the hook sidecar (see ``passthrough``); concerns about
what the domxml keeps then become info.
"""
from __future__ import annotations

import hashlib
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.common.errors import InputError
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.common.naming import is_dns1123_label, kubernetes_name
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.common.ovirt_status import MAY_RUN
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.domxml.representation import (
    representation_config,
    representation_domxml,
    validate_representation,
)
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.kubevirt.devices import DevicesPart
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.kubevirt.disks import DisksPart
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.kubevirt.domain import DomainPart
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.kubevirt.feature_gates import HOW_TO_ENABLE, needed_gates
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.kubevirt.interfaces import InterfacesPart
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.kubevirt.passthrough import HOOK_ANNOTATION, configmap_name, hook_sidecar_annotation
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.kubevirt.placement import PlacementPart
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.kubevirt.translation import (
    AFFINITY_LABEL_PREFIX,
    ANNOTATION_CLUSTER_ID,
    ANNOTATION_DELIVERY,
    ANNOTATION_DOMXML_SHA256,
    ANNOTATION_HA_PRIORITY,
    ANNOTATION_VM_NAME,
    API_VERSION,
    DELIVERIES,
    LABEL_CLUSTER_ID,
    LABEL_VM_ID,
    RUN_STRATEGIES,
    UUID,
    label_ok,
)


def representation_to_vm(
    representation: Mapping[str, Any],
    storage_map: Mapping[str, Any],
    network_map: Mapping[str, Any],
    namespace: Optional[str] = None,
    name: Optional[str] = None,
    run_strategy: Optional[str] = None,
    delivery: str = "native",
    host_device_map: Optional[Mapping[str, str]] = None,
    node_map: Optional[Mapping[str, str]] = None,
    feature_gates: Optional[Sequence[str]] = None,
) -> Tuple[Dict[str, Any], List[Dict[str, str]]]:
    """The VirtualMachine manifest for ``representation`` and the concerns met on the way.

    ``feature_gates`` are the cluster's enabled KubeVirt feature gates: a part that needs one the cluster lacks
    is a critical concern (virt-api refuses it); None means they are not known, and such a part is a warning.
    """
    if delivery not in DELIVERIES:
        raise InputError(f"delivery must be one of {', '.join(DELIVERIES)}, got {delivery!r}")
    if run_strategy is not None and run_strategy not in RUN_STRATEGIES:
        raise InputError(f"run_strategy must be one of {', '.join(RUN_STRATEGIES)}, got {run_strategy!r}")
    for label, value in (("storage_map", storage_map), ("network_map", network_map),
                         ("host_device_map", host_device_map or {}), ("node_map", node_map or {})):
        if not isinstance(value, Mapping):
            raise InputError(f"{label} must be a mapping, got {type(value).__name__}")
    if not isinstance(representation, Mapping):
        raise InputError(f"expected a VM representation (a mapping), got {type(representation).__name__}")
    # The configuration is checked as it is read; the rest against the schema.
    validate_representation(representation, ("schema_version", "scheduling", "dynamic"))
    config = representation_config(representation)
    if not UUID.match(config.uuid):
        raise InputError(f"VM uuid {config.uuid!r} is not a UUID; KubeVirt's firmware.uuid needs one")
    translation = _Translation(
        config=config,
        scheduling=representation.get("scheduling") or {},
        dynamic=representation.get("dynamic") or {},
        domxml=representation_domxml(representation),
        storage_map=storage_map,
        network_map=network_map,
        host_device_map=host_device_map or {},
        node_map=node_map or {},
        delivery=delivery,
        feature_gates=feature_gates,
    )
    manifest = translation.manifest(namespace, name, run_strategy)
    return manifest, translation.concerns.items


class _Translation(DomainPart, DevicesPart, DisksPart, InterfacesPart, PlacementPart):
    """One VM's translation: the manifest, its identity and run strategy; the sections come from the parts."""

    def manifest(self, namespace: Optional[str], name: Optional[str], run_strategy: Optional[str]) -> Dict[str, Any]:
        c = self.config
        self.vm_name = self.kubernetes_vm_name(name)
        disks, volumes = self.disks()
        interfaces, networks = self.interfaces()
        devices = self.devices(disks, interfaces)
        template_spec: Dict[str, Any] = {"architecture": self.architecture(), "domain": self.domain(devices)}
        if networks:
            template_spec["networks"] = networks
        if volumes:
            template_spec["volumes"] = volumes
        template_spec.update(self.placement())
        if c.launch_paused:
            template_spec["startStrategy"] = "Paused"
        spec: Dict[str, Any] = {"runStrategy": run_strategy or self.run_strategy()}
        if self.data_volumes:
            spec["dataVolumeTemplates"] = self.data_volumes
        spec["template"] = {"metadata": self.template_metadata(), "spec": template_spec}
        metadata: Dict[str, Any] = {"name": self.vm_name, "labels": self.identity_labels(), "annotations": self.annotations()}
        if namespace:
            metadata["namespace"] = namespace
        self.other_concerns()
        manifest = {"apiVersion": API_VERSION, "kind": "VirtualMachine", "metadata": metadata, "spec": spec}
        self.gate_concerns(manifest)
        return manifest

    def gate_concerns(self, manifest: Mapping[str, Any]) -> None:
        """A concern for each feature gate the manifest needs and the cluster is not known to have."""
        for gated in needed_gates(manifest):
            if self.feature_gates is None:
                self.concerns.add(
                    f"feature_gate.{gated.gate}", "warning",
                    f"The VM uses {gated.what}, which KubeVirt supports only with the {gated.gate} feature gate (off "
                    f"by default); the cluster's gates are not known here. Check that it is on, or {HOW_TO_ENABLE}.",
                )
            elif gated.gate not in self.feature_gates:
                self.concerns.add(
                    f"feature_gate.{gated.gate}", "critical",
                    f"The VM uses {gated.what}, and the cluster's KubeVirt has no {gated.gate} feature gate, so "
                    f"{gated.without}. To run it so, {HOW_TO_ENABLE}; otherwise {gated.alternative}.",
                )

    def kubernetes_vm_name(self, name: Optional[str]) -> str:
        if name is not None:
            if not is_dns1123_label(name):
                raise InputError(f"name {name!r} is not a valid VirtualMachine name (a DNS-1123 label, at most 63 characters)")
            return name
        converted, changed = kubernetes_name(self.config.name or self.config.uuid)
        if changed:
            self.concerns.add(
                "name.changed", "info",
                f"VM name {self.config.name!r} is not a Kubernetes name; the VirtualMachine is named {converted!r}.",
            )
        return converted

    def identity_labels(self) -> Dict[str, str]:
        labels = {}
        if label_ok(self.config.uuid):
            labels[LABEL_VM_ID] = self.config.uuid
        cluster_id = self.scheduling.get("cluster_id")
        if cluster_id and label_ok(str(cluster_id)):
            labels[LABEL_CLUSTER_ID] = str(cluster_id)
        return labels

    def annotations(self) -> Dict[str, str]:
        annotations = {ANNOTATION_VM_NAME: self.config.name, ANNOTATION_DELIVERY: "passthrough" if self.passthrough else "native"}
        if self.scheduling.get("cluster_id"):
            annotations[ANNOTATION_CLUSTER_ID] = str(self.scheduling["cluster_id"])
        if self.domxml is not None:
            annotations[ANNOTATION_DOMXML_SHA256] = hashlib.sha256(self.domxml.encode("utf-8")).hexdigest()
        ha = self.scheduling.get("high_availability") or {}
        if ha.get("enabled"):
            annotations[ANNOTATION_HA_PRIORITY] = str(ha.get("priority", 0))
        return annotations

    def template_metadata(self) -> Dict[str, Any]:
        labels = {"kubevirt.io/vm": self.vm_name, **self.identity_labels()}
        for label in self.scheduling.get("affinity_labels") or []:
            labels[AFFINITY_LABEL_PREFIX + kubernetes_name(str(label))[0]] = "true"
        metadata: Dict[str, Any] = {"labels": labels}
        if self.passthrough:
            metadata["annotations"] = {HOOK_ANNOTATION: hook_sidecar_annotation(configmap_name(self.vm_name))}
        return metadata

    def run_strategy(self) -> str:
        status = self.dynamic.get("status") or "down"
        ha = self.scheduling.get("high_availability") or {}
        if ha.get("enabled"):
            return "Always"
        if status == "suspended":
            self.concerns.add(
                "status.suspended", "warning",
                "The VM is suspended (hibernated) in oVirt; its saved memory state is not carried and it starts cold.",
            )
        return "Manual" if status in MAY_RUN else "Halted"

    def other_concerns(self) -> None:
        c = self.config
        for lease in c.leases:
            self.concerns.add(
                "lease.dropped", "warning",
                f"The sanlock lease {lease.key} on storage domain {lease.lockspace} is dropped: KubeVirt guards against running a VM "
                "twice through the VMI and its pod, not through storage leases.",
            )
        if any(ch.name == "ovirt-guest-agent.0" for ch in c.channels):
            self.concerns.add(
                "channel.ovirt_guest_agent", "info",
                "The oVirt guest agent channel is dropped; KubeVirt talks to the QEMU guest agent.",
            )
        if c.custom_properties:
            self.concerns.add(
                "custom_properties", "warning",
                f"VM custom properties ({', '.join(sorted(c.custom_properties))}) are not carried; they drive VDSM hooks KubeVirt does not run.",
            )
        ha = self.scheduling.get("high_availability") or {}
        if ha.get("enabled"):
            self.concerns.add(
                "high_availability.priority", "info",
                f"High availability becomes runStrategy Always; the oVirt restart priority {ha.get('priority', 0)} is kept as an annotation only.",
            )
        if self.scheduling.get("affinity_labels"):
            self.concerns.add(
                "affinity_labels", "info",
                "oVirt affinity labels are kept as VM labels; Kubernetes nodes carry no matching labels, so they do not steer placement.",
            )
        if self.passthrough:
            self.concerns.add(
                "delivery.passthrough", "info",
                f"Passthrough delivery needs the Sidecar feature gate and the ConfigMap {configmap_name(self.vm_name)} "
                "(passthrough.passthrough_configmap).",
            )
