# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ovirt_kubevirt.bridge contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The vm_representation module's core: a VM (from oVirt or a domxml) to its
representation, its VirtualMachine manifest and the concerns.

A domxml needs no connection. A VM named in oVirt is read through ovirtsdk4;
its configuration, the engine's placement data and its current runtime state
(status, host, start time) fill the representation.
"""
from __future__ import annotations

import os
from typing import Any, Dict, Mapping, Optional, Sequence

from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.common.errors import HostileInputError, InputError
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.domxml import representation
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.domxml.engine_vm import ovirt_representation
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.domxml.parse import DEFAULT_MAX_BYTES
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.kubevirt import passthrough, vm_manifest
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.model import vm_query


def read_domxml_file(path: str, max_bytes: int = DEFAULT_MAX_BYTES) -> bytes:
    """The bytes of a domxml file, refusing one larger than the limit before reading it."""
    try:
        size = os.path.getsize(path)
    except OSError as exc:
        raise InputError(f"cannot read domxml_path {path}: {exc.strerror}") from exc
    if size > max_bytes:
        raise HostileInputError(f"domxml_path {path} is {size} bytes, over the {max_bytes}-byte limit")
    with open(path, "rb") as handle:
        return handle.read(max_bytes + 1)


def describe(vm_representation: Dict[str, Any], *, storage_map: Mapping[str, Any], network_map: Mapping[str, Any],
             namespace: Optional[str], name: Optional[str] = None, run_strategy: Optional[str] = None,
             delivery: str = "native", host_device_map: Optional[Mapping[str, str]] = None,
             node_map: Optional[Mapping[str, str]] = None, query: Optional[str] = None,
             feature_gates: Optional[Sequence[str]] = None) -> Dict[str, Any]:
    """The module's result: representation, manifest, concerns, configmap and the query's answer."""
    manifest, concerns = vm_manifest.representation_to_vm(
        vm_representation, storage_map, network_map, namespace=namespace, name=name, run_strategy=run_strategy,
        delivery=delivery, host_device_map=host_device_map, node_map=node_map, feature_gates=feature_gates)
    result: Dict[str, Any] = {
        "representation": vm_representation,
        "manifest": manifest,
        "concerns": concerns,
        "configmap": passthrough.passthrough_configmap(vm_representation, manifest) if delivery == "passthrough" else None,
    }
    if query:
        result["query_result"] = vm_query.select(result, query)
    return result


def represent(ovirt: Optional[Any], *, vm: Optional[str], domxml: Optional[str], domxml_path: Optional[str],
              scheduling: Optional[Mapping[str, Any]], configuration_format: str, max_bytes: int,
              storage_map: Mapping[str, Any], network_map: Mapping[str, Any], namespace: Optional[str],
              name: Optional[str] = None, run_strategy: Optional[str] = None, delivery: str = "native",
              host_device_map: Optional[Mapping[str, str]] = None, node_map: Optional[Mapping[str, str]] = None,
              query: Optional[str] = None, feature_gates: Optional[Sequence[str]] = None) -> Dict[str, Any]:
    """vm_representation's result for a VM named in oVirt (read through ``ovirt``) or a domxml (no connection)."""
    if vm:
        if ovirt is None:
            raise InputError("reading a VM from oVirt needs an engine connection")
        vm_representation = ovirt_representation(ovirt, vm, scheduling, configuration_format)
    else:
        document = domxml if domxml is not None else read_domxml_file(str(domxml_path), max_bytes)
        vm_representation = representation.build_representation(
            document, scheduling_overrides=scheduling, configuration_format=configuration_format, max_bytes=max_bytes)
    described = describe(vm_representation, storage_map=storage_map, network_map=network_map, namespace=namespace,
                         name=name, run_strategy=run_strategy, delivery=delivery, host_device_map=host_device_map,
                         node_map=node_map, query=query, feature_gates=feature_gates)
    return dict(described, changed=False)
