# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ovirt_kubevirt.bridge contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Typed fakes of the two services (common.services.KubeApi and OvirtApi), for unit tests of the use cases.

FakeKube keeps objects as dicts and answers as the Kubernetes API does for
what the use cases ask: equality label selectors, 404 and 409 as the
collection's errors, resourceVersion bumped on each write. FakeOvirt holds
SDK-shaped objects (attribute access, ``status.value``) and records each
write. Both count their writes, so a test can prove a second run writes
nothing. The lab tests the real APIs; these test the decisions.
"""
from __future__ import annotations

import copy
import itertools
import queue
import threading
from types import SimpleNamespace
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, Tuple, TypeVar

from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.clients import k8s_service
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.common.errors import (
    ConflictError,
    InputError,
    NotFoundError,
)
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.common.services import KubeApi, OvirtApi

Obj = Dict[str, Any]
T = TypeVar("T")
Key = Tuple[str, str, str, str]  # apiVersion, kind, namespace ("" when cluster-scoped), name


def _matches(obj: Obj, label_selector: Optional[str], field_selector: Optional[str]) -> bool:
    meta = obj.get("metadata") or {}
    labels = meta.get("labels") or {}
    for term in filter(None, (label_selector or "").split(",")):
        key, _eq, value = term.partition("=")
        if (value and labels.get(key) != value) or (not value and key not in labels):
            return False
    for term in filter(None, (field_selector or "").split(",")):
        key, _eq, value = term.partition("=")
        if key == "metadata.name" and meta.get("name") != value:
            return False
    return True


class FakeKube:
    """KubeApi over dicts."""

    def __init__(self, objects: Sequence[Obj] = ()) -> None:
        self.client: Any = SimpleNamespace(configuration=SimpleNamespace(host="https://fake:6443", ssl_ca_cert=None))
        self.objects: Dict[Key, Obj] = {}
        self.writes = 0
        self.requests: List[Tuple[str, str, Optional[Obj]]] = []
        self._versions = itertools.count(1)
        # Live watches: (apiVersion, kind, namespace or None, sink, stop), fed on every write.
        self._watches: List[Tuple[str, str, Optional[str], "queue.Queue[Tuple[str, Any, float]]", threading.Event]] = []
        self._lock = threading.RLock()
        for obj in objects:
            self._store(copy.deepcopy(obj))

    @staticmethod
    def key(api_version: str, kind: str, namespace: Optional[str], name: str) -> Key:
        return (api_version, kind, namespace or "", name)

    def _key_of(self, obj: Obj) -> Key:
        meta = obj.get("metadata") or {}
        return self.key(obj["apiVersion"], obj["kind"], meta.get("namespace"), meta["name"])

    def _store(self, obj: Obj) -> Obj:
        with self._lock:
            obj.setdefault("metadata", {})["resourceVersion"] = str(next(self._versions))
            key = self._key_of(obj)
            event = "MODIFIED" if key in self.objects else "ADDED"
            self.objects[key] = obj
            self._notify(event, obj)
            return copy.deepcopy(obj)

    def _notify(self, event_type: str, obj: Obj) -> None:
        version, kind, namespace, _name = self._key_of(obj)
        self._watches = [w for w in self._watches if not w[4].is_set()]
        for w_version, w_kind, w_namespace, sink, _stop in self._watches:
            if (w_version, w_kind) == (version, kind) and w_namespace in (None, namespace):
                sink.put((event_type, copy.deepcopy(obj), 0.0))

    # -- KubeApi -----------------------------------------------------------
    def token_namespace(self) -> Optional[str]:
        return None

    def has_resource(self, api_version: str, kind: str) -> bool:
        return True

    def request(self, method: str, path: str, body: Optional[Obj] = None, what: Optional[str] = None) -> Obj:
        self.requests.append((method, path, body))
        if method != "GET":
            self.writes += 1
        return {}

    def get(self, api_version: str, kind: str, name: str, namespace: Optional[str] = None) -> Optional[Obj]:
        found = self.objects.get(self.key(api_version, kind, namespace, name))
        return copy.deepcopy(found) if found is not None else None

    def list(self, api_version: str, kind: str, namespace: Optional[str] = None,
             label_selector: Optional[str] = None, field_selector: Optional[str] = None) -> Tuple[List[Obj], str]:
        items = [copy.deepcopy(o) for (version, k, ns, _name), o in sorted(self.objects.items())
                 if version == api_version and k == kind and (namespace is None or ns == namespace)
                 and _matches(o, label_selector, field_selector)]
        return items, str(next(self._versions))

    def create(self, obj: Obj, dry_run: bool = False) -> Obj:
        if self._key_of(obj) in self.objects:
            raise ConflictError(f"creating {obj['kind']} {obj['metadata']['name']}: conflict (already exists)")
        if dry_run:
            return copy.deepcopy(obj)
        self.writes += 1
        return self._store(copy.deepcopy(obj))

    def replace(self, obj: Obj, dry_run: bool = False) -> Obj:
        current = self.objects.get(self._key_of(obj))
        if current is None:
            raise NotFoundError(f"updating {obj['kind']} {obj['metadata']['name']}: not found")
        if obj["metadata"].get("resourceVersion") != current["metadata"]["resourceVersion"]:
            raise ConflictError(f"updating {obj['kind']} {obj['metadata']['name']}: conflict (stale resourceVersion)")
        if dry_run:
            return copy.deepcopy(obj)
        self.writes += 1
        return self._store(copy.deepcopy(obj))

    def patch_merge(self, api_version: str, kind: str, name: str, namespace: Optional[str], patch: Obj,
                    dry_run: bool = False) -> Obj:
        current = self.get(api_version, kind, name, namespace)
        if current is None:
            raise NotFoundError(f"patching {kind} {name}: not found")
        _merge(current, patch)
        if dry_run:
            return current
        self.writes += 1
        return self._store(current)

    def delete(self, api_version: str, kind: str, name: str, namespace: Optional[str] = None,
               dry_run: bool = False, propagation: str = "Background") -> bool:
        key = self.key(api_version, kind, namespace, name)
        if key not in self.objects:
            return False
        if not dry_run:
            with self._lock:
                self.writes += 1
                self._notify("DELETED", self.objects.pop(key))
        return True

    def update(self, api_version: str, kind: str, name: str, namespace: Optional[str],
               mutate: Callable[[Obj], Optional[Obj]], dry_run: bool = False) -> Tuple[Obj, bool]:
        current = self.get(api_version, kind, name, namespace)
        if current is None:
            raise NotFoundError(f"{kind} {name} does not exist")
        desired = mutate(copy.deepcopy(current))
        if desired is None:
            return current, False
        return self.replace(desired, dry_run=dry_run), True

    def write_configmap_data(self, name: str, namespace: str, labels: Dict[str, str],
                             plan: Callable[[Optional[Dict[str, str]]], Optional[Dict[str, str]]],
                             check_mode: bool = False, what: str = "record"
                             ) -> Tuple[Optional[Dict[str, str]], Dict[str, str], bool]:
        # KubeService's own logic, over this fake's get, create and update.
        return k8s_service.write_configmap_data(self, name, namespace, labels, plan, check_mode, what)

    def run_batch(self, calls: Sequence[Callable[[], T]],
                  max_workers: int = 8) -> List[Tuple[Optional[T], Optional[Exception]]]:
        results: List[Tuple[Optional[T], Optional[Exception]]] = []
        for call in calls:
            try:
                results.append((call(), None))
            except Exception as exc:  # pylint: disable=broad-except  # returned per call, as KubeService does
                results.append((None, exc))
        return results

    def watch(self, api_version: str, kind: str, namespace: Optional[str] = None,
              label_selector: Optional[str] = None, field_selector: Optional[str] = None,
              timeout_s: float = 60.0, resource_version: Optional[str] = None) -> Iterator[Tuple[str, Obj]]:
        """The current state as SYNC events, then the end of the window: the fake never changes by itself."""
        if resource_version is None:
            for item in self.list(api_version, kind, namespace, label_selector, field_selector)[0]:
                yield "SYNC", item

    def watch_into(self, sink: "queue.Queue[Tuple[str, Any, float]]", stop: threading.Event, api_version: str,
                   kind: str, namespace: Optional[str] = None, timeout_s: float = 60.0) -> threading.Thread:
        """The current state as SYNC events, then every write as it happens, until ``stop``."""
        with self._lock:
            for event_type, obj in self.watch(api_version, kind, namespace, timeout_s=timeout_s):
                sink.put((event_type, obj, 0.0))
            self._watches.append((api_version, kind, namespace, sink, stop))
        thread = threading.Thread(target=stop.wait, daemon=True)  # the fake's watch needs no thread of its own
        thread.start()
        return thread

    def wait_gone(self, api_version: str, kind: str, namespace: Optional[str], *, label_selector: Optional[str] = None,
                  field_selector: Optional[str] = None, timeout_s: float = 60.0) -> List[str]:
        items = self.list(api_version, kind, namespace, label_selector, field_selector)[0]
        return sorted(i["metadata"]["name"] for i in items)


def _merge(target: Obj, patch: Obj) -> None:
    """RFC 7386 merge patch."""
    for key, value in patch.items():
        if value is None:
            target.pop(key, None)
        elif isinstance(value, dict) and isinstance(target.get(key), dict):
            _merge(target[key], value)
        else:
            target[key] = copy.deepcopy(value)


def status(value: str) -> Any:
    return SimpleNamespace(value=value)


def sized(vm: Any, memory_mib: int, cpus: int) -> Any:
    """An SDK-shaped VM given memory (bytes, as the engine has it) and a one-core-per-socket topology."""
    vm.memory = memory_mib * 2**20
    vm.cpu = SimpleNamespace(topology=SimpleNamespace(sockets=cpus, cores=1, threads=1))
    return vm


class FakeOvirt:
    """OvirtApi over SDK-shaped objects: clusters, hosts and VMs with ``id``, ``name`` and ``status``."""

    def __init__(self, clusters: Sequence[Any] = (), hosts: Sequence[Any] = (), vms: Sequence[Any] = (),
                 templates: Sequence[Any] = (), datacenters: Sequence[Any] = ()) -> None:
        self.sdk: Any = None
        self.system: Any = None
        self._clusters, self._hosts, self._vms = list(clusters), list(hosts), list(vms)
        self._templates, self._datacenters = list(templates), list(datacenters)
        self.events: Dict[int, Obj] = {}
        self.actions: List[Tuple[str, str]] = []
        self.writes = 0

    def call(self, what: str, func: Any, *args: Any, **kwargs: Any) -> Any:
        return func(*args, **kwargs)

    @staticmethod
    def _find(items: Sequence[Any], kind: str, name_or_id: str) -> Any:
        for item in items:
            if name_or_id in (item.name, item.id):
                return item
        raise NotFoundError(f"the oVirt engine has no {kind} named or with id {name_or_id!r}")

    def cluster(self, name_or_id: str) -> Any:
        return self._find(self._clusters, "cluster", name_or_id)

    def host(self, name_or_id: str) -> Any:
        return self._find(self._hosts, "host", name_or_id)

    def vm(self, name_or_id: str, all_content: bool = True) -> Any:
        return self._find(self._vms, "VM", name_or_id)

    def datacenter(self, name_or_id: str) -> Any:
        return self._find(self._datacenters, "data center", name_or_id)

    def clusters(self) -> List[Any]:
        return list(self._clusters)

    def hosts(self, cluster_name: Optional[str] = None) -> List[Any]:
        return [h for h in self._hosts if cluster_name is None or h.cluster.name == cluster_name]

    def vms(self, cluster_name: Optional[str] = None, all_content: bool = False) -> List[Any]:
        return [v for v in self._vms if cluster_name is None or v.cluster.name == cluster_name]

    def event_exists(self, custom_id: int) -> bool:
        return custom_id in self.events

    def post_event(self, custom_id: int, description: str, severity: str = "normal", *,
                   cluster_id: Optional[str] = None, host_id: Optional[str] = None,
                   vm_id: Optional[str] = None, check_mode: bool = False, likely_new: bool = False) -> bool:
        if custom_id in self.events:
            return False
        if not check_mode:
            self.writes += 1
            self.events[custom_id] = {"description": description, "severity": severity, "cluster_id": cluster_id,
                                      "host_id": host_id, "vm_id": vm_id}
        return True

    def deactivate_host(self, host: Any, reason: str) -> bool:
        if host.status.value == "maintenance":
            return False
        self.writes += 1
        host.status = status("maintenance")
        return True

    def activate_host(self, host: Any) -> bool:
        if host.status.value == "up":
            return False
        self.writes += 1
        host.status = status("up")
        return True

    def vm_action(self, vm: Any, action: str, **kwargs: Any) -> None:
        self.writes += 1
        self.actions.append((vm.name, action))

    def vm_service(self, vm_id: str) -> Any:
        raise InputError("FakeOvirt has no SDK services")

    def templates(self) -> List[Any]:
        return list(self._templates)

    def add_vm(self, name: str, cluster_id: str, template_id: str, memory_mib: int, cpus: int,
               description: Optional[str] = None, high_availability: bool = False) -> Any:
        """A down VM, as the engine creates it from a template."""
        self.writes += 1
        cluster = self._find(self._clusters, "cluster", cluster_id)
        vm = sized(SimpleNamespace(id=f"vm-{len(self._vms) + 1}", name=name, cluster=cluster, status=status("down"),
                                   host=None, description=description, template=SimpleNamespace(id=template_id),
                                   high_availability=SimpleNamespace(enabled=high_availability)), memory_mib, cpus)
        self._vms.append(vm)
        return vm

    def update_vm(self, vm: Any, memory_mib: int, cpus: int) -> Any:
        self.writes += 1
        return sized(vm, memory_mib, cpus)

    def close(self) -> None:
        return None


def typed(kube: FakeKube, ovirt: FakeOvirt) -> Tuple[KubeApi, OvirtApi]:
    """The fakes as the Protocols the use cases take (mypy checks the fakes implement them)."""
    return kube, ovirt
