# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ovirt_kubevirt.bridge contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Kubernetes quantities: one grammar (the kubernetes library's) for every reader in the collection."""
from __future__ import annotations

import pytest

from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.common.errors import InputError
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.common.quantities import (
    is_quantity,
    millicores,
    parse_quantity,
)


@pytest.mark.parametrize("text, value", [
    ("2Gi", 2 * 1024**3), ("512Mi", 512 * 1024**2), ("1.5Gi", 3 * 1024**3 // 2), ("10G", 10**10),
    ("1500m", 1), ("64", 64), ("1k", 1000), ("0", 0),
])
def test_quantities_read_as_whole_units(text, value):
    assert parse_quantity(text) == value
    assert is_quantity(text)


@pytest.mark.parametrize("text, value", [("2", 2000), ("1500m", 1500), ("0.5", 500), ("100m", 100)])
def test_cpu_quantities_in_millicores(text, value):
    assert millicores(text) == value


@pytest.mark.parametrize("text", ["", "Gi", "2GB", "two", "1ki", "-1Gi", "Infinity", "NaN"])
def test_anything_else_is_refused_with_the_value(text):
    assert not is_quantity(text)
    with pytest.raises(InputError, match="not a Kubernetes quantity"):
        parse_quantity(text)
