# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ovirt_kubevirt.bridge contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Kubernetes operations the collection needs, over a DynamicClient.

The service layer between the client (k8s_client) and the cores: plain dicts
in and out, API errors turned into the collection's errors with the server's
reason, updates retried on conflict with a fresh read, batches run
concurrently under a bound, and watches that resume after 410 Gone or a
dropped connection by relisting (consumers are level-triggered).
"""
from __future__ import annotations

import json
import queue
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, Tuple, Type, TypeVar

from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.clients.k8s_client import (
    TRANSIENT_STATUSES,
    UNAVAILABLE_WINDOW_S,
    require_kubernetes,
    service_account_namespace,
    unreachable_error,
    untrusted_certificate,
)
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.common.errors import (
    ApiError,
    ConflictError,
    NotFoundError,
)
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.common.services import KubeApi

try:
    from kubernetes import watch as k8s_watch
    from kubernetes.client.exceptions import ApiException
    from kubernetes.dynamic.exceptions import DynamicApiError, ResourceNotFoundError
    from urllib3.exceptions import HTTPError as Urllib3Error
    API_ERRORS: Tuple[Type[BaseException], ...] = (ApiException, DynamicApiError)
    TRANSPORT_ERRORS: Tuple[Type[BaseException], ...] = (Urllib3Error, OSError)
except Exception:  # pylint: disable=broad-except  # reported by require_kubernetes() on use
    k8s_watch = None  # type: ignore[assignment]

    class ResourceNotFoundError(Exception):  # type: ignore[no-redef]
        """Stands in while the kubernetes library is missing; never raised."""

    API_ERRORS = ()
    TRANSPORT_ERRORS = (OSError,)
ANY_ERRORS = API_ERRORS + TRANSPORT_ERRORS

T = TypeVar("T")
Obj = Dict[str, Any]

CONFLICT_RETRIES = 5
# A watch request is closed and resumed at least this often, so a half-open
# connection to a restarted API server is noticed.
WATCH_WINDOW_S = 30
RETRY_BACKOFF_S = (0.1, 0.2, 0.5, 1.0, 2.0)


def transient(exc: BaseException) -> bool:
    """Whether the failure is one a restarting or overloaded API server gives, worth retrying for a read."""
    if isinstance(exc, API_ERRORS):
        status, message = _status_of(exc)
        return status in TRANSIENT_STATUSES or (status == 500 and "etcdserver" in message)
    return isinstance(exc, TRANSPORT_ERRORS) and not untrusted_certificate(exc)


def _status_of(exc: BaseException) -> Tuple[Optional[int], str]:
    """HTTP status and the server's message from an API exception."""
    status = getattr(exc, "status", None)
    body = getattr(exc, "body", None) or ""
    message = getattr(exc, "reason", "") or ""
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    if body:
        try:
            parsed = json.loads(body)
            message = parsed.get("message") or message
        except ValueError:
            message = body[:500]
    return status, message


def translate(exc: BaseException, what: str) -> Exception:
    """The collection's error for an API or transport failure while doing ``what``."""
    if isinstance(exc, API_ERRORS):
        status, message = _status_of(exc)
        if status == 404:
            return NotFoundError(f"{what}: not found ({message})", status=status)
        if status == 409:
            return ConflictError(f"{what}: conflict ({message})", status=status)
        return ApiError(f"{what}: the Kubernetes API answered {status}: {message}", status=status, reason=message)
    return unreachable_error(exc, what)


SUBRESOURCE_ACCEPT = "application/json, */*"


class KubeService:
    """Kubernetes reads and writes as plain dicts, with the collection's errors."""

    def __init__(self, client: Any, unavailable_window_s: float = UNAVAILABLE_WINDOW_S) -> None:
        require_kubernetes()
        self.client = client
        self.unavailable_window_s = unavailable_window_s
        self._resources: Dict[Tuple[str, str], Any] = {}

    @property
    def host(self) -> str:
        configuration = getattr(getattr(self.client, "client", None), "configuration", None)
        return str(getattr(configuration, "host", "") or "the Kubernetes API")

    def _unavailable(self, what: str, exc: BaseException, waited_s: float) -> ApiError:
        error = translate(exc, what)
        status = getattr(error, "details", {}).get("status")
        return ApiError(f"{error}; the API server at {self.host} stayed unavailable for {waited_s:.0f} s "
                        "(restarting or overloaded?)", status=status)

    def _read(self, what: str, call: Callable[[], T]) -> T:
        """``call``, retried with backoff while the API server answers as a restarting one does."""
        began = time.monotonic()
        deadline = began + self.unavailable_window_s
        failures = 0
        while True:
            try:
                return call()
            except ANY_ERRORS as exc:
                if not transient(exc):
                    raise translate(exc, what) from exc
                if time.monotonic() >= deadline:
                    raise self._unavailable(what, exc, time.monotonic() - began) from exc
            failures = _backoff(failures, deadline)

    def _ready(self) -> Optional[bool]:
        """Whether the API server says it is ready (/readyz); None when it will not say."""
        try:
            self.client.request("GET", "/readyz", serialize=False, header_params={"Accept": "text/plain, */*"})
        except ANY_ERRORS as exc:
            status = getattr(exc, "status", None)
            return None if status in (401, 403, 404) else False
        return True

    def token_namespace(self) -> Optional[str]:
        """The ServiceAccount namespace of the client's token, where a namespace-scoped token may read."""
        return service_account_namespace(getattr(getattr(self.client, "client", None), "configuration", None))

    # -- discovery ---------------------------------------------------------
    def resource(self, api_version: str, kind: str) -> Any:
        key = (api_version, kind)
        if key in self._resources:
            return self._resources[key]
        what = f"discovering {kind} {api_version}"
        began = time.monotonic()
        deadline = began + self.unavailable_window_s
        failures = 0
        while True:
            try:
                self._resources[key] = self.client.resources.get(api_version=api_version, kind=kind)
                return self._resources[key]
            except ResourceNotFoundError as exc:
                # A server that is starting serves partial discovery until its CRD informers sync, and says so
                # in /readyz; only a ready server (or one that will not tell) that lacks the kind lacks it.
                if self._ready() is not False:
                    raise NotFoundError(
                        f"the Kubernetes API serves no {kind} in {api_version}; is the CRD (or API group) installed?"
                    ) from exc
                if time.monotonic() >= deadline:
                    raise ApiError(f"{what}: the API server at {self.host} was not ready for "
                                   f"{time.monotonic() - began:.0f} s (/readyz), and its discovery lacks {kind}") from exc
            except ANY_ERRORS as exc:
                if not transient(exc):
                    raise translate(exc, what) from exc
                if time.monotonic() >= deadline:
                    raise self._unavailable(what, exc, time.monotonic() - began) from exc
            failures = _backoff(failures, deadline)

    def has_resource(self, api_version: str, kind: str) -> bool:
        try:
            self.resource(api_version, kind)
        except NotFoundError:
            return False
        return True

    def request(self, method: str, path: str, body: Optional[Obj] = None, what: Optional[str] = None) -> Obj:
        """A raw API request (subresources, discovery); returns the decoded JSON body."""
        try:
            # serialize=False: subresources and /version answer JSON without a kind.
            # Accept */* too, as kubectl and virtctl do: virt-api's subresource routes (start, stop,
            # migrate, addvolume...) declare no produced type, so go-restful answers 406 to JSON alone.
            response = self.client.request(method, path, body=body, serialize=False,
                                           header_params={"Accept": SUBRESOURCE_ACCEPT})
        except ANY_ERRORS as exc:
            raise translate(exc, what or f"{method} {path}") from exc
        text = response.data.decode("utf-8") if response.data else ""
        if not text:
            return {}
        try:
            return json.loads(text)
        except ValueError:
            return {"text": text}

    # -- reads -------------------------------------------------------------
    def get(self, api_version: str, kind: str, name: str, namespace: Optional[str] = None) -> Optional[Obj]:
        """The object, or None when it does not exist."""
        resource = self.resource(api_version, kind)

        def call() -> Optional[Obj]:
            try:
                return _to_dict(resource.get(name=name, namespace=namespace))
            except API_ERRORS as exc:
                if getattr(exc, "status", None) == 404:
                    return None
                raise
        return self._read(f"reading {kind} {_ref(name, namespace)}", call)

    def list(self, api_version: str, kind: str, namespace: Optional[str] = None,
             label_selector: Optional[str] = None, field_selector: Optional[str] = None) -> Tuple[List[Obj], str]:
        """Every matching object and the list's resourceVersion (to watch from)."""
        resource = self.resource(api_version, kind)
        result = self._read(f"listing {kind} in {namespace or 'all namespaces'}", lambda: _to_dict(resource.get(
            namespace=namespace, label_selector=label_selector, field_selector=field_selector)))
        return result.get("items") or [], (result.get("metadata") or {}).get("resourceVersion", "")

    # -- writes ------------------------------------------------------------
    def create(self, obj: Obj, dry_run: bool = False) -> Obj:
        meta = obj.get("metadata", {})
        what = f"creating {obj.get('kind')} {_ref(meta.get('name'), meta.get('namespace'))}"
        try:
            return _to_dict(self.resource(obj["apiVersion"], obj["kind"]).create(
                body=obj, namespace=meta.get("namespace"), **_dry_run(dry_run)))
        except ANY_ERRORS as exc:
            raise translate(exc, what) from exc

    def replace(self, obj: Obj, dry_run: bool = False) -> Obj:
        """Replace guarded by metadata.resourceVersion: a concurrent change is a ConflictError."""
        meta = obj.get("metadata", {})
        what = f"updating {obj.get('kind')} {_ref(meta.get('name'), meta.get('namespace'))}"
        try:
            return _to_dict(self.resource(obj["apiVersion"], obj["kind"]).replace(
                body=obj, name=meta["name"], namespace=meta.get("namespace"), **_dry_run(dry_run)))
        except ANY_ERRORS as exc:
            raise translate(exc, what) from exc

    def patch_merge(self, api_version: str, kind: str, name: str, namespace: Optional[str], patch: Obj,
                    dry_run: bool = False) -> Obj:
        try:
            return _to_dict(self.resource(api_version, kind).patch(
                body=patch, name=name, namespace=namespace, content_type="application/merge-patch+json",
                **_dry_run(dry_run)))
        except ANY_ERRORS as exc:
            raise translate(exc, f"patching {kind} {_ref(name, namespace)}") from exc

    def delete(self, api_version: str, kind: str, name: str, namespace: Optional[str] = None,
               dry_run: bool = False, propagation: str = "Background") -> bool:
        """Delete; False when it was already gone."""
        body: Dict[str, Any] = {"kind": "DeleteOptions", "apiVersion": "v1", "propagationPolicy": propagation}
        if dry_run:
            body["dryRun"] = ["All"]
        try:
            self.resource(api_version, kind).delete(name=name, namespace=namespace, body=body)
        except API_ERRORS as exc:
            if getattr(exc, "status", None) == 404:
                return False
            raise translate(exc, f"deleting {kind} {_ref(name, namespace)}") from exc
        except TRANSPORT_ERRORS as exc:
            raise translate(exc, f"deleting {kind} {_ref(name, namespace)}") from exc
        return True

    def update(self, api_version: str, kind: str, name: str, namespace: Optional[str],
               mutate: Callable[[Obj], Optional[Obj]], dry_run: bool = False) -> Tuple[Obj, bool]:
        """Read, mutate, replace; on a conflict read again and retry.

        ``mutate`` returns the desired object, or None when nothing needs to
        change (then nothing is written). Returns (object, changed).
        """
        for attempt in range(CONFLICT_RETRIES):
            current = self.get(api_version, kind, name, namespace)
            if current is None:
                raise NotFoundError(f"{kind} {_ref(name, namespace)} does not exist")
            desired = mutate(_deepcopy(current))
            if desired is None:
                return current, False
            desired.setdefault("metadata", {})["resourceVersion"] = current["metadata"]["resourceVersion"]
            try:
                return self.replace(desired, dry_run=dry_run), True
            except ConflictError:
                if attempt == CONFLICT_RETRIES - 1:
                    raise
                time.sleep(RETRY_BACKOFF_S[attempt])
        raise AssertionError("unreachable")  # pragma: no cover

    def write_configmap_data(self, name: str, namespace: str, labels: Dict[str, str],
                             plan: Callable[[Optional[Dict[str, str]]], Optional[Dict[str, str]]],
                             check_mode: bool = False, what: str = "record"
                             ) -> Tuple[Optional[Dict[str, str]], Dict[str, str], bool]:
        return write_configmap_data(self, name, namespace, labels, plan, check_mode, what)

    # -- batches -----------------------------------------------------------
    @staticmethod
    def run_batch(calls: Sequence[Callable[[], T]], max_workers: int = 8) -> List[Tuple[Optional[T], Optional[Exception]]]:
        """Run independent API calls concurrently; one result or error per call, in order."""
        def guarded(call: Callable[[], T]) -> Tuple[Optional[T], Optional[Exception]]:
            try:
                return call(), None
            except Exception as exc:  # pylint: disable=broad-except  # reported per item to the caller
                return None, exc

        if len(calls) <= 1 or max_workers <= 1:
            return [guarded(c) for c in calls]
        with ThreadPoolExecutor(max_workers=min(max_workers, len(calls))) as pool:
            return list(pool.map(guarded, calls))

    # -- watches -----------------------------------------------------------
    def watch(self, api_version: str, kind: str, namespace: Optional[str] = None,
              label_selector: Optional[str] = None, field_selector: Optional[str] = None,
              timeout_s: float = 60.0, resource_version: Optional[str] = None) -> Iterator[Tuple[str, Obj]]:
        """Yield (event type, object) until ``timeout_s`` passes or the consumer stops.

        Starts with the current state ('SYNC' events for every listed object)
        unless ``resource_version`` is given. After a 410 Gone or a dropped
        connection it relists and yields 'SYNC' events again, so a consumer
        that treats every event as the object's current state never misses a
        change.
        """
        deadline = time.monotonic() + timeout_s
        rv = resource_version
        failures = 0
        while time.monotonic() < deadline:
            if rv is None:
                try:
                    items, rv = self.list(api_version, kind, namespace, label_selector, field_selector)
                except ApiError:
                    failures = _backoff(failures, deadline)
                    continue
                for item in items:
                    yield "SYNC", item
            window = max(1, min(WATCH_WINDOW_S, int(deadline - time.monotonic() + 0.999)))
            try:
                for event_type, obj in self._watch_window(api_version, kind, namespace, label_selector,
                                                          field_selector, rv, window):
                    if event_type == "GONE":
                        rv = None
                        break
                    rv = obj.get("metadata", {}).get("resourceVersion") or rv
                    if event_type != "BOOKMARK":
                        yield event_type, obj
                    if time.monotonic() >= deadline:
                        return
                failures = 0
            except ANY_ERRORS as exc:
                if getattr(exc, "status", None) == 410:
                    rv = None
                    continue
                rv = None  # the connection dropped: relist, as the server may have lost our version
                failures = _backoff(failures, deadline)

    def watch_into(self, sink: "queue.Queue[Tuple[str, Any, float]]", stop: threading.Event, api_version: str,
                   kind: str, namespace: Optional[str] = None, timeout_s: float = 60.0) -> threading.Thread:
        """Run ``watch`` on a daemon thread, putting (event type, object, monotonic time seen) into ``sink``.

        A consumer can then wait on the queue with deadlines of its own. An
        error ends the thread as ("ERROR", exception, time); ``stop`` ends it at
        the next event.
        """
        def feed() -> None:
            try:
                for event_type, obj in self.watch(api_version, kind, namespace, timeout_s=timeout_s):
                    if stop.is_set():
                        return
                    sink.put((event_type, obj, time.monotonic()))
            except BaseException as exc:  # pylint: disable=broad-except  # handed to the consumer's thread
                sink.put(("ERROR", exc, time.monotonic()))

        thread = threading.Thread(target=feed, daemon=True)
        thread.start()
        return thread

    def wait_gone(self, api_version: str, kind: str, namespace: Optional[str], *, label_selector: Optional[str] = None,
                  field_selector: Optional[str] = None, timeout_s: float = 60.0) -> List[str]:
        """Wait, by watch, until no matching object is left; returns the names still there at the timeout.

        Each window restarts from a fresh list, so a deletion missed while the
        watch relisted (410 Gone, a dropped connection) is still seen.
        """
        deadline = time.monotonic() + timeout_s
        while True:
            items, version = self.list(api_version, kind, namespace, label_selector, field_selector)
            present = {(i.get("metadata") or {}).get("name", "") for i in items}
            remaining = deadline - time.monotonic()
            if not present or remaining <= 0:
                return sorted(present)
            for event_type, obj in self.watch(api_version, kind, namespace, label_selector=label_selector,
                                              field_selector=field_selector, resource_version=version,
                                              timeout_s=min(remaining, WATCH_WINDOW_S)):
                name = (obj.get("metadata") or {}).get("name", "")
                if event_type == "DELETED":
                    present.discard(name)
                else:
                    present.add(name)
                if not present:
                    return []

    def _watch_window(self, api_version: str, kind: str, namespace: Optional[str], label_selector: Optional[str],
                      field_selector: Optional[str], rv: str, window: int) -> Iterator[Tuple[str, Obj]]:
        resource = self.resource(api_version, kind)
        watcher = k8s_watch.Watch()
        # serialize=False keeps events as plain dicts, as DynamicClient.watch does.
        kwargs: Dict[str, Any] = {"resource_version": rv, "timeout_seconds": window, "allow_watch_bookmarks": True,
                                  "_request_timeout": window + 5, "serialize": False}
        if namespace:
            kwargs["namespace"] = namespace
        if label_selector:
            kwargs["label_selector"] = label_selector
        if field_selector:
            kwargs["field_selector"] = field_selector
        try:
            for event in watcher.stream(resource.get, **kwargs):
                raw = event.get("raw_object") or _to_dict(event.get("object"))
                if event.get("type") == "ERROR":
                    if raw.get("code") == 410:
                        yield "GONE", raw
                        return
                    status, message = raw.get("code"), raw.get("message")
                    raise ApiError(f"watching {kind}: {status} {message}", status=status, reason=message)
                yield event["type"], raw
        finally:
            watcher.stop()


def write_configmap_data(kube: KubeApi, name: str, namespace: str, labels: Dict[str, str],
                         plan: Callable[[Optional[Dict[str, str]]], Optional[Dict[str, str]]],
                         check_mode: bool = False, what: str = "record"
                         ) -> Tuple[Optional[Dict[str, str]], Dict[str, str], bool]:
    """Make a ConfigMap's data what ``plan(current data or None)`` says; None means no change.

    Creates it when missing; a concurrent create or change re-reads and
    re-plans, so concurrent writers never clobber each other. Returns
    (data before, data after, changed).
    """
    for _attempt in range(CONFLICT_RETRIES):
        current = kube.get("v1", "ConfigMap", name, namespace)
        before = dict(current.get("data") or {}) if current else None
        planned = plan(before)
        if planned is None:
            return before, dict(before or {}), False
        if check_mode:
            return before, planned, True
        if current is None:
            body = {"apiVersion": "v1", "kind": "ConfigMap",
                    "metadata": {"name": name, "namespace": namespace, "labels": dict(labels)}, "data": planned}
            try:
                created = kube.create(body)
            except ConflictError:
                continue  # a concurrent writer created it: re-read and re-plan
            return None, dict(created.get("data") or {}), True
        seen: Dict[str, Any] = {}

        def mutate(obj: Obj) -> Optional[Obj]:
            seen["before"] = fresh = dict(obj.get("data") or {})  # noqa: B023  (called in this iteration only)
            data = plan(fresh)
            if data is None:
                return None
            obj["data"] = data
            obj["metadata"].setdefault("labels", {}).update(labels)
            return obj

        try:
            obj, changed = kube.update("v1", "ConfigMap", name, namespace, mutate)
        except NotFoundError:
            continue  # deleted meanwhile: create it
        return seen.get("before", before), dict(obj.get("data") or {}), changed
    raise ConflictError(f"the {what} {namespace}/{name} keeps changing under concurrent writers; try again")


def _backoff(failures: int, deadline: float) -> int:
    delay = RETRY_BACKOFF_S[min(failures, len(RETRY_BACKOFF_S) - 1)]
    time.sleep(max(0.0, min(delay, deadline - time.monotonic())))
    return failures + 1


def _dry_run(dry_run: bool) -> Dict[str, str]:
    return {"dry_run": "All"} if dry_run else {}


def _ref(name: Optional[str], namespace: Optional[str]) -> str:
    return f"{namespace}/{name}" if namespace else str(name)


def _to_dict(obj: Any) -> Obj:
    if obj is None:
        return {}
    if isinstance(obj, dict):
        return obj
    to_dict = getattr(obj, "to_dict", None)
    return to_dict() if callable(to_dict) else dict(obj)


def _deepcopy(obj: Obj) -> Obj:
    import copy  # local: keeps module import cheap for the sanity import test
    return copy.deepcopy(obj)
