# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ovirt_kubevirt.bridge contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Safe parsing of a libvirt domain XML (domxml) as oVirt produces it.

A domxml comes from another system, so it is parsed as hostile input:

* at most ``max_bytes`` (1 MiB by default) of UTF-8; anything else is refused
  before the parser sees it;
* no DOCTYPE and no ENTITY declarations at all: internal entities (billion
  laughs), external entities (XXE to a file or a URL) and external DTDs are
  refused outright rather than "disabled", so nothing is ever expanded or
  fetched;
* lxml runs with entity resolution, DTD loading and validation, network access
  and huge-tree support all off, as a second line of defence;
* the root must be ``<domain>`` with a usable ``<memory>`` and ``<vcpu>``.

Every refusal raises ``HostileInputError`` or ``InputError`` with a message
naming the problem.
"""
from __future__ import annotations

import re
from typing import Any, Optional, Union

from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.common.errors import (
    HostileInputError,
    InputError,
    MissingLibraryError,
)

try:
    from lxml import etree
except ImportError as exc:  # reported by require_lxml() when a parse is attempted
    etree = None
    LXML_IMPORT_ERROR: Optional[str] = str(exc)
else:
    LXML_IMPORT_ERROR = None

DEFAULT_MAX_BYTES = 1024 * 1024

# DOCTYPE and ENTITY are the only ways into entity expansion and DTD fetching.
# Matched on the raw bytes, before parsing, so no parser setting is relied on.
_DECLARATION = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)
_XML_DECL_ENCODING = re.compile(rb"""^\s*<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")
_UTF8_NAMES = {"utf-8", "utf8"}

# libvirt's scaled integers: unit -> bytes per unit (formatdomain "memory").
_UNIT_BYTES = {
    "b": 1, "bytes": 1,
    "kb": 1000, "k": 1024, "kib": 1024,
    "mb": 1000**2, "m": 1024**2, "mib": 1024**2,
    "gb": 1000**3, "g": 1024**3, "gib": 1024**3,
    "tb": 1000**4, "t": 1024**4, "tib": 1024**4,
}


def require_lxml() -> Any:
    """The lxml.etree module, or MissingLibraryError naming lxml."""
    if etree is None:
        raise MissingLibraryError("lxml", LXML_IMPORT_ERROR)
    return etree


def parse_domxml(document: Union[str, bytes], max_bytes: int = DEFAULT_MAX_BYTES) -> Any:
    """Parse a domxml safely and return its ``<domain>`` root element."""
    root = parse_xml(document, max_bytes=max_bytes, what="domxml")
    if root.tag != "domain":
        raise InputError(f"domxml root element is <{root.tag}>, expected <domain>")
    _require_scaled_int(root, "memory")
    _require_vcpu(root)
    return root


def parse_xml(document: Union[str, bytes], max_bytes: int = DEFAULT_MAX_BYTES, what: str = "document") -> Any:
    """Parse any XML document under the same rules as a domxml (no root checks)."""
    data = _as_utf8_bytes(document, what)
    if len(data) > max_bytes:
        raise HostileInputError(
            f"{what} is {len(data)} bytes, more than the limit of {max_bytes} bytes (max_bytes)",
            size=len(data), limit=max_bytes,
        )
    _refuse_declarations(data, what)
    lxml_etree = require_lxml()
    parser = lxml_etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        collect_ids=False,
    )
    try:
        root = lxml_etree.fromstring(data, parser=parser)
    except lxml_etree.XMLSyntaxError as exc:
        raise InputError(f"{what} is not well-formed XML: {exc}") from None
    # Defence in depth: the byte scan above already refused any DOCTYPE.
    if root.getroottree().docinfo.doctype:
        raise HostileInputError(f"{what} declares a DOCTYPE; entity and DTD processing is refused")
    return root


def scaled_kib(text: Optional[str], unit: Optional[str], where: str) -> int:
    """A libvirt scaled integer (``<memory unit=...>``) in KiB, rounded down."""
    try:
        value = int((text or "").strip())
    except ValueError:
        raise InputError(f"domxml <{where}> is not an integer: {text!r}") from None
    factor = _UNIT_BYTES.get((unit or "KiB").lower())
    if factor is None:
        raise InputError(f"domxml <{where}> has an unknown unit {unit!r}")
    if value < 0:
        raise InputError(f"domxml <{where}> is negative: {value}")
    return value * factor // 1024


def _as_utf8_bytes(document: Union[str, bytes], what: str) -> bytes:
    if isinstance(document, str):
        try:
            return document.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise InputError(f"{what} is not valid Unicode text: {exc.reason} at index {exc.start}") from None
    if not isinstance(document, (bytes, bytearray)):
        raise InputError(f"{what} must be a string or bytes, got {type(document).__name__}")
    data = bytes(document)
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(
            f"{what} is not valid UTF-8: byte 0x{data[exc.start]:02x} at offset {exc.start} ({exc.reason})"
        ) from None
    declared = _XML_DECL_ENCODING.match(data)
    if declared and declared.group(1).decode("ascii").lower() not in _UTF8_NAMES:
        raise InputError(f"{what} declares encoding {declared.group(1).decode('ascii')!r}; only UTF-8 is accepted")
    return data


def _refuse_declarations(data: bytes, what: str) -> None:
    found = _DECLARATION.search(data)
    if found is None:
        return
    kind = found.group(1).decode("ascii").upper()
    if kind == "ENTITY":
        raise HostileInputError(f"{what} declares an ENTITY; entity and DTD processing is refused")
    raise HostileInputError(f"{what} declares a DOCTYPE; entity and DTD processing is refused")


def _require_scaled_int(root: Any, tag: str) -> int:
    element = root.find(tag)
    if element is None:
        raise InputError(f"domxml has no <{tag}> element; the VM's memory size is required")
    kib = scaled_kib(element.text, element.get("unit"), tag)
    if kib <= 0:
        raise InputError(f"domxml <{tag}> must be positive, got {element.text!r}")
    return kib


def _require_vcpu(root: Any) -> int:
    element = root.find("vcpu")
    if element is None:
        raise InputError("domxml has no <vcpu> element; the VM's vCPU count is required")
    try:
        count = int((element.text or "").strip())
    except ValueError:
        raise InputError(f"domxml <vcpu> is not an integer: {element.text!r}") from None
    if count <= 0:
        raise InputError(f"domxml <vcpu> must be positive, got {count}")
    return count
