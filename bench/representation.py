# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ovirt_kubevirt.bridge contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Conversions per second: domxml -> representation -> VirtualMachine manifest.

Run from the repository root:

    PYTHONPATH=.build/collections python -m bench.representation [--seconds 1.0]

Single core: the process pins itself to one CPU where the OS allows it. Each
sample of tests/data/domxml is converted for about ``--seconds`` per stage;
the table gives conversions per second for each stage and end to end, and
``run()`` returns the same figures as a dict. "to manifest" translates a
representation built in the same process (its domxml is not parsed again);
"(cold)" clears that memory first, as a process that received the
representation from elsewhere would. "end to end" is one domxml through both
stages, which parses it once.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any, Callable, Dict

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "tests" / "data" / "domxml"
if str(ROOT / ".build" / "collections") not in sys.path:
    sys.path.append(str(ROOT / ".build" / "collections"))

from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.domxml.representation import (  # noqa: E402
    build_representation,
    clear_parsed_cache,
)
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.kubevirt.vm_manifest import representation_to_vm  # noqa: E402

STORAGE_MAP = {"*": {"pvc_name": "{vm}-{disk_id}"}}
NETWORK_MAP = {"*": "multus:default/ovirtmgmt"}


def _rate(operation: Callable[[], Any], seconds: float) -> float:
    """Operations per second, timing batches until ``seconds`` have passed."""
    operation()  # warm caches (compiled regexes, lxml) outside the measurement
    done, batch, elapsed = 0, 1, 0.0
    while elapsed < seconds:
        start = time.perf_counter()
        for _run in range(batch):
            operation()
        elapsed += time.perf_counter() - start
        done += batch
        batch = min(batch * 2, 256)
    return done / elapsed


def _cold_translation(representation: Dict[str, Any]) -> Any:
    # As in a process that did not build the representation: the domxml is parsed again.
    clear_parsed_cache()
    return representation_to_vm(representation, STORAGE_MAP, NETWORK_MAP)


def _pin_to_one_cpu() -> str:
    if hasattr(os, "sched_setaffinity"):
        cpu = min(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cpu})
        return f"pinned to CPU {cpu}"
    return "not pinned (no sched_setaffinity)"


def run(seconds: float = 1.0) -> Dict[str, Dict[str, float]]:
    """{sample name: {stage: conversions per second}}, plus an "all samples" row (harmonic mean)."""
    results: Dict[str, Dict[str, float]] = {}
    for path in sorted(SAMPLES.glob("*.xml")):
        domxml = path.read_text(encoding="utf-8")
        representation = build_representation(domxml)
        results[path.stem] = {
            "to_representation": _rate(lambda domxml=domxml: build_representation(domxml), seconds),
            "to_manifest": _rate(lambda rep=representation: representation_to_vm(rep, STORAGE_MAP, NETWORK_MAP), seconds),
            "to_manifest_cold": _rate(lambda rep=representation: _cold_translation(rep), seconds),
            "end_to_end": _rate(
                lambda domxml=domxml: representation_to_vm(build_representation(domxml), STORAGE_MAP, NETWORK_MAP), seconds
            ),
        }
    stages = ("to_representation", "to_manifest", "to_manifest_cold", "end_to_end")
    results["all samples"] = {
        stage: len(results) / sum(1 / row[stage] for row in results.values()) for stage in stages
    }
    return results


def main(argv: Any = None) -> Dict[str, Dict[str, float]]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=1.0, help="time per sample and stage")
    args = parser.parse_args(argv)
    pinning = _pin_to_one_cpu()
    results = run(args.seconds)
    width = max(len(name) for name in results)
    print(f"domxml -> representation -> manifest, conversions per second ({pinning}, Python {sys.version.split()[0]})")
    print(f"{'sample':<{width}}  {'to repr.':>10}  {'to manifest':>11}  {'(cold)':>8}  {'end to end':>10}")
    for name, row in results.items():
        print(
            f"{name:<{width}}  {row['to_representation']:>10.0f}  {row['to_manifest']:>11.0f}  "
            f"{row['to_manifest_cold']:>8.0f}  {row['end_to_end']:>10.0f}"
        )
    return results


if __name__ == "__main__":
    main()
