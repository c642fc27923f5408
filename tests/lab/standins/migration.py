"""The source and target virt-handlers' side of a live migration, on fake nodes.

Real virt-controller creates the VirtualMachineInstanceMigration's target pod
and hands the migration off (``handleTargetPodHandoff``: ``migrationState``
with ``targetNode``, ``targetPod``, ``sourceNode``); from there the two
handlers write the handshake (``pkg/virt-handler/migration-target.go``,
``migration-source.go``), each with its own node's identity:

1. target: ``targetNodeAddress`` and ``targetDirectMigrationNodePorts``
   (``updateStatus``, ``GetTargetListenerPorts``);
2. source: ``startTimestamp`` and ``mode`` (``setMigrationProgressStatus``);
3. target, once the domain arrived: ``targetNodeDomainDetected``,
   ``targetNodeDomainReadyTimestamp``, then in one update ``endTimestamp``
   with ``status.nodeName`` and the ``kubevirt.io/nodeName`` label
   (``ackMigrationCompletion``), then ``completed`` (``finalizeMigration``)
   and the target label's removal (``finalCleanup``);
4. the kubelet: the source launcher exits (pod Succeeded).

The topology's ``fail_migrations_in`` makes the next N migrations into a
node fail on the source (``failed``, ``endTimestamp``, ``failureReason``),
after which the target launcher exits.
"""
from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

from labkube.objects import Obj, deep, meta, now_time, parse_iso, spec, status
from labkube.rest import Kube
from standins import vmistatus
from standins.nodes import NODE_IP

if TYPE_CHECKING:
    from standins.handler import Handler

LOG = logging.getLogger("standins")

STEP_S = 0.5     # each handshake step of a small guest's migration
# The proxies' listener ports (migration-proxy.go GetTargetListenerPorts): target port -> source port.
DIRECT_PORTS = {"49152": 0, "49153": 49152, "49154": 49153}


class Migrations:
    def __init__(self, handler: Handler) -> None:
        self.h = handler

    def sync(self, vmi: Obj) -> bool:
        """Act on a VMI's migration if one is in flight; True when the handshake owns this sync."""
        state = status(vmi).get("migrationState") or {}
        if not state.get("migrationUid") or not state.get("targetNode") or status(vmi).get("phase") != "Running":
            return False
        if state.get("completed"):
            return self._cleanup(vmi, state)
        if state.get("failed"):
            self._end_target_pod(vmi, state)
            return False
        source, target = state.get("sourceNode") or "", state["targetNode"]
        key = f"{meta(vmi)['namespace']}/{meta(vmi)['name']}"
        if not state.get("targetNodeAddress"):
            client = self._client(target)
            if client is not None and self._target_pod_ready(vmi, state):
                self._prepare_target(vmi, state, client)
            return True
        if not state.get("startTimestamp"):
            client = self._client(source)
            if client is not None:
                self._start(vmi, state, client)
            return True
        if state.get("endTimestamp"):
            if status(vmi).get("nodeName") == target:
                client = self._client(target)
                if client is not None:
                    self._finalize(vmi, state, client)
            return True
        started = parse_iso(state.get("startTimestamp")) or time.time()
        if time.time() < started + STEP_S:
            self.h.requeue(key, started + STEP_S - time.time())
            return True
        if self.h.budgets.decide(f"migration/{state['migrationUid']}", "fail_migrations_in", target):
            client = self._client(source)
            if client is not None:
                self._fail(vmi, state, client)
            return True
        client = self._client(target)
        if client is not None:
            self._complete(vmi, state, client)
        return True

    def _client(self, node: str) -> Kube | None:
        return self.h.agent.handler_client(node) if node and self.h.agent.alive(node) else None

    def _target_pod_ready(self, vmi: Obj, state: Obj) -> bool:
        pod = self.h.pods.get(f"{meta(vmi)['namespace']}/{state.get('targetPod')}")
        return pod is not None and status(pod).get("phase") == "Running"

    def _prepare_target(self, vmi: Obj, state: Obj, client: Kube) -> None:
        new = deep(vmi)
        ms = status(new)["migrationState"]
        ms["targetNodeAddress"] = NODE_IP
        ms["targetDirectMigrationNodePorts"] = dict(DIRECT_PORTS)
        self.h.write(client, new)
        ports = ", ".join(DIRECT_PORTS)
        self.h.recorder.emit(vmi, "Normal", "PreparingTarget",
                             f"Migration Target is listening at {NODE_IP}, on ports: {ports}",
                             component="virt-handler", host=state["targetNode"], kube=client)

    def _start(self, vmi: Obj, state: Obj, client: Kube) -> None:
        new = deep(vmi)
        ms = status(new)["migrationState"]
        ms["startTimestamp"], ms["mode"] = now_time(), "PreCopy"
        self.h.write(client, new)
        self.h.recorder.emit(vmi, "Normal", "Migrating", "VirtualMachineInstance is migrating.",
                             component="virt-handler", host=state.get("sourceNode"), kube=client)

    def _fail(self, vmi: Obj, state: Obj, client: Kube) -> None:
        reason = ("Live migration failed error encountered during MigrateToURI3 libvirt api call: virError(Code=1, "
                  "Domain=7, Message='internal error: qemu unexpectedly closed the migration connection')")
        new = deep(vmi)
        ms = status(new)["migrationState"]
        ms.update(failed=True, endTimestamp=now_time(), failureReason=reason)
        self.h.write(client, new)
        self.h.recorder.emit(vmi, "Warning", "Migrated",
                             f"VirtualMachineInstance migration uid {state['migrationUid']} failed. reason:{reason}",
                             component="virt-handler", host=state.get("sourceNode"), kube=client)
        LOG.info("vmi %s: migration to %s failed (fault fail_migrations_in)", meta(vmi)["name"], state["targetNode"])

    def _complete(self, vmi: Obj, state: Obj, client: Kube) -> None:
        """ackMigrationCompletion: the target takes the VMI over in a single update."""
        target = state["targetNode"]
        new = deep(vmi)
        st = status(new)
        ms = st["migrationState"]
        now = now_time()
        ms.update(targetNodeDomainDetected=True, targetNodeDomainReadyTimestamp=now, endTimestamp=now)
        st.update(nodeName=target, migrationTransport="Unix", launcherContainerImageVersion="",
                  evacuationNodeName="")
        if ms.get("targetMemoryOverhead"):
            st.setdefault("memory", {})["memoryOverhead"] = ms["targetMemoryOverhead"]
        labels = meta(new).setdefault("labels", {})
        labels["kubevirt.io/nodeName"] = target
        labels.pop("kubevirt.io/outdatedLauncherImage", None)
        target_pod = self.h.pods.get(f"{meta(vmi)['namespace']}/{state.get('targetPod')}")
        if target_pod is not None:
            st["interfaces"] = vmistatus.interfaces(new, target_pod, self.h.has_agent(vmi))
        self.h.write(client, new)
        with self.h.lock:
            domain = self.h.domains.get(meta(vmi)["uid"])
            if domain is not None:
                domain.node = target
        self.h.recorder.emit(vmi, "Normal", "Migrated", f"The VirtualMachineInstance migrated to node {target}.",
                             component="virt-handler", host=target, kube=client)
        LOG.info("vmi %s migrated %s -> %s", meta(vmi)["name"], state.get("sourceNode"), target)

    def _finalize(self, vmi: Obj, state: Obj, client: Kube) -> None:
        """finalizeMigration; the source launcher has exited meanwhile."""
        new = deep(vmi)
        status(new)["migrationState"]["completed"] = True
        self.h.write(client, new)
        source_pod = self.h.pods.get(f"{meta(vmi)['namespace']}/{state.get('sourcePod')}")
        self.h.kubelet_ends(source_pod, exit_code=0, reason="Completed")

    def _cleanup(self, vmi: Obj, state: Obj) -> bool:
        """finalCleanup: the target label goes; then the VMI is an ordinary running one again."""
        labels = meta(vmi).get("labels") or {}
        if "kubevirt.io/migrationTargetNodeName" not in labels:
            return False
        client = self._client(state["targetNode"])
        if client is None:
            return True
        new = deep(vmi)
        meta(new)["labels"].pop("kubevirt.io/migrationTargetNodeName", None)
        self.h.write(client, new)
        return True

    def _end_target_pod(self, vmi: Obj, state: Obj) -> None:
        pod = self.h.pods.get(f"{meta(vmi)['namespace']}/{state.get('targetPod')}")
        if pod is not None and spec(pod).get("nodeName") == state.get("targetNode"):
            self.h.kubelet_ends(pod, exit_code=0, reason="Completed")
