# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ovirt_kubevirt.bridge contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""oVirt engine operations the collection needs, over an ovirtsdk4 Connection.

Lookups by name or id with errors that name what is missing, events whose
(origin, custom_id) pair makes a replay a no-op, host maintenance with a
reason, and VM actions. Engine faults are re-raised with their reason.
"""
from __future__ import annotations

import queue
import re
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, TypeVar

from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.clients.ovirt_client import (
    describe_error,
    require_ovirtsdk,
)
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.common.errors import (
    ApiError,
    ConflictError,
    InputError,
    NotFoundError,
)
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.common.services import OvirtApi

T = TypeVar("T")
EVENT_ORIGIN = "ovirt_kubevirt"
EVENT_SEVERITIES = ("normal", "warning", "error", "alert")


# The engine's ids are UUIDs.
_ENGINE_ID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


def _search_value(value: str) -> str:
    """Quote a value for the engine's search language, so input cannot add clauses."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


class OvirtService:
    """Engine reads and writes, with the collection's errors."""

    def __init__(self, connection: Any, logout: bool = True) -> None:
        self.sdk = require_ovirtsdk()
        self.connection = connection
        # False when the connection uses a token the user gave: closing must not revoke it.
        self.logout = logout
        self.system = connection.system_service()

    def call(self, what: str, func: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except self.sdk.NotFoundError as exc:
            raise NotFoundError(f"{what}: not found ({describe_error(exc)})", status=404) from exc
        except self.sdk.Error as exc:
            code = getattr(exc, "code", None)
            if code is None:  # no HTTP answer: unreachable, TLS, or timed out
                raise ApiError(f"{what}: no answer from the oVirt engine: {describe_error(exc)}",
                               reason=describe_error(exc)) from exc
            error_class = ConflictError if code == 409 else ApiError
            raise error_class(f"{what}: the oVirt engine refused: {describe_error(exc)}", status=code,
                              reason=describe_error(exc)) from exc

    # -- lookups ------------------------------------------------------------
    def cluster(self, name_or_id: str) -> Any:
        return self._find(self.system.clusters_service(), "cluster", name_or_id)

    def host(self, name_or_id: str) -> Any:
        return self._find(self.system.hosts_service(), "host", name_or_id)

    def vm(self, name_or_id: str, all_content: bool = True) -> Any:
        return self._find(self.system.vms_service(), "VM", name_or_id, all_content=all_content)

    def datacenter(self, name_or_id: str) -> Any:
        return self._find(self.system.data_centers_service(), "datacenter", name_or_id)

    def _find(self, collection: Any, kind: str, name_or_id: str, **kwargs: Any) -> Any:
        if not name_or_id:
            raise InputError(f"no {kind} named: give its name or id")
        found = self.call(f"looking up {kind} {name_or_id!r}", collection.list,
                          search=f"name={_search_value(name_or_id)}", **kwargs)
        matches = [obj for obj in found if obj.name == name_or_id]
        if not matches:
            if not _ENGINE_ID.match(name_or_id):
                # Only an id may become part of the URL: a name like '../hosts/<id>' must not reach another object.
                raise NotFoundError(f"the oVirt engine has no {kind} named or with id {name_or_id!r}")
            try:
                return self.call(f"looking up {kind} {name_or_id!r}", collection.service(name_or_id).get, **kwargs)
            except (NotFoundError, ApiError):
                raise NotFoundError(f"the oVirt engine has no {kind} named or with id {name_or_id!r}") from None
        if len(matches) > 1:
            raise InputError(f"{len(matches)} {kind}s are named {name_or_id!r}; give the id instead")
        return matches[0]

    def clusters(self) -> List[Any]:
        return self.call("listing clusters", self.system.clusters_service().list)

    def hosts(self, cluster_name: Optional[str] = None) -> List[Any]:
        search = f"cluster={_search_value(cluster_name)}" if cluster_name else None
        return self.call("listing hosts", self.system.hosts_service().list, search=search)

    def vms(self, cluster_name: Optional[str] = None, all_content: bool = False) -> List[Any]:
        search = f"cluster={_search_value(cluster_name)}" if cluster_name else None
        return self.call("listing VMs", self.system.vms_service().list, search=search, all_content=all_content)

    # -- events ---------------------------------------------------------------
    def event_exists(self, custom_id: int) -> bool:
        events = self.call("reading events", self.system.events_service().list,
                           search=f"origin={EVENT_ORIGIN} and custom_event_id={custom_id}")
        return any(e.origin == EVENT_ORIGIN and e.custom_id == custom_id for e in events)

    def post_event(self, custom_id: int, description: str, severity: str = "normal", *,
                   cluster_id: Optional[str] = None, host_id: Optional[str] = None,
                   vm_id: Optional[str] = None, check_mode: bool = False, likely_new: bool = False) -> bool:
        """Post an audit event once; False when this (origin, custom_id) was already posted.

        Callers that post the same event on every run search first, so a rerun
        writes nothing. With ``likely_new`` (the caller's own records say the
        event is new) it is posted straight away, and the engine's refusal of a
        known (origin, custom_id) is what tells a replay: one call per event.
        """
        if severity not in EVENT_SEVERITIES:
            raise InputError(f"unknown event severity {severity!r}; use one of {', '.join(EVENT_SEVERITIES)}")
        if (check_mode or not likely_new) and self.event_exists(custom_id):
            return False
        if check_mode:
            return True
        types = self.sdk.types
        event = types.Event(
            origin=EVENT_ORIGIN,
            custom_id=custom_id,
            severity=types.LogSeverity(severity),
            description=description[:4000],
            cluster=types.Cluster(id=cluster_id) if cluster_id else None,
            host=types.Host(id=host_id) if host_id else None,
            vm=types.Vm(id=vm_id) if vm_id else None,
        )
        try:
            self.call("posting an event", self.system.events_service().add, event)
        except (ConflictError, ApiError) as exc:
            # The engine answers 400 when (origin, custom_id) exists: posted before
            # (a replay) or by a concurrent writer. One call per new event, then.
            if self.event_exists(custom_id):
                return False
            raise exc
        return True

    # -- hosts ----------------------------------------------------------------
    def deactivate_host(self, host: Any, reason: str) -> bool:
        """Put a host into maintenance with a reason; False when it already is."""
        if status_of(host) == "maintenance":
            return False
        service = self.system.hosts_service().host_service(host.id)
        self.call(f"moving host {host.name} to maintenance", service.deactivate, reason=reason)
        return True

    def activate_host(self, host: Any) -> bool:
        if status_of(host) == "up":
            return False
        service = self.system.hosts_service().host_service(host.id)
        self.call(f"activating host {host.name}", service.activate)
        return True

    # -- VMs ------------------------------------------------------------------
    def vm_action(self, vm: Any, action: str, **kwargs: Any) -> None:
        service = self.system.vms_service().vm_service(vm.id)
        self.call(f"{action} of VM {vm.name}", getattr(service, action), **kwargs)

    def vm_service(self, vm_id: str) -> Any:
        return self.system.vms_service().vm_service(vm_id)

    def templates(self) -> List[Any]:
        return self.call("listing templates", self.system.templates_service().list)

    def add_vm(self, name: str, cluster_id: str, template_id: str, memory_mib: int, cpus: int,
               description: Optional[str] = None, high_availability: bool = False) -> Any:
        """A VM from a template, as the engine creates it (down, with the template's disks and NICs)."""
        types = self.sdk.types
        vm = types.Vm(name=name, cluster=types.Cluster(id=cluster_id), template=types.Template(id=template_id),
                      memory=memory_mib * 2**20, description=description,
                      cpu=types.Cpu(topology=types.CpuTopology(sockets=cpus, cores=1, threads=1)),
                      high_availability=types.HighAvailability(enabled=high_availability))
        return self.call(f"creating VM {name}", self.system.vms_service().add, vm)

    def update_vm(self, vm: Any, memory_mib: int, cpus: int) -> Any:
        types = self.sdk.types
        change = types.Vm(memory=memory_mib * 2**20, cpu=types.Cpu(topology=types.CpuTopology(sockets=cpus, cores=1, threads=1)))
        return self.call(f"updating VM {vm.name}", self.vm_service(vm.id).update, change)

    def close(self) -> None:
        try:
            self.connection.close(logout=self.logout)
        except Exception:  # pylint: disable=broad-except  # logout failures do not change the outcome
            pass


def status_of(obj: Any) -> str:
    """An SDK object's status as the engine's lowercase string (e.g. 'up')."""
    status = getattr(obj, "status", None)
    return getattr(status, "value", str(status) if status is not None else "")


def host_summary(host: Any) -> Dict[str, Any]:
    return {"id": host.id, "name": host.name, "status": status_of(host)}


def run_parallel(ovirt: OvirtApi, calls: Sequence[Callable[[OvirtApi], T]],
                 connect: Optional[Callable[[], OvirtApi]], max_workers: int
                 ) -> List[Tuple[Optional[T], Optional[Exception]]]:
    """Each call on one of up to ``max_workers`` engine connections (``ovirt`` and ones ``connect`` opens).

    An SDK connection serves one request at a time, so parallel engine calls
    need connections of their own; they are closed at the end. Returns
    (result, error) per call, in order; without ``connect`` the calls run one
    after another on ``ovirt``.
    """
    workers = max(1, min(max_workers, len(calls))) if connect else 1
    extra = [connect() for _worker in range(workers - 1)] if connect else []
    pool: "queue.Queue[OvirtApi]" = queue.Queue()
    for service in [ovirt] + extra:
        pool.put(service)

    def guarded(call: Callable[[OvirtApi], T]) -> Tuple[Optional[T], Optional[Exception]]:
        service = pool.get()
        try:
            return call(service), None
        except Exception as exc:  # pylint: disable=broad-except  # returned to the caller with its call
            return None, exc
        finally:
            pool.put(service)

    try:
        with ThreadPoolExecutor(max_workers=workers) as executor:
            return list(executor.map(guarded, calls))
    finally:
        for service in extra:
            service.close()
