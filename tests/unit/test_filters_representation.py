# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ovirt_kubevirt.bridge contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The representation filters: wiring, Ansible errors, and their documentation."""
from __future__ import annotations

import inspect
from pathlib import Path

import pytest
import yaml
from ansible.errors import AnsibleFilterError
from ansible.utils.unsafe_proxy import wrap_var

from ansible_collections.ovirt_kubevirt.bridge.plugins.filter import representation as filters
from ansible_collections.ovirt_kubevirt.bridge.plugins.filter.representation import FilterModule

ROOT = Path(__file__).resolve().parents[2]
ENGINE = (ROOT / "tests" / "data" / "domxml" / "engine_vm_scsi_disk_spice_from_ovf_cluster42.xml").read_text()
FILTERS = FilterModule().filters()
STORAGE_MAP = {"*": {"pvc_name": "{vm}-{disk_id}"}}


def test_the_filters_are_registered_under_their_names():
    assert set(FILTERS) == {"domxml_to_representation", "representation_to_vm", "fill_placeholders"}


def test_domxml_to_representation_takes_ansible_strings():
    representation = FILTERS["domxml_to_representation"](wrap_var(ENGINE), {"host": wrap_var("host-a")})
    assert representation["configuration"]["domxml"] == ENGINE
    assert representation["scheduling"]["host"] == "host-a"


def test_representation_to_vm_returns_manifest_concerns_and_configmap():
    representation = FILTERS["domxml_to_representation"](ENGINE)
    native = FILTERS["representation_to_vm"](representation, STORAGE_MAP, {"*": "pod"}, namespace="vms")
    assert set(native) == {"manifest", "concerns", "configmap"}
    assert native["manifest"]["metadata"]["namespace"] == "vms" and native["configmap"] is None
    assert any(c["id"] == "ovirt_kubevirt.graphics.spice" for c in native["concerns"])
    passthrough = FILTERS["representation_to_vm"](
        representation, STORAGE_MAP, {"*": "pod"}, delivery="passthrough", placeholder_values={"OS-NAME": "RHEL"}
    )
    assert passthrough["configmap"]["kind"] == "ConfigMap"
    script = passthrough["configmap"]["data"]["onDefineDomain"]
    assert '<entry name="product">RHEL</entry>' in script and "OS-NAME:" not in script


def test_representation_to_vm_works_on_a_json_round_tripped_representation():
    import json

    representation = json.loads(json.dumps(FILTERS["domxml_to_representation"](ENGINE, configuration_format="json")))
    result = FILTERS["representation_to_vm"](representation, STORAGE_MAP, {"*": "pod"})
    assert result["manifest"]["spec"]["template"]["spec"]["domain"]["memory"]["guest"] == "1Gi"


def test_fill_placeholders_filter():
    filled = FILTERS["fill_placeholders"](ENGINE, {"HOST-SERIAL": "SER-1"})
    assert filled == ENGINE.replace(">HOST-SERIAL:<", ">SER-1<")


@pytest.mark.parametrize(
    "name, args, message",
    [
        ("domxml_to_representation", ("<network/>",), "domxml_to_representation: domxml root element is <network>, expected <domain>"),
        ("domxml_to_representation", ('<!DOCTYPE d [<!ENTITY e "x">]><domain/>',), "domxml_to_representation: domxml declares a DOCTYPE"),
        ("fill_placeholders", (ENGINE, {"HOST-NAME": "x"}), "fill_placeholders: unknown placeholder 'HOST-NAME'"),
        ("representation_to_vm", ({"configuration": {"format": "yaml"}}, {}, {}),
         "representation_to_vm: invalid VM representation: $: missing required property 'schema_version'"),
    ],
)
def test_errors_become_ansible_filter_errors_with_the_core_message(name, args, message):
    with pytest.raises(AnsibleFilterError) as raised:
        FILTERS[name](*args)
    assert str(raised.value).startswith(message)


@pytest.mark.parametrize("name", sorted(FILTERS))
def test_each_filter_has_documentation_matching_its_signature(name):
    docs = yaml.safe_load((ROOT / "plugins" / "filter" / f"{name}.yml").read_text())
    assert set(docs) == {"DOCUMENTATION", "EXAMPLES", "RETURN"}
    documentation = docs["DOCUMENTATION"]
    assert documentation["name"] == name
    assert documentation["short_description"] and documentation["description"]
    parameters = list(inspect.signature(getattr(filters, name)).parameters)
    assert set(documentation["options"]) == {"_input", *parameters[1:]}
    assert documentation["options"]["_input"]["required"] is True
    assert f"ovirt_kubevirt.bridge.{name}" in docs["EXAMPLES"]
    assert "_value" in docs["RETURN"]
