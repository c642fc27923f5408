# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ovirt_kubevirt.bridge contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What each module ships: the collection's module_utils in ansible-core's own AnsiballZ payload.

    python -m bench.payload [MODULE ...]

Runs each module once on localhost with no arguments (it fails on its argument
spec, which is fine: the payload is built before it runs), keeps the remote
file (ANSIBLE_KEEP_REMOTE_FILES) and lists the collection's files in its zip.
Needs ANSIBLE_COLLECTIONS_PATH to find the collection (make sets it).
"""
from __future__ import annotations

import base64
import io
import json
import os
import re
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PREFIX = "ansible_collections/ovirt_kubevirt/bridge/plugins/module_utils/"
ZIP_DATA = re.compile(r"zip_data='([A-Za-z0-9+/=]+)'")


def modules() -> list[str]:
    return sorted(p.stem for p in (ROOT / "plugins" / "modules").glob("*.py") if p.stem != "__init__")


def shipped(module: str) -> dict[str, int]:
    """The collection's module_utils files in the module's payload, with their sizes in bytes."""
    with tempfile.TemporaryDirectory() as keep:
        env = {**os.environ, "ANSIBLE_KEEP_REMOTE_FILES": "1", "ANSIBLE_REMOTE_TMP": keep,
               "ANSIBLE_LOCALHOST_WARNING": "false", "ANSIBLE_INVENTORY_UNPARSED_WARNING": "false"}
        ansible = str(Path(sys.executable).parent / "ansible")
        subprocess.run([ansible, "localhost", "-c", "local", "-m", f"ovirt_kubevirt.bridge.{module}"],
                       env=env, capture_output=True, text=True, check=False)
        wrappers = list(Path(keep).rglob(f"AnsiballZ_{module}.py"))
        if not wrappers:
            raise RuntimeError(f"ansible built no payload for {module}")
        found = ZIP_DATA.search(wrappers[0].read_text())
        if not found:
            raise RuntimeError(f"no zip_data in {wrappers[0]}")
        with zipfile.ZipFile(io.BytesIO(base64.b64decode(found.group(1)))) as payload:
            return {info.filename[len(PREFIX):]: info.file_size for info in payload.infolist()
                    if info.filename.startswith(PREFIX) and info.filename.endswith(".py")
                    and not info.filename.endswith("__init__.py")}


def run(names: list[str] | None = None) -> dict[str, dict[str, int]]:
    figures = {}
    total = sum(1 for p in (ROOT / "plugins" / "module_utils").rglob("*.py") if p.name != "__init__.py")
    for module in names or modules():
        files = shipped(module)
        figures[module] = {"files": len(files), "of": total, "bytes": sum(files.values())}
    return figures


if __name__ == "__main__":
    print(json.dumps(run(sys.argv[1:] or None), indent=1))
