"""Host maintenance (deactivate/activate) and host updates (external_status)."""
from __future__ import annotations

from typing import Any

from ovirtsdk4 import types

from . import render
from .errors import ApiFault
from .event_ops import log_engine_event
from .routes import ROUTER, Call, Reply, action_done, lookup, ok
from .scheduling import step_ms, vms_on
from .store import schedule

# Audit log codes the engine uses for these host events.
USER_VDS_MAINTENANCE = 600
USER_VDS_MAINTENANCE_WITHOUT_REASON = 620
VDS_ACTIVATE = 16


def _host(call: Call) -> dict[str, Any]:
    return lookup(call, "hosts", call.params["id"], "host")


@ROUTER.add("POST", "/hosts/{id}/deactivate")
def deactivate(call: Call) -> Reply:
    host, action = _host(call), render.parse(call.body, types.Action)
    if host["status"] in ("maintenance", "preparing_for_maintenance"):
        raise ApiFault(409, "[Cannot switch Host to Maintenance mode. Host is already in Maintenance mode.]")
    running = vms_on(call.state, host["id"])
    if running:
        # The engine would migrate them away; the lab refuses so callers must do it.
        names = ", ".join(sorted(v["name"] for v in running))
        raise ApiFault(409, f"[Cannot switch Host {host['name']} to Maintenance mode. "
                            f"The following VMs are running on it: {names}.]")
    reason = action.reason or None
    schedule(host, call.now, step_ms(), [
        (0, {"status": "preparing_for_maintenance", "maintenance_reason": reason}),
        (1, {"status": "maintenance"}),
    ])
    if reason:
        text = f"Host {host['name']} was switched to Maintenance mode by {call.user} (Reason: {reason})."
        code = USER_VDS_MAINTENANCE
    else:
        text = f"Host {host['name']} was switched to Maintenance mode by {call.user}."
        code = USER_VDS_MAINTENANCE_WITHOUT_REASON
    log_engine_event(call, code, text, host_id=host["id"], cluster_id=host["cluster_id"])
    call.changed()
    return action_done(action)


@ROUTER.add("POST", "/hosts/{id}/activate")
def activate(call: Call) -> Reply:
    host, action = _host(call), render.parse(call.body, types.Action)
    if host["status"] == "up":
        raise ApiFault(409, "[Cannot activate Host. Host in Up status.]")
    schedule(host, call.now, step_ms(), [(0, {"status": "up", "maintenance_reason": None, "status_detail": None})])
    log_engine_event(call, VDS_ACTIVATE, f"Activation of host {host['name']} initiated by {call.user}.",
                     host_id=host["id"], cluster_id=host["cluster_id"])
    call.changed()
    return action_done(action)


@ROUTER.add("PUT", "/hosts/{id}")
def update_host(call: Call) -> Reply:
    host = _host(call)
    body = render.parse(call.body, types.Host)
    render.check_enums(call.body, {"external_status": types.ExternalStatus})
    if body.name and body.name != host["name"]:
        if any(h["name"] == body.name for h in call.state["hosts"].values()):
            raise ApiFault(409, "[Cannot edit Host. The given name is already in use.]")
        host["name"] = body.name
    if body.external_status is not None:
        host["external_status"] = body.external_status.value
    for field in ("description", "comment"):
        if getattr(body, field) is not None:
            host[field] = getattr(body, field)
    call.changed()
    return ok(render.build("host", call.state, host), render.LINKS["host"])
