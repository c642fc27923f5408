# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ovirt_kubevirt.bridge contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The dependency rule of plugins/module_utils: a layer imports only the layers below it.

    _ansible -> operations -> records -> clients -> kubevirt -> {domxml, scheduling} -> model -> common

Inside ``operations`` each use case stands alone (``COMPOSED`` names the ones
built on another); what they share lives in ``operations/targets.py``. Only ``_ansible`` imports ``ansible``.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

MODULE_UTILS = Path(__file__).resolve().parents[2] / "plugins" / "module_utils"
PREFIX = "ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils"
RANK = {"common": 0, "model": 1, "domxml": 2, "scheduling": 2, "kubevirt": 3, "clients": 4, "records": 5,
        "operations": 6, "_ansible": 7}
SHARED_OPERATIONS = {"targets"}
# A use case built on another one, with the reason.
COMPOSED = {("vm_deploy", "vm_run"): "a deployment starts its running VMs exactly as vm_run does",
            ("vm_run_wait", "vm_run"): "a milestone-1 rerun places the VM again exactly as vm_run does"}


def imports(path: Path) -> list[str]:
    """The modules a file imports: ``from pkg import mod`` counts pkg.mod, ``from pkg.mod import f`` pkg.mod."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            depth = len(node.module[len(PREFIX):].split(".")) - 1 if node.module.startswith(PREFIX) else 2
            found += [f"{node.module}.{alias.name}" for alias in node.names] if depth < 2 else [node.module]
    return found


def violations(path: Path, root: Path = MODULE_UTILS) -> list[str]:
    layer, stem = path.relative_to(root).parts[0], path.stem
    wrong = []
    for name in imports(path):
        if name == "ansible" or name.startswith("ansible."):
            if layer != "_ansible":
                wrong.append(f"{name}: only _ansible imports ansible")
            continue
        if not name.startswith(PREFIX + "."):
            continue
        target, _dot, module = name[len(PREFIX) + 1:].partition(".")
        if target not in RANK:
            wrong.append(f"{name}: not in a layer")
        elif target == layer:
            used = module.split(".")[0]
            if layer == "operations" and SHARED_OPERATIONS.isdisjoint({stem, used}) and (stem, used) not in COMPOSED:
                wrong.append(f"{name}: use cases do not import each other; share through operations/targets.py")
        elif RANK[target] >= RANK[layer]:
            wrong.append(f"{name}: {layer} may not import {target}")
    return wrong


FILES = sorted(p for p in MODULE_UTILS.rglob("*.py") if p.name != "__init__.py")


def test_every_file_is_in_a_layer():
    assert [str(p.relative_to(MODULE_UTILS)) for p in FILES if len(p.relative_to(MODULE_UTILS).parts) != 2
            or p.relative_to(MODULE_UTILS).parts[0] not in RANK] == []


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(MODULE_UTILS)))
def test_imports_follow_the_layers(path):
    assert violations(path) == []


def test_the_rule_catches_upward_and_sideways_imports(tmp_path):
    (tmp_path / "model").mkdir()
    (tmp_path / "operations").mkdir()
    upward = tmp_path / "model" / "bad.py"
    upward.write_text(f"from {PREFIX}.clients import k8s_service\nfrom ansible.module_utils.basic import AnsibleModule\n")
    sideways = tmp_path / "operations" / "vm_operation.py"
    sideways.write_text(f"from {PREFIX}.operations.vm_run import plan_targets\nfrom {PREFIX}.operations import targets\n")
    assert violations(upward, tmp_path) == [f"{PREFIX}.clients.k8s_service: model may not import clients",
                                            "ansible.module_utils.basic: only _ansible imports ansible"]
    assert violations(sideways, tmp_path) == [
        f"{PREFIX}.operations.vm_run: use cases do not import each other; share through operations/targets.py"]
