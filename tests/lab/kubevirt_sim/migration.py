"""VirtualMachineInstanceMigration controller: live migration on a simulated clock.

Phases Pending -> Scheduling -> Scheduled -> PreparingTarget -> TargetReady ->
Running -> Succeeded (or Failed), one step every ``Timing.migration_step``
seconds, timed from the migration's own phaseTransitionTimestamps so a
restarted simulator carries on. The VMI stays on its source node until the
last step; deleting an unfinished migration aborts it (the finalizer gives us
the chance to record abortStatus on the VMI).
"""
from __future__ import annotations

import logging
import time
import uuid
from typing import TYPE_CHECKING

from . import vmistatus
from labkube.rest import VMIMS, VMIS
from labkube.objects import Obj, deleting, find_condition, meta, now_iso, parse_iso, set_condition, spec, status
from .vmi import set_node_label

if TYPE_CHECKING:
    from .app import Sim

LOG = logging.getLogger("kubevirt-sim")

FINALIZER = "kubevirt.io/migrationJobFinalize"
STEPS = ("Scheduled", "PreparingTarget", "TargetReady", "Running")
FINAL = ("Succeeded", "Failed")


def _pod(vmi_name: str, node: str, salt: str) -> str:
    return f"virt-launcher-{vmi_name}-{uuid.uuid5(uuid.NAMESPACE_URL, salt + node).hex[:5]}"


class MigrationController:
    def __init__(self, sim: Sim) -> None:
        self.sim = sim
        self._held: dict[str, tuple[str, str]] = {}  # migration key -> (vmi key, migration uid) holding a target
        self._scheduling_message: dict[str, str] = {}

    def reconcile(self, key: str) -> None:
        mig = self.sim.vmims.get(key)
        if mig is None:
            self._release(key)
            self.sim.capacity_found(("vmim", key))
            return
        vmi_key = f"{meta(mig)['namespace']}/{spec(mig).get('vmiName')}"
        vmi = self.sim.vmis.get(vmi_key)
        phase = status(mig).get("phase") or ""
        if deleting(mig):
            self._finalize(key, mig, vmi)
            return
        if phase in FINAL:
            self._release(key)
            self.sim.capacity_found(("vmim", key))
            return
        if FINALIZER not in (meta(mig).get("finalizers") or []):
            self._add_finalizer(key)
            return
        if phase == "":
            self._admit(key, mig, vmi)
            return
        state = self._state(mig, vmi)
        if vmi is None or (status(vmi).get("phase") != "Running" and not (state and state.get("completed"))):
            self._fail(key, mig, vmi, "VMI is not running")
        elif phase in ("Pending", "Scheduling"):
            self._schedule(key, mig, vmi, vmi_key)
        elif phase in STEPS:
            self._advance(key, mig, vmi, vmi_key, phase)

    @staticmethod
    def _state(mig: Obj, vmi: Obj | None) -> Obj | None:
        """The VMI's migrationState if it belongs to this migration."""
        state = status(vmi).get("migrationState") or {}
        return state if state.get("migrationUid") == meta(mig)["uid"] else None

    def _release(self, key: str) -> None:
        held = self._held.pop(key, None)
        if held is not None:
            self.sim.view.release_target(*held)

    # ------------------------------------------------------------ writes

    def _add_finalizer(self, key: str) -> None:
        def change(obj: Obj) -> bool:
            finalizers = meta(obj).setdefault("finalizers", [])
            if FINALIZER in finalizers or deleting(obj):
                return False
            finalizers.append(FINALIZER)
            return True

        self.sim.mutate(VMIMS, key, change, sub=None)

    def _set_phase(self, key: str, mig: Obj, phase: str, state: Obj | None = None,
                   condition: tuple[str, str, str, str] | None = None) -> Obj | None:
        uid, stamp = meta(mig)["uid"], now_iso()

        def change(obj: Obj) -> bool:
            st = obj.setdefault("status", {})
            if meta(obj)["uid"] != uid or st.get("phase") in FINAL:
                return False
            if st.get("phase") != phase:
                st.setdefault("phaseTransitionTimestamps", []).append(
                    {"phase": phase, "phaseTransitionTimestamp": stamp})
                st["phase"] = phase
            if state is not None:
                st["migrationState"] = state
            if condition is not None:
                set_condition(st.setdefault("conditions", []), *condition)
            return True

        return self.sim.mutate(VMIMS, key, change)

    def _update_vmi_state(self, vmi: Obj, uid: str, updates: Obj, node: str | None = None) -> Obj | None:
        """Merge ``updates`` into the VMI's migrationState of migration ``uid`` (and move it to ``node``)."""
        vmi_uid = meta(vmi)["uid"]
        vmi_key = f"{meta(vmi)['namespace']}/{meta(vmi)['name']}"

        def change(obj: Obj) -> bool:
            st = obj.setdefault("status", {})
            state = st.get("migrationState") or {}
            if meta(obj)["uid"] != vmi_uid or state.get("migrationUid") != uid or state.get("completed"):
                return False
            state.update(updates)
            st["migrationState"] = state
            if node:
                st["nodeName"] = node
                pod_uid = str(uuid.uuid5(uuid.NAMESPACE_URL, f"pod/{vmi_uid}/{node}"))
                st["activePods"] = {pod_uid: node}
            return True

        return self.sim.mutate(VMIS, vmi_key, change)

    # ------------------------------------------------------------ phases

    def _admit(self, key: str, mig: Obj, vmi: Obj | None) -> None:
        if vmi is None:
            self._fail(key, mig, vmi, f"VMI {spec(mig).get('vmiName')} does not exist")
            return
        if status(vmi).get("phase") != "Running":
            self._fail(key, mig, vmi, "VMI is not running")
            return
        migratable, reason, message = vmistatus.live_migratable(vmi)
        if not migratable:
            self._fail(key, mig, vmi, f"VMI is not live migratable: {reason}: {message}")
            return
        self._set_phase(key, mig, "Pending")

    def _schedule(self, key: str, mig: Obj, vmi: Obj, vmi_key: str) -> None:
        uid = meta(mig)["uid"]
        other = status(vmi).get("migrationState") or {}
        if other.get("migrationUid") not in (None, uid) and not other.get("completed") and not other.get("failed"):
            self.sim.queue.add_after(("vmim", key), 0.5)  # another migration of this VMI is still running
            return
        decision = self.sim.view.place_target(vmi_key, vmi, uid, spec(mig).get("addedNodeSelector"))
        if decision.node is None:
            self._unschedulable(key, mig, vmi, decision.message)
            return
        self._held[key] = (vmi_key, uid)
        self.sim.capacity_found(("vmim", key))
        source, target, stamp = status(vmi).get("nodeName"), decision.node, now_iso()
        name = meta(vmi)["name"]
        state = {
            "migrationUid": uid, "sourceNode": source, "targetNode": target, "mode": "PreCopy",
            "sourcePod": _pod(name, source or "", meta(vmi)["uid"]), "targetPod": _pod(name, target, uid),
            "startTimestamp": stamp, "targetNodeAddress": "127.0.0.1",
        }
        vmi_uid = meta(vmi)["uid"]

        def change(obj: Obj) -> bool:
            st = obj.setdefault("status", {})
            current = st.get("migrationState") or {}
            if meta(obj)["uid"] != vmi_uid or st.get("phase") != "Running" or st.get("nodeName") != source:
                return False
            if current.get("migrationUid") == uid:
                return False  # already recorded by an earlier attempt
            st["migrationState"] = dict(state)
            return True

        written = self.sim.mutate(VMIS, vmi_key, change)
        recorded = status(written).get("migrationState") or {}
        if recorded.get("migrationUid") != uid:
            self._fail(key, mig, written, "the VMI changed before the migration could start")
            return
        self._set_phase(key, mig, "Scheduled", state=dict(recorded))
        LOG.info("migration %s: %s from %s to %s", key, vmi_key, source, recorded.get("targetNode"))
        self.sim.events.emit(mig, "Normal", "SuccessfulCreate",
                             f"Created migration target pod {recorded.get('targetPod')}")
        assert written is not None
        self.sim.events.emit(written, "Normal", "Migrating",
                             f"VirtualMachineInstance is migrating to node {recorded.get('targetNode')}.")

    def _unschedulable(self, key: str, mig: Obj, vmi: Obj, message: str) -> None:
        self.sim.wait_for_capacity(("vmim", key))
        cond = find_condition(status(mig).get("conditions"), "PodScheduled")
        if status(mig).get("phase") != "Scheduling" or not cond or cond.get("message") != message:
            written = self._set_phase(key, mig, "Scheduling",
                                      condition=("PodScheduled", "False", "Unschedulable", message))
            if written is not None and self._scheduling_message.get(key) != message:
                self._scheduling_message[key] = message
                LOG.info("migration %s: no target: %s", key, message)
                self.sim.events.emit(written, "Warning", "FailedScheduling", message, component="default-scheduler")
            mig = written or mig
        since = parse_iso(next((t.get("phaseTransitionTimestamp") for t in reversed(status(mig).get(
            "phaseTransitionTimestamps") or []) if t.get("phase") == "Scheduling"), None)) or time.time()
        left = since + self.sim.timing.unschedulable_migration - time.time()
        if left <= 0:
            self._fail(key, mig, vmi, f"no node can take the target pod: {message}")
        else:
            self.sim.queue.add_after(("vmim", key), left)

    def _advance(self, key: str, mig: Obj, vmi: Obj, vmi_key: str, phase: str) -> None:
        self._held.setdefault(key, (vmi_key, meta(mig)["uid"]))
        stamps = status(mig).get("phaseTransitionTimestamps") or []
        since = parse_iso(stamps[-1].get("phaseTransitionTimestamp")) if stamps else None
        wait = (since or time.time()) + self.sim.timing.migration_step - time.time()
        if wait > 0:
            self.sim.queue.add_after(("vmim", key), wait)
            return
        state = self._state(mig, vmi) or {}
        target = state.get("targetNode") or (status(mig).get("migrationState") or {}).get("targetNode")
        if state.get("completed"):  # finished before a crash of ours; just report it
            self._report_end(key, mig, vmi, state)
            return
        if not target or self.sim.nodes.get(target) is None or not self.sim.faults.node_ready(target):
            self._fail(key, mig, vmi, f"target node {target} is not ready")
            return
        if phase != "Running":
            nxt = STEPS[STEPS.index(phase) + 1]
            if nxt == "TargetReady":
                written = self._update_vmi_state(vmi, meta(mig)["uid"], {
                    "targetNodeDomainDetected": True, "targetNodeDomainReadyTimestamp": now_iso()})
                state = self._state(mig, written) or state
            self._set_phase(key, mig, nxt, state=dict(state) if state else None)
            return
        self._finish(key, mig, vmi, target)

    def _finish(self, key: str, mig: Obj, vmi: Obj, target: str) -> None:
        uid = meta(mig)["uid"]
        fails, left = self.sim.faults.migration_fails(uid, target)
        stamp = now_iso()
        if fails:
            reason = (f"live migration to node {target} failed (simulated fault fail_migrations_in; "
                      f"{left} more will fail there)")
            written = self._update_vmi_state(vmi, uid, {"completed": True, "failed": True, "endTimestamp": stamp,
                                                        "failureReason": reason})
        else:
            written = self._update_vmi_state(vmi, uid, {"completed": True, "endTimestamp": stamp}, node=target)
            if written is not None and status(written).get("nodeName") == target:
                set_node_label(self.sim, written, target)
        state = self._state(mig, written) or {}
        if state.get("completed"):
            self._report_end(key, mig, written, state)
        else:
            self._fail(key, mig, written, "the VMI changed during the migration")

    def _report_end(self, key: str, mig: Obj, vmi: Obj | None, state: Obj) -> None:
        self._release(key)
        if state.get("failed"):
            message = state.get("failureReason") or "migration failed"
            self._set_phase(key, mig, "Failed", state=dict(state),
                            condition=("Failed", "True", "MigrationFailed", message))
            LOG.info("migration %s failed: %s", key, message)
            for obj in (mig, vmi):
                if obj is not None:
                    self.sim.events.emit(obj, "Warning", "FailedMigration", message)
            return
        self._set_phase(key, mig, "Succeeded", state=dict(state))
        LOG.info("migration %s succeeded: now on %s", key, state.get("targetNode"))
        self.sim.events.emit(mig, "Normal", "SuccessfulMigration", "Source node reported migration succeeded")
        if vmi is not None:
            self.sim.events.emit(vmi, "Normal", "Migrated",
                                 f"The VirtualMachineInstance migrated to node {state.get('targetNode')}.",
                                 component="virt-handler", host=state.get("targetNode"))

    def _fail(self, key: str, mig: Obj, vmi: Obj | None, message: str) -> None:
        self._release(key)
        state = self._state(mig, vmi)
        if vmi is not None and state is not None and not state.get("completed"):
            written = self._update_vmi_state(vmi, meta(mig)["uid"], {
                "completed": True, "failed": True, "endTimestamp": now_iso(), "failureReason": message})
            state = self._state(mig, written) or state
        self._set_phase(key, mig, "Failed", state=dict(state) if state else None,
                        condition=("Failed", "True", "MigrationFailed", message))
        LOG.info("migration %s failed: %s", key, message)
        self.sim.events.emit(mig, "Warning", "FailedMigration", message)

    def _finalize(self, key: str, mig: Obj, vmi: Obj | None) -> None:
        """A deleted migration that had not finished is aborted; the VMI stays on its source."""
        uid = meta(mig)["uid"]
        state = self._state(mig, vmi)
        if vmi is not None and state is not None and not state.get("completed"):
            written = self._update_vmi_state(vmi, uid, {
                "abortRequested": True, "abortStatus": "Succeeded", "completed": True, "failed": True,
                "endTimestamp": now_iso(), "failureReason": "Live migration aborted by deleting the migration"})
            if written is not None:
                LOG.info("migration %s aborted: %s stays on %s", key, meta(vmi)["name"], status(written).get("nodeName"))
                self.sim.events.emit(written, "Normal", "MigrationAborted",
                                     "Live migration aborted: the migration object was deleted")
        self._release(key)
        self.sim.capacity_found(("vmim", key))

        def change(obj: Obj) -> bool:
            finalizers = meta(obj).get("finalizers") or []
            if meta(obj)["uid"] != uid or FINALIZER not in finalizers:
                return False
            meta(obj)["finalizers"] = [f for f in finalizers if f != FINALIZER]
            return True

        self.sim.mutate(VMIMS, key, change, sub=None)
