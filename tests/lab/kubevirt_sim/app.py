"""The simulator's wiring: caches, the work queue, workers and the shared write helpers."""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import labtopology
import urllib3.exceptions

from .cluster import ClusterView
from labkube.events import Recorder
from .faults import Faults
from labkube.informer import Informer, Obj, Store, WorkQueue, obj_key
from labkube.rest import NODES, VMIMS, VMIS, VMS, ApiError, Kube, Resource
from .state import State
from labkube.objects import controller_owner, deep, meta

LOG = logging.getLogger("kubevirt-sim")
VM_STATUS_DELAY = 0.05


@dataclass(frozen=True)
class Timing:
    """Simulated durations (seconds); the real ones are minutes, tests want seconds."""

    migration_step: float = 0.35  # per migration phase after Scheduled
    shutdown: float = 1.0  # longest graceful guest shutdown
    start_backoff: float = 0.5  # crash-loop backoff base: base * failures^2
    start_backoff_max: float = 30.0
    heartbeat: float = 10.0  # node lease renewal
    unschedulable_migration: float = 30.0  # a migration with no target fails after this
    max_pods: int = 110


class Sim:
    def __init__(self, kube: Kube, topology: labtopology.Topology, state_dir: Path, timing: Timing,
                 workers: int = 8) -> None:
        self.kube = kube
        self.topology = topology
        self.timing = timing
        self.state = State(state_dir, topology)
        self.faults = Faults(topology, self.state)
        self.events = Recorder(kube)
        self.stop = threading.Event()
        self.queue = WorkQueue()
        self.nodes, self.vms, self.vmis, self.vmims = Store("nodes"), Store("vms"), Store("vmis"), Store("vmims")
        self.stores = {NODES: self.nodes, VMS: self.vms, VMIS: self.vmis, VMIMS: self.vmims}
        self.view = ClusterView(self.nodes, self.vmis, self._capacity_freed)
        self._waiting: set[Hashable] = set()  # keys blocked on capacity
        self._waiting_lock = threading.Lock()
        self._handlers: dict[str, Callable[[str], None]] = {}
        self._workers = workers
        self.informers = [Informer(kube, res, store, self.stop) for res, store in self.stores.items()]
        self.nodes.on_change(self._node_changed)
        self.vms.on_change(lambda old, new: self.queue.add(("vm", obj_key(new or old))))  # type: ignore[arg-type]
        self.vmis.on_change(self._vmi_changed)
        self._active_migrations: dict[str, set[str]] = {}  # vmi key -> unfinished migration keys
        self.vmims.on_change(self._vmim_changed)

    # ----------------------------------------------------------- wiring

    def handle(self, kind: str, handler: Callable[[str], None]) -> None:
        self._handlers[kind] = handler

    def start(self) -> None:
        for informer in self.informers:
            informer.start()
        for i in range(self._workers):
            threading.Thread(target=self._work, name=f"worker-{i}", daemon=True).start()

    def start_resync(self, period: float = 60.0) -> None:
        """Re-check every object now and then: a safety net for anything a watch missed."""
        def loop() -> None:
            while not self.stop.wait(period):
                for kind, store in (("vm", self.vms), ("vmi", self.vmis), ("vmim", self.vmims)):
                    for obj in store.values():
                        self.queue.add((kind, obj_key(obj)))

        threading.Thread(target=loop, name="resync", daemon=True).start()

    def wait_synced(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        return all(i.synced.wait(max(0.0, deadline - time.monotonic())) for i in self.informers)

    def _node_changed(self, old: Obj | None, new: Obj | None) -> None:
        name = meta(new or old)["name"]
        self.queue.add(("node", name))
        # VMIs on a vanished node must notice; capacity or taints may have changed for waiters.
        for key in self.view.vmis_on(name):
            self.queue.add(("vmi", key))
        self._capacity_freed()

    def _vmi_changed(self, old: Obj | None, new: Obj | None) -> None:
        obj = new or old
        assert obj is not None
        key = obj_key(obj)
        self.view.refresh(key)
        self.queue.add(("vmi", key))
        if controller_owner(obj, "VirtualMachine") or self.vms.get(key) is not None:
            # A short delay folds a VMI's quick phase steps into one VM status write.
            self.queue.add_after(("vm", key), VM_STATUS_DELAY)
        for mig_key in self._migrations_of(key):
            self.queue.add(("vmim", mig_key))

    def _vmim_changed(self, old: Obj | None, new: Obj | None) -> None:
        obj = new or old
        assert obj is not None
        key = obj_key(obj)
        vmi_key = f"{meta(obj).get('namespace')}/{(obj.get('spec') or {}).get('vmiName')}"
        with self._waiting_lock:
            active = self._active_migrations.setdefault(vmi_key, set())
            if new is not None and (new.get("status") or {}).get("phase") not in ("Succeeded", "Failed"):
                active.add(key)
            else:
                active.discard(key)
        self.queue.add(("vmim", key))

    def _migrations_of(self, vmi_key: str) -> list[str]:
        with self._waiting_lock:
            return sorted(self._active_migrations.get(vmi_key, ()))

    # ----------------------------------------------------- capacity waits

    def wait_for_capacity(self, key: Hashable) -> None:
        with self._waiting_lock:
            self._waiting.add(key)

    def capacity_found(self, key: Hashable) -> None:
        with self._waiting_lock:
            self._waiting.discard(key)

    def _capacity_freed(self) -> None:
        # Debounced: one retry round for all waiters, not one per freed VMI.
        with self._waiting_lock:
            if self._waiting:
                self.queue.add_after(("retry-waiting", ""), 0.2)

    def retry_waiting(self) -> None:
        with self._waiting_lock:
            keys = list(self._waiting)
        for key in keys:
            self.queue.add(key)

    # ------------------------------------------------------------ workers

    def _work(self) -> None:
        while True:
            item = self.queue.get()
            if item is None:
                return
            kind, key = cast(tuple[str, str], item)
            try:
                if kind == "retry-waiting":
                    self.retry_waiting()
                else:
                    self._handlers[kind](key)
                self.queue.forget(item)
            except ApiError as err:
                if err.status == 409:
                    self.queue.add(item)  # put() already refreshed the cache
                else:
                    LOG.warning("%s %s: %s", kind, key, err)
                    self.queue.add_rate_limited(item)
            except Exception as err:  # keep the worker alive through apiserver outages
                if _is_connection_error(err):
                    LOG.warning("%s %s: apiserver unreachable (%s)", kind, key, type(err).__name__)
                else:
                    LOG.exception("%s %s failed", kind, key)
                self.queue.add_rate_limited(item)
            finally:
                self.queue.done(item)

    # ------------------------------------------------------- write helpers

    def store_of(self, res: Resource) -> Store:
        return self.stores[res]

    def refetch(self, res: Resource, namespace: str | None, name: str) -> Obj | None:
        """Read the server's current version into the cache (after a conflict)."""
        obj = self.kube.get_or_none(res, namespace, name)
        if obj is not None:
            self.stores[res].upsert(obj)
        return obj

    def put(self, res: Resource, obj: Obj, sub: str | None = None) -> Obj:
        """PUT with the object's resourceVersion; the answer goes straight into the cache."""
        try:
            new = self.kube.replace(res, obj, sub)
        except ApiError as err:
            if err.status == 409:
                self.refetch(res, meta(obj).get("namespace"), meta(obj)["name"])
            raise
        if res in self.stores:
            self.stores[res].upsert(new)
        return new

    def create(self, res: Resource, obj: Obj) -> Obj:
        try:
            new = self.kube.create(res, meta(obj).get("namespace"), obj)
        except ApiError as err:
            if err.status == 409:  # AlreadyExists: the cache is behind
                self.refetch(res, meta(obj).get("namespace"), meta(obj)["name"])
            raise
        if res in self.stores:
            self.stores[res].upsert(new)
        return new

    def mutate(self, res: Resource, key: str, change: Callable[[Obj], bool], sub: str | None = "status",
               attempts: int = 6) -> Obj | None:
        """Apply ``change`` to the latest version and PUT it, re-reading on conflicts.

        ``change`` edits the copy in place and returns False to skip the write
        (its precondition no longer holds).  Returns the written object, the
        unchanged one, or None when the object is gone.
        """
        store = self.stores[res]
        current = store.get(key)
        for _attempt in range(attempts):
            if current is None:
                return None
            candidate = deep(current)
            if not change(candidate):
                return current
            try:
                return self.put(res, candidate, sub)
            except ApiError as err:
                if err.status == 404:
                    return None
                if err.status != 409:
                    raise
                current = store.get(key)
        raise ApiError(409, {"message": f"gave up after {attempts} conflicts"}, "PUT", key)


def _is_connection_error(err: BaseException) -> bool:
    return isinstance(err, (urllib3.exceptions.HTTPError, ConnectionError, TimeoutError, OSError))


def owner_ref(vm: Obj) -> dict[str, Any]:
    m = meta(vm)
    return {"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachine", "name": m["name"], "uid": m["uid"],
            "controller": True, "blockOwnerDeletion": True}
