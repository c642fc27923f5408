"""Events (the engine's audit log): list, get, add external events, remove.

The uniqueness rule is the engine's AddExternalEventCommand.validate(): an
event whose (origin, custom_id) pair already exists in the audit log is
refused with EXTERNAL_EVENT_DUPLICATE_CUSTOM_ID, an ErrorType.BAD_PARAMETERS
message, so HTTP 400 "Operation Failed" /
"[Cannot add External Event. External Event with this custom id already exists.]".
The lookup (GetAuditLogByOriginAndCustomEventId) also sees removed events,
because removing only flags an audit log row as deleted; the pair stays taken.
Origin "oVirt" (any case) is reserved for the engine's own events.
"""
from __future__ import annotations

from typing import Any

from ovirtsdk4 import types

from . import render, search
from .errors import ApiFault, bad_parameters, incomplete
from .routes import ROUTER, Call, Reply, listing, ok

# AuditLogType codes of external events, by severity.
EXTERNAL_CODES = {"normal": 9801, "warning": 9802, "error": 9803, "alert": 9804}
ENGINE_ORIGIN = "oVirt"
LINK_FIELDS = (("vm", "vm_id"), ("host", "host_id"), ("cluster", "cluster_id"), ("data_center", "data_center_id"),
               ("storage_domain", "storage_domain_id"), ("template", "template_id"))


def _store_event(call: Call, fields: dict[str, Any]) -> dict[str, Any]:
    index = call.state["next_event_index"]
    call.state["next_event_index"] = index + 1
    record = {"index": index, "time_ms": call.now, "deleted": False, "flood_rate": None,
              "correlation_id": None, "custom_data": None, **fields}
    call.state["events"][str(index)] = record
    call.changed()
    return record


def log_engine_event(call: Call, code: int, description: str, severity: str = "normal", **links: str) -> None:
    """An event the engine itself logs (origin oVirt, custom id -1)."""
    _store_event(call, {"code": code, "severity": severity, "description": description,
                        "origin": ENGINE_ORIGIN, "custom_id": -1, **links})


def _visible(call: Call) -> list[dict[str, Any]]:
    return [e for e in call.state["events"].values() if not e["deleted"]]


def _event(call: Call) -> dict[str, Any]:
    record = call.state["events"].get(call.params["id"])
    if record is None or record["deleted"]:
        raise ApiFault(404, f"Entity not found: event: id={call.params['id']}")
    return record


def _fields(call: Call) -> dict[str, search.Accessor]:
    """The engine's event search fields (AuditLogConditionFieldAutoCompleter), no others."""
    state = call.state

    def name_of(table: str, key: str) -> search.Accessor:
        return lambda r: (state[table].get(r.get(key) or "") or {}).get("name")

    return {
        "type": lambda r: r["code"], "severity": lambda r: r["severity"], "message": lambda r: r["description"],
        "usrname": lambda r: None if r["origin"] != ENGINE_ORIGIN else "admin@internal",
        "event_host": name_of("hosts", "host_id"), "event_vm": name_of("vms", "vm_id"),
        "event_template": name_of("templates", "template_id"),
        "event_storage": name_of("storage_domains", "storage_domain_id"),
        "event_datacenter": name_of("datacenters", "data_center_id"),
        "correlation_id": lambda r: r.get("correlation_id"), "origin": lambda r: r["origin"],
        "custom_event_id": lambda r: r["custom_id"], "deleted": lambda r: "true" if r["deleted"] else "false",
        "_event_vm_id": lambda r: r.get("vm_id"), "_event_host_id": lambda r: r.get("host_id"),
        "_event_template_id": lambda r: r.get("template_id"),
        "_event_storage_id": lambda r: r.get("storage_domain_id"),
        "_event_datacenter_id": lambda r: r.get("data_center_id"),
    }


@ROUTER.add("GET", "/events")
def list_events(call: Call) -> Reply:
    predicate = search.matcher(call.query.get("search"), _fields(call),
                               case_sensitive=call.flag("case_sensitive", default=True))
    after = call.integer("from")
    # Removed events stay in the audit log; only a search on 'deleted' shows them.
    pool = call.state["events"].values() if search.mentions(call.query.get("search"), "deleted") else _visible(call)
    rows = [e for e in pool if predicate(e) and (after is None or e["index"] > after)]
    rows.sort(key=lambda e: e["index"], reverse=True)  # newest first, like the engine
    limit = call.integer("max")
    if limit is not None and limit >= 0:
        rows = rows[:limit]
    return listing(types.Event, [render.build("event", call.state, e) for e in rows])


@ROUTER.add("GET", "/events/{id}")
def get_event(call: Call) -> Reply:
    return ok(render.build("event", call.state, _event(call)))


@ROUTER.add("DELETE", "/events/{id}")
def remove_event(call: Call) -> Reply:
    record = _event(call)
    record["deleted"] = True  # the engine flags the row; its (origin, custom_id) stays taken
    call.changed()
    return Reply(200)


@ROUTER.add("POST", "/events")
def add_event(call: Call) -> Reply:
    body = render.parse(call.body, types.Event)
    render.check_enums(call.body, {"severity": types.LogSeverity})
    present = {"origin": body.origin, "severity": body.severity, "customId": body.custom_id,
               "description": body.description}
    missing = [name for name, value in present.items() if value is None or value == ""]
    if missing:
        raise incomplete("Event", missing, "add")
    if body.origin.lower() == ENGINE_ORIGIN.lower():
        raise bad_parameters("add", "External Event", "Illegal Origin for External Event : oVirt")
    if any(e["origin"] == body.origin and e["custom_id"] == body.custom_id for e in call.state["events"].values()):
        raise bad_parameters("add", "External Event", "External Event with this custom id already exists.")
    severity = body.severity.value
    fields: dict[str, Any] = {
        "code": EXTERNAL_CODES[severity], "severity": severity, "description": body.description,
        "origin": body.origin, "custom_id": body.custom_id, "flood_rate": body.flood_rate,
        "correlation_id": body.correlation_id, "custom_data": body.custom_data,
    }
    for attr, key in LINK_FIELDS:
        reference = getattr(body, attr)
        if reference is not None and reference.id:  # the engine maps linked entities by id only
            fields[key] = reference.id
    return ok(render.build("event", call.state, _store_event(call, fields)), status=201)
