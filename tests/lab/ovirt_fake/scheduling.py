"""Host choice and timing shared by VM and host operations."""
from __future__ import annotations

from typing import Any

from .errors import conflict
from .render import RUNNING
from .seed import State

# One transition step; the CLI may change it (--step-s). Whole transitions
# take 1-3 steps, so tests can observe intermediate states without waiting.
TIMING = {"step_ms": 200}

Record = dict[str, Any]


def step_ms() -> int:
    return TIMING["step_ms"]


def vms_on(state: State, host_id: str) -> list[Record]:
    """VMs that occupy a host: running there or migrating to it."""
    found = []
    for vm in state["vms"].values():
        target = (vm.get("migration") or {}).get("target")
        if vm["status"] in RUNNING and (vm["host_id"] == host_id or target == host_id):
            found.append(vm)
    return found


def load_key(state: State, host: Record) -> tuple[int, int, str]:
    vms = vms_on(state, host["id"])
    return (len(vms), sum(v["memory"] for v in vms), host["name"])


def candidates(state: State, vm: Record, exclude: str | None = None) -> list[Record]:
    """Up hosts of the VM's cluster, limited to its placement hosts if it has any."""
    allowed = set(vm["placement_host_ids"])
    hosts = [h for h in state["hosts"].values()
             if h["cluster_id"] == vm["cluster_id"] and h["status"] == "up" and h["id"] != exclude
             and (not allowed or h["id"] in allowed)]
    return sorted(hosts, key=lambda h: load_key(state, h))


def no_host(action: str, detail: str = "") -> Exception:
    message = "There is no host that satisfies current scheduling constraints. See below for details:"
    return conflict(action, "VM", f"{message}{', ' + detail if detail else ''}")


def check_target(state: State, vm: Record, host: Record, action: str) -> None:
    """A host the user asked for must be a valid place for the VM."""
    if host["cluster_id"] != vm["cluster_id"]:
        raise conflict(action, "VM", f"Destination host {host['name']} is not in the VM's cluster.")
    if host["status"] != "up":
        raise no_host(action, f"The host {host['name']} did not satisfy internal filter Status because it is "
                              f"{host['status']}.")
    if vm["placement_host_ids"] and host["id"] not in vm["placement_host_ids"]:
        raise no_host(action, f"The host {host['name']} did not satisfy internal filter PinToHost because "
                              "it is not one of the VM's specific hosts.")
