"""VirtualMachine controller: keeps the VMI matching runStrategy and reports VM status.

Follows virt-controller's rules: Always restarts any final VMI, RerunOnFailure
only failed ones, Manual and Halted-with-request act on
status.stateChangeRequests (written by the start/stop/restart subresources),
Once starts a single VMI. VMIs that fail before ever running count as start
failures and delay the next start (CrashLoopBackOff), as in KubeVirt but on a
simulated time scale.
"""
from __future__ import annotations

import logging
import time
import uuid
from typing import TYPE_CHECKING, Any

from . import vmistatus
from .app import owner_ref
from .cluster import migration_target
from labkube.rest import VMIS, VMS, ApiError
from labkube.objects import Obj, condition_true, controller_owner, deep, deleting, find_condition, meta, now_iso, parse_iso, spec, status
from .vmi import SHUTDOWN_FINALIZER, VM_FINALIZER

if TYPE_CHECKING:
    from .app import Sim

LOG = logging.getLogger("kubevirt-sim")

ALWAYS, RERUN, MANUAL, HALTED, ONCE = "Always", "RerunOnFailure", "Manual", "Halted", "Once"


def run_strategy(vm: Obj) -> str:
    """spec.runStrategy, else the deprecated spec.running (true: Always, false/absent: Halted)."""
    strategy = spec(vm).get("runStrategy")
    if strategy:
        return str(strategy)
    return ALWAYS if spec(vm).get("running") else HALTED


def new_vmi(vm: Obj) -> Obj:
    """The VMI for a VM: template spec and metadata, owned by the VM."""
    template = spec(vm).get("template") or {}
    tmeta = template.get("metadata") or {}
    vm_meta = meta(vm)
    body = deep(template.get("spec") or {})
    domain = body.setdefault("domain", {})
    domain.setdefault("devices", {})
    # virt-controller derives a stable firmware UUID from the VM so the guest keeps its identity.
    domain.setdefault("firmware", {}).setdefault(
        "uuid", str(uuid.uuid5(uuid.NAMESPACE_URL, f"kubevirt/{vm_meta['namespace']}/{vm_meta['name']}")))
    annotations = dict(tmeta.get("annotations") or {})
    annotations["kubevirt.io/vm-generation"] = str(vm_meta.get("generation", 1))
    return {
        "apiVersion": "kubevirt.io/v1", "kind": "VirtualMachineInstance",
        "metadata": {
            "name": vm_meta["name"], "namespace": vm_meta["namespace"],
            "labels": dict(tmeta.get("labels") or {}), "annotations": annotations,
            "ownerReferences": [owner_ref(vm)], "finalizers": [VM_FINALIZER, SHUTDOWN_FINALIZER],
        },
        "spec": body,
    }


def backoff(failures: int, base: float, cap: float) -> float:
    """KubeVirt's start backoff shape (interval * failures^2), on the simulator's time scale."""
    return min(cap, base * max(1, failures) ** 2)


class VmController:
    def __init__(self, sim: Sim) -> None:
        self.sim = sim

    def reconcile(self, key: str) -> None:
        vm = self.sim.vms.get(key)
        vmi = self.sim.vmis.get(key)
        if self._orphaned(vm, vmi):
            return
        assert vm is not None
        st = deep(status(vm))
        strategy = run_strategy(vm)
        if deleting(vm):
            if vmi is not None and not deleting(vmi):
                self._delete(vmi, vm, "the VM is being deleted")
        else:
            self._track_start_failure(vmi, st)
            self._sync(vm, vmi, strategy, st)
            self._sync_interfaces(vm, key)
        if vmi is None and self.sim.vmis.get(key) is not None and self._bookkeeping(st) == self._bookkeeping(status(vm)):
            # Just started a VMI: its first phase changes will bring us back; one status write then.
            self.sim.queue.add_after(("vm", key), 0.1)
            return
        self._fill_status(vm, self.sim.vmis.get(key), strategy, st)
        retry_at = parse_iso((st.get("startFailure") or {}).get("retryAfterTimestamp"))
        if retry_at and retry_at > time.time():  # CrashLoopBackOff ends by the clock alone
            self.sim.queue.add_after(("vm", key), retry_at - time.time() + 0.05)
        self._write_status(vm, st)

    def _orphaned(self, vm: Obj | None, vmi: Obj | None) -> bool:
        """Clean up VMIs whose VM is gone (or was replaced); True when there is no VM to sync."""
        if vmi is not None and vm is not None and not self._ours(vm, vmi):
            self._delete(vmi, None, "left over from an earlier VM of that name")
            return True
        if vm is None:
            if vmi is not None and controller_owner(vmi, "VirtualMachine") and not deleting(vmi):
                self._delete(vmi, None, "its VM is gone")
            return True
        return False

    def _write_status(self, vm: Obj, st: Obj) -> None:
        if st == status(vm):
            return
        new = deep(vm)
        new["status"] = st
        try:
            self.sim.put(VMS, new, "status")
        except ApiError as err:
            if err.status != 404:  # a VM deleted meanwhile needs no status
                raise

    @staticmethod
    def _bookkeeping(st: Obj) -> tuple[Any, Any]:
        """The status parts that record decisions (not observations) and must be written at once."""
        return st.get("stateChangeRequests"), st.get("startFailure")

    @staticmethod
    def _ours(vm: Obj, vmi: Obj) -> bool:
        """A VMI without a controller is adopted; one controlled by another uid is not ours."""
        owner = controller_owner(vmi, "VirtualMachine")
        return owner is None or owner.get("uid") == meta(vm).get("uid")

    # ------------------------------------------------------------ actions

    def _create(self, vm: Obj) -> None:
        try:
            created = self.sim.create(VMIS, new_vmi(vm))
        except ApiError as err:
            if err.status == 409:
                return  # the cache was behind; the next reconcile sees the VMI
            if err.status == 403 and "being terminated" in err.message:
                return  # the namespace is going away, and this VM with it
            self.sim.events.emit(vm, "Warning", "FailedCreate", f"Error creating virtual machine instance: {err.message}")
            raise
        LOG.info("vm %s/%s: created vmi", meta(vm)["namespace"], meta(vm)["name"])
        self.sim.events.emit(vm, "Normal", "SuccessfulCreate",
                             f"Started the virtual machine by creating the new virtual machine instance {meta(created)['name']}")

    def _delete(self, vmi: Obj, vm: Obj | None, why: str) -> None:
        if deleting(vmi):
            return
        answer = self.sim.kube.delete(VMIS, meta(vmi)["namespace"], meta(vmi)["name"], uid=meta(vmi)["uid"])
        if answer and answer.get("kind") == "VirtualMachineInstance":
            self.sim.vmis.upsert(answer)
        LOG.info("vm %s/%s: deleting vmi (%s)", meta(vmi)["namespace"], meta(vmi)["name"], why)
        if vm is not None:
            self.sim.events.emit(vm, "Normal", "SuccessfulDelete",
                                 f"Stopped the virtual machine by deleting the virtual machine instance {meta(vmi)['uid']}")

    def _sync_interfaces(self, vm: Obj, key: str) -> None:
        """Declarative NIC hotplug (KubeVirt 1.1+): bridge/SR-IOV interfaces added to or marked absent in the
        VM template are plugged into or unplugged from the running VMI, spec first, then the guest's status."""
        vmi = self.sim.vmis.get(key)
        if vmi is None or deleting(vmi) or status(vmi).get("phase") != "Running":
            return
        template = ((spec(vm).get("template") or {}).get("spec") or {})
        wanted = {i["name"]: i for i in ((template.get("domain") or {}).get("devices") or {}).get("interfaces") or []
                  if i.get("name") and ("bridge" in i or "sriov" in i)}
        networks = {n.get("name"): n for n in template.get("networks") or []}

        def change(obj: Obj) -> bool:
            devices = obj["spec"].setdefault("domain", {}).setdefault("devices", {})
            current = devices.setdefault("interfaces", [])
            nets = obj["spec"].setdefault("networks", [])
            before = (deep(current), deep(nets))
            for name, iface in wanted.items():
                present = any(i.get("name") == name for i in current)
                if iface.get("state") == "absent" and present:
                    current[:] = [i for i in current if i.get("name") != name]
                    nets[:] = [n for n in nets if n.get("name") != name]
                elif iface.get("state") != "absent" and not present and name in networks:
                    current.append({k: v for k, v in iface.items() if k != "state"})
                    nets.append(deep(networks[name]))
            return (current, nets) != before

        written = self.sim.mutate(VMIS, key, change, sub=None)
        if written is None or written is vmi:
            return

        def report(obj: Obj) -> bool:
            ifaces = vmistatus.interfaces(obj)
            if status(obj).get("interfaces") == ifaces:
                return False
            obj["status"]["interfaces"] = ifaces
            return True

        self.sim.mutate(VMIS, key, report)

    def _sync(self, vm: Obj, vmi: Obj | None, strategy: str, st: Obj) -> None:
        """Bring the VMI in line with the pending state change requests, else with runStrategy."""
        requests = st.get("stateChangeRequests") or []
        # A stop request for a VMI that no longer exists is done.
        while requests and requests[0].get("action") == "Stop":
            target = requests[0].get("uid")
            if vmi is not None and (not target or target == meta(vmi)["uid"]):
                break
            requests.pop(0)
        if requests and requests[0].get("action") == "Stop" and vmi is not None:
            self._delete(vmi, vm, "stop requested")
        else:
            self._sync_strategy(vm, vmi, strategy, st, requests)
        vmi = self.sim.vmis.get(meta(vm)["namespace"] + "/" + meta(vm)["name"])
        if vmi is not None and not deleting(vmi) and not vmistatus.is_final(vmi):
            # Once a VMI runs, start requests are fulfilled.
            requests[:] = [r for r in requests if r.get("action") != "Start"]
        if requests:
            st["stateChangeRequests"] = requests
        else:
            st.pop("stateChangeRequests", None)

    def _sync_strategy(self, vm: Obj, vmi: Obj | None, strategy: str, st: Obj, requests: list[Obj]) -> None:
        start_pending = any(r.get("action") == "Start" for r in requests)
        if strategy == ALWAYS:
            self._sync_always(vm, vmi, st)
        elif strategy == RERUN:
            self._sync_rerun(vm, vmi, st, requests, start_pending)
        elif strategy in (MANUAL, ONCE) and vmi is None:
            # Manual starts on request only; Once starts a VMI while there is none.
            if start_pending or strategy == ONCE:
                self._create(vm)
        elif strategy == HALTED and vmi is not None:
            self._delete(vmi, vm, "runStrategy Halted")

    def _sync_rerun(self, vm: Obj, vmi: Obj | None, st: Obj, requests: list[Obj], start_pending: bool) -> None:
        """RerunOnFailure: a failed VMI is replaced, a succeeded one ends the VM's run."""
        if vmi is not None and vmistatus.is_final(vmi):
            self._delete(vmi, vm, f"vmi {status(vmi).get('phase')}")
            if status(vmi).get("phase") == "Failed" and not start_pending:
                requests.append({"action": "Start"})
        elif vmi is None and (start_pending or st.get("runStrategy") != RERUN):
            # No VMI yet: start it, unless this VM already ran under RerunOnFailure.
            self._start_after_backoff(vm, st)

    def _sync_always(self, vm: Obj, vmi: Obj | None, st: Obj) -> None:
        if vmi is None:
            self._start_after_backoff(vm, st)
        elif vmistatus.is_final(vmi):
            self._delete(vmi, vm, f"vmi {status(vmi).get('phase')}, restarting")

    def _start_after_backoff(self, vm: Obj, st: Obj) -> None:
        retry_at = parse_iso((st.get("startFailure") or {}).get("retryAfterTimestamp"))
        if retry_at and time.time() < retry_at:
            self.sim.queue.add_after(("vm", f"{meta(vm)['namespace']}/{meta(vm)['name']}"), retry_at - time.time())
            return
        self._create(vm)

    def _track_start_failure(self, vmi: Obj | None, st: Obj) -> None:
        if vmi is None:
            return
        if vmistatus.ever_running(vmi):
            st.pop("startFailure", None)
            return
        failure = st.get("startFailure") or {}
        if status(vmi).get("phase") == "Failed" and failure.get("lastFailedVMIUID") != meta(vmi)["uid"]:
            count = int(failure.get("consecutiveFailCount") or 0) + 1
            delay = backoff(count, self.sim.timing.start_backoff, self.sim.timing.start_backoff_max)
            st["startFailure"] = {"consecutiveFailCount": count, "lastFailedVMIUID": meta(vmi)["uid"],
                                  "retryAfterTimestamp": now_iso(time.time() + delay)}

    # ------------------------------------------------------------ status

    def _fill_status(self, vm: Obj, vmi: Obj | None, strategy: str, st: Obj) -> None:
        st["printableStatus"] = self._printable(vm, vmi, strategy, st)
        st["runStrategy"] = strategy
        generation = meta(vm).get("generation")
        if generation is not None:
            st["observedGeneration"] = generation
            st["desiredGeneration"] = generation
        if vmi is not None:
            st["created"] = True
        else:
            st.pop("created", None)
        if vmi is not None and status(vmi).get("phase") == "Running" and condition_true(vmi, "Ready"):
            st["ready"] = True
        else:
            st.pop("ready", None)
        st["conditions"] = self._conditions(vmi, st.get("conditions") or [])

    def _printable(self, vm: Obj, vmi: Obj | None, strategy: str, st: Obj) -> str:
        if deleting(vm):
            return "Terminating"
        retry_at = parse_iso((st.get("startFailure") or {}).get("retryAfterTimestamp"))
        backing_off = bool(retry_at and time.time() < retry_at)
        if vmi is None:
            if backing_off:
                return "CrashLoopBackOff"
            start_pending = any(r.get("action") == "Start" for r in st.get("stateChangeRequests") or [])
            return "Starting" if strategy in (ALWAYS, ONCE) or start_pending else "Stopped"
        if deleting(vmi):
            return "Stopping"
        phase = status(vmi).get("phase") or ""
        if phase in ("", "Pending", "Scheduling", "Scheduled"):
            cond = find_condition(status(vmi).get("conditions"), "PodScheduled")
            if cond and cond.get("status") == "False" and cond.get("reason") == "Unschedulable":
                return "ErrorUnschedulable"
            return "Starting"
        if phase == "Running":
            if condition_true(vmi, "Paused"):
                return "Paused"
            if migration_target(vmi):
                return "Migrating"
            return "Running"
        if phase == "Failed" and backing_off:
            return "CrashLoopBackOff"
        return "Stopped"

    @staticmethod
    def _conditions(vmi: Obj | None, current: list[Obj]) -> list[Obj]:
        """The VMI's conditions mirrored on the VM; Ready=False when there is no VMI.

        Transition times of conditions that did not flip are kept, so an
        unchanged VM never gets a status write.
        """
        if vmi is None:
            conditions: list[dict[str, Any]] = [{"type": "Ready", "status": "False", "reason": "VMINotExists",
                                                 "message": "VMI does not exist"}]
        else:
            conditions = [deep(c) for c in status(vmi).get("conditions") or []]
            if find_condition(conditions, "Ready") is None:
                conditions.insert(0, {"type": "Ready", "status": "False", "reason": "VMINotReady",
                                      "message": "VMI is not ready"})
        for cond in conditions:
            old = find_condition(current, cond["type"])
            cond.setdefault("lastProbeTime", None)
            if old is not None and old.get("status") == cond.get("status"):
                cond["lastTransitionTime"] = old.get("lastTransitionTime")
            else:
                cond.setdefault("lastTransitionTime", now_iso())
        return conditions
