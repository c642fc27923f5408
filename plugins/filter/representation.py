# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ovirt_kubevirt.bridge contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters over the VM representation core: domxml -> representation -> VirtualMachine.

Each filter is a thin wrapper; the documentation lives in the .yml file of the
same name as the filter.
"""
from __future__ import annotations

from typing import Any, Callable, Dict, List, Optional

from ansible.errors import AnsibleFilterError

from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.common.errors import BridgeError
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.domxml import placeholders, representation
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.kubevirt import passthrough, vm_manifest


def domxml_to_representation(domxml: Any, scheduling: Optional[Dict[str, Any]] = None,
                             configuration_format: str = representation.DEFAULT_FORMAT,
                             dynamic: Optional[Dict[str, Any]] = None,
                             max_bytes: Any = representation.DEFAULT_MAX_BYTES) -> Dict[str, Any]:
    """The VM representation of a domxml."""
    try:
        return representation.build_representation(
            domxml, scheduling_overrides=scheduling, configuration_format=configuration_format,
            dynamic=dynamic, max_bytes=int(max_bytes),
        )
    except BridgeError as exc:
        raise AnsibleFilterError(f"domxml_to_representation: {exc}") from exc


def representation_to_vm(vm_representation: Any, storage_map: Any, network_map: Any, namespace: Optional[str] = None,
                         name: Optional[str] = None, run_strategy: Optional[str] = None, delivery: str = "native",
                         host_device_map: Optional[Dict[str, str]] = None, node_map: Optional[Dict[str, str]] = None,
                         placeholder_values: Optional[Dict[str, Any]] = None,
                         feature_gates: Optional[List[str]] = None) -> Dict[str, Any]:
    """The VirtualMachine manifest, the concerns and (passthrough delivery) the hook ConfigMap."""
    try:
        manifest, concerns = vm_manifest.representation_to_vm(
            vm_representation, storage_map, network_map, namespace=namespace, name=name, run_strategy=run_strategy,
            delivery=delivery, host_device_map=host_device_map, node_map=node_map, feature_gates=feature_gates,
        )
        configmap = None
        if delivery == "passthrough":
            configmap = passthrough.passthrough_configmap(vm_representation, manifest, placeholder_values)
    except BridgeError as exc:
        raise AnsibleFilterError(f"representation_to_vm: {exc}") from exc
    return {"manifest": manifest, "concerns": concerns, "configmap": configmap}


def fill_placeholders(domxml: Any, values: Any) -> str:
    """The domxml with its engine placeholders filled in; every other byte unchanged."""
    try:
        return placeholders.fill_placeholders(domxml, values)
    except BridgeError as exc:
        raise AnsibleFilterError(f"fill_placeholders: {exc}") from exc


class FilterModule:
    def filters(self) -> Dict[str, Callable[..., Any]]:
        return {
            "domxml_to_representation": domxml_to_representation,
            "representation_to_vm": representation_to_vm,
            "fill_placeholders": fill_placeholders,
        }
