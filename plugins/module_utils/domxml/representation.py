# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ovirt_kubevirt.bridge contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The VM representation: what oVirt hands to KubeVirt, as one JSON document.

Shape (``SCHEMA`` is the JSON Schema, draft 2020-12; the same schema is
shipped as ``docs/schemas/vm-representation.schema.json``)::

    {
      "schema_version": "1.0",
      "scheduling": {            # where and how the VM may run
        "cluster_id": null, "host": null, "host_pinning": false, "pinned_hosts": [],
        "placement_policy": "migratable",      # migratable | pinned | user_migratable
        "cpu_request": {...}, "memory_request": {...},
        "host_devices": [{"name": "pci_0000_05_00_1", "kind": "sriov_vf"}],
        "numa": {...}, "affinity_groups": [], "affinity_labels": [],
        "high_availability": {"enabled": false, "priority": 0}
      },
      "dynamic": {               # runtime facts; DYNAMIC_DEFAULTS until monitoring fills them
        "status": "down", "run_on_vds": null, "console_ip": null,
        "guest_ips": [], "start_time": null, "status_detail": null
      },
      "configuration": {         # the static configuration, in one of three formats
        "format": "hybrid",      # json | xml | hybrid
        "domxml": "<domain ...>", ...
      }
    }

Configuration formats:

* ``json``: every ``VmConfig`` field as a JSON property, no domxml;
* ``xml``: only the domxml, at ``configuration.domxml``;
* ``hybrid`` (default): the domxml unchanged at ``configuration.domxml`` plus
  the properties KubeVirt needs (``HYBRID_FIELDS``) as JSON. When both say
  something, the JSON properties win, so a caller may edit them.

``validate_representation`` checks a document against ``SCHEMA`` with a small
built-in validator (the collection's runtime needs no jsonschema); the tests
check that it agrees with the jsonschema library.
"""
from __future__ import annotations

import copy
import dataclasses
import math
import re
import threading
from collections import OrderedDict
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union

from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.common import ovirt_status
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.common.errors import InputError
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.domxml.build import build_domxml
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.domxml.parse import DEFAULT_MAX_BYTES
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.domxml.read import (
    domxml_to_config,
    host_device_name,
)
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.model.vm_config import (
    VmConfig,
    clone_config,
    config_from_dict,
    config_to_dict,
    json_schema,
    partial_from_dict,
)

SCHEMA_VERSION = "1.0"
SCHEMA_ID = "https://ovirt-kubevirt.io/schemas/vm-representation/1.0/schema.json"
CONFIGURATION_FORMATS = ("json", "xml", "hybrid")
DEFAULT_FORMAT = "hybrid"
# The static properties KubeVirt needs, carried as JSON in the hybrid format.
HYBRID_FIELDS = (
    "name", "uuid", "memory_kib", "max_memory_kib", "vcpus", "max_vcpus", "topology", "cpu",
    "firmware", "machine_type", "arch", "disks", "nics", "graphics", "console", "sysinfo",
)
VM_STATUSES = ovirt_status.STATUSES
PLACEMENT_POLICIES = ("migratable", "pinned", "user_migratable")
HOST_DEVICE_KINDS = ("pci", "usb", "scsi", "mdev", "sriov_vf")
DYNAMIC_DEFAULTS: Dict[str, Any] = {
    "status": "down",
    "run_on_vds": None,
    "console_ip": None,
    "guest_ips": [],
    "start_time": None,
    "status_detail": None,
    "node": None,
    "guest_os": None,
    "migration": None,
}


def _nullable(schema: Dict[str, Any]) -> Dict[str, Any]:
    return {"anyOf": [schema, {"type": "null"}]}


def _object(properties: Dict[str, Any], required: Optional[List[str]] = None, description: str = "") -> Dict[str, Any]:
    schema: Dict[str, Any] = {"type": "object", "properties": properties, "additionalProperties": False}
    if description:
        schema["description"] = description
    schema["required"] = list(properties) if required is None else required
    return schema


_STRING = {"type": "string"}
_INT = {"type": "integer"}
_COUNT = {"type": "integer", "minimum": 1}
_KIB = {"type": "integer", "minimum": 0}
_STRINGS = {"type": "array", "items": _STRING}
_RULE = {"enum": ["positive", "negative", "disabled"]}

_SCHEDULING = _object(
    {
        "cluster_id": {**_nullable(_STRING), "description": "oVirt cluster id"},
        "host": {**_nullable(_STRING), "description": "the host the VM is scheduled on (null = any)"},
        "host_pinning": {"type": "boolean", "description": "the VM may run only on pinned_hosts"},
        "pinned_hosts": {**_STRINGS, "description": "hosts the VM is pinned to"},
        "placement_policy": {"enum": list(PLACEMENT_POLICIES), "description": "oVirt migration mode"},
        "cpu_request": _object(
            {
                "vcpus": {**_COUNT, "description": "vCPUs plugged at start"},
                "max_vcpus": {**_COUNT, "description": "vCPU hot-plug ceiling"},
                "sockets": _COUNT,
                "cores": _COUNT,
                "threads": _COUNT,
                "dedicated": {"type": "boolean", "description": "vCPUs pinned to host CPUs"},
                "limit_millicores": {**_nullable(_KIB), "description": "CPU QoS ceiling (cputune quota)"},
                "shares": _nullable(_INT),
            }
        ),
        "memory_request": _object(
            {
                "memory_kib": {**_KIB, "description": "guest memory"},
                "max_memory_kib": {**_nullable(_KIB), "description": "memory hot-plug ceiling"},
                "guaranteed_kib": {**_nullable(_KIB), "description": "oVirt guaranteed memory"},
                "hugepage_size_kib": _nullable(_KIB),
            }
        ),
        "host_devices": {
            "type": "array",
            "items": _object({"name": _STRING, "kind": {"enum": list(HOST_DEVICE_KINDS)}}),
            "description": "host devices the VM needs, SR-IOV VFs included",
        },
        "numa": _object(
            {
                "nodes": {
                    "type": "array",
                    "items": _object({"index": _KIB, "cpus": _STRING, "memory_kib": _KIB}),
                },
                "tune_mode": _nullable(_STRING),
                "nodeset": _nullable(_STRING),
            }
        ),
        "affinity_groups": {
            "type": "array",
            "items": _object(
                {
                    "name": _STRING,
                    "vms": {**_STRINGS, "description": "ids of the other VMs of the group"},
                    "hosts": _STRINGS,
                    "vm_rule": {**_RULE, "default": "disabled"},
                    "host_rule": {**_RULE, "default": "disabled"},
                    "vm_enforcing": {"type": "boolean", "default": False},
                    "host_enforcing": {"type": "boolean", "default": False},
                },
                required=["name"],
            ),
        },
        "affinity_labels": _STRINGS,
        "high_availability": _object({"enabled": {"type": "boolean"}, "priority": _INT}),
    },
    description="Where and how the VM may run.",
)

_DYNAMIC = _object(
    {
        "status": {"enum": list(VM_STATUSES), "default": "down"},
        "run_on_vds": {**_nullable(_STRING), "default": None, "description": "id of the host running the VM"},
        "console_ip": {**_nullable(_STRING), "default": None},
        "guest_ips": {**_STRINGS, "default": []},
        "start_time": {**_nullable(_STRING), "default": None, "description": "RFC 3339 start time"},
        "status_detail": {**_nullable(_STRING), "default": None},
        "node": {**_nullable(_STRING), "default": None, "description": "the Kubernetes node running the VM"},
        "guest_os": {
            "anyOf": [_object({"id": _nullable(_STRING), "name": _nullable(_STRING), "version": _nullable(_STRING),
                               "kernel": _nullable(_STRING), "architecture": _nullable(_STRING)}), {"type": "null"}],
            "default": None,
        },
        "migration": {
            "anyOf": [_object({"state": {"enum": ["in_progress", "completed", "failed", "cancelled"]},
                               "source_node": _nullable(_STRING), "target_node": _nullable(_STRING),
                               "migration": _nullable(_STRING)}), {"type": "null"}],
            "default": None,
            "description": "the VM's last migration, as its VMI reports it",
        },
    },
    description="Runtime facts; each starts at its default until monitoring fills it in.",
)


def _config_properties(names: Any) -> Dict[str, Any]:
    return {name: {"$ref": f"#/$defs/vm_config/properties/{name}"} for name in names}


def _configuration_schemas() -> List[Dict[str, Any]]:
    config = json_schema(VmConfig)
    json_form = _object(
        {"format": {"const": "json"}, **_config_properties(config["properties"])},
        required=["format"] + config.get("required", []),
    )
    xml_form = _object({"format": {"const": "xml"}, "domxml": {"type": "string", "minLength": 1}})
    hybrid_form = _object(
        {"format": {"const": "hybrid"}, "domxml": {"type": "string", "minLength": 1}, **_config_properties(HYBRID_FIELDS)},
        required=["format", "domxml", "name", "uuid", "memory_kib", "vcpus", "disks", "nics"],
    )
    return [json_form, xml_form, hybrid_form]


def _schema() -> Dict[str, Any]:
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "oVirt VM representation",
        "description": "What oVirt hands to KubeVirt: scheduling, dynamic data and configuration of one VM.",
        "type": "object",
        "properties": {
            "schema_version": {"const": SCHEMA_VERSION},
            "scheduling": _SCHEDULING,
            "dynamic": _DYNAMIC,
            "configuration": {"oneOf": _configuration_schemas()},
        },
        "required": ["schema_version", "scheduling", "dynamic", "configuration"],
        "additionalProperties": False,
        "$defs": {"vm_config": json_schema(VmConfig)},
    }


SCHEMA: Dict[str, Any] = _schema()


# --- building --------------------------------------------------------------


def build_representation(
    config_or_domxml: Union[VmConfig, str, bytes],
    scheduling_overrides: Optional[Mapping[str, Any]] = None,
    configuration_format: str = DEFAULT_FORMAT,
    dynamic: Optional[Mapping[str, Any]] = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> Dict[str, Any]:
    """The representation of a VM given as a ``VmConfig`` or as a domxml.

    A domxml is kept byte for byte in the xml and hybrid formats; a VmConfig
    gets a domxml written by ``domxml.build``. ``scheduling_overrides`` and
    ``dynamic`` replace defaults key by key (one level deep for objects).
    """
    if configuration_format not in CONFIGURATION_FORMATS:
        raise InputError(
            f"configuration_format must be one of {', '.join(CONFIGURATION_FORMATS)}, got {configuration_format!r}"
        )
    if isinstance(config_or_domxml, VmConfig):
        config, domxml = config_or_domxml, None
    elif isinstance(config_or_domxml, (str, bytes)):
        config = domxml_to_config(config_or_domxml, max_bytes=max_bytes)
        domxml = config_or_domxml if isinstance(config_or_domxml, str) else config_or_domxml.decode("utf-8")
        _PARSED.put(domxml, max_bytes, config)
    else:
        raise InputError(f"expected a VmConfig or a domxml string, got {type(config_or_domxml).__name__}")
    representation = {
        "schema_version": SCHEMA_VERSION,
        "scheduling": _overridden(default_scheduling(config), scheduling_overrides, "scheduling_overrides"),
        "dynamic": _overridden(copy.deepcopy(DYNAMIC_DEFAULTS), dynamic, "dynamic"),
        "configuration": _configuration(config, domxml, configuration_format),
    }
    # The configuration is written from typed data; only the caller's overrides can break the schema.
    checked = [part for part, overrides in (("scheduling", scheduling_overrides), ("dynamic", dynamic)) if overrides]
    if checked:
        validate_representation(representation, checked)
    return representation


def _configuration(config: VmConfig, domxml: Optional[str], configuration_format: str) -> Dict[str, Any]:
    if configuration_format == "json":
        return {"format": "json", **config_to_dict(config)}
    text = domxml if domxml is not None else build_domxml(config)
    if configuration_format == "xml":
        return {"format": "xml", "domxml": text}
    return {"format": "hybrid", "domxml": text, **config_to_dict(config, HYBRID_FIELDS)}


def _overridden(defaults: Dict[str, Any], overrides: Optional[Mapping[str, Any]], what: str) -> Dict[str, Any]:
    if overrides is None:
        return defaults
    if not isinstance(overrides, Mapping):
        raise InputError(f"{what} must be a mapping, got {type(overrides).__name__}")
    unknown = sorted(set(overrides) - set(defaults))
    if unknown:
        raise InputError(f"{what}: unknown key{'s' if len(unknown) > 1 else ''} {', '.join(map(str, unknown))}; known: {', '.join(defaults)}")
    result = dict(defaults)
    for key, value in overrides.items():
        if isinstance(value, Mapping) and isinstance(defaults[key], dict):
            result[key] = {**defaults[key], **copy.deepcopy(dict(value))}
        else:
            result[key] = copy.deepcopy(value)
    return result


def default_scheduling(config: VmConfig) -> Dict[str, Any]:
    """Scheduling facts the configuration implies; the engine's view overrides them."""
    topology = config.topology
    tune = config.cpu_tune
    limit = None
    if tune.quota is not None and tune.quota > 0 and tune.period:
        limit = math.ceil(config.vcpus * tune.quota * 1000 / tune.period)
    host_devices = [{"name": d.name or d.kind, "kind": d.kind} for d in config.host_devices]
    host_devices += [
        {"name": host_device_name("pci", nic.host_address) or nic.mac, "kind": "sriov_vf"}
        for nic in config.nics if nic.type == "hostdev"
    ]
    # oVirt refuses to migrate VMs with host devices or CPU pinning.
    needs_host = bool(host_devices or tune.vcpu_pins)
    return {
        "cluster_id": None,
        "host": None,
        "host_pinning": False,
        "pinned_hosts": [],
        "placement_policy": "pinned" if needs_host else "migratable",
        "cpu_request": {
            "vcpus": config.vcpus,
            "max_vcpus": config.vcpu_ceiling,
            "sockets": topology.sockets if topology else config.vcpu_ceiling,
            "cores": topology.cores if topology else 1,
            "threads": topology.threads if topology else 1,
            "dedicated": bool(tune.vcpu_pins),
            "limit_millicores": limit,
            "shares": tune.shares,
        },
        "memory_request": {
            "memory_kib": config.memory_kib,
            "max_memory_kib": config.max_memory_kib,
            "guaranteed_kib": config.guaranteed_memory_mib * 1024 if config.guaranteed_memory_mib is not None else None,
            "hugepage_size_kib": config.hugepage_size_kib,
        },
        "host_devices": host_devices,
        "numa": {
            "nodes": [{"index": n.index, "cpus": n.cpus, "memory_kib": n.memory_kib} for n in config.numa_nodes],
            "tune_mode": config.numa_tune.mode if config.numa_tune else None,
            "nodeset": config.numa_tune.nodeset if config.numa_tune else None,
        },
        "affinity_groups": [],
        "affinity_labels": [],
        "high_availability": dataclasses.asdict(config.high_availability),
    }


# --- reading ---------------------------------------------------------------


def representation_config(representation: Mapping[str, Any], max_bytes: int = DEFAULT_MAX_BYTES) -> VmConfig:
    """The typed configuration a representation describes (hybrid: JSON properties win)."""
    configuration = representation.get("configuration")
    if not isinstance(configuration, Mapping):
        raise InputError("representation has no configuration object")
    form = configuration.get("format")
    if form == "json":
        return config_from_dict({k: v for k, v in configuration.items() if k != "format"})
    if form == "xml":
        return _PARSED.config(configuration.get("domxml", ""), max_bytes)
    if form == "hybrid":
        properties = {k: v for k, v in configuration.items() if k not in ("format", "domxml")}
        return _PARSED.config(configuration.get("domxml", ""), max_bytes, properties)
    raise InputError(f"configuration.format must be one of {', '.join(CONFIGURATION_FORMATS)}, got {form!r}")


class _ParsedDomxmls:
    """The configurations of the last few domxmls read, so a representation built
    in this process is not parsed again when it is translated. Callers get copies."""

    MAX_ENTRIES = 32
    MAX_DOCUMENT = 256 * 1024

    def __init__(self) -> None:
        # (domxml, max_bytes) -> (configuration, its hybrid JSON properties or None until needed)
        self.entries: "OrderedDict[Tuple[str, int], List[Any]]" = OrderedDict()
        self.lock = threading.Lock()

    def put(self, domxml: str, max_bytes: int, config: VmConfig) -> List[Any]:
        entry = [config, None]
        if len(domxml) <= self.MAX_DOCUMENT:
            with self.lock:
                self.entries[(domxml, max_bytes)] = entry
                self.entries.move_to_end((domxml, max_bytes))
                while len(self.entries) > self.MAX_ENTRIES:
                    self.entries.popitem(last=False)
        return entry

    def entry(self, domxml: Any, max_bytes: int) -> List[Any]:
        if isinstance(domxml, str):
            with self.lock:
                cached = self.entries.get((domxml, max_bytes))
            if cached is not None:
                return cached
        config = domxml_to_config(domxml, max_bytes=max_bytes)
        return self.put(domxml, max_bytes, config) if isinstance(domxml, str) else [config, None]

    def config(self, domxml: Any, max_bytes: int, properties: Optional[Mapping[str, Any]] = None) -> VmConfig:
        """A copy of the domxml's configuration with the JSON ``properties`` applied."""
        entry = self.entry(domxml, max_bytes)
        if not properties:
            return clone_config(entry[0])
        if entry[1] is None:
            entry[1] = config_to_dict(entry[0], HYBRID_FIELDS)
        # Properties equal to what the domxml says need no conversion: the common, unedited case.
        changed = {k: v for k, v in properties.items() if k not in entry[1] or entry[1][k] != v}
        config = clone_config(entry[0], skip=changed)
        return dataclasses.replace(config, **partial_from_dict(changed)) if changed else config


_PARSED = _ParsedDomxmls()


def clear_parsed_cache() -> None:
    """Forget the domxmls read so far (for measurements and memory-conscious callers)."""
    with _PARSED.lock:
        _PARSED.entries.clear()


def representation_domxml(representation: Mapping[str, Any]) -> Optional[str]:
    """The domxml a representation carries (xml and hybrid formats), else None."""
    configuration = representation.get("configuration") or {}
    domxml = configuration.get("domxml") if isinstance(configuration, Mapping) else None
    return domxml if isinstance(domxml, str) else None


# --- validation ------------------------------------------------------------


def validate_representation(representation: Any, parts: Optional[Sequence[str]] = None) -> None:
    """Raise InputError naming every place ``representation`` breaks ``SCHEMA``.

    ``parts`` limits the check to some top-level parts (e.g. scheduling and
    dynamic, when the configuration is checked by reading it).
    """
    if parts is None:
        errors = schema_errors(representation, SCHEMA)
    elif not isinstance(representation, Mapping):
        errors = [f"$: expected object, got {_json_type(representation)}"]
    else:
        errors = []
        for part in parts:
            if part not in representation:
                errors.append(f"$: missing required property {part!r}")
            else:
                errors += [e.replace("$", f"$.{part}", 1) for e in schema_errors(representation[part], SCHEMA["properties"][part], SCHEMA)]
    if errors:
        shown = "; ".join(errors[:10])
        more = f" (and {len(errors) - 10} more)" if len(errors) > 10 else ""
        raise InputError(f"invalid VM representation: {shown}{more}", errors=errors)


def schema_errors(instance: Any, schema: Mapping[str, Any], root: Optional[Mapping[str, Any]] = None) -> List[str]:
    """Violations of ``schema`` by ``instance`` as "path: problem" strings.

    Supports the keywords SCHEMA uses: type, enum, const, properties,
    required, additionalProperties, items, anyOf, oneOf, minimum, minLength,
    pattern and local $ref.
    """
    errors: List[str] = []
    _check(instance, schema, root if root is not None else schema, "$", errors)
    return errors


class _Invalid(Exception):
    pass


class _FailFast(list):
    """An error list that stops the check at the first error: for anyOf/oneOf probes."""

    def append(self, item: Any) -> None:
        raise _Invalid()

    def extend(self, items: Any) -> None:
        if items:
            raise _Invalid()


def _is_valid(instance: Any, schema: Mapping[str, Any], root: Mapping[str, Any]) -> bool:
    try:
        _check(instance, schema, root, "$", _FailFast())
    except _Invalid:
        return False
    return True


_TYPES = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
}


def _resolve(root: Mapping[str, Any], ref: str) -> Mapping[str, Any]:
    if not ref.startswith("#/"):
        raise InputError(f"schema reference {ref!r} is not local")
    node: Any = root
    for part in ref[2:].split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def _check(instance: Any, schema: Mapping[str, Any], root: Mapping[str, Any], path: str, errors: List[str]) -> None:
    if "$ref" in schema:
        _check(instance, _resolve(root, schema["$ref"]), root, path, errors)
    if "type" in schema:
        types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        if not any(_TYPES[t](instance) for t in types):
            errors.append(f"{path}: expected {' or '.join(types)}, got {_json_type(instance)}")
            return
    if "const" in schema and not _same(instance, schema["const"]):
        errors.append(f"{path}: must be {schema['const']!r}")
    if "enum" in schema and not any(_same(instance, option) for option in schema["enum"]):
        errors.append(f"{path}: {instance!r} is not one of {', '.join(map(repr, schema['enum']))}")
    if "minimum" in schema and _TYPES["number"](instance) and instance < schema["minimum"]:
        errors.append(f"{path}: {instance} is less than {schema['minimum']}")
    if "minLength" in schema and isinstance(instance, str) and len(instance) < schema["minLength"]:
        errors.append(f"{path}: shorter than {schema['minLength']} characters")
    if "pattern" in schema and isinstance(instance, str) and not re.search(schema["pattern"], instance):
        errors.append(f"{path}: does not match {schema['pattern']}")
    if "anyOf" in schema and not any(_is_valid(instance, option, root) for option in schema["anyOf"]):
        errors.append(f"{path}: matches none of the allowed forms")
    if "oneOf" in schema:
        _check_one_of(instance, schema["oneOf"], root, path, errors)
    if isinstance(instance, dict):
        _check_object(instance, schema, root, path, errors)
    if isinstance(instance, list) and "items" in schema:
        for index, item in enumerate(instance):
            _check(item, schema["items"], root, f"{path}[{index}]", errors)


def _check_one_of(instance: Any, options: List[Any], root: Mapping[str, Any], path: str, errors: List[str]) -> None:
    candidates = [option for option in options if not _const_mismatch(instance, option, root)]
    if not candidates:
        errors.append(f"{path}: matches none of the allowed forms")
        return
    matching = sum(1 for option in candidates if _is_valid(instance, option, root))
    if matching == 1:
        return
    if matching > 1:
        errors.append(f"{path}: matches more than one of the allowed forms")
        return
    # Report the form the instance comes closest to, which is what a reader needs.
    results = [schema_errors(instance, option, root) for option in candidates]
    errors.extend(error.replace("$", path, 1) for error in min(results, key=len))


def _const_mismatch(instance: Any, option: Mapping[str, Any], root: Mapping[str, Any]) -> bool:
    """True when a const property (a discriminator like ``format``) already rules ``option`` out."""
    if "$ref" in option:
        option = _resolve(root, option["$ref"])
    if not isinstance(instance, dict):
        return False
    for name, schema in option.get("properties", {}).items():
        if "const" in schema and name in instance and not _same(instance[name], schema["const"]):
            return True
    return False


def _check_object(instance: Dict[str, Any], schema: Mapping[str, Any], root: Mapping[str, Any], path: str, errors: List[str]) -> None:
    properties = schema.get("properties", {})
    for name in schema.get("required", []):
        if name not in instance:
            errors.append(f"{path}: missing required property {name!r}")
    for name, value in instance.items():
        where = f"{path}.{name}"
        if name in properties:
            _check(value, properties[name], root, where, errors)
        elif schema.get("additionalProperties") is False:
            errors.append(f"{path}: unknown property {name!r}")
        elif isinstance(schema.get("additionalProperties"), dict):
            _check(value, schema["additionalProperties"], root, where, errors)


def _same(a: Any, b: Any) -> bool:
    # JSON equality: True is not 1.
    return type(a) is type(b) and a == b if isinstance(a, bool) or isinstance(b, bool) else a == b


def _json_type(value: Any) -> str:
    for name in ("null", "boolean", "integer", "number", "string", "array", "object"):
        if _TYPES[name](value):
            return name
    return type(value).__name__
