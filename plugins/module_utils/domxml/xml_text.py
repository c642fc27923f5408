# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ovirt_kubevirt.bridge contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A lexical view of XML text that keeps every offset, for byte-exact edits.

Editing a domxml through a parsed tree would reserialize it: quotes, attribute
order, empty elements and namespace declarations would change. Here the text
is only scanned: each element is known by the offsets of its start tag, its
content and its end tag, and each attribute value by its offsets, so callers
change exactly the spans they mean to and every other character stays as it
was.

The scanner expects well-formed XML without a DOCTYPE (callers check that
first, e.g. with ``domxml_parse.parse_xml``). It uses only the standard
library because it also runs, inlined, inside the passthrough hook script
(see ``passthrough``): everything after the ``hook-script: begin`` line is
copied into that script.
"""
from __future__ import annotations

# hook-script: begin
import re
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

_NAME = r"[A-Za-z_:][-\w.:]*"
_TOKEN = re.compile(
    r"(?P<comment><!--.*?-->)"
    r"|(?P<cdata><!\[CDATA\[.*?\]\]>)"
    r"|(?P<pi><\?.*?\?>)"
    r"|(?P<decl><![^>]*>)"
    rf"|(?P<tag><(?P<close>/)?(?P<name>{_NAME})(?P<attrs>(?:\s+{_NAME}\s*=\s*(?:\"[^\"]*\"|'[^']*'))*)\s*(?P<empty>/)?>)",
    re.S,
)
_ATTRIBUTE = re.compile(rf"({_NAME})\s*=\s*(?:\"([^\"]*)\"|'([^']*)')")
_REFERENCE = re.compile(r"&(#x[0-9A-Fa-f]+|#[0-9]+|lt|gt|amp|quot|apos);")
_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"', "apos": "'"}


class XmlTextError(ValueError):
    """The text is not the well-formed XML the scanner expects."""


class Node:
    """An element of the text: its name, offsets, attribute value spans and children.

    ``start``/``end`` enclose the whole element; ``open_end`` is the end of the
    start tag; ``close_start`` the start of the end tag (None for ``<x/>``).
    ``attrs`` maps an attribute name to the (start, end) of its raw value.
    """

    __slots__ = ("name", "start", "open_end", "close_start", "end", "attrs", "children", "parent")

    def __init__(self, name: str, start: int, open_end: int, attrs: Dict[str, Tuple[int, int]], parent: Optional["Node"]) -> None:
        self.name = name
        self.start = start
        self.open_end = open_end
        self.close_start: Optional[int] = None
        self.end = open_end
        self.attrs = attrs
        self.children: List[Node] = []
        self.parent = parent

    def find(self, name: str) -> Optional["Node"]:
        for child in self.children:
            if child.name == name:
                return child
        return None

    def findall(self, name: str) -> List["Node"]:
        return [child for child in self.children if child.name == name]

    def attr(self, text: str, name: str) -> Optional[str]:
        """The attribute's value with references resolved, or None."""
        span = self.attrs.get(name)
        return None if span is None else unescape(text[span[0]:span[1]])

    def inner(self, text: str) -> str:
        """The raw content between the tags ('' for an empty element)."""
        return "" if self.close_start is None else text[self.open_end:self.close_start]

    def outer(self, text: str) -> str:
        return text[self.start:self.end]

    def text(self, text: str) -> str:
        """The element's character content with references resolved (children's text excluded)."""
        if self.close_start is None:
            return ""
        parts, position = [], self.open_end
        for child in self.children:
            parts.append(text[position:child.start])
            position = child.end
        parts.append(text[position:self.close_start])
        return unescape("".join(parts))


def tokens(text: str) -> Iterator[Tuple[str, int, int, "re.Match[str]"]]:
    """(kind, start, end, match) for each piece of markup; text lies between them.

    Kinds: comment, cdata, pi, decl, start, end, empty.
    """
    for match in _TOKEN.finditer(text):
        kind = match.lastgroup
        if kind == "tag":
            kind = "end" if match.group("close") else "empty" if match.group("empty") else "start"
        yield kind or "", match.start(), match.end(), match


def attribute_spans(match: "re.Match[str]") -> Dict[str, Tuple[int, int]]:
    """Attribute name -> (start, end) of its raw value, for a tag match from ``tokens``."""
    spans: Dict[str, Tuple[int, int]] = {}
    base = match.start("attrs")
    for attribute in _ATTRIBUTE.finditer(match.group("attrs") or ""):
        group = 2 if attribute.group(2) is not None else 3
        spans[attribute.group(1)] = (base + attribute.start(group), base + attribute.end(group))
    return spans


def parse_tree(text: str) -> Node:
    """The document element of ``text`` as a tree of offset-keeping nodes."""
    root: Optional[Node] = None
    current: Optional[Node] = None
    for kind, start, end, match in tokens(text):
        if kind in ("start", "empty"):
            node = Node(match.group("name"), start, end, attribute_spans(match), current)
            if current is not None:
                current.children.append(node)
            elif root is None:
                root = node
            else:
                raise XmlTextError(f"a second root element <{node.name}> at offset {start}")
            if kind == "start":
                current = node
        elif kind == "end":
            name = match.group("name")
            if current is None or current.name != name:
                expected = f"</{current.name}>" if current is not None else "no end tag"
                raise XmlTextError(f"</{name}> at offset {start} does not close anything (expected {expected})")
            current.close_start = start
            current.end = end
            current = current.parent
    if root is None:
        raise XmlTextError("no root element")
    if current is not None:
        raise XmlTextError(f"<{current.name}> at offset {current.start} is never closed")
    return root


def iter_nodes(node: Node) -> Iterator[Node]:
    """``node`` and all its descendants, in document order."""
    yield node
    for child in node.children:
        yield from iter_nodes(child)


def unescape(raw: str) -> str:
    """Resolve the predefined entities and character references of raw XML text."""
    if "&" not in raw:
        return raw

    def resolve(match: "re.Match[str]") -> str:
        ref = match.group(1)
        if ref.startswith("#x"):
            return chr(int(ref[2:], 16))
        if ref.startswith("#"):
            return chr(int(ref[1:]))
        return _NAMED[ref]

    return _REFERENCE.sub(resolve, raw)


def escape_text(value: str) -> str:
    """``value`` as element content (a carriage return becomes a reference: parsers turn it into a newline)."""
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\r", "&#13;")


def escape_attribute(value: str) -> str:
    """``value`` as an attribute value in either quote style.

    Tab, newline and carriage return become references: a parser would
    otherwise normalise them to spaces.
    """
    return (
        escape_text(value)
        .replace('"', "&quot;")
        .replace("'", "&apos;")
        .replace("\t", "&#9;")
        .replace("\n", "&#10;")
    )


def apply_edits(text: str, edits: Sequence[Tuple[int, int, str]]) -> str:
    """``text`` with each (start, end, replacement) applied; edits must not overlap.

    An insertion is an edit with start == end; insertions at the same offset
    keep their order.
    """
    ordered = sorted(enumerate(edits), key=lambda item: (item[1][0], item[1][1], item[0]))
    parts: List[str] = []
    position = 0
    for _order, (start, end, replacement) in ordered:
        if start < position:
            raise XmlTextError(f"overlapping edits at offset {start}")
        parts.append(text[position:start])
        parts.append(replacement)
        position = end
    parts.append(text[position:])
    return "".join(parts)
