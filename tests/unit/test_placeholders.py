# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ovirt_kubevirt.bridge contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Engine placeholders: found exactly, filled exactly, nothing else touched."""
from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.common.errors import HostileInputError, InputError
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.domxml.build import build_domxml, engine_lease
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.domxml.placeholders import (
    PLACEHOLDER_NAMES,
    fill_placeholders,
    find_placeholders,
    parse_placeholder,
)
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.domxml.xml_text import escape_attribute, escape_text
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.model.vm_config import VmConfig

DATA = Path(__file__).resolve().parents[1] / "data" / "domxml"
ENGINE = (DATA / "engine_vm_scsi_disk_spice_from_ovf_cluster42.xml").read_text()
WINDOWS = (DATA / "engine_windows10_sysprep_floppy_payload_hyperv_cluster42.xml").read_text()
SD, IMG, VOL = "a2ec0146-37d4-4c1d-901e-7ed89cd009ff", "73a433b7-2a84-49d0-a80f-207ff91930f3", "596f868e-6519-456d-96a0-b78a1b2eea91"
DISK_KEY = f"DISK-PATH:{SD}:{IMG}:{VOL}"


def test_finds_the_engine_placeholders_of_a_real_document():
    found = find_placeholders(ENGINE)
    assert [(p.name, p.key, p.location) for p in found] == [
        ("OS-NAME", "OS-NAME:", "text"),
        ("OS-VERSION", "OS-VERSION:", "text"),
        ("HOST-SERIAL", "HOST-SERIAL:", "text"),
        ("DISK-PATH", DISK_KEY, "attribute"),
    ]
    for placeholder in found:
        assert ENGINE[placeholder.start:placeholder.end] == placeholder.token


def test_finds_the_payload_placeholder_of_a_floppy():
    payload = [p for p in find_placeholders(WINDOWS) if p.name == "PAYLOAD"]
    assert [(p.token, p.location) for p in payload] == [("PAYLOAD:", "attribute")]


def test_finds_lease_placeholders_with_their_arguments():
    config = VmConfig(name="he", uuid="vm-1", memory_kib=1024, leases=[engine_lease("vm-1", SD)])
    leases = [p for p in find_placeholders(build_domxml(config)) if p.name.startswith("LEASE")]
    assert [(p.name, p.args) for p in leases] == [("LEASE-OFFSET", ("vm-1", SD)), ("LEASE-PATH", ("vm-1", SD))]


def test_fills_by_canonical_key_then_by_bare_name():
    filled = fill_placeholders(ENGINE, {"OS-NAME": "RHEL", "OS-NAME:": "CentOS Stream", "HOST-SERIAL": "ABC-123", DISK_KEY: "/dev/vg/lv1"})
    root = etree.fromstring(filled.encode())
    entries = {e.get("name"): e.text for e in root.iterfind("sysinfo/system/entry")}
    assert entries["product"] == "CentOS Stream"  # the canonical key wins over the bare name
    assert entries["version"] == "OS-VERSION:"  # no value: the placeholder stays
    assert entries["serial"] == "ABC-123"
    assert root.find("devices/disk[@device='disk']/source").get("file") == "/dev/vg/lv1"


def test_every_byte_outside_the_placeholders_is_unchanged():
    values = {"OS-NAME": "N", "OS-VERSION": "V", "HOST-SERIAL": "S", "DISK-PATH": "/p"}
    filled = fill_placeholders(ENGINE, values)
    expected = ENGINE
    for placeholder in reversed(find_placeholders(ENGINE)):
        expected = expected[:placeholder.start] + values[placeholder.name] + expected[placeholder.end:]
    assert filled == expected


@pytest.mark.parametrize("value", ['<b>&"quoted" \'single\'</b>', "tab\tnew\nline\rcr", "ünïcødé ✓ 𝄞"])
def test_values_are_escaped_for_text_and_attributes(value):
    filled = fill_placeholders(ENGINE, {"OS-NAME": value, "DISK-PATH": value})
    root = etree.fromstring(filled.encode())
    assert root.find("sysinfo/system/entry[@name='product']").text == value
    assert root.find("devices/disk[@device='disk']/source").get("file") == value


def test_lookalikes_are_not_placeholders():
    document = (
        "<domain><memory>1</memory><vcpu>1</vcpu><description>OS-NAME: is replaced by VDSM</description>"
        "<title> OS-NAME:</title><!-- OS-NAME: --><n a='x OS-NAME:'/><n b='OS-NAME:'/><t>LEASE-PATH:a</t></domain>"
    )
    found = find_placeholders(document)
    assert [(p.token, p.location) for p in found] == [("OS-NAME:", "attribute")]
    filled = fill_placeholders(document, {"OS-NAME": "X", "LEASE-PATH": "Y"})
    assert filled == document.replace("b='OS-NAME:'", "b='X'")


@pytest.mark.parametrize(
    "token, parsed",
    [
        ("OS-NAME:", ("OS-NAME", ())),
        ("PAYLOAD:", ("PAYLOAD", ())),
        (f"LEASE-OFFSET:{IMG}:{SD}", ("LEASE-OFFSET", (IMG, SD))),
        (f"/rhev/data-center/mnt/nfs.example:_exports_data/{SD}/images/{IMG}/{VOL}", ("DISK-PATH", (SD, IMG, VOL))),
        ("OS-NAME:x", None),
        ("LEASE-PATH:a", None),
        (f"/rhev/data-center/{SD}/images/{IMG}/{VOL}.lease", None),
    ],
)
def test_placeholder_syntax(token, parsed):
    assert parse_placeholder(token) == parsed


def test_unknown_placeholder_names_are_refused():
    with pytest.raises(InputError) as raised:
        fill_placeholders(ENGINE, {"HOST-NAME": "x"})
    assert "unknown placeholder 'HOST-NAME'" in str(raised.value)
    assert ", ".join(PLACEHOLDER_NAMES) in str(raised.value)


def test_malformed_keys_of_known_names_are_refused():
    with pytest.raises(InputError, match="placeholder key 'LEASE-PATH:only-one' is malformed"):
        fill_placeholders(ENGINE, {"LEASE-PATH:only-one": "x"})


@pytest.mark.parametrize("value, kind", [(42, "int"), (None, "NoneType"), (["a"], "list")])
def test_values_that_are_not_strings_are_refused(value, kind):
    with pytest.raises(InputError, match=f"the value for placeholder 'OS-NAME' must be a string, got {kind}"):
        fill_placeholders(ENGINE, {"OS-NAME": value})


def test_values_xml_cannot_hold_are_refused():
    with pytest.raises(InputError, match="contains U\\+0000, which XML cannot hold"):
        fill_placeholders(ENGINE, {"OS-NAME": "a\x00b"})


def test_values_must_be_a_mapping():
    with pytest.raises(InputError, match="must be a mapping"):
        fill_placeholders(ENGINE, [("OS-NAME", "x")])


def test_documents_with_a_doctype_are_refused():
    with pytest.raises(HostileInputError, match="DOCTYPE"):
        fill_placeholders('<!DOCTYPE d [<!ENTITY e "OS-NAME:">]><d>&e;</d>', {"OS-NAME": "x"})


def test_documents_that_are_not_well_formed_are_refused():
    with pytest.raises(InputError, match="not well-formed"):
        fill_placeholders("<d><e>OS-NAME:</d>", {"OS-NAME": "x"})


# --- property: random documents, random text around the placeholders --------

_PLACEHOLDER_TOKENS = st.sampled_from(
    ["OS-NAME:", "OS-VERSION:", "HOST-SERIAL:", "PAYLOAD:", f"LEASE-PATH:{IMG}:{SD}", f"LEASE-OFFSET:{IMG}:{SD}",
     f"/rhev/data-center/{SD}/{SD}/images/{IMG}/{VOL}"]
)
_TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\ufffe\uffff"), max_size=12)
_NAMES = st.from_regex(r"[a-z][a-z0-9-]{0,6}", fullmatch=True)


@st.composite
def _documents(draw):
    """A well-formed document as (parts, values): parts are ("raw", text) or ("placeholder", token, location)."""
    parts = [("raw", "<domain>")]
    for index in range(draw(st.integers(0, 6))):
        tag = draw(_NAMES)
        if draw(st.booleans()):
            token = draw(_PLACEHOLDER_TOKENS)
            quote = draw(st.sampled_from(['"', "'"]))
            other = escape_attribute(draw(_TEXT))
            parts += [("raw", f"<{tag} x{index}={quote}{other}{quote} a={quote}"), ("placeholder", token, "attribute"),
                      ("raw", f"{quote}>{escape_text(draw(_TEXT))}</{tag}>")]
        elif draw(st.booleans()):
            parts += [("raw", f"<{tag}>"), ("placeholder", draw(_PLACEHOLDER_TOKENS), "text"), ("raw", f"</{tag}>")]
        else:
            noise = escape_text(draw(_TEXT))
            parts += [("raw", f"<{tag}>{noise}<!--{draw(_TEXT).replace('-', '')}--></{tag}>")]
    parts.append(("raw", "</domain>"))
    values = draw(st.dictionaries(st.sampled_from(["OS-NAME", "OS-VERSION", "HOST-SERIAL", "PAYLOAD", "LEASE-PATH", "LEASE-OFFSET", "DISK-PATH"]), _TEXT))
    return parts, values


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_documents())
def test_fill_changes_no_byte_outside_the_placeholders(case):
    parts, values = case
    document = "".join(part[1] for part in parts)
    expected = []
    for part in parts:
        if part[0] == "raw":
            expected.append(part[1])
            continue
        name = parse_placeholder(part[1])[0]
        if name in values:
            expected.append(escape_text(values[name]) if part[2] == "text" else escape_attribute(values[name]))
        else:
            expected.append(part[1])
    assert fill_placeholders(document, values) == "".join(expected)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_documents())
def test_finding_reports_exactly_the_planted_placeholders(case):
    parts, unused_values = case
    document = "".join(part[1] for part in parts)
    planted = [(part[1], part[2]) for part in parts if part[0] == "placeholder"]
    assert [(p.token, p.location) for p in find_placeholders(document)] == planted
