"""List+watch caches (like client-go informers) and a deduplicating work queue.

Every write a component makes is fed back into the cache at once
(``Store.upsert`` with the server's answer), so the next reconcile never acts
on the version it just replaced; the watch event of that write is then stale
and dropped.
"""
from __future__ import annotations

import heapq
import logging
import random
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Hashable, Mapping
from typing import Any

from labkube.rest import ApiError, Kube, Resource

LOG = logging.getLogger("labkube")

Obj = dict[str, Any]
Handler = Callable[[Obj | None, Obj | None], None]


def obj_key(obj: Obj) -> str:
    meta = obj["metadata"]
    return f"{meta['namespace']}/{meta['name']}" if meta.get("namespace") else meta["name"]


def rv_of(obj: Mapping[str, Any] | None) -> int:
    try:
        return int((obj or {}).get("metadata", {}).get("resourceVersion") or 0)
    except ValueError:  # opaque by contract; etcd's are integers
        return 0


def uid_of(obj: Mapping[str, Any] | None) -> str:
    return str((obj or {}).get("metadata", {}).get("uid") or "")


class Store:
    """Latest known version of each object; ``handler(old, new)`` hears every change."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._lock = threading.RLock()
        self._items: dict[str, Obj] = {}
        self._handlers: list[Handler] = []
        # uids known to be deleted: a write answer that arrives after the watch's
        # DELETED event must not bring the object back.
        self._tombstones: OrderedDict[str, None] = OrderedDict()

    def on_change(self, handler: Handler) -> None:
        self._handlers.append(handler)

    def _fire(self, old: Obj | None, new: Obj | None) -> None:
        for handler in self._handlers:
            try:
                handler(old, new)
            except Exception:  # a handler bug must not kill the watch thread
                LOG.exception("%s handler failed", self.name)

    def get(self, key: str) -> Obj | None:
        """The cached object: shared, so callers copy before changing it."""
        with self._lock:
            return self._items.get(key)

    def values(self) -> list[Obj]:
        with self._lock:
            return list(self._items.values())

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)

    def upsert(self, obj: Obj) -> bool:
        """Take ``obj`` unless the cache already has a newer version; True when taken."""
        key = obj_key(obj)
        gone = bool(obj["metadata"].get("deletionTimestamp")) and not obj["metadata"].get("finalizers")
        with self._lock:
            old = self._items.get(key)
            if uid_of(obj) in self._tombstones or (old is not None and rv_of(old) >= rv_of(obj)):
                return False
            if gone:  # deleting with no finalizer left: the server has already removed it
                self._bury(obj)
                if old is None or uid_of(old) != uid_of(obj):
                    return False
                del self._items[key]
            else:
                self._items[key] = obj
        self._fire(old, None if gone else obj)
        return True

    def _bury(self, obj: Obj) -> None:
        self._tombstones[uid_of(obj)] = None
        while len(self._tombstones) > 20000:
            self._tombstones.popitem(last=False)

    def remove(self, obj: Obj) -> bool:
        """Forget a deleted object, unless the name already belongs to a newer one."""
        key = obj_key(obj)
        with self._lock:
            self._bury(obj)
            old = self._items.get(key)
            if old is None or (uid_of(old) != uid_of(obj) and rv_of(old) > rv_of(obj)):
                return False
            del self._items[key]
        self._fire(old, None)
        return True

    def replace(self, objs: list[Obj]) -> None:
        """After a (re)list: the list is the truth, including for deletions missed meanwhile."""
        fresh = {obj_key(o): o for o in objs}
        with self._lock:
            old_items = self._items
            self._items = dict(fresh)
        for key, gone in old_items.items():
            if key not in fresh:
                self._fire(gone, None)
        for key, obj in fresh.items():
            previous = old_items.get(key)
            if previous is None or rv_of(previous) != rv_of(obj):
                self._fire(previous, obj)


class Informer:
    """Keeps a Store in sync with one resource type (all namespaces unless one is given)."""

    def __init__(self, kube: Kube, res: Resource, store: Store, stop: threading.Event,
                 selectors: dict[str, str] | None = None, namespace: str | None = None) -> None:
        self.kube, self.res, self.store, self.stop = kube, res, store, stop
        self.selectors, self.namespace = selectors, namespace
        self.synced = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"watch-{res.plural}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        rv: str | None = None
        failures = 0
        while not self.stop.is_set():
            try:
                if rv is None:
                    items, rv = self.kube.list(self.res, self.namespace, selectors=self.selectors)
                    for item in items:  # list items lack kind/apiVersion
                        item.setdefault("apiVersion", self.res.api_version)
                        item.setdefault("kind", self.res.kind)
                    self.store.replace(items)
                    self.synced.set()
                rv = self._watch(rv)
                failures = 0
            except ApiError as err:
                if err.status == 410:
                    LOG.info("watch %s: resourceVersion too old, relisting", self.res.plural)
                    rv = None
                    continue
                failures += 1
                self._backoff(failures, err)
            except Exception as err:  # connection refused/reset while the apiserver restarts
                failures += 1
                self._backoff(failures, err)

    def _backoff(self, failures: int, err: BaseException) -> None:
        delay = min(5.0, 0.2 * 2 ** min(failures, 5)) * (0.5 + random.random() / 2)
        if failures <= 2 or failures % 20 == 0:
            LOG.warning("watch %s failed (%s), retrying in %.1f s", self.res.plural, _short(err), delay)
        self.stop.wait(delay)

    def _watch(self, rv: str) -> str | None:
        """Apply events until the stream ends; returns where to resume (None: relist)."""
        for event in self.kube.watch(self.res, rv, timeout_s=random.randint(180, 300),
                                     selectors=self.selectors, namespace=self.namespace):
            if self.stop.is_set():
                return rv
            kind, obj = event.get("type"), event.get("object") or {}
            assert isinstance(obj, dict)
            if kind == "ERROR":
                if obj.get("code") == 410:
                    LOG.info("watch %s: expired, relisting", self.res.plural)
                    return None
                raise ApiError(int(obj.get("code") or 500), obj, "WATCH", self.res.plural)
            rv = obj.get("metadata", {}).get("resourceVersion") or rv
            if kind == "BOOKMARK":
                continue
            if kind == "DELETED":
                self.store.remove(obj)
            else:
                self.store.upsert(obj)
        return rv


def _short(err: BaseException) -> str:
    text = str(err)
    return text if len(text) < 160 else text[:157] + "..."


class WorkQueue:
    """client-go's workqueue semantics: a key is queued once and never processed by
    two workers at once; adding it while it is processed runs it once more after."""

    def __init__(self) -> None:
        lock = threading.Lock()
        self._cond = threading.Condition(lock)  # workers wait here
        self._timer = threading.Condition(lock)  # the delay thread waits here
        self._queue: deque[Hashable] = deque()
        self._dirty: set[Hashable] = set()
        self._processing: set[Hashable] = set()
        self._delayed: list[tuple[float, int, Hashable]] = []
        self._seq = 0
        self._failures: dict[Hashable, int] = {}
        self._shutdown = False
        threading.Thread(target=self._delay_loop, name="workqueue-delay", daemon=True).start()

    def add(self, key: Hashable) -> None:
        with self._cond:
            self._add_locked(key)

    def _add_locked(self, key: Hashable) -> None:
        if key in self._dirty:
            return
        self._dirty.add(key)
        if key not in self._processing:
            self._queue.append(key)
            self._cond.notify()

    def add_after(self, key: Hashable, delay: float) -> None:
        if delay <= 0:
            self.add(key)
            return
        with self._cond:
            self._seq += 1
            heapq.heappush(self._delayed, (time.monotonic() + delay, self._seq, key))
            if self._delayed[0][1] == self._seq:  # new earliest deadline
                self._timer.notify()

    def add_rate_limited(self, key: Hashable) -> None:
        with self._cond:
            failures = self._failures.get(key, 0)
            self._failures[key] = failures + 1
        self.add_after(key, min(5.0, 0.05 * 2 ** failures))

    def forget(self, key: Hashable) -> None:
        with self._cond:
            self._failures.pop(key, None)

    def get(self) -> Hashable | None:
        with self._cond:
            while not self._queue and not self._shutdown:
                self._cond.wait()
            if self._shutdown:
                return None
            key = self._queue.popleft()
            self._dirty.discard(key)
            self._processing.add(key)
            return key

    def done(self, key: Hashable) -> None:
        with self._cond:
            self._processing.discard(key)
            if key in self._dirty:
                self._queue.append(key)
                self._cond.notify()

    def shutdown(self) -> None:
        with self._cond:
            self._shutdown = True
            self._cond.notify_all()
            self._timer.notify_all()

    def __len__(self) -> int:
        with self._cond:
            return len(self._queue)

    def _delay_loop(self) -> None:
        with self._cond:
            while not self._shutdown:
                now = time.monotonic()
                while self._delayed and self._delayed[0][0] <= now:
                    self._add_locked(heapq.heappop(self._delayed)[2])
                timeout = self._delayed[0][0] - now if self._delayed else None
                self._timer.wait(timeout)


def run_worker(queue: WorkQueue, stop: threading.Event, sync: Callable[[Hashable], None], what: str,
               stale: tuple[int, ...] = (409,)) -> None:
    """Process queued keys until stopped: a ``stale`` API answer (the watch brings a newer version)
    retries soon; any other failure (the apiserver restarting) retries with backoff."""
    while not stop.is_set():
        key = queue.get()
        if key is None:
            return
        try:
            sync(key)
            queue.forget(key)
        except ApiError as err:
            if err.status in stale:
                queue.add_after(key, 0.2)
            else:
                LOG.warning("%s %s: %s", what, key, err)
                queue.add_rate_limited(key)
        except Exception as err:  # connection refused while the apiserver restarts
            LOG.warning("%s %s: %s", what, key, err)
            queue.add_rate_limited(key)
        finally:
            queue.done(key)
