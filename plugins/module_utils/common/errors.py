# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ovirt_kubevirt.bridge contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Errors raised by the collection's core; modules turn them into fail_json.

Every error says what failed and why, so a module can report ``str(error)``
as its ``msg`` unchanged.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Dict, Optional, Sequence


class BridgeError(Exception):
    """Base of every error the core raises on purpose."""

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.details: Dict[str, Any] = details


class InputError(BridgeError):
    """The caller's input is invalid (bad XML, unknown key, missing value)."""


class HostileInputError(InputError):
    """The input tries something we never do: entities, DTDs, huge documents."""


class NotFoundError(BridgeError):
    """A named object (cluster, VM, host, provider) does not exist."""


class ConflictError(BridgeError):
    """The target changed under us or refuses the change (HTTP 409)."""


class UnsupportedError(BridgeError):
    """The platform cannot do this; the message names the alternatives."""


class ApiError(BridgeError):
    """A remote API (oVirt engine or Kubernetes) failed; carries its reason."""

    def __init__(self, message: str, status: Optional[int] = None, reason: Optional[str] = None, **details: Any) -> None:
        super().__init__(message, status=status, reason=reason, **details)
        self.status = status
        self.reason = reason


class MissingLibraryError(BridgeError):
    """A Python library the operation needs is not importable."""

    def __init__(self, library: str, error: Optional[str] = None) -> None:
        hint = f"install it on the host that runs the module (pip install {library})"
        text = f"the Python library {library!r} is required but could not be imported ({error}); {hint}"
        super().__init__(text, library=library, import_error=error)
        self.library = library


@dataclasses.dataclass(frozen=True)
class Failure:
    """One item of a batch (a VM) that failed while the others went on."""

    name: str
    msg: str


class ItemsFailed(BridgeError):
    """Some items of a batch failed; the message names each with its reason, the details keep the whole result."""

    def __init__(self, failures: Sequence[Failure], total: int, what: str = "VM(s)", **details: Any) -> None:
        summary = "; ".join(f"{failure.name}: {failure.msg}" for failure in failures)
        super().__init__(f"{len(failures)} of {total} {what} failed: {summary}", **details)
        self.failures = list(failures)
