"""VirtualMachineInstance lifecycle: what virt-controller, the scheduler and virt-handler do.

One step per reconcile: a status write feeds the cache, which queues the VMI
again for the next step, so a VMI without faults goes from created to Running
in a couple of round trips and no reconcile ever sleeps.
"""
from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

from . import vmistatus
from labkube.rest import VMIS, ApiError
from labkube.objects import Obj, controller_owner, deleting, drop_condition, find_condition, meta, now_iso, parse_iso, set_condition, spec, status

if TYPE_CHECKING:
    from .app import Sim

LOG = logging.getLogger("kubevirt-sim")

SHUTDOWN_FINALIZER = "kubevirt.io/foregroundDeleteVirtualMachine"
VM_FINALIZER = "kubevirt.io/virtualMachineControllerFinalize"
NODE_LABEL = "kubevirt.io/nodeName"


def vm_name(vmi: Obj) -> str:
    owner = controller_owner(vmi, "VirtualMachine")
    return str(owner["name"]) if owner else str(meta(vmi)["name"])


def set_node_label(sim: Sim, vmi: Obj, node: str) -> None:
    """The node label is metadata, which a status write can not change: a separate merge patch."""
    if (meta(vmi).get("labels") or {}).get(NODE_LABEL) == node:
        return
    try:
        patched = sim.kube.patch(VMIS, meta(vmi)["namespace"], meta(vmi)["name"],
                                 {"metadata": {"labels": {NODE_LABEL: node}}})
    except ApiError as err:
        LOG.debug("vmi %s: node label not set: %s", meta(vmi)["name"], err)
        return
    sim.vmis.upsert(patched)


class VmiController:
    def __init__(self, sim: Sim) -> None:
        self.sim = sim
        self._shutdown_seen: dict[str, float] = {}  # uid -> monotonic time its deletion was noticed
        self._scheduling_message: dict[str, str] = {}  # uid -> last FailedScheduling message

    def reconcile(self, key: str) -> None:
        vmi = self.sim.vmis.get(key)
        if vmi is None:
            self.sim.capacity_found(("vmi", key))
            return
        if deleting(vmi):
            self._shutdown(key, vmi)
            return
        if SHUTDOWN_FINALIZER not in (meta(vmi).get("finalizers") or []):
            self._add_finalizer(key)
            return
        phase = status(vmi).get("phase") or ""
        if phase in ("", "Pending", "Scheduling"):
            self._schedule(key, vmi)
        elif phase == "Scheduled":
            self._launch(key, vmi)
        elif phase == "Running":
            self._running(key, vmi)

    # ----------------------------------------------------------- pending

    def _add_finalizer(self, key: str) -> None:
        def change(obj: Obj) -> bool:
            finalizers = meta(obj).setdefault("finalizers", [])
            if SHUTDOWN_FINALIZER in finalizers or deleting(obj):
                return False
            finalizers.append(SHUTDOWN_FINALIZER)
            return True

        self.sim.mutate(VMIS, key, change, sub=None)

    def _schedule(self, key: str, vmi: Obj) -> None:
        decision = self.sim.view.place(key, vmi)
        uid = meta(vmi)["uid"]
        if decision.node is None:
            self._unschedulable(key, vmi, decision.message)
            return
        self.sim.capacity_found(("vmi", key))
        node, stamp = decision.node, now_iso()

        def change(obj: Obj) -> bool:
            st = obj.setdefault("status", {})
            if meta(obj)["uid"] != uid or st.get("phase") not in (None, "", "Pending", "Scheduling"):
                return False
            done = {t.get("phase") for t in st.get("phaseTransitionTimestamps") or []}
            vmistatus.add_transitions(st, [p for p in ("Pending", "Scheduling") if p not in done] + ["Scheduled"], stamp)
            st["phase"], st["nodeName"] = "Scheduled", node
            conditions = st.setdefault("conditions", [])
            drop_condition(conditions, "PodScheduled")
            set_condition(conditions, "Ready", "False", "PodNotReady", "virt-launcher pod is starting")
            return True

        try:
            written = self.sim.mutate(VMIS, key, change)
        except Exception:
            self.sim.view.forget(key)
            raise
        if written is None or status(written).get("nodeName") != node:
            self.sim.view.forget(key)
            return
        self._scheduling_message.pop(uid, None)
        LOG.info("vmi %s scheduled on %s", key, node)
        set_node_label(self.sim, written, node)

    def _unschedulable(self, key: str, vmi: Obj, message: str) -> None:
        self.sim.wait_for_capacity(("vmi", key))
        uid = meta(vmi)["uid"]
        cond = find_condition(status(vmi).get("conditions"), "PodScheduled")
        if status(vmi).get("phase") == "Scheduling" and cond and cond.get("message") == message:
            return
        stamp = now_iso()

        def change(obj: Obj) -> bool:
            st = obj.setdefault("status", {})
            if meta(obj)["uid"] != uid or st.get("phase") not in (None, "", "Pending", "Scheduling"):
                return False
            if st.get("phase") != "Scheduling":
                done = {t.get("phase") for t in st.get("phaseTransitionTimestamps") or []}
                vmistatus.add_transitions(st, [p for p in ("Pending", "Scheduling") if p not in done], stamp)
                st["phase"] = "Scheduling"
            conditions = st.setdefault("conditions", [])
            set_condition(conditions, "PodScheduled", "False", "Unschedulable", message)
            set_condition(conditions, "Ready", "False", "PodNotReady", "virt-launcher pod is not scheduled")
            return True

        written = self.sim.mutate(VMIS, key, change)
        if written is not None and self._scheduling_message.get(uid) != message:
            self._scheduling_message[uid] = message
            LOG.info("vmi %s unschedulable: %s", key, message)
            self.sim.events.emit(written, "Warning", "FailedScheduling", message, component="default-scheduler")

    # ----------------------------------------------------------- launch

    def _node_lost(self, node: str | None) -> bool:
        return not node or self.sim.nodes.get(node) is None or not self.sim.faults.node_ready(node)

    def _launch(self, key: str, vmi: Obj) -> None:
        node = status(vmi).get("nodeName")
        if self._node_lost(node):
            self._fail(key, vmi, "NodeUnresponsive", f"node {node} is not responding", "NodeUnresponsive")
            return
        assert node is not None
        delay = self.sim.faults.launch_delay(node)
        since = parse_iso(vmistatus.phase_since(vmi, "Scheduled")) or time.time()
        if delay and time.time() < since + delay:
            self.sim.queue.add_after(("vmi", key), since + delay - time.time())
            return
        fails, left = self.sim.faults.launch_fails(meta(vmi)["uid"], node)
        if fails:
            message = (f"virt-launcher failed to start the domain on node {node} "
                       f"(simulated fault fail_launches; {left} more will fail there)")
            self._fail(key, vmi, "LauncherFailed", message, "FailedLaunch")
            return
        self._start(key, vmi, node)

    def _start(self, key: str, vmi: Obj, node: str) -> None:
        uid, stamp = meta(vmi)["uid"], now_iso()

        def change(obj: Obj) -> bool:
            st = obj.setdefault("status", {})
            if meta(obj)["uid"] != uid or st.get("phase") != "Scheduled" or st.get("nodeName") != node:
                return False
            vmistatus.add_transitions(st, ["Running"], stamp)
            st["phase"] = "Running"
            st.update(vmistatus.running_extras(obj, node))
            conditions = st.setdefault("conditions", [])
            set_condition(conditions, "Ready", "True")
            migratable, reason, message = vmistatus.live_migratable(obj)
            set_condition(conditions, "LiveMigratable", "True" if migratable else "False", reason, message)
            set_condition(conditions, "AgentConnected", "True")
            return True

        written = self.sim.mutate(VMIS, key, change)
        if written is not None and status(written).get("phase") == "Running":
            LOG.info("vmi %s running on %s", key, node)
            self.sim.events.emit(written, "Normal", "Started", "VirtualMachineInstance started.",
                                 component="virt-handler", host=node)

    # ---------------------------------------------------------- running

    def _running(self, key: str, vmi: Obj) -> None:
        node = status(vmi).get("nodeName")
        if self._node_lost(node):
            self._fail(key, vmi, "NodeUnresponsive", f"node {node} is not responding", "NodeUnresponsive")
            return
        crash_after = self.sim.faults.crash_after(vm_name(vmi))
        if crash_after is not None:
            since = parse_iso(vmistatus.phase_since(vmi, "Running")) or time.time()
            if time.time() >= since + crash_after:
                self._fail(key, vmi, "GuestCrashed",
                           f"the guest crashed {crash_after:g} s after it started (simulated fault crash_after_s)",
                           "GuestCrashed")
                return
            self.sim.queue.add_after(("vmi", key), since + crash_after - time.time())
        wanted = vmistatus.volume_status(vmi)
        if status(vmi).get("volumeStatus", []) != wanted:
            self._sync_volumes(key, vmi)

    def _sync_volumes(self, key: str, vmi: Obj) -> None:
        uid = meta(vmi)["uid"]
        before = {v["name"] for v in status(vmi).get("volumeStatus") or []}

        def change(obj: Obj) -> bool:
            if meta(obj)["uid"] != uid or status(obj).get("phase") != "Running":
                return False
            obj["status"]["volumeStatus"] = vmistatus.volume_status(obj)
            return True

        written = self.sim.mutate(VMIS, key, change)
        if written is None:
            return
        after = {v["name"] for v in status(written).get("volumeStatus") or []}
        for name in sorted(after - before):
            self.sim.events.emit(written, "Normal", "VolumeReady", f"Successfully attach hotplugged volume {name} to VM",
                                 component="virt-handler", host=status(written).get("nodeName"))
        for name in sorted(before - after):
            self.sim.events.emit(written, "Normal", "VolumeDetached", f"Volume {name} was removed from the VM",
                                 component="virt-handler", host=status(written).get("nodeName"))

    def _fail(self, key: str, vmi: Obj, reason: str, message: str, event_reason: str) -> None:
        uid, stamp = meta(vmi)["uid"], now_iso()

        def change(obj: Obj) -> bool:
            st = obj.setdefault("status", {})
            if meta(obj)["uid"] != uid or st.get("phase") in vmistatus.FINAL_PHASES:
                return False
            vmistatus.add_transitions(st, ["Failed"], stamp)
            st["phase"], st["reason"] = "Failed", reason
            conditions = st.setdefault("conditions", [])
            set_condition(conditions, "Ready", "False", reason, message)
            drop_condition(conditions, "AgentConnected")
            return True

        written = self.sim.mutate(VMIS, key, change)
        if written is not None and status(written).get("phase") == "Failed":
            node = status(written).get("nodeName")
            LOG.info("vmi %s failed on %s: %s", key, node, reason)
            self.sim.events.emit(written, "Warning", event_reason, message, component="virt-handler", host=node)

    # --------------------------------------------------------- deletion

    def _shutdown(self, key: str, vmi: Obj) -> None:
        """Deleting VMIs keep their finalizer until the simulated guest has shut down."""
        if SHUTDOWN_FINALIZER not in (meta(vmi).get("finalizers") or []):
            return
        uid = meta(vmi)["uid"]
        if status(vmi).get("phase") not in vmistatus.FINAL_PHASES:
            if status(vmi).get("phase") in ("Running", "Scheduled"):
                grace = spec(vmi).get("terminationGracePeriodSeconds")
                delay = min(float(grace if grace is not None else 30), self.sim.timing.shutdown)
                remaining = delay - (time.monotonic() - self._shutdown_seen.setdefault(uid, time.monotonic()))
                if remaining > 0:
                    self.sim.queue.add_after(("vmi", key), remaining)
                    return
            self._mark_succeeded(key, vmi)
        self._shutdown_seen.pop(uid, None)

        def change(obj: Obj) -> bool:
            finalizers = meta(obj).get("finalizers") or []
            if meta(obj)["uid"] != uid or SHUTDOWN_FINALIZER not in finalizers:
                return False
            meta(obj)["finalizers"] = [f for f in finalizers if f not in (SHUTDOWN_FINALIZER, VM_FINALIZER)]
            return True

        self.sim.mutate(VMIS, key, change, sub=None)

    def _mark_succeeded(self, key: str, vmi: Obj) -> None:
        uid, stamp = meta(vmi)["uid"], now_iso()
        was_running = status(vmi).get("phase") == "Running"

        def change(obj: Obj) -> bool:
            st = obj.setdefault("status", {})
            if meta(obj)["uid"] != uid or st.get("phase") in vmistatus.FINAL_PHASES:
                return False
            vmistatus.add_transitions(st, ["Succeeded"], stamp)
            st["phase"] = "Succeeded"
            set_condition(st.setdefault("conditions", []), "Ready", "False", "PodTerminating", "VMI was shut down")
            return True

        written = self.sim.mutate(VMIS, key, change)
        if written is not None and was_running:
            LOG.info("vmi %s shut down", key)
            self.sim.events.emit(written, "Normal", "Stopped", "The VirtualMachineInstance was shut down.",
                                 component="virt-handler", host=status(written).get("nodeName"))
