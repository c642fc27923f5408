# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ovirt_kubevirt.bridge contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Deterministic names: Kubernetes-safe object names and oVirt event custom ids.

oVirt names allow characters and lengths Kubernetes refuses. The mapping is
deterministic (the same oVirt name always gives the same Kubernetes name) and
collision-safe (a changed name carries a short hash of the original), and
callers report when a name was changed.
"""
from __future__ import annotations

import hashlib
import re
from typing import Tuple

DNS1123_LABEL_MAX = 63
_INVALID = re.compile(r"[^a-z0-9-]+")
_DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_LABEL_NAME = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")
# oVirt's event custom_id is a Java int; keep ids positive and below 2**31.
_CUSTOM_ID_MODULUS = 2**31 - 1


def is_dns1123_label(name: str) -> bool:
    return len(name) <= DNS1123_LABEL_MAX and bool(_DNS1123_LABEL.match(name))


def is_label_name(name: str) -> bool:
    """Whether ``name`` is valid as the name part of a label key (after the prefix)."""
    return len(name) <= DNS1123_LABEL_MAX and bool(_LABEL_NAME.match(name))


def kubernetes_name(name: str, max_length: int = DNS1123_LABEL_MAX) -> Tuple[str, bool]:
    """A DNS-1123 label for ``name`` and whether it differs from ``name``."""
    if is_dns1123_label(name) and len(name) <= max_length:
        return name, False
    digest = hashlib.sha256(name.encode("utf-8")).hexdigest()[:8]
    base = _INVALID.sub("-", name.lower()).strip("-") or "vm"
    base = base[: max_length - len(digest) - 1].rstrip("-")
    return f"{base}-{digest}", True


def event_custom_id(*parts: str) -> int:
    """A deterministic positive 31-bit id for an oVirt event, so replays post nothing new."""
    digest = hashlib.sha256("\x1f".join(parts).encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % _CUSTOM_ID_MODULUS + 1
