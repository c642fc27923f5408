"""What virt-api's subresources do to the objects: start/stop/restart/migrate on VMs,
pause/unpause/softreboot/freeze/unfreeze on VMIs, volume hotplug on both.

Every action reads fresh objects from the apiserver (like virt-api does), checks
the same preconditions with KubeVirt's messages, and writes with the object's
resourceVersion, retrying on conflicts. ``dryRun: ["All"]`` in the body runs
all checks and sends the writes with ``?dryRun=All``, so nothing changes.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .errors import VM_NOT_RUNNING, VMI_NOT_RUNNING, StatusError, bad_request, conflict, is_dry_run
from labkube.rest import VMIMS, VMIS, VMS, ApiError
from labkube.objects import Obj, condition_true, drop_condition, meta, set_condition, spec, status
from .vm import ALWAYS, HALTED, MANUAL, ONCE, RERUN, run_strategy
from .vmistatus import guest_os, is_final
from .volumes import VolumeActions

VM_ACTIONS = ("start", "stop", "restart", "migrate", "addvolume", "removevolume")
VMI_ACTIONS = ("pause", "unpause", "softreboot", "freeze", "unfreeze", "addvolume", "removevolume")
VMI_QUERIES = ("guestosinfo", "userlist", "filesystemlist")


class Actions(VolumeActions):
    def run(self, resource: str, namespace: str, name: str, action: str, body: dict[str, Any]) -> tuple[int, Any]:
        """Perform one subresource call; (HTTP code, JSON body or None)."""
        if resource == "virtualmachines":
            handler: Callable[[str, str, dict[str, Any]], tuple[int, Any]] = getattr(self, f"vm_{action}")
        else:
            handler = getattr(self, f"vmi_{action}")
        try:
            return handler(namespace, name, body)
        except ApiError as err:
            if err.status in (400, 403, 404, 409, 422):
                raise StatusError(err.status, err.reason or "Invalid", err.message) from err
            raise StatusError(500, "InternalError", f"Internal error occurred: {err.message}") from err

    # ------------------------------------------------------- VM: power

    def _add_requests(self, vm: Obj, changes: list[Obj]) -> None:
        """virt-api's rule: requests are only added to an empty queue, except that a lone stop replaces it."""
        st = vm.setdefault("status", {})
        current = st.get("stateChangeRequests") or []
        if current and not (len(changes) == 1 and changes[0]["action"] == "Stop"):
            raise conflict("virtualmachine", meta(vm)["name"], "unable to complete request: stop/start already underway")
        st["stateChangeRequests"] = changes
        st.pop("startFailure", None)

    @staticmethod
    def _set_running(vm: Obj, running: bool) -> None:
        if spec(vm).get("runStrategy"):
            vm["spec"]["runStrategy"] = ALWAYS if running else HALTED
        else:
            vm["spec"]["running"] = running

    def vm_start(self, namespace: str, name: str, body: dict[str, Any]) -> tuple[int, Any]:
        dry = is_dry_run(body)
        vmi = self._vmi(namespace, name)

        def check(vm: Obj) -> str:
            if vmi is not None and not is_final(vmi) and status(vmi).get("phase") not in (None, "", "Unknown"):
                raise conflict("virtualmachine", name, "VM is already running")
            strategy = run_strategy(vm)
            if strategy in (ALWAYS, ONCE):
                raise conflict("virtualmachine", name, f"{strategy} does not support manual start requests")
            if strategy == RERUN and vmi is not None and status(vmi).get("phase") == "Failed":
                raise conflict("virtualmachine", name, "RerunOnFailure does not support starting VM from failed state")
            return strategy

        strategy = check(self._vm(namespace, name))
        if strategy == HALTED:
            def run(vm: Obj) -> None:
                check(vm)
                self._set_running(vm, True)

            self._update(VMS, namespace, name, run, dry_run=dry)
        else:
            def request(vm: Obj) -> None:
                check(vm)
                restart = vmi is not None and is_final(vmi)
                changes = ([{"action": "Stop", "uid": meta(vmi)["uid"]}] if restart and vmi else []) + [{"action": "Start"}]
                self._add_requests(vm, changes)

            self._update(VMS, namespace, name, request, sub="status", dry_run=dry)
        self._note(namespace, name, "start", dry)
        return 202, None

    def vm_stop(self, namespace: str, name: str, body: dict[str, Any]) -> tuple[int, Any]:
        dry = is_dry_run(body)
        grace = body.get("gracePeriod")
        if grace is not None and (not isinstance(grace, int) or grace < 0):
            raise bad_request("gracePeriod has to be greater or equal to 0")
        vm = self._vm(namespace, name)
        vmi = self._vmi(namespace, name)
        running = vmi is not None and not is_final(vmi)
        strategy = run_strategy(vm)
        old_grace = spec(vmi).get("terminationGracePeriodSeconds") if vmi else None
        if strategy in (HALTED, MANUAL, RERUN) and not running:
            raise conflict("virtualmachine", name, VM_NOT_RUNNING)
        if strategy == HALTED and (grace is None or (old_grace is not None and grace >= old_grace)):
            raise conflict("virtualmachine", name, "Halted only supports manual stop requests with a shorter graceperiod")
        if running and grace is not None and vmi is not None:
            self._update(VMIS, namespace, name, _set_grace(grace), dry_run=dry)
        if strategy in (ALWAYS, ONCE):
            self._update(VMS, namespace, name, lambda o: self._set_running(o, False), dry_run=dry)
        else:
            assert vmi is not None
            uid = meta(vmi)["uid"]
            self._update(VMS, namespace, name, lambda o: self._add_requests(o, [{"action": "Stop", "uid": uid}]),
                         sub="status", dry_run=dry)
        self._note(namespace, name, "stop", dry)
        return 202, None

    def vm_restart(self, namespace: str, name: str, body: dict[str, Any]) -> tuple[int, Any]:
        dry = is_dry_run(body)
        grace = body.get("gracePeriodSeconds")
        if grace is not None and grace > 0:
            raise bad_request("For force restart, only gracePeriod=0 is supported for now")
        if grace is not None and grace < 0:
            raise bad_request("gracePeriod has to be greater or equal to 0")
        vm = self._vm(namespace, name)
        strategy = run_strategy(vm)
        if strategy in (HALTED, ONCE):
            raise conflict("virtualmachine", name, f"RunStrategy {strategy} does not support manual restart requests")
        vmi = self._vmi(namespace, name)
        if vmi is None:
            raise conflict("virtualmachine", name, VM_NOT_RUNNING)
        uid = meta(vmi)["uid"]
        self._update(VMS, namespace, name,
                     lambda o: self._add_requests(o, [{"action": "Stop", "uid": uid}, {"action": "Start"}]),
                     sub="status", dry_run=dry)
        if grace == 0 and not is_final(vmi):
            self._update(VMIS, namespace, name, _set_grace(0), dry_run=dry)
        self._note(namespace, name, "restart", dry)
        return 202, None

    def vm_migrate(self, namespace: str, name: str, body: dict[str, Any]) -> tuple[int, Any]:
        dry = is_dry_run(body)
        self._vm(namespace, name)
        vmi = self._vmi(namespace, name, required=True)
        if status(vmi).get("phase") != "Running":
            raise conflict("virtualmachine", name, VM_NOT_RUNNING)
        migration: Obj = {"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachineInstanceMigration",
                          "metadata": {"generateName": "kubevirt-migrate-vm-", "namespace": namespace},
                          "spec": {"vmiName": name}}
        if body.get("addedNodeSelector"):
            migration["spec"]["addedNodeSelector"] = dict(body["addedNodeSelector"])
        created = self.sim.kube.create(VMIMS, namespace, migration, dry_run=dry)
        if not dry:
            self.sim.vmims.upsert(created)
        self._note(namespace, name, f"migrate ({meta(created).get('name', 'dry run')})", dry)
        return 202, None

    # ------------------------------------------------------- VMI: guest

    def _running_vmi(self, namespace: str, name: str, message: str = VM_NOT_RUNNING) -> Obj:
        vmi = self._vmi(namespace, name, required=True)
        assert vmi is not None
        if status(vmi).get("phase") != "Running":
            raise conflict("virtualmachineinstance", name, message)
        return vmi

    def _vmi_event(self, vmi: Obj, reason: str, message: str) -> None:
        self.sim.events.emit(vmi, "Normal", reason, message, component="virt-handler", host=status(vmi).get("nodeName"))

    def vmi_pause(self, namespace: str, name: str, body: dict[str, Any]) -> tuple[int, Any]:
        dry = is_dry_run(body)

        def change(vmi: Obj) -> None:
            if status(vmi).get("phase") != "Running":
                raise conflict("virtualmachineinstance", name, VM_NOT_RUNNING)
            if spec(vmi).get("livenessProbe"):
                raise StatusError(403, "Forbidden", "Pausing VMIs with LivenessProbe is currently not supported")
            if condition_true(vmi, "Paused"):
                raise conflict("virtualmachineinstance", name, "VMI is already paused")
            set_condition(vmi["status"].setdefault("conditions", []), "Paused", "True", "PausedUser",
                          "VMI was paused by user")

        written = self._update(VMIS, namespace, name, change, sub="status", dry_run=dry)
        if not dry:
            self._vmi_event(written, "Paused", "VirtualMachineInstance paused")
        return 200, None

    def vmi_unpause(self, namespace: str, name: str, body: dict[str, Any]) -> tuple[int, Any]:
        dry = is_dry_run(body)

        def change(vmi: Obj) -> None:
            if status(vmi).get("phase") != "Running":
                raise conflict("virtualmachineinstance", name, VMI_NOT_RUNNING)
            if not condition_true(vmi, "Paused"):
                raise conflict("virtualmachineinstance", name, "VMI is not paused")
            drop_condition(vmi["status"]["conditions"], "Paused")

        written = self._update(VMIS, namespace, name, change, sub="status", dry_run=dry)
        if not dry:
            self._vmi_event(written, "Unpaused", "VirtualMachineInstance unpaused")
        return 200, None

    def vmi_softreboot(self, namespace: str, name: str, body: dict[str, Any]) -> tuple[int, Any]:
        vmi = self._running_vmi(namespace, name)
        if condition_true(vmi, "Paused"):
            raise conflict("virtualmachineinstance", name, "VMI is paused")
        if not is_dry_run(body):
            self._vmi_event(vmi, "SoftRebooted", "VirtualMachineInstance soft rebooted")
        return 200, None

    def vmi_freeze(self, namespace: str, name: str, body: dict[str, Any]) -> tuple[int, Any]:
        def change(vmi: Obj) -> None:
            if status(vmi).get("phase") != "Running":
                raise conflict("virtualmachineinstance", name, VM_NOT_RUNNING)
            vmi["status"]["fsFreezeStatus"] = "frozen"

        written = self._update(VMIS, namespace, name, change, sub="status", dry_run=is_dry_run(body))
        if not is_dry_run(body):
            self._vmi_event(written, "Frozen", "VirtualMachineInstance file systems frozen")
        return 200, None

    def vmi_unfreeze(self, namespace: str, name: str, body: dict[str, Any]) -> tuple[int, Any]:
        def change(vmi: Obj) -> None:
            if status(vmi).get("phase") != "Running":
                raise conflict("virtualmachineinstance", name, VMI_NOT_RUNNING)
            vmi["status"].pop("fsFreezeStatus", None)

        written = self._update(VMIS, namespace, name, change, sub="status", dry_run=is_dry_run(body))
        if not is_dry_run(body):
            self._vmi_event(written, "Unfrozen", "VirtualMachineInstance file systems thawed")
        return 200, None

    # ------------------------------------------------------ VMI: queries

    def vmi_guestosinfo(self, namespace: str, name: str, body: dict[str, Any]) -> tuple[int, Any]:
        vmi = self._running_vmi(namespace, name, VMI_NOT_RUNNING)
        return 200, {
            "guestAgentVersion": "8.2.0", "hostname": name, "timezone": "UTC, 0",
            "os": status(vmi).get("guestOSInfo") or guest_os(vmi),
            "supportedCommands": [{"name": n, "enabled": True} for n in ("guest-ping", "guest-get-osinfo",
                                                                         "guest-fsfreeze-freeze", "guest-shutdown")],
            "fsFreezeStatus": status(vmi).get("fsFreezeStatus", ""),
        }

    def vmi_userlist(self, namespace: str, name: str, body: dict[str, Any]) -> tuple[int, Any]:
        self._running_vmi(namespace, name, VMI_NOT_RUNNING)
        return 200, {"metadata": {}, "items": [{"userName": "cloud-user", "domain": "", "loginTime": 0}]}

    def vmi_filesystemlist(self, namespace: str, name: str, body: dict[str, Any]) -> tuple[int, Any]:
        self._running_vmi(namespace, name, VMI_NOT_RUNNING)
        return 200, {"metadata": {}, "items": [{"diskName": "vda1", "mountPoint": "/", "fileSystemType": "xfs",
                                                "usedBytes": 2147483648, "totalBytes": 10737418240}]}


def _set_grace(seconds: int) -> Callable[[Obj], None]:
    def change(vmi: Obj) -> None:
        vmi["spec"]["terminationGracePeriodSeconds"] = seconds
    return change
