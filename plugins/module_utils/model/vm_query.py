# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ovirt_kubevirt.bridge contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Query a VM representation (or any JSON document) with JMESPath."""
from __future__ import annotations

from typing import Any, Dict, Optional

from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.common.errors import InputError, MissingLibraryError

try:
    import jmespath
    from jmespath import exceptions as jmespath_exceptions
except ImportError as exc:  # reported by select() when a query is attempted
    jmespath = jmespath_exceptions = None
    JMESPATH_IMPORT_ERROR: Optional[str] = str(exc)
else:
    JMESPATH_IMPORT_ERROR = None

# Compiled expressions, so repeated queries (one per VM of a cluster) parse once.
_COMPILED: Dict[str, Any] = {}
_CACHE_LIMIT = 256


def select(document: Any, expression: str) -> Any:
    """The result of the JMESPath ``expression`` on ``document`` (None when nothing matches)."""
    if jmespath is None:
        raise MissingLibraryError("jmespath", JMESPATH_IMPORT_ERROR)
    if not isinstance(expression, str) or not expression.strip():
        raise InputError(f"a JMESPath expression must be a non-empty string, got {expression!r}")
    compiled = _COMPILED.get(expression)
    if compiled is None:
        try:
            compiled = jmespath.compile(expression)
        except jmespath_exceptions.JMESPathError as exc:
            raise InputError(f"invalid JMESPath expression {expression!r}: {exc}") from None
        if len(_COMPILED) >= _CACHE_LIMIT:
            _COMPILED.clear()
        _COMPILED[expression] = compiled
    try:
        return compiled.search(document)
    except jmespath_exceptions.JMESPathError as exc:
        raise InputError(f"JMESPath expression {expression!r} failed on the document: {exc}") from None
