# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ovirt_kubevirt.bridge contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the use cases need of the two APIs, as Protocols.

``clients.k8s_service.KubeService`` and ``clients.ovirt_service.OvirtService``
implement them over the real libraries; a test fake implements them over
dicts. Every layer above ``common`` types its ``kube`` and ``ovirt`` with these,
so mypy checks each call against what the services offer.
"""
from __future__ import annotations

import queue
import threading
from typing import Any, Callable, Dict, Iterator, List, Optional, Protocol, Sequence, Tuple, TypeVar

Obj = Dict[str, Any]
T = TypeVar("T")


class KubeApi(Protocol):
    """Kubernetes reads and writes as plain dicts, raising the collection's errors."""

    client: Any  # the kubernetes DynamicClient: its configuration (host, CA) and raw requests

    def token_namespace(self) -> Optional[str]:
        ...

    def has_resource(self, api_version: str, kind: str) -> bool:
        ...

    def request(self, method: str, path: str, body: Optional[Obj] = None, what: Optional[str] = None) -> Obj:
        ...

    def get(self, api_version: str, kind: str, name: str, namespace: Optional[str] = None) -> Optional[Obj]:
        ...

    def list(self, api_version: str, kind: str, namespace: Optional[str] = None,
             label_selector: Optional[str] = None, field_selector: Optional[str] = None) -> Tuple[List[Obj], str]:
        ...

    def create(self, obj: Obj, dry_run: bool = False) -> Obj:
        ...

    def replace(self, obj: Obj, dry_run: bool = False) -> Obj:
        ...

    def patch_merge(self, api_version: str, kind: str, name: str, namespace: Optional[str], patch: Obj,
                    dry_run: bool = False) -> Obj:
        ...

    def delete(self, api_version: str, kind: str, name: str, namespace: Optional[str] = None,
               dry_run: bool = False, propagation: str = "Background") -> bool:
        ...

    def update(self, api_version: str, kind: str, name: str, namespace: Optional[str],
               mutate: Callable[[Obj], Optional[Obj]], dry_run: bool = False) -> Tuple[Obj, bool]:
        ...

    def write_configmap_data(self, name: str, namespace: str, labels: Dict[str, str],
                             plan: Callable[[Optional[Dict[str, str]]], Optional[Dict[str, str]]],
                             check_mode: bool = False, what: str = "record"
                             ) -> Tuple[Optional[Dict[str, str]], Dict[str, str], bool]:
        ...

    def run_batch(self, calls: Sequence[Callable[[], T]],
                  max_workers: int = 8) -> List[Tuple[Optional[T], Optional[Exception]]]:
        ...

    def watch(self, api_version: str, kind: str, namespace: Optional[str] = None,
              label_selector: Optional[str] = None, field_selector: Optional[str] = None,
              timeout_s: float = 60.0, resource_version: Optional[str] = None) -> Iterator[Tuple[str, Obj]]:
        ...

    def watch_into(self, sink: "queue.Queue[Tuple[str, Any, float]]", stop: threading.Event, api_version: str,
                   kind: str, namespace: Optional[str] = None, timeout_s: float = 60.0) -> threading.Thread:
        ...

    def wait_gone(self, api_version: str, kind: str, namespace: Optional[str], *, label_selector: Optional[str] = None,
                  field_selector: Optional[str] = None, timeout_s: float = 60.0) -> List[str]:
        ...


class OvirtApi(Protocol):
    """oVirt engine reads and writes through ovirtsdk4 objects, raising the collection's errors."""

    sdk: Any  # the ovirtsdk4 module: its types build request bodies
    system: Any  # the connection's system service, for reads the methods below do not cover

    def call(self, what: str, func: Any, *args: Any, **kwargs: Any) -> Any:
        ...

    def cluster(self, name_or_id: str) -> Any:
        ...

    def host(self, name_or_id: str) -> Any:
        ...

    def vm(self, name_or_id: str, all_content: bool = True) -> Any:
        ...

    def datacenter(self, name_or_id: str) -> Any:
        ...

    def clusters(self) -> List[Any]:
        ...

    def hosts(self, cluster_name: Optional[str] = None) -> List[Any]:
        ...

    def vms(self, cluster_name: Optional[str] = None, all_content: bool = False) -> List[Any]:
        ...

    def event_exists(self, custom_id: int) -> bool:
        ...

    def post_event(self, custom_id: int, description: str, severity: str = "normal", *,
                   cluster_id: Optional[str] = None, host_id: Optional[str] = None,
                   vm_id: Optional[str] = None, check_mode: bool = False, likely_new: bool = False) -> bool:
        ...

    def deactivate_host(self, host: Any, reason: str) -> bool:
        ...

    def activate_host(self, host: Any) -> bool:
        ...

    def vm_action(self, vm: Any, action: str, **kwargs: Any) -> None:
        ...

    def vm_service(self, vm_id: str) -> Any:
        ...

    def templates(self) -> List[Any]:
        ...

    def add_vm(self, name: str, cluster_id: str, template_id: str, memory_mib: int, cpus: int,
               description: Optional[str] = None, high_availability: bool = False) -> Any:
        ...

    def update_vm(self, vm: Any, memory_mib: int, cpus: int) -> Any:
        ...

    def close(self) -> None:
        ...
