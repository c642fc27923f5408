"""VM actions (start, stop, migrate, ...) and VM create/update/remove.

Each action validates like the engine (409 "[Cannot run VM. VM is running.]"
and friends) before touching state, then schedules the engine's status
sequence, e.g. start: wait_for_launch -> powering_up -> up.
"""
from __future__ import annotations

import copy
import uuid
from typing import Any

import labtopology
from ovirtsdk4 import types

from . import render, seed
from .errors import ApiFault, bad_parameters, conflict, incomplete, not_found
from .render import RUNNING
from .routes import ROUTER, Call, Reply, action_done, lookup, ok
from .scheduling import candidates, check_target, no_host, step_ms
from .store import schedule

Record = dict[str, Any]
VM_ENUMS = {"bios/type": types.BiosType, "placement_policy/affinity": types.VmAffinity,
            "display/type": types.DisplayType}


def _vm(call: Call) -> Record:
    return lookup(call, "vms", call.params["id"], "vm")


def resolve(call: Call, table: str, reference: Any, kind: str) -> Record | None:
    """A referenced entity by id, else by name; 404 if named but missing."""
    if reference is None:
        return None
    if reference.id:
        record = call.state[table].get(reference.id)
        if record is None:
            raise not_found(kind, "id", reference.id)
        return record
    if getattr(reference, "name", None):
        for record in call.state[table].values():
            if record.get("name") == reference.name:
                return record
        raise not_found(kind, "name", reference.name)
    return None


def _transition(call: Call, vm: Record, steps: list[tuple[float, dict[str, Any]]]) -> None:
    schedule(vm, call.now, step_ms(), steps)
    call.changed()


def _down(call: Call) -> dict[str, Any]:
    return {"status": "down", "host_id": None, "start_ms": None, "stop_ms": call.now, "migration": None}


# ---- actions ----------------------------------------------------------------------------------

@ROUTER.add("POST", "/vms/{id}/start")
def start(call: Call) -> Reply:
    vm, action = _vm(call), render.parse(call.body, types.Action)
    status = vm["status"]
    if status == "image_locked":
        raise ApiFault(409, "[Cannot run VM: VM is locked. Please try again in a few minutes.]")
    if status == "paused":  # the engine resumes a paused VM on run
        _transition(call, vm, [(0, {"status": "up"})])
        return action_done(action)
    if status not in ("down", "suspended"):
        raise conflict("run", "VM", "VM is running.")
    host_id = _start_host(call, vm, action)
    if status == "suspended":
        steps = [(0, {"status": "restoring_state", "host_id": host_id, "start_ms": call.now}),
                 (1.5, {"status": "up"})]
    else:
        steps = [(0, {"status": "wait_for_launch", "host_id": host_id, "start_ms": call.now, "stop_ms": None}),
                 (1, {"status": "powering_up"}), (2, {"status": "up"})]
    _transition(call, vm, steps)
    return action_done(action)


def _start_host(call: Call, vm: Record, action: types.Action) -> str:
    """The host asked for in the action, else the least loaded allowed host."""
    wanted = None
    if action.vm is not None:
        placement = action.vm.placement_policy
        if placement is not None and placement.hosts:
            wanted = placement.hosts[0]
        elif action.vm.host is not None:
            wanted = action.vm.host
    host = resolve(call, "hosts", wanted, "Host")
    if host is not None:
        check_target(call.state, vm, host, "run")
        return host["id"]
    hosts = candidates(call.state, vm)
    if not hosts:
        raise no_host("run")
    return hosts[0]["id"]


@ROUTER.add("POST", "/vms/{id}/stop")
def stop(call: Call) -> Reply:
    vm, action = _vm(call), render.parse(call.body, types.Action)
    if vm["status"] in ("down", "image_locked"):
        raise conflict("stop", "VM", "VM is not running.")
    _transition(call, vm, [(0, _down(call))])
    return action_done(action)


@ROUTER.add("POST", "/vms/{id}/shutdown")
def shutdown(call: Call) -> Reply:
    vm, action = _vm(call), render.parse(call.body, types.Action)
    if vm["status"] in ("down", "image_locked"):
        raise conflict("shutdown", "VM", "VM is not running.")
    if vm["status"] == "suspended":
        _transition(call, vm, [(0, _down(call))])
    else:
        _transition(call, vm, [(0, {"status": "powering_down", "migration": None}), (1.5, _down(call))])
    return action_done(action)


@ROUTER.add("POST", "/vms/{id}/reboot")
def reboot(call: Call) -> Reply:
    vm, action = _vm(call), render.parse(call.body, types.Action)
    if vm["status"] not in ("up", "powering_up"):
        raise conflict("reboot", "VM", "VM is not up.")
    _transition(call, vm, [(0, {"status": "reboot_in_progress"}), (1.5, {"status": "up"})])
    return action_done(action)


@ROUTER.add("POST", "/vms/{id}/suspend")
def suspend(call: Call) -> Reply:
    vm, action = _vm(call), render.parse(call.body, types.Action)
    if vm["status"] != "up":
        raise conflict("hibernate", "VM", "VM is not up.")
    if vm["stateless"]:
        raise conflict("hibernate", "VM", "VM is stateless.")
    _transition(call, vm, [(0, {"status": "saving_state"}),
                           (1.5, {"status": "suspended", "host_id": None, "start_ms": None})])
    return action_done(action)


@ROUTER.add("POST", "/vms/{id}/migrate")
def migrate(call: Call) -> Reply:
    vm, action = _vm(call), render.parse(call.body, types.Action)
    if vm["status"] == "migrating":
        raise conflict("migrate", "VM", "VM is being migrated.")
    if vm["status"] != "up":
        raise conflict("migrate", "VM", "VM is not running." if vm["status"] not in RUNNING else "VM is not up.")
    if vm["affinity"] == "pinned" and not action.force:
        raise conflict("migrate", "VM", "VM is non migratable and user did not specify the force-migration flag")
    target = _migration_target(call, vm, action)
    source = vm["host_id"]
    _transition(call, vm, [(0, {"status": "migrating", "migration": {"source": source, "target": target}}),
                           (2.5, {"status": "up", "host_id": target, "migration": None})])
    return action_done(action)


def _migration_target(call: Call, vm: Record, action: types.Action) -> str:
    host = resolve(call, "hosts", action.host, "Host")
    if host is not None:
        if host["id"] == vm["host_id"]:
            raise conflict("migrate", "VM", "Migrating to the same Host is not allowed.")
        check_target(call.state, vm, host, "migrate")
        return host["id"]
    hosts = candidates(call.state, vm, exclude=vm["host_id"])
    if not hosts:
        raise no_host("migrate")
    return hosts[0]["id"]


@ROUTER.add("POST", "/vms/{id}/cancelmigration")
def cancel_migration(call: Call) -> Reply:
    vm, action = _vm(call), render.parse(call.body, types.Action)
    if vm["status"] != "migrating":
        raise ApiFault(409, "[Cannot cancel migration for non migrating VM.]")
    _transition(call, vm, [(0, {"status": "up", "migration": None})])
    return action_done(action)


# ---- create / update / remove -----------------------------------------------------------------

@ROUTER.add("POST", "/vms")
def add_vm(call: Call) -> Reply:
    body = render.parse(call.body, types.Vm)
    render.check_enums(call.body, VM_ENUMS)
    missing = [] if body.name else ["name"]
    if body.cluster is None or not (body.cluster.id or body.cluster.name):
        missing.append("cluster.id|name")
    if missing:
        raise incomplete("Vm", missing, "add")
    cluster = resolve(call, "clusters", body.cluster, "Cluster")
    template = resolve(call, "templates", body.template, "Template") or call.state["templates"][seed.BLANK_TEMPLATE_ID]
    _check_name_free(call, body.name, None, "add")
    vm_id = labtopology.stable_id("vm", body.name)
    if vm_id in call.state["vms"]:
        vm_id = str(uuid.uuid4())
    record = seed.new_vm_record(vm_id, body.name, cluster["id"], call.now)
    record.update({k: template[k] for k in ("memory", "cpu_sockets", "cpu_cores", "cpu_threads", "os_type")},
                  template_id=template["id"])
    _apply(call, record, body)
    call.state["vms"][vm_id] = record
    for index, spec in enumerate(template.get("disks", [])):
        seed.add_disk(call.state, body.name, vm_id, index, dict(spec, id=str(uuid.uuid4())))
    for index, spec in enumerate(template.get("nics", [])):
        seed.add_nic(call.state, body.name, vm_id, index, dict(spec, id=str(uuid.uuid4())))
    if template.get("disks"):  # the engine locks the VM while it copies template disks
        schedule(record, call.now, step_ms(), [(0, {"status": "image_locked"}), (2, {"status": "down"})])
    call.changed()
    return ok(render.build("vm", call.state, record), render.LINKS["vm"], status=201)


@ROUTER.add("PUT", "/vms/{id}")
def update_vm(call: Call) -> Reply:
    vm = _vm(call)
    body = render.parse(call.body, types.Vm)
    render.check_enums(call.body, VM_ENUMS)
    updated = copy.deepcopy(vm)
    if body.name and body.name != vm["name"]:
        _check_name_free(call, body.name, vm["id"], "update")
    cluster = resolve(call, "clusters", body.cluster, "Cluster")
    if cluster is not None and cluster["id"] != vm["cluster_id"]:
        if vm["status"] != "down":
            raise ApiFault(409, "[Cannot update a VM in this status. Try stopping the VM first.]")
        updated.update(cluster_id=cluster["id"], placement_host_ids=[])
    _apply(call, updated, body)
    call.state["vms"][vm["id"]] = updated
    call.changed()
    return ok(render.build("vm", call.state, updated), render.LINKS["vm"])


@ROUTER.add("DELETE", "/vms/{id}")
def remove_vm(call: Call) -> Reply:
    vm = _vm(call)
    if vm["status"] != "down":
        raise conflict("remove", "VM", "VM is running.")
    if vm["delete_protected"]:
        raise conflict("remove", "VM", "Delete protection is enabled. In order to delete, disable "
                                       "Delete protection first.")
    state, detach_only = call.state, call.flag("detach_only")
    del state["vms"][vm["id"]]
    state["nics"] = {k: n for k, n in state["nics"].items() if n["vm_id"] != vm["id"]}
    for disk_id, disk in list(state["disks"].items()):
        if disk["vm_id"] == vm["id"]:
            if detach_only:
                disk["vm_id"] = None
            else:
                del state["disks"][disk_id]
    call.changed()
    return Reply(200)


def _check_name_free(call: Call, name: str, own_id: str | None, action: str) -> None:
    if any(v["name"] == name and v["id"] != own_id for v in call.state["vms"].values()):
        raise conflict(action, "VM", "The given name is already in use.")


def _apply(call: Call, record: Record, body: types.Vm) -> None:
    """Copy the writable fields present in a Vm body onto a record."""
    for field in ("name", "description", "comment", "stateless", "delete_protected"):
        if getattr(body, field) is not None:
            record[field] = getattr(body, field)
    if body.memory is not None:
        if body.memory <= 0:
            raise bad_parameters("update", "VM", "Memory size must be positive.")
        record["memory"] = body.memory
    topology = body.cpu.topology if body.cpu is not None else None
    if topology is not None:
        for part in ("sockets", "cores", "threads"):
            if getattr(topology, part) is not None:
                record[f"cpu_{part}"] = getattr(topology, part)
    _apply_nested(call, record, body)


def _apply_nested(call: Call, record: Record, body: types.Vm) -> None:
    if body.memory_policy is not None:
        record["memory_guaranteed"] = body.memory_policy.guaranteed or record["memory_guaranteed"]
        record["memory_max"] = body.memory_policy.max or record["memory_max"]
    if body.os is not None and body.os.type:
        record["os_type"] = body.os.type
    if body.bios is not None and body.bios.type is not None:
        record["bios_type"] = body.bios.type.value
    if body.display is not None and body.display.type is not None:
        record["display"] = body.display.type.value
    if body.high_availability is not None:
        ha = body.high_availability
        record["ha"] = record["ha"] if ha.enabled is None else ha.enabled
        record["ha_priority"] = record["ha_priority"] if ha.priority is None else ha.priority
    if body.placement_policy is not None:
        policy = body.placement_policy
        if policy.affinity is not None:
            record["affinity"] = policy.affinity.value
        if policy.hosts is not None:
            hosts = [resolve(call, "hosts", h, "Host") for h in policy.hosts]
            record["placement_host_ids"] = [h["id"] for h in hosts if h is not None]
    if body.custom_properties is not None:
        record["custom_properties"] = [{"name": p.name, "value": p.value} for p in body.custom_properties]
