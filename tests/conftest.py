"""Makes the collection importable as ansible_collections.ovirt_kubevirt.bridge.

`make setup` links the repository into .build/collections; this does the same
when pytest runs on its own, so tests import the real collection code.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
COLLECTIONS = REPO_ROOT / ".build" / "collections"
LINK = COLLECTIONS / "ansible_collections" / "ovirt_kubevirt" / "bridge"

if not LINK.exists():
    LINK.parent.mkdir(parents=True, exist_ok=True)
    os.symlink(REPO_ROOT, LINK)
if str(COLLECTIONS) not in sys.path:
    sys.path.insert(0, str(COLLECTIONS))
