"""The lab runs the real KubeVirt control plane: each test shows a behaviour of KubeVirt's own code
that the old simulator did not have, and names the KubeVirt source (v1.8) it relies on.

Paths are in kubevirt/kubevirt; the stand-ins are tests/lab/standins.
"""
from __future__ import annotations

import copy
import time
from typing import Any

import pytest

from conformance.conftest import LOST_NODE_VM, NAMESPACE, RealLab
from labkube.rest import EVENTS, KUBEVIRTS, NODES, PODS, PVCS, VMIMS, VMIS, VMS, ApiError

SUBRESOURCES = "/apis/subresources.kubevirt.io/v1"
RUNNING_TIMEOUT = 60.0
RESERVED_NODES = ("n-fail", "n-lost")   # tainted in topology.yaml


def vm_manifest(name: str, node: str | None = None, run_strategy: str = "Always",
                domain: dict[str, Any] | None = None, volumes: list[dict[str, Any]] | None = None,
                templates: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "domain": {"cpu": {"cores": 1}, "memory": {"guest": "1Gi"},
                   "devices": {"interfaces": [{"name": "default", "masquerade": {}}]}},
        "networks": [{"name": "default", "pod": {}}],
    }
    if domain:
        spec["domain"] = _merge(spec["domain"], domain)
    if volumes:
        spec["volumes"] = volumes
    if node:
        spec["nodeSelector"] = {"kubernetes.io/hostname": node}
        if node in RESERVED_NODES:
            spec["tolerations"] = [{"key": "lab.ovirt-kubevirt.io/reserved", "operator": "Equal", "value": node,
                                    "effect": "NoSchedule"}]
    vm: dict[str, Any] = {"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachine",
                          "metadata": {"name": name, "namespace": NAMESPACE},
                          "spec": {"runStrategy": run_strategy,
                                   "template": {"metadata": {"labels": {"app": name}}, "spec": spec}}}
    if templates:
        vm["spec"]["dataVolumeTemplates"] = templates
    return vm


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in extra.items():
        out[key] = _merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def _phase(obj: dict[str, Any]) -> str:
    return str((obj.get("status") or {}).get("phase") or "")


def _condition(obj: dict[str, Any], ctype: str) -> dict[str, Any]:
    return next((c for c in (obj.get("status") or {}).get("conditions") or [] if c.get("type") == ctype), {})


def _running(lab: RealLab, name: str) -> dict[str, Any]:
    return lab.wait_for(VMIS, NAMESPACE, name, lambda o: _phase(o) == "Running", RUNNING_TIMEOUT, "Running")


def _events(lab: RealLab, kind: str, name: str) -> list[dict[str, Any]]:
    items, _version = lab.kube.list(EVENTS, NAMESPACE, selectors={
        "fieldSelector": f"involvedObject.kind={kind},involvedObject.name={name}"})
    return items


def _put(lab: RealLab, path: str, body: dict[str, Any] | None = None) -> Any:
    return lab.kube.request("PUT", f"{SUBRESOURCES}/namespaces/{NAMESPACE}/{path}", body or {})


def test_version_is_the_real_kubevirt(real_lab: RealLab) -> None:
    """pkg/virt-api/rest/version.go: the build's version, set from the module's tag (build-go.sh)."""
    version = real_lab.kube.request("GET", f"{SUBRESOURCES}/version")
    assert version["gitVersion"] == "v1.8.4"
    assert version["gitTreeState"] == "clean" and len(version["gitCommit"]) == 40


def test_webhook_refuses_io_default(real_lab: RealLab) -> None:
    """vmi-create-admitter.go validateIOMode: only native or threads; the CRD schema alone allows it."""
    disk = {"name": "root", "io": "default", "disk": {"bus": "virtio"}}
    vm = vm_manifest("io-default", domain={"devices": {"disks": [disk]}},
                     volumes=[{"name": "root", "containerDisk": {"image": "quay.io/containerdisks/fedora:42"}}])
    with pytest.raises(ApiError) as refused:
        real_lab.kube.create(VMS, NAMESPACE, vm)
    assert refused.value.status == 422
    assert "io" in refused.value.message and "virtualmachine-validator.kubevirt.io" in refused.value.message


def test_webhook_refuses_max_guest_below_1gi_under_live_update(real_lab: RealLab) -> None:
    """pkg/liveupdate/memory/memory.go ValidateLiveUpdateMemory, under the default LiveUpdate
    rollout strategy (pkg/virt-config/virt-config.go DefaultVMRolloutStrategy)."""
    vm = vm_manifest("small-max-guest", domain={"memory": {"guest": "512Mi", "maxGuest": "2Gi"}})
    with pytest.raises(ApiError) as refused:
        real_lab.kube.create(VMS, NAMESPACE, vm)
    assert refused.value.status == 422
    assert "1Gi" in refused.value.message, refused.value.message


def test_launcher_pod_is_rendered_by_virt_controller_and_bound_by_kube_scheduler(real_lab: RealLab) -> None:
    """services/nodeselectorrenderer.go: kubevirt.io/schedulable=true on every launcher pod;
    services/renderresources.go: 100m CPU per vCPU (DefaultCPUAllocationRatio 10) and the KubeVirt
    device resources; the real kube-scheduler binds it (a Scheduled event from default-scheduler)."""
    real_lab.kube.create(VMS, NAMESPACE, vm_manifest("scheduled"))
    vmi = _running(real_lab, "scheduled")
    pods, _version = real_lab.kube.list(PODS, NAMESPACE, selectors={"labelSelector": "vm.kubevirt.io/name=scheduled"})
    assert len(pods) == 1
    pod = pods[0]
    assert pod["spec"]["nodeSelector"]["kubevirt.io/schedulable"] == "true"
    assert pod["spec"]["nodeName"] == vmi["status"]["nodeName"]
    compute = next(c for c in pod["spec"]["containers"] if c["name"] == "compute")
    assert compute["resources"]["requests"]["cpu"] == "100m"
    assert compute["resources"]["limits"]["devices.kubevirt.io/kvm"] == "1"
    scheduled = [e for e in _events(real_lab, "Pod", pod["metadata"]["name"]) if e["reason"] == "Scheduled"]
    assert any("default-scheduler" in (e.get("reportingComponent"), (e.get("source") or {}).get("component"))
               for e in scheduled), scheduled


def test_migration_goes_through_the_handshake(real_lab: RealLab) -> None:
    """watch/migration/migration.go processMigrationPhase with the handlers' fields
    (migration-target.go, migration-source.go): target address, start, end, completed, new node."""
    real_lab.kube.create(VMS, NAMESPACE, vm_manifest("migrated", node=None))
    source = _running(real_lab, "migrated")["status"]["nodeName"]
    real_lab.kube.create(VMIMS, NAMESPACE, {"metadata": {"name": "migrated-1"}, "spec": {"vmiName": "migrated"}})
    migration = real_lab.wait_for(VMIMS, NAMESPACE, "migrated-1", lambda o: _phase(o) in ("Succeeded", "Failed"),
                                  90, "finished")
    assert _phase(migration) == "Succeeded", migration.get("status")
    vmi = real_lab.kube.get(VMIS, NAMESPACE, "migrated")
    state = vmi["status"]["migrationState"]
    assert state["migrationUid"] == migration["metadata"]["uid"]
    for field in ("targetNodeAddress", "startTimestamp", "endTimestamp", "targetNodeDomainReadyTimestamp"):
        assert state.get(field), (field, state)
    assert state["completed"] is True and state["sourceNode"] == source and state["targetNode"] != source
    assert vmi["status"]["nodeName"] == state["targetNode"] and _phase(vmi) == "Running"
    assert vmi["metadata"]["labels"]["kubevirt.io/nodeName"] == state["targetNode"]


def test_failing_launch_syncs_failed_then_fails(real_lab: RealLab) -> None:
    """pkg/virt-handler/vm.go handleSyncError: SyncFailed events and Synchronized=False while the VMI
    stays Scheduled; Failed only when the launcher dies (watch/vmi/lifecycle.go leaves the phase to
    the handler while the pod exists)."""
    real_lab.kube.create(VMS, NAMESPACE, vm_manifest("fails", node="n-fail", run_strategy="Manual"))
    _put(real_lab, "virtualmachines/fails/start")
    seen_sync_failed = real_lab.wait_for(
        VMIS, NAMESPACE, "fails", lambda o: _condition(o, "Synchronized").get("status") == "False"
        or _phase(o) == "Failed", RUNNING_TIMEOUT, "failing to sync")
    failed = real_lab.wait_for(VMIS, NAMESPACE, "fails", lambda o: _phase(o) == "Failed", RUNNING_TIMEOUT, "Failed")
    phases = [p["phase"] for p in failed["status"]["phaseTransitionTimestamps"]]
    assert "Scheduled" in phases and "Running" not in phases, phases
    reasons = [e["reason"] for e in _events(real_lab, "VirtualMachineInstance", "fails")]
    assert "SyncFailed" in reasons, reasons
    assert _phase(seen_sync_failed) in ("Scheduled", "Failed")
    pods, _version = real_lab.kube.list(PODS, NAMESPACE, selectors={"labelSelector": "vm.kubevirt.io/name=fails"})
    assert pods and all(p["status"]["phase"] == "Failed" for p in pods), [p["status"]["phase"] for p in pods]


def test_start_while_one_is_queued_answers_500(real_lab: RealLab) -> None:
    """pkg/virt-api/rest/lifecycle.go getChangeRequestJson: "stop/start already underway" becomes
    errors.NewInternalError (500) in StartVMRequestHandler. The start stays queued because
    virt-controller creates no VMI before the VM's DataVolume is imported (watch/vm/vm.go
    handleDataVolumes); the importer stand-in takes the topology's import_delay_s."""
    template = {"metadata": {"name": "queued-root"},
                "spec": {"source": {"http": {"url": "http://images.lab.invalid/fedora.qcow2"}},
                         "storage": {"resources": {"requests": {"storage": "1Gi"}}}}}
    vm = vm_manifest("queued", run_strategy="Manual", templates=[template],
                     domain={"devices": {"disks": [{"name": "root", "disk": {"bus": "virtio"}}]}},
                     volumes=[{"name": "root", "dataVolume": {"name": "queued-root"}}])
    real_lab.kube.create(VMS, NAMESPACE, vm)
    _put(real_lab, "virtualmachines/queued/start")
    with pytest.raises(ApiError) as second:
        _put(real_lab, "virtualmachines/queued/start")
    assert second.value.status == 500, second.value
    assert "stop/start already underway" in second.value.message
    status = real_lab.kube.get(VMS, NAMESPACE, "queued")["status"]
    assert [r["action"] for r in status.get("stateChangeRequests") or []] == ["Start"]
    assert status.get("printableStatus") in ("Provisioning", "Stopped", "WaitingForVolumeBinding")
    # The topology's fail_imports: this first import fails as CDI shows a failing importer.
    failed = real_lab.wait_for(VMS, NAMESPACE, "queued", lambda o: (o.get("status") or {}).get(
        "printableStatus") == "DataVolumeError", 60, "DataVolumeError")
    assert [r["action"] for r in failed["status"].get("stateChangeRequests") or []] == ["Start"]


def test_datavolume_imported_then_vm_runs(real_lab: RealLab) -> None:
    """watch/vm/vm.go handleDataVolumes: virt-controller creates the VMI once its DataVolume is
    Succeeded; the claim binds through the real PV controller and the provisioner stand-in."""
    template = {"metadata": {"name": "imported-root"},
                "spec": {"source": {"http": {"url": "http://images.lab.invalid/fedora.qcow2"}},
                         "storage": {"accessModes": ["ReadWriteMany"], "resources": {"requests": {"storage": "1Gi"}}}}}
    vm = vm_manifest("imported", templates=[template],
                     domain={"devices": {"disks": [{"name": "root", "disk": {"bus": "virtio"}}]}},
                     volumes=[{"name": "root", "dataVolume": {"name": "imported-root"}}])
    real_lab.kube.create(VMS, NAMESPACE, vm)
    vmi = real_lab.wait_for(VMIS, NAMESPACE, "imported", lambda o: _phase(o) == "Running", 90, "Running")
    claim = real_lab.kube.get(PVCS, NAMESPACE, "imported-root")
    assert claim["status"]["phase"] == "Bound"
    root = next(v for v in vmi["status"]["volumeStatus"] if v["name"] == "root")
    assert root["persistentVolumeClaimInfo"]["accessModes"] == ["ReadWriteMany"] and root["target"] == "vda"
    assert _condition(vmi, "LiveMigratable")["status"] == "True"


def test_handler_api_through_virt_api(real_lab: RealLab) -> None:
    """virt-api forwards to the handler's console server over mutual TLS (client-go/kubecli/handler.go):
    pause and unpause (the Paused condition the handler then writes, vm.go updatePausedConditions),
    soft reboot, and the guest agent's OS info, which virt-api refuses itself for a VMI without
    AgentConnected (pkg/virt-api/rest/subresource.go GuestOSInfo)."""
    real_lab.kube.create(VMS, NAMESPACE, vm_manifest("agent-vm"))
    vmi = _running(real_lab, "agent-vm")
    assert _condition(vmi, "AgentConnected")["status"] == "True"
    _put(real_lab, "virtualmachineinstances/agent-vm/pause")
    paused = real_lab.wait_for(VMIS, NAMESPACE, "agent-vm", lambda o: bool(_condition(o, "Paused")), 30, "Paused")
    assert _condition(paused, "Paused")["reason"] == "PausedByUser"
    with pytest.raises(ApiError) as again:
        _put(real_lab, "virtualmachineinstances/agent-vm/pause")
    assert again.value.status == 409 and "already paused" in again.value.message
    _put(real_lab, "virtualmachineinstances/agent-vm/unpause")
    real_lab.wait_for(VMIS, NAMESPACE, "agent-vm", lambda o: not _condition(o, "Paused"), 30, "unpaused")
    _put(real_lab, "virtualmachineinstances/agent-vm/softreboot")
    info = real_lab.kube.request("GET", f"{SUBRESOURCES}/namespaces/{NAMESPACE}/virtualmachineinstances/agent-vm/"
                                        "guestosinfo")
    assert info["os"]["id"] and info["hostname"] == "agent-vm"
    real_lab.kube.create(VMS, NAMESPACE, vm_manifest("no-agent"))
    _running(real_lab, "no-agent")
    with pytest.raises(ApiError) as refused:
        real_lab.kube.request("GET", f"{SUBRESOURCES}/namespaces/{NAMESPACE}/virtualmachineinstances/no-agent/"
                                     "guestosinfo")
    assert refused.value.status == 500 and "guest agent" in str(refused.value.body)


def test_addvolume_needs_a_hotplug_gate(real_lab: RealLab) -> None:
    """pkg/virt-api/rest/volumes.go addVolumeRequestHandler: 400 while neither HotplugVolumes nor
    DeclarativeHotplugVolumes is on (both Alpha, off by default); with HotplugVolumes on the request
    is taken and applied asynchronously through the VM's status.volumeRequests."""
    real_lab.kube.create(VMS, NAMESPACE, vm_manifest("hotplug"))
    _running(real_lab, "hotplug")
    claim = {"metadata": {"name": "hotplug-data"},
             "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}
    real_lab.kube.create(PVCS, NAMESPACE, claim)
    request = {"name": "data", "disk": {"disk": {"bus": "scsi"}},
               "volumeSource": {"persistentVolumeClaim": {"claimName": "hotplug-data", "hotpluggable": True}}}
    with pytest.raises(ApiError) as refused:
        _put(real_lab, "virtualmachines/hotplug/addvolume", request)
    assert refused.value.status == 400
    assert "HotplugVolumes" in refused.value.message and "DeclarativeHotplugVolumes" in refused.value.message

    kubevirt = real_lab.kube.get(KUBEVIRTS, "kubevirt", "kubevirt")
    config = kubevirt["spec"].setdefault("configuration", {})
    config.setdefault("developerConfiguration", {})["featureGates"] = ["HotplugVolumes"]
    real_lab.kube.replace(KUBEVIRTS, kubevirt)
    deadline = time.monotonic() + 30
    while True:  # virt-api reloads its configuration from the KubeVirt informer
        try:
            _put(real_lab, "virtualmachines/hotplug/addvolume", request)
            break
        except ApiError as err:
            if err.status != 400 or time.monotonic() > deadline:
                raise
            time.sleep(0.5)
    vmi = real_lab.wait_for(VMIS, NAMESPACE, "hotplug", lambda o: any(
        v.get("name") == "data" and v.get("phase") == "Ready" for v in (o.get("status") or {}).get("volumeStatus") or []),
        90, "with the volume Ready")
    assert any(v.get("name") == "data" for v in vmi["spec"]["volumes"])


def test_graceful_stop_ends_in_succeeded(real_lab: RealLab) -> None:
    """pkg/virt-handler/vm.go processVmShutdown: a guest that shuts down leaves the VMI Succeeded;
    the launcher pod is removed only after its containers stopped."""
    real_lab.kube.create(VMS, NAMESPACE, vm_manifest("stopped"))
    uid = _running(real_lab, "stopped")["metadata"]["uid"]
    _put(real_lab, "virtualmachines/stopped/stop")
    ended = real_lab.wait_for(VMIS, NAMESPACE, "stopped", lambda o: o["metadata"]["uid"] == uid and
                              _phase(o) in ("Succeeded", "Failed"), RUNNING_TIMEOUT, "ended")
    assert _phase(ended) == "Succeeded"


def test_lost_node_leaves_its_vmi_running_not_ready(real_lab: RealLab) -> None:
    """watch/node/node.go: nothing in virt-controller fails a VMI because its node is NotReady; the
    node lifecycle controller marks the launcher pod not ready and the VMI's Ready condition follows
    (watch/vmi/lifecycle.go syncReadyConditionFromPod) while the phase stays Running."""
    lost_node_vm = LOST_NODE_VM
    vmi = _running(real_lab, lost_node_vm)
    assert vmi["status"]["nodeName"] == "n-lost"
    real_lab.wait_for(NODES, None, "n-lost", lambda o: _condition(o, "Ready").get("status") == "Unknown",
                      240, "NotReady")
    vmi = real_lab.wait_for(VMIS, NAMESPACE, lost_node_vm, lambda o: _condition(o, "Ready").get("status") == "False",
                            120, "not Ready")
    assert _phase(vmi) == "Running"
    assert vmi["status"]["nodeName"] == "n-lost"
