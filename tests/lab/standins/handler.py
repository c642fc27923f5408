"""virt-handler's VMI duties on the fake nodes, and the kubelet's part in a launcher pod's end.

Real virt-controller creates the virt-launcher pod, the real kube-scheduler
binds it, KWOK (the kubelet) runs it, and virt-controller moves the VMI to
``Scheduled`` once the pod is Ready. From there virt-handler on the node
drives the domain; this stand-in does what ``pkg/virt-handler/vm.go`` does
for a domain a fake node cannot run:

* ``Scheduled`` to ``Running`` (``sync``, ``updateVMIStatus``): SELinux
  context, LiveMigratable, interfaces with the pod IP, machine type, disk
  targets, and guest agent data only for VMs the topology gives an agent;
* the Paused condition after the handler API's pause (``updatePausedConditions``);
* a graceful shutdown ending in ``Succeeded`` (``processVmShutdown``);
* the topology's faults, as a real node shows them: ``fail_launches`` gives
  ``SyncFailed`` events and ``Synchronized=False`` while the VMI stays
  Scheduled (``handleSyncError``), then the launcher dies; ``launch_delay_s``
  holds the domain back; ``crash_after_s`` makes the launcher exit.

What the kubelet does when a launcher exits (pod phase and container states)
is written with the node's own kubelet identity (``system:node:<name>``).
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Any

import labtopology
from labkube.events import Recorder
from labkube.informer import Informer, Obj, Store, WorkQueue, obj_key, run_worker
from labkube.objects import controller_owner, deep, find_condition, meta, now_time, parse_iso, spec, status
from labkube.rest import PODS, VMIS, ApiError, Kube
from standins import vmistatus
from standins.budgets import Budgets
from standins.nodes import NodeAgent

LOG = logging.getLogger("standins")

SYNC_RETRIES = 3            # SyncFailed events before the failing launcher gives up
SYNC_RETRY_S = 1.0          # virt-handler's rate-limited requeue, roughly
SHUTDOWN_S = 1.0            # a guest that honours ACPI powers off within this
# libvirt resolves machine-type aliases to the canonical type, which virt-handler reports (updateMachineType).
MACHINE_ALIASES = {"q35": "pc-q35-rhel9.6.0", "pc": "pc-i440fx-rhel7.6.0"}
FINAL = ("Succeeded", "Failed")


@dataclass
class Domain:
    """What libvirt would know of one VMI's domain on its node."""

    node: str
    state: str = "defining"       # defining, running, paused, shut-off
    sync_failures: int = 0
    running_since: float | None = None
    shutdown_due: float | None = None
    crashed: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


class Handler:
    def __init__(self, admin: Kube, kubelets: dict[str, Kube], agent: NodeAgent, topology: labtopology.Topology,
                 budgets: Budgets, recorder: Recorder, stop: threading.Event, workers: int = 4) -> None:
        self.admin, self.kubelets, self.agent = admin, kubelets, agent
        self.budgets, self.recorder, self.stop = budgets, recorder, stop
        self.vms = {vm.name: vm for vm in topology.vms}
        self.vmis = Store("vmis")
        self.pods = Store("pods")
        self.queue = WorkQueue()
        self.domains: dict[str, Domain] = {}
        self.lock = threading.Lock()
        self.migrations: Any = None      # set by __main__ (migration.Migrations)
        self._workers = workers
        self.vmis.on_change(lambda old, new: self.queue.add(obj_key(new or old or {})))
        self.pods.on_change(self._pod_changed)

    def start(self) -> None:
        Informer(self.admin, VMIS, self.vmis, self.stop).start()
        Informer(self.admin, PODS, self.pods, self.stop,
                 selectors={"labelSelector": "kubevirt.io=virt-launcher"}).start()
        for index in range(self._workers):
            threading.Thread(target=run_worker, args=(self.queue, self.stop, self._sync_key, "vmi", (404, 409, 422)),
                             name=f"handler-{index}", daemon=True).start()

    def _pod_changed(self, old: Obj | None, new: Obj | None) -> None:
        pod = new or old or {}
        owner = controller_owner(pod, "VirtualMachineInstance")
        if owner:
            self.queue.add(f"{meta(pod).get('namespace')}/{owner['name']}")
        if new is not None and meta(new).get("deletionTimestamp") and status(new).get("phase") not in FINAL:
            self.queue.add(("pod", obj_key(new)))

    def _sync_key(self, key: Hashable) -> None:
        if isinstance(key, tuple):
            self._reap(key[1])
        else:
            self.sync(str(key))

    def requeue(self, key: Hashable, delay: float) -> None:
        self.queue.add_after(key, max(0.01, delay))

    # ----------------------------------------------------------------- sync

    def sync(self, key: str) -> None:
        vmi = self.vmis.get(key)
        if vmi is None:
            with self.lock:
                for uid in [u for u, d in self.domains.items() if d.extra.get("key") == key]:
                    self.domains.pop(uid, None)
            return
        if self.migrations is not None and self.migrations.sync(vmi):
            return
        node = status(vmi).get("nodeName")
        phase = status(vmi).get("phase")
        if not node or not self.agent.alive(node) or phase in FINAL or phase not in ("Scheduled", "Running"):
            self._finish_pods(vmi)
            return
        client = self.agent.handler_client(node)
        if client is None:
            self.requeue(key, 1.0)   # its handler pod is not running yet
            return
        domain = self._domain(vmi, node)
        pod = self.launcher_pod(vmi, node)
        going = bool(meta(vmi).get("deletionTimestamp")) or bool(pod and meta(pod).get("deletionTimestamp"))
        if phase == "Scheduled":
            if going:
                self.kubelet_ends(pod, exit_code=0, reason="Completed")
            else:
                self._launch(key, vmi, pod, domain, client)
        elif going:
            self._shut_down(key, vmi, pod, domain, client)
        else:
            self._keep_running(key, vmi, pod, domain, client)

    def _reap(self, pod_key: str) -> None:
        """The kubelet stops a deleted launcher pod that no virt-handler is shutting a domain down in
        (its VMI is gone, not yet Scheduled, or already ended): SIGTERM, and the launcher exits."""
        pod = self.pods.get(pod_key)
        if pod is None or status(pod).get("phase") in FINAL or not self.agent.alive(spec(pod).get("nodeName") or ""):
            return
        owner = controller_owner(pod, "VirtualMachineInstance") or {}
        vmi = self.vmis.get(f"{meta(pod).get('namespace')}/{owner.get('name')}")
        handled = (vmi is not None and meta(vmi).get("uid") == owner.get("uid")
                   and status(vmi).get("phase") in ("Scheduled", "Running")
                   and status(vmi).get("nodeName") == spec(pod).get("nodeName"))
        if not handled:
            self.kubelet_ends(pod, exit_code=0, reason="Completed")

    def _domain(self, vmi: Obj, node: str) -> Domain:
        uid = meta(vmi)["uid"]
        with self.lock:
            domain = self.domains.get(uid)
            if domain is None or domain.node != node:
                # After a restart of the stand-in the VMI's status says what ran (as libvirt still knows).
                domain = Domain(node=node, extra={"key": obj_key(vmi)})
                if status(vmi).get("phase") == "Running":
                    paused = find_condition(status(vmi).get("conditions"), "Paused")
                    domain.state = "paused" if paused else "running"
                    domain.running_since = _phase_time(vmi, "Running") or time.time()
                self.domains[uid] = domain
            return domain

    def launcher_pod(self, vmi: Obj, node: str) -> Obj | None:
        """The VMI's launcher pod on that node (CurrentVMIPod: the newest one on status.nodeName)."""
        uid = meta(vmi).get("uid")
        candidates = [p for p in self.pods.values()
                      if (controller_owner(p, "VirtualMachineInstance") or {}).get("uid") == uid
                      and spec(p).get("nodeName") == node]
        candidates.sort(key=lambda p: meta(p).get("creationTimestamp") or "")
        return candidates[-1] if candidates else None

    # --------------------------------------------------------------- launch

    def _launch(self, key: str, vmi: Obj, pod: Obj | None, domain: Domain, client: Kube) -> None:
        node = domain.node
        host = self.agent.nodes[node].host
        delay = float(host.faults.get("launch_delay_s", 0))
        scheduled = _phase_time(vmi, "Scheduled") or time.time()
        if time.time() < scheduled + delay:
            self.requeue(key, scheduled + delay - time.time())
            return
        if self.budgets.decide(f"launch/{meta(vmi)['uid']}", "fail_launches", node):
            self._failing_launch(key, vmi, pod, domain, client)
            return
        self._write_running(vmi, pod, domain, client)

    def _failing_launch(self, key: str, vmi: Obj, pod: Obj | None, domain: Domain, client: Kube) -> None:
        """handleSyncError: a SyncFailed event and Synchronized=False per failed sync, the VMI staying
        Scheduled; then virt-launcher dies, the kubelet marks the pod Failed and the handler the VMI."""
        message = ("server error. command SyncVMI failed: \"LibvirtError(Code=1, Domain=10, Message='internal "
                   "error: qemu unexpectedly closed the monitor: qemu-kvm: failed to initialize kvm: "
                   "Operation not permitted')\"")
        if domain.sync_failures < SYNC_RETRIES:
            domain.sync_failures += 1
            self.recorder.emit(vmi, "Warning", "SyncFailed", message, component="virt-handler", host=domain.node,
                               kube=client)
            new = deep(vmi)
            conditions = status(new).setdefault("conditions", [])
            if vmistatus.set_condition(conditions, {"type": "Synchronized", "status": "False",
                                                    "reason": "Synchronizing with the Domain failed.",
                                                    "message": message, "lastProbeTime": None}):
                self.write(client, new)
            self.requeue(key, SYNC_RETRY_S * domain.sync_failures)
            return
        self.kubelet_ends(pod, exit_code=1, reason="Error",
                          message="virt-launcher exited: the domain could not be started")
        self._write_final(vmi, client, "Failed", domain.node,
                          ("Warning", "Stopped", "The VirtualMachineInstance crashed."))

    def _write_running(self, vmi: Obj, pod: Obj | None, domain: Domain, client: Kube) -> None:
        """updateVMIStatus on the first sync that finds the domain running."""
        new = deep(vmi)
        st = status(new)
        agent = self.has_agent(vmi)
        conditions = st.setdefault("conditions", [])
        migratable, method = vmistatus.live_migration(vmi)
        vmistatus.set_condition(conditions, migratable)
        vmistatus.set_condition(conditions, {"type": "StorageLiveMigratable", "status": "True",
                                             "lastProbeTime": None})
        vmistatus.drop_condition(conditions, "Synchronized")
        if agent:
            vmistatus.set_condition(conditions, {"type": "AgentConnected", "status": "True", "lastProbeTime": now_time()})
            st["guestOSInfo"] = vmistatus.guest_os(vmi)
        st.update(phase="Running", selinuxContext="none", migrationMethod=method,
                  interfaces=vmistatus.interfaces(vmi, pod, agent), volumeStatus=vmistatus.volume_targets(vmi),
                  machine={"type": _machine_type(vmi)})
        vmistatus.phase_transition(st, "Running")
        self.write(client, new)
        domain.state, domain.running_since = "running", time.time()
        self.recorder.emit(vmi, "Normal", "Created", "VirtualMachineInstance defined.", component="virt-handler",
                           host=domain.node, kube=client)
        self.recorder.emit(vmi, "Normal", "Started", "VirtualMachineInstance started.", component="virt-handler",
                           host=domain.node, kube=client)
        LOG.info("vmi %s running on %s", obj_key(vmi), domain.node)

    # -------------------------------------------------------------- running

    def _keep_running(self, key: str, vmi: Obj, pod: Obj | None, domain: Domain, client: Kube) -> None:
        vm = self.vms.get(_vm_name(vmi))
        crash_after = vm.faults.get("crash_after_s") if vm else None
        if crash_after is not None and not domain.crashed and domain.running_since is not None:
            due = domain.running_since + crash_after
            if time.time() >= due:
                domain.crashed = True
                self.kubelet_ends(pod, exit_code=1, reason="Error", message="qemu-kvm exited (fault crash_after_s)")
                self._write_final(vmi, client, "Failed", domain.node,
                                  ("Warning", "Stopped", "The VirtualMachineInstance crashed."))
                return
            self.requeue(key, due - time.time())
        new = deep(vmi)
        st = status(new)
        conditions = st.setdefault("conditions", [])
        changed = False
        if domain.state == "paused":
            if find_condition(conditions, "Paused") is None:
                changed |= vmistatus.set_condition(conditions, {
                    "type": "Paused", "status": "True", "reason": "PausedByUser",
                    "message": "VMI was paused by user", "lastProbeTime": now_time()})
        else:
            changed |= vmistatus.drop_condition(conditions, "Paused")
        agent = self.has_agent(vmi)
        interfaces = vmistatus.interfaces(vmi, pod, agent)
        if interfaces != st.get("interfaces"):
            st["interfaces"], changed = interfaces, True
        volumes = vmistatus.volume_targets(vmi)
        if volumes != st.get("volumeStatus"):
            self._volume_events(vmi, volumes, domain, client)
            st["volumeStatus"], changed = volumes, True
        if st.get("selinuxContext") != "none":
            st["selinuxContext"], changed = "none", True
        if changed:
            self.write(client, new)

    def _volume_events(self, vmi: Obj, volumes: list[Obj], domain: Domain, client: Kube) -> None:
        """generateEventsForVolumeStatusChange: an event per hotplug phase change."""
        before = {v.get("name"): v.get("phase") for v in status(vmi).get("volumeStatus") or []}
        for volume in volumes:
            if volume.get("hotplugVolume") is not None and before.get(volume.get("name")) != volume.get("phase"):
                self.recorder.emit(vmi, "Normal", str(volume.get("reason")), str(volume.get("message")),
                                   component="virt-handler", host=domain.node, kube=client)

    # ------------------------------------------------------------- shutdown

    def _shut_down(self, key: str, vmi: Obj, pod: Obj | None, domain: Domain, client: Kube) -> None:
        """processVmShutdown: ACPI shutdown within the grace period; a grace of 0 destroys at once."""
        if domain.shutdown_due is None:
            grace = spec(vmi).get("terminationGracePeriodSeconds")
            domain.shutdown_due = time.time() + (0.0 if grace == 0 else SHUTDOWN_S)
            if grace != 0:
                self.recorder.emit(vmi, "Normal", "ShuttingDown", "Signaled Graceful Shutdown",
                                   component="virt-handler", host=domain.node, kube=client)
        if time.time() < domain.shutdown_due:
            self.requeue(key, domain.shutdown_due - time.time())
            return
        domain.state = "shut-off"
        self._write_final(vmi, client, "Succeeded", domain.node,
                          ("Normal", "Stopped", "The VirtualMachineInstance was shut down."))
        self.kubelet_ends(pod, exit_code=0, reason="Completed")

    def _write_final(self, vmi: Obj, client: Kube, phase: str, node: str, event: tuple[str, str, str]) -> None:
        new = deep(vmi)
        st = status(new)
        st["phase"] = phase
        vmistatus.phase_transition(st, phase)
        conditions = st.setdefault("conditions", [])
        vmistatus.drop_condition(conditions, "Paused")
        vmistatus.drop_condition(conditions, "AgentConnected")
        self.write(client, new)
        self.recorder.emit(vmi, event[0], event[1], event[2], component="virt-handler", host=node, kube=client)
        LOG.info("vmi %s %s on %s", obj_key(vmi), phase, node)

    def _finish_pods(self, vmi: Obj) -> None:
        """A final VMI's launcher on a live node has exited: the kubelet reports its pod as ended."""
        if status(vmi).get("phase") not in FINAL:
            return
        uid = meta(vmi).get("uid")
        for pod in self.pods.values():
            if (controller_owner(pod, "VirtualMachineInstance") or {}).get("uid") != uid:
                continue
            if self.agent.alive(spec(pod).get("nodeName") or "") and status(pod).get("phase") not in FINAL:
                failed = status(vmi).get("phase") == "Failed"
                self.kubelet_ends(pod, exit_code=1 if failed else 0, reason="Error" if failed else "Completed")

    # -------------------------------------------------------------- writing

    def write(self, client: Kube, vmi: Obj) -> Obj:
        """A full update of the VMI, as virt-handler does (the VMI CRD has no status subresource)."""
        written = client.replace(VMIS, vmi)
        self.vmis.upsert(written)
        return written

    def kubelet_ends(self, pod: Obj | None, exit_code: int, reason: str, message: str = "") -> None:
        """The kubelet's status for a pod whose containers exited (phase Succeeded or Failed)."""
        if pod is None or status(pod).get("phase") in FINAL:
            return
        node = spec(pod).get("nodeName") or ""
        kubelet = self.kubelets.get(node)
        if kubelet is None:
            return
        now = now_time()
        ended, ended_init = [], []
        for cs in status(pod).get("initContainerStatuses") or []:
            state = cs.get("state") or {}
            if "terminated" in state:
                ended_init.append(cs)
                continue
            started = (state.get("running") or {}).get("startedAt") or now
            ended_init.append({**cs, "ready": False, "started": False, "state": {"terminated": {
                "exitCode": 0, "reason": "Completed", "startedAt": started, "finishedAt": now}}})
        for cs in status(pod).get("containerStatuses") or []:
            started = ((cs.get("state") or {}).get("running") or {}).get("startedAt") or now
            terminated: Obj = {"exitCode": exit_code, "reason": reason, "startedAt": started, "finishedAt": now}
            if message and cs.get("name") == "compute":
                terminated["message"] = message
            ended.append({"name": cs.get("name"), "ready": False, "started": False, "restartCount": 0,
                          "image": cs.get("image"), "imageID": cs.get("imageID", ""),
                          "state": {"terminated": terminated}})
        phase = "Succeeded" if exit_code == 0 else "Failed"
        why = "PodCompleted" if exit_code == 0 else "PodFailed"
        conditions = [{"type": ctype, "status": "False", "reason": why, "lastTransitionTime": now}
                      for ctype in ("Ready", "ContainersReady")]
        patch = {"status": {"phase": phase, "containerStatuses": ended, "initContainerStatuses": ended_init,
                            "conditions": conditions}}
        try:
            kubelet.patch(PODS, meta(pod)["namespace"], meta(pod)["name"], patch, sub="status", kind="strategic")
        except ApiError as err:
            if err.status != 404:
                raise

    # -------------------------------------------------------------- queries

    def has_agent(self, vmi: Obj) -> bool:
        vm = self.vms.get(_vm_name(vmi))
        return bool(vm and vm.guest_agent)

    def vmi_on_node(self, namespace: str, name: str) -> tuple[Obj | None, Domain | None]:
        """The handler API's view: the VMI if this stand-in runs its domain."""
        vmi = self.vmis.get(f"{namespace}/{name}")
        if vmi is None:
            return None, None
        node = status(vmi).get("nodeName")
        if not node or not self.agent.alive(node):
            return None, None
        with self.lock:
            return vmi, self.domains.get(meta(vmi)["uid"])


def _vm_name(vmi: Obj) -> str:
    owner = controller_owner(vmi, "VirtualMachine")
    return str(owner["name"]) if owner else str(meta(vmi).get("name"))


def _phase_time(vmi: Obj, phase: str) -> float | None:
    for stamp in status(vmi).get("phaseTransitionTimestamps") or []:
        if stamp.get("phase") == phase:
            return parse_iso(stamp.get("phaseTransitionTimestamp"))
    return None


def _machine_type(vmi: Obj) -> str:
    wanted = str(((spec(vmi).get("domain") or {}).get("machine") or {}).get("type") or "q35")
    return MACHINE_ALIASES.get(wanted, wanted)
