# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ovirt_kubevirt.bridge contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Engine placeholders in a domxml: their syntax, finding them, filling them.

The engine cannot know some host-local values when it writes a domxml, so it
writes placeholders that VDSM replaces on the host that starts the VM
(LibvirtVmXmlBuilder, vdsm ``domxml_preprocess``). This module names them,
finds them and fills them in for a host that is not a VDSM host.

Syntax
------
A placeholder is the **entire** value of an attribute or the **entire** text
of a run of character data between two tags (no surrounding whitespace).
A value that merely contains one of these strings is not a placeholder.

=================  =========================================  ===========================
name               as written                                 where the engine writes it
=================  =========================================  ===========================
``OS-NAME``        ``OS-NAME:``                               sysinfo entry "product"
``OS-VERSION``     ``OS-VERSION:``                            sysinfo entry "version"
``HOST-SERIAL``    ``HOST-SERIAL:``                           sysinfo entry "serial"
``PAYLOAD``        ``PAYLOAD:``                               source file of a payload CD/floppy
``LEASE-PATH``     ``LEASE-PATH:<key>:<storage-domain-id>``   lease target "path"
``LEASE-OFFSET``   ``LEASE-OFFSET:<key>:<storage-domain-id>`` lease target "offset"
``DISK-PATH``      ``/rhev/data-center/<pool>/<sd>/images/    disk source file/dev, and VDSM's
                   <image>/<volume>`` (also VDSM's            volume metadata
                   ``/rhev/data-center/mnt/<server>/...``)
=================  =========================================  ===========================

``<key>``, ``<sd>``, ``<image>`` and ``<volume>`` are UUIDs; a key may also be
any run of letters, digits and dashes.

Each placeholder has a **canonical key**: its name, a colon, and its arguments
joined by colons: ``OS-NAME:``, ``LEASE-PATH:<key>:<sd>``,
``DISK-PATH:<sd>:<image>:<volume>``.

Filling
-------
``fill_placeholders(domxml, values)`` looks each placeholder up in ``values``
by its canonical key first, then by its bare name (``"OS-NAME"``, which then
applies to every occurrence of that name). Keys must use a known name and
values must be strings; anything else is refused with ``InputError``. The
replacement is escaped for where it lands (element text or attribute value).
The document is edited as text: every character outside the replaced
placeholders is left exactly as it was. Placeholders without a value stay.
"""
from __future__ import annotations

import re
from typing import Any, Dict, List, Mapping, NamedTuple, Optional, Tuple

from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.common.errors import InputError
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.domxml.parse import DEFAULT_MAX_BYTES, parse_xml
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.domxml.read import IMAGE_PATH
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.domxml.xml_text import (
    apply_edits,
    attribute_spans,
    escape_attribute,
    escape_text,
    tokens,
)

PLACEHOLDER_NAMES = ("OS-NAME", "OS-VERSION", "HOST-SERIAL", "PAYLOAD", "LEASE-PATH", "LEASE-OFFSET", "DISK-PATH")
_NO_ARGUMENT = re.compile(r"^(OS-NAME|OS-VERSION|HOST-SERIAL|PAYLOAD):$")
_LEASE = re.compile(r"^(LEASE-PATH|LEASE-OFFSET):([A-Za-z0-9-]+):([A-Za-z0-9-]+)$")
# Characters XML 1.0 allows; a value outside them could not be written back.
_NOT_XML_CHAR = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


class Placeholder(NamedTuple):
    """One placeholder occurrence: what it is and where it is in the document."""

    name: str
    args: Tuple[str, ...]
    token: str
    start: int
    end: int
    location: str  # "text" or "attribute"

    @property
    def key(self) -> str:
        return ":".join((self.name,) + self.args) if self.args else f"{self.name}:"

    def as_dict(self) -> Dict[str, Any]:
        return {
            "name": self.name, "key": self.key, "args": list(self.args), "token": self.token,
            "start": self.start, "end": self.end, "location": self.location,
        }


def parse_placeholder(value: str) -> Optional[Tuple[str, Tuple[str, ...]]]:
    """(name, args) when ``value`` as a whole is a placeholder, else None."""
    if value.endswith(":"):
        match = _NO_ARGUMENT.match(value)
        return (match.group(1), ()) if match else None
    if value.startswith("LEASE-"):
        match = _LEASE.match(value)
        return (match.group(1), (match.group(2), match.group(3))) if match else None
    if value.startswith("/rhev/data-center/"):
        match = IMAGE_PATH.match(value)
        return ("DISK-PATH", (match.group("sd"), match.group("img"), match.group("vol"))) if match else None
    return None


def find_placeholders(domxml: str) -> List[Placeholder]:
    """Every placeholder in ``domxml``, in document order (text is not parsed for safety here)."""
    if not isinstance(domxml, str):
        raise InputError(f"domxml must be a string, got {type(domxml).__name__}")
    found: List[Placeholder] = []
    position = 0
    for kind, start, end, match in tokens(domxml):
        _add_if_placeholder(found, domxml, position, start, "text")
        position = end
        if kind in ("start", "empty"):
            for value_start, value_end in attribute_spans(match).values():
                _add_if_placeholder(found, domxml, value_start, value_end, "attribute")
    _add_if_placeholder(found, domxml, position, len(domxml), "text")
    return found


def _add_if_placeholder(found: List[Placeholder], domxml: str, start: int, end: int, location: str) -> None:
    if end - start < 8:  # shorter than the shortest placeholder, "PAYLOAD:"
        return
    token = domxml[start:end]
    parsed = parse_placeholder(token)
    if parsed is not None:
        found.append(Placeholder(parsed[0], parsed[1], token, start, end, location))


def fill_placeholders(domxml: str, values: Mapping[str, str], max_bytes: int = DEFAULT_MAX_BYTES) -> str:
    """``domxml`` with its placeholders replaced from ``values``; nothing else changes."""
    checked = _checked_values(values)
    # The text is scanned, not parsed, so make sure it is the well-formed,
    # DOCTYPE-free XML the scanner reads correctly.
    parse_xml(domxml, max_bytes=max_bytes, what="domxml")
    edits = []
    for placeholder in find_placeholders(domxml):
        value = checked.get(placeholder.key, checked.get(placeholder.name))
        if value is None:
            continue
        escaped = escape_text(value) if placeholder.location == "text" else escape_attribute(value)
        edits.append((placeholder.start, placeholder.end, escaped))
    return apply_edits(domxml, edits)


def _checked_values(values: Mapping[str, str]) -> Dict[str, str]:
    if not isinstance(values, Mapping):
        raise InputError(f"placeholder values must be a mapping of placeholder to string, got {type(values).__name__}")
    checked = {}
    for key, value in values.items():
        if not isinstance(key, str):
            raise InputError(f"placeholder names must be strings, got {key!r}")
        name = key.split(":", 1)[0]
        if name not in PLACEHOLDER_NAMES:
            raise InputError(f"unknown placeholder {key!r}; known placeholders: {', '.join(PLACEHOLDER_NAMES)}")
        if ":" in key and parse_placeholder(key) is None and not _is_disk_path_key(key):
            raise InputError(f"placeholder key {key!r} is malformed; use the bare name or the canonical key")
        if not isinstance(value, str):
            raise InputError(f"the value for placeholder {key!r} must be a string, got {type(value).__name__}")
        bad = _NOT_XML_CHAR.search(value)
        if bad:
            raise InputError(f"the value for placeholder {key!r} contains U+{ord(bad.group()):04X}, which XML cannot hold")
        checked[key] = value
    return checked


def _is_disk_path_key(key: str) -> bool:
    parts = key.split(":")
    return parts[0] == "DISK-PATH" and len(parts) == 4 and all(parts[1:])
