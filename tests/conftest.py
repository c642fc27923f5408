# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ovirt_kubevirt.bridge contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Make the repository importable as ansible_collections.ovirt_kubevirt.bridge.

Creates (when missing) .build/collections/ansible_collections/ovirt_kubevirt/bridge
as a symlink to the repository root, as `make setup` does, and puts
.build/collections on sys.path. Paths are derived from this file's location.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
COLLECTIONS = REPO_ROOT / ".build" / "collections"
LINK = COLLECTIONS / "ansible_collections" / "ovirt_kubevirt" / "bridge"


def _ensure_collection_link() -> None:
    LINK.parent.mkdir(parents=True, exist_ok=True)
    if LINK.is_symlink() and LINK.resolve() == REPO_ROOT:
        return
    try:
        os.symlink(REPO_ROOT, LINK, target_is_directory=True)
    except FileExistsError:
        # Another test run (or make setup) made it meanwhile; it must point here.
        if LINK.resolve() != REPO_ROOT:
            raise RuntimeError(f"{LINK} exists but does not point to {REPO_ROOT}; remove it and rerun") from None


_ensure_collection_link()
if str(COLLECTIONS) not in sys.path:
    sys.path.insert(0, str(COLLECTIONS))
