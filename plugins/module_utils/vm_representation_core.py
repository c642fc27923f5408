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
from typing import Any, Dict, Mapping, Optional

from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils import (
    kubevirt_vm,
    ovirt_vm_config,
    passthrough,
    representation,
    vm_query,
)
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.domxml_parse import DEFAULT_MAX_BYTES
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.errors import HostileInputError, InputError


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


def ovirt_dynamic(vm: Any) -> Dict[str, Any]:
    """The runtime facts the engine reports for a VM, in the representation's terms."""
    status = getattr(vm.status, "value", None) if vm.status is not None else None
    dynamic: Dict[str, Any] = {}
    if status in representation.VM_STATUSES:
        dynamic["status"] = status
    if vm.host is not None:
        dynamic["run_on_vds"] = vm.host.id
    if vm.start_time is not None:
        dynamic["start_time"] = vm.start_time.isoformat()
    return dynamic


def ovirt_representation(ovirt: Any, vm_name: str, scheduling: Optional[Mapping[str, Any]],
                         configuration_format: str) -> Dict[str, Any]:
    """The representation of a VM read from the oVirt engine; the caller's overrides win."""
    data = ovirt_vm_config.read_vm(ovirt, vm_name)
    overrides = ovirt_vm_config.scheduling_overrides(data)
    overrides.update(scheduling or {})
    return representation.build_representation(
        ovirt_vm_config.vm_config(data), scheduling_overrides=overrides,
        configuration_format=configuration_format, dynamic=ovirt_dynamic(data.vm))


def describe(vm_representation: Dict[str, Any], *, storage_map: Mapping[str, Any], network_map: Mapping[str, Any],
             namespace: Optional[str], name: Optional[str] = None, run_strategy: Optional[str] = None,
             delivery: str = "native", host_device_map: Optional[Mapping[str, str]] = None,
             node_map: Optional[Mapping[str, str]] = None, query: Optional[str] = None) -> Dict[str, Any]:
    """The module's result: representation, manifest, concerns, configmap and the query's answer."""
    manifest, concerns = kubevirt_vm.representation_to_vm(
        vm_representation, storage_map, network_map, namespace=namespace, name=name, run_strategy=run_strategy,
        delivery=delivery, host_device_map=host_device_map, node_map=node_map)
    result: Dict[str, Any] = {
        "representation": vm_representation,
        "manifest": manifest,
        "concerns": concerns,
        "configmap": passthrough.passthrough_configmap(vm_representation, manifest) if delivery == "passthrough" else None,
    }
    if query:
        result["query_result"] = vm_query.select(result, query)
    return result
