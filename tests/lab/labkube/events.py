"""core/v1 Events, posted from a background queue so reconciles never wait on them."""
from __future__ import annotations

import logging
import queue
import secrets
import threading
from typing import Any

from labkube.rest import EVENTS, ApiError, Kube
from labkube.objects import meta, now_iso

LOG = logging.getLogger("labkube")


class Recorder:
    def __init__(self, kube: Kube, workers: int = 2, max_pending: int = 20000) -> None:
        self._kube = kube
        self._queue: queue.Queue[tuple[Kube, dict[str, Any]] | None] = queue.Queue(maxsize=max_pending)
        self._threads = [threading.Thread(target=self._run, name=f"events-{i}", daemon=True) for i in range(workers)]
        for thread in self._threads:
            thread.start()

    def emit(self, obj: dict[str, Any], etype: str, reason: str, message: str,
             component: str = "virt-controller", host: str | None = None, kube: Kube | None = None) -> None:
        """Queue an Event about ``obj``; ``kube``: post it with that identity (default: the recorder's)."""
        m = meta(obj)
        stamp = now_iso()
        event = {
            "apiVersion": "v1", "kind": "Event",
            "metadata": {"name": f"{m['name']}.{secrets.token_hex(8)}", "namespace": m.get("namespace") or "default"},
            "involvedObject": {
                "apiVersion": obj.get("apiVersion"), "kind": obj.get("kind"), "name": m["name"],
                "namespace": m.get("namespace"), "uid": m.get("uid"), "resourceVersion": m.get("resourceVersion"),
            },
            "reason": reason, "message": message, "type": etype, "count": 1,
            "firstTimestamp": stamp, "lastTimestamp": stamp,
            "source": {"component": component, **({"host": host} if host else {})},
            "reportingComponent": component, "reportingInstance": host or component,
        }
        try:
            self._queue.put_nowait((kube or self._kube, event))
        except queue.Full:  # events are best effort, like the real recorder's
            LOG.warning("event queue full, dropping %s %s", reason, m["name"])

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            kube, event = item
            try:
                kube.request("POST", EVENTS.path(event["metadata"]["namespace"]), event)
            except ApiError as err:
                if err.status != 404:  # namespace gone
                    LOG.debug("event %s not recorded: %s", event["reason"], err)
            except Exception as err:  # apiserver down: drop, as client-go does after retries
                LOG.debug("event %s not recorded: %s", event["reason"], err)

    def stop(self) -> None:
        for _thread in self._threads:
            self._queue.put(None)
