# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ovirt_kubevirt.bridge contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The VM representation: shape, formats, defaults, schema and queries."""
from __future__ import annotations

import copy
import dataclasses
import json
from pathlib import Path

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.common.errors import InputError
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.domxml.read import domxml_to_config
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.domxml.representation import (
    DYNAMIC_DEFAULTS,
    HYBRID_FIELDS,
    SCHEMA,
    SCHEMA_VERSION,
    build_representation,
    clear_parsed_cache,
    representation_config,
    schema_errors,
    validate_representation,
)
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.model.vm_config import config_to_dict
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.model.vm_query import select

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = sorted((ROOT / "tests" / "data" / "domxml").glob("*.xml"))
ENGINE = ROOT / "tests" / "data" / "domxml" / "engine_vm_scsi_disk_spice_from_ovf_cluster42.xml"
SRIOV = ROOT / "tests" / "data" / "domxml" / "runtime_sriov_vf_hostdev_interface_no_ovirt_md.xml"
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)
# The keywords the built-in validator implements; the schema must not use others.
SUPPORTED_KEYWORDS = {
    "$schema", "$id", "$defs", "$ref", "title", "description", "default", "type", "enum", "const", "properties",
    "required", "additionalProperties", "items", "anyOf", "oneOf", "minimum", "minLength", "pattern",
}


def test_schema_file_in_docs_is_the_schema_in_code():
    shipped = json.loads((ROOT / "docs" / "schemas" / "vm-representation.schema.json").read_text())
    assert shipped == SCHEMA


def test_schema_is_a_valid_draft_2020_12_schema():
    assert SCHEMA["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(SCHEMA)


def test_schema_uses_only_keywords_the_builtin_validator_knows():
    used = set()

    def walk(node, in_properties=False):
        if isinstance(node, dict):
            for key, value in node.items():
                if not in_properties:
                    used.add(key)
                walk(value, in_properties=key in ("properties", "$defs") and not in_properties)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(SCHEMA)
    assert used <= SUPPORTED_KEYWORDS, used - SUPPORTED_KEYWORDS


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.stem)
@pytest.mark.parametrize("form", ["json", "xml", "hybrid"])
def test_every_sample_in_every_format_validates(path, form):
    representation = build_representation(path.read_bytes(), configuration_format=form)
    assert list(VALIDATOR.iter_errors(representation)) == []
    assert schema_errors(representation, SCHEMA) == []
    assert set(representation) == {"schema_version", "scheduling", "dynamic", "configuration"}
    assert representation["schema_version"] == SCHEMA_VERSION


def test_hybrid_keeps_the_domxml_byte_for_byte_plus_the_kubevirt_properties():
    text = ENGINE.read_text()
    configuration = build_representation(text)["configuration"]
    assert configuration["format"] == "hybrid"
    assert configuration["domxml"] == text
    assert set(configuration) == {"format", "domxml", *HYBRID_FIELDS}
    assert configuration["memory_kib"] == 1048576 and configuration["vcpus"] == 2
    assert configuration["nics"][0]["mac"] == "00:1a:4a:16:01:01"


def test_xml_format_carries_only_the_domxml():
    text = ENGINE.read_text()
    assert build_representation(text, configuration_format="xml")["configuration"] == {"format": "xml", "domxml": text}


def test_json_format_carries_every_property_and_no_domxml():
    configuration = build_representation(ENGINE.read_bytes(), configuration_format="json")["configuration"]
    assert "domxml" not in configuration
    assert {k: v for k, v in configuration.items() if k != "format"} == config_to_dict(domxml_to_config(ENGINE.read_bytes()))


def test_the_three_formats_describe_the_same_configuration():
    clear_parsed_cache()
    configs = [representation_config(build_representation(ENGINE.read_bytes(), configuration_format=f)) for f in ("json", "xml", "hybrid")]
    assert configs[0] == configs[1] == configs[2]


def test_a_vm_config_gets_a_domxml_written_for_it():
    config = domxml_to_config(SRIOV.read_bytes())
    representation = build_representation(config, configuration_format="xml")
    assert representation["configuration"]["domxml"].startswith('<?xml version="1.0" encoding="UTF-8"?><domain')
    assert representation_config(representation) == config


def test_dynamic_data_starts_at_its_documented_defaults():
    representation = build_representation(ENGINE.read_bytes())
    assert representation["dynamic"] == DYNAMIC_DEFAULTS == {
        "status": "down", "run_on_vds": None, "console_ip": None, "guest_ips": [], "start_time": None, "status_detail": None,
        "node": None, "guest_os": None, "migration": None,
    }
    documented = {name: prop["default"] for name, prop in SCHEMA["properties"]["dynamic"]["properties"].items()}
    assert documented == DYNAMIC_DEFAULTS


def test_dynamic_data_can_be_filled_in():
    representation = build_representation(ENGINE.read_bytes(), dynamic={"status": "up", "guest_ips": ["10.0.0.5"]})
    assert representation["dynamic"]["status"] == "up"
    assert representation["dynamic"]["guest_ips"] == ["10.0.0.5"]
    assert representation["dynamic"]["console_ip"] is None


def test_scheduling_defaults_come_from_the_configuration():
    scheduling = build_representation(ENGINE.read_bytes())["scheduling"]
    assert scheduling["cpu_request"] == {
        "vcpus": 2, "max_vcpus": 16, "sockets": 16, "cores": 1, "threads": 1, "dedicated": False, "limit_millicores": None, "shares": None,
    }
    assert scheduling["memory_request"] == {"memory_kib": 1048576, "max_memory_kib": 4194304, "guaranteed_kib": 1048576, "hugepage_size_kib": None}
    assert scheduling["placement_policy"] == "migratable"
    assert (scheduling["host"], scheduling["host_pinning"], scheduling["pinned_hosts"]) == (None, False, [])
    assert scheduling["numa"]["nodes"] == [{"index": 0, "cpus": "0,1", "memory_kib": 1048576}]


def test_sriov_vf_is_a_host_device_and_pins_the_vm():
    scheduling = build_representation(SRIOV.read_bytes())["scheduling"]
    assert scheduling["host_devices"] == [{"name": "pci_0000_05_00_1", "kind": "sriov_vf"}]
    assert scheduling["placement_policy"] == "pinned"
    assert scheduling["cpu_request"]["limit_millicores"] == 4000  # quota 100000 / period 25000 for 1 vCPU


def test_scheduling_overrides_merge_one_level_deep():
    scheduling = build_representation(ENGINE.read_bytes(), {
        "host": "host-a", "host_pinning": True, "pinned_hosts": ["host-a"], "placement_policy": "pinned",
        "high_availability": {"enabled": True}, "cluster_id": "c-1",
    })["scheduling"]
    assert scheduling["high_availability"] == {"enabled": True, "priority": 0}
    assert (scheduling["host"], scheduling["pinned_hosts"], scheduling["cluster_id"]) == ("host-a", ["host-a"], "c-1")


def test_unknown_scheduling_keys_are_refused():
    with pytest.raises(InputError, match="scheduling_overrides: unknown key hosts; known: cluster_id"):
        build_representation(ENGINE.read_bytes(), {"hosts": ["a"]})


def test_wrongly_typed_overrides_are_refused_with_their_path():
    with pytest.raises(InputError) as raised:
        build_representation(ENGINE.read_bytes(), {"placement_policy": "anywhere", "high_availability": {"priority": "high"}})
    message = str(raised.value)
    assert "scheduling.placement_policy: 'anywhere' is not one of 'migratable', 'pinned', 'user_migratable'" in message
    assert "scheduling.high_availability.priority: expected integer, got string" in message


def test_unknown_configuration_format_is_refused():
    with pytest.raises(InputError, match="configuration_format must be one of json, xml, hybrid, got 'yaml'"):
        build_representation(ENGINE.read_bytes(), configuration_format="yaml")


def test_hybrid_json_properties_win_over_the_domxml():
    representation = build_representation(ENGINE.read_bytes())
    representation["configuration"]["nics"][0]["network"] = "production"
    representation["configuration"]["memory_kib"] = 2097152
    config = representation_config(representation)
    assert config.nics[0].network == "production"
    assert config.memory_kib == 2097152
    assert config.watchdog is None and config.rng.source == "urandom"  # the rest still comes from the domxml


def test_configurations_handed_out_are_copies():
    representation = build_representation(ENGINE.read_bytes(), configuration_format="xml")
    first = representation_config(representation)
    first.nics.clear()
    first.disks[1].bus = "ide"
    second = representation_config(representation)
    assert len(second.nics) == 1 and second.disks[1].bus == "scsi"


def test_validation_names_every_problem():
    representation = build_representation(ENGINE.read_bytes())
    representation["dynamic"]["status"] = "running"
    representation["configuration"]["vcpus"] = "two"
    del representation["scheduling"]["host"]
    with pytest.raises(InputError) as raised:
        validate_representation(representation)
    message = str(raised.value)
    assert "$.dynamic.status: 'running' is not one of" in message
    assert "$.scheduling: missing required property 'host'" in message
    assert "$.configuration.vcpus: expected integer, got string" in message


def _json_values():
    return st.recursive(
        st.none() | st.booleans() | st.integers(-3, 3) | st.sampled_from(["", "x", "down", "pinned", "pci"]),
        lambda children: st.lists(children, max_size=2) | st.dictionaries(st.sampled_from(["a", "name", "kind"]), children, max_size=2),
        max_leaves=4,
    )


def _paths(node, prefix=()):
    yield prefix
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, prefix + (key,))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _paths(value, prefix + (index,))


BASE = build_representation(ENGINE.read_bytes())
BASE_PATHS = [p for p in _paths(BASE) if p and p[-1] != "domxml"]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(BASE_PATHS), _json_values(), st.booleans())
def test_builtin_validator_agrees_with_jsonschema(path, value, delete):
    document = copy.deepcopy(BASE)
    parent = document
    for step in path[:-1]:
        parent = parent[step]
    if delete and isinstance(parent, dict):
        del parent[path[-1]]
    else:
        parent[path[-1]] = value
    assert (schema_errors(document, SCHEMA) == []) == VALIDATOR.is_valid(document)


def test_select_queries_a_representation():
    representation = build_representation(ENGINE.read_bytes())
    assert select(representation, "configuration.nics[].mac") == ["00:1a:4a:16:01:01"]
    assert select(representation, "configuration.disks[?device=='disk'].image_id | [0]") == "73a433b7-2a84-49d0-a80f-207ff91930f3"
    assert select(representation, "scheduling.nothing_here") is None


def test_select_reports_a_bad_expression_clearly():
    with pytest.raises(InputError, match=r"invalid JMESPath expression 'configuration.disks\[': "):
        select({}, "configuration.disks[")
    with pytest.raises(InputError, match="a JMESPath expression must be a non-empty string"):
        select({}, "")


def test_from_dict_errors_point_at_the_field():
    representation = build_representation(ENGINE.read_bytes(), configuration_format="json")
    representation["configuration"]["disks"][0]["device"] = "tape"
    with pytest.raises(InputError, match=r"configuration.disks\[0\].device: 'tape' is not one of disk, cdrom, floppy, lun"):
        representation_config(representation)


def test_replacing_a_config_field_keeps_the_json_form_valid():
    config = dataclasses.replace(domxml_to_config(ENGINE.read_bytes()), os_type="rhel_9x64")
    representation = build_representation(config, configuration_format="json")
    assert VALIDATOR.is_valid(representation)
    assert representation["configuration"]["os_type"] == "rhel_9x64"
