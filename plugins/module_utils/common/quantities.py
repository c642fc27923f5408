# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ovirt_kubevirt.bridge contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Kubernetes resource quantities ('2Gi', '1500m'), read by the kubernetes library's own parser."""
from __future__ import annotations

from typing import Any

from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.common.errors import InputError, MissingLibraryError


def _quantity(value: Any) -> Any:
    """The quantity as a Decimal; InputError when it is not one."""
    try:
        # Local: importing kubernetes is slow, and the pure translation needs it only for a sized disk.
        from kubernetes.utils.quantity import parse_quantity as parse  # pylint: disable=import-outside-toplevel
    except ImportError as exc:
        raise MissingLibraryError("kubernetes", str(exc)) from exc
    try:
        amount = parse(str(value).strip())
    except ValueError as exc:
        raise InputError(f"{value!r} is not a Kubernetes quantity (such as 512Mi, 2Gi or 1500m): {exc}") from exc
    if not amount.is_finite() or amount < 0:
        raise InputError(f"{value!r} is not a Kubernetes quantity (such as 512Mi, 2Gi or 1500m)")
    return amount


def is_quantity(value: Any) -> bool:
    try:
        _quantity(value)
    except InputError:
        return False
    return True


def parse_quantity(value: Any) -> int:
    """The whole units (bytes, cores) of a quantity, rounded down: '2Gi' -> 2147483648, '1500m' -> 1."""
    return int(_quantity(value))


def millicores(value: Any) -> int:
    """A CPU quantity in millicores: '2' -> 2000, '1500m' -> 1500."""
    return int(_quantity(value) * 1000)
