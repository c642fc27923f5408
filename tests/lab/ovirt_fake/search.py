"""The engine's ?search= language, the subset the collection uses.

Supported: `field=value` and `field!=value` terms, AND-ed (with or without the
word "and"), `*` wildcards, quoted values (with backslash escapes), an
optional "Vms:" style prefix.
Anything else (OR, sortby, unknown fields) is a 400, so a typo in a module's
query fails loudly instead of silently matching nothing.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable

from .errors import ApiFault

_TERM = re.compile(r'\s*([A-Za-z_][A-Za-z_.]*)\s*(!=|=)\s*(?:"((?:[^"\\]|\\.)*)"|(\S+))')
_ESCAPE = re.compile(r"\\(.)")
_PREFIX = re.compile(r"^\s*[A-Za-z]+\s*:\s*")
_AND = re.compile(r"^\s*and\b", re.IGNORECASE)

Accessor = Callable[[dict[str, Any]], Any]


@dataclass(frozen=True)
class Term:
    field: str
    negate: bool
    pattern: str


def parse(text: str) -> list[Term]:
    rest = _PREFIX.sub("", text, count=1).strip()
    terms: list[Term] = []
    while rest:
        if terms:
            rest = _AND.sub("", rest, count=1).lstrip()
        match = _TERM.match(rest)
        if not match:
            raise _invalid(text)
        quoted = match.group(3)
        value = _ESCAPE.sub(r"\1", quoted) if quoted is not None else match.group(4)
        terms.append(Term(match.group(1).lower(), match.group(2) == "!=", value))
        rest = rest[match.end():].strip()
    return terms


def matcher(text: str | None, fields: dict[str, Accessor], case_sensitive: bool) -> Callable[[dict[str, Any]], bool]:
    """A predicate over records for the search text; every term must hold."""
    if not text or not text.strip():
        return lambda record: True
    terms = parse(text)
    for term in terms:
        if term.field not in fields:
            marked = re.sub(rf"\b{re.escape(term.field)}\b", f"${term.field}$", text, count=1, flags=re.IGNORECASE)
            raise _invalid(marked, f"unknown field '{term.field}'; known: {', '.join(sorted(fields))}")

    def matches(record: dict[str, Any]) -> bool:
        return all(_holds(term, fields[term.field](record), case_sensitive) for term in terms)

    return matches


def _holds(term: Term, value: Any, case_sensitive: bool) -> bool:
    text = "" if value is None else str(value)
    pattern = term.pattern
    if not case_sensitive:
        text, pattern = text.lower(), pattern.lower()
    # Only '*' is a wildcard, as in the engine's LIKE translation.
    found = re.fullmatch(".*".join(re.escape(part) for part in pattern.split("*")), text, re.DOTALL) is not None
    return found != term.negate


def _invalid(text: str, why: str = "syntax error") -> ApiFault:
    # The engine answers 400 with the search text, the bad part between '$'.
    return ApiFault(400, f"{text} ({why})")


def mentions(text: str | None, field: str) -> bool:
    return bool(text) and any(t.field == field for t in parse(text or ""))
