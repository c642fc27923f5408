"""Pure builders of what virt-handler reports on a VMI, from the VMI and its launcher pod.

Each function names the code of ``pkg/virt-handler`` it stands for (KubeVirt
v1.8); a fake node has no libvirt domain, so the values a domain would give
(MAC, disk targets, guest OS) come from the VMI spec and the topology.
"""
from __future__ import annotations

import hashlib
from typing import Any

from labkube.objects import Obj, find_condition, meta, now_time, spec, status

READ_ONLY_DISK_KINDS = ("cdrom",)


def _mac(vmi: Obj, iface: Obj, index: int) -> str:
    """libvirt's 52:54:00 prefix; a NIC without a fixed MAC keeps one per VMI uid and index."""
    if iface.get("macAddress"):
        return str(iface["macAddress"])
    digest = hashlib.sha256(f"{meta(vmi).get('uid')}/{index}".encode()).digest()
    return "52:54:00:" + ":".join(f"{b:02x}" for b in digest[:3])


def _is_read_only(disk: Obj) -> bool:
    """vm.go isReadOnlyDisk: a CD-ROM, or a disk marked readonly."""
    if "cdrom" in disk:
        return True
    return bool((disk.get("disk") or {}).get("readonly") or (disk.get("lun") or {}).get("readonly"))


def live_migration(vmi: Obj) -> tuple[Obj, str]:
    """vm.go calculateLiveMigrationCondition and checkVolumesForMigration: the LiveMigratable
    condition and the migration method, for the checks a fake node can make."""
    domain = spec(vmi).get("domain") or {}
    devices = domain.get("devices") or {}
    volume_status = {v.get("name"): v for v in status(vmi).get("volumeStatus") or []}
    disks = {d.get("name"): d for d in devices.get("disks") or []}
    block = False
    disk_error = ""
    for volume in spec(vmi).get("volumes") or []:
        name = volume.get("name")
        claim = (volume.get("persistentVolumeClaim") or {}).get("claimName") or \
            (volume.get("dataVolume") or {}).get("name")
        if claim:
            info = (volume_status.get(name) or {}).get("persistentVolumeClaimInfo")
            if info is None:
                block, disk_error = True, disk_error or (
                    f"cannot migrate VMI: Unable to determine if PVC {claim} is shared, live migration requires "
                    "that all PVCs must be shared (using ReadWriteMany access mode)")
            elif "ReadWriteMany" not in (info.get("accessModes") or []):
                block, disk_error = True, disk_error or (
                    f"cannot migrate VMI: PVC {claim} is not shared, live migration requires that all PVCs must be "
                    "shared (using ReadWriteMany access mode)")
        elif "hostDisk" in volume:
            if not (volume["hostDisk"] or {}).get("shared"):
                block, disk_error = True, disk_error or "cannot migrate VMI with non-shared HostDisk"
        elif not (name in disks and _is_read_only(disks[name])):
            block = True  # containerDisk, cloudInit, ...: copied by a block migration
    reason, message = "", ""
    iface_error = _interface_error(vmi)
    if iface_error:
        reason, message = "InterfaceNotLiveMigratable", iface_error
    elif devices.get("hostDevices") or devices.get("gpus"):
        reason, message = "HostDeviceNotLiveMigratable", "VMI uses a PCI host devices"
    elif disk_error:
        reason, message = "DisksNotLiveMigratable", disk_error
    condition: Obj = {"type": "LiveMigratable", "status": "False" if reason else "True", "lastProbeTime": None,
                      "lastTransitionTime": None}
    if reason:
        condition.update(reason=reason, message=message)
    return condition, "BlockMigration" if block else "LiveMigration"


def _interface_error(vmi: Obj) -> str:
    """pkg/network/vmispec/interface.go VerifyVMIMigratable."""
    ifaces = ((spec(vmi).get("domain") or {}).get("devices") or {}).get("interfaces") or []
    if not ifaces:
        return ""
    pod_network = next((n for n in spec(vmi).get("networks") or [] if "pod" in n), None)
    if pod_network is None:
        return ""
    primary = next((i for i in ifaces if i.get("name") == pod_network.get("name")), None)
    if primary is None:
        return f"no primary interface found for network {pod_network.get('name')}"
    if "masquerade" in primary or "passtBinding" in primary:
        return ""
    if "bridge" in primary and "kubevirt.io/allow-pod-bridge-network-live-migration" in (meta(vmi).get("annotations") or {}):
        return ""
    return "cannot migrate VMI which does not use masquerade or a migratable plugin to connect to the pod network"


def interfaces(vmi: Obj, pod: Obj | None, agent: bool) -> list[Obj]:
    """pkg/network/setup/netstat.go UpdateStatus: one entry per spec interface. The pod network's
    NIC reports the pod IP (masquerade); other networks' IPs come only from a guest agent."""
    reported = {i.get("name"): i for i in status(vmi).get("interfaces") or []}
    networks = {n.get("name"): n for n in spec(vmi).get("networks") or []}
    pod_ips = [p.get("ip") for p in (status(pod).get("podIPs") or []) if p.get("ip")] or \
        ([status(pod)["podIP"]] if status(pod).get("podIP") else [])
    result: list[Obj] = []
    ifaces = ((spec(vmi).get("domain") or {}).get("devices") or {}).get("interfaces") or []
    for index, iface in enumerate(ifaces):
        name = iface.get("name")
        if iface.get("state") == "absent":
            continue
        entry: Obj = {"name": name, "mac": _mac(vmi, iface, index), "queueCount": 1,
                      "linkState": "down" if iface.get("state") == "down" else "up",
                      "infoSource": "domain, guest-agent" if agent else "domain"}
        previous = reported.get(name) or {}
        if previous.get("podInterfaceName"):
            entry["podInterfaceName"] = previous["podInterfaceName"]   # restorePodIfaceNames
        network = networks.get(name) or {}
        if "pod" in network and pod_ips:
            entry["ipAddress"], entry["ipAddresses"] = pod_ips[0], list(pod_ips)
        if agent:
            entry["interfaceName"] = f"eth{index}"
        result.append(entry)
    return result


def volume_targets(vmi: Obj) -> list[Obj]:
    """vm.go updateVolumeStatusesFromDomain: each disk's device name; hotplugged volumes are
    mounted into the launcher and attached (updateHotplugVolumeStatus)."""
    disks = ((spec(vmi).get("domain") or {}).get("devices") or {}).get("disks") or []
    spec_volumes = {v.get("name") for v in spec(vmi).get("volumes") or []}
    targets: dict[str, str] = {}
    counters = {"vd": 0, "sd": 0}
    for disk in disks:
        bus = (disk.get("disk") or disk.get("lun") or disk.get("cdrom") or {}).get("bus") or "virtio"
        prefix = "vd" if bus == "virtio" else "sd"
        targets[disk.get("name")] = prefix + chr(ord("a") + counters[prefix])
        counters[prefix] += 1
    result = []
    for volume in status(vmi).get("volumeStatus") or []:
        entry = dict(volume)
        name = entry.get("name")
        if entry.get("hotplugVolume") is not None:
            attachable = ("Bound", "Pending", "AttachedToNode", "MountedToPod", "Ready")
            if name in spec_volumes and entry.get("phase") in attachable:
                entry.update(phase="Ready", reason="VolumeReady", target=targets.get(name, entry.get("target", "")),
                             message=f"Successfully attach hotplugged volume {name} to VM")
            elif name not in spec_volumes and entry.get("phase") in ("Ready", "MountedToPod", "AttachedToNode"):
                entry.update(phase="UnMountedFromPod", reason="VolumeUnMountedFromPod",
                             message=f"Volume {name} has been unmounted from virt-launcher pod")
        elif name in targets:
            entry["target"] = targets[name]
        result.append(entry)
    return result


def guest_os(vmi: Obj) -> Obj:
    """The guest agent's OS report (updateGuestInfoFromDomain); a fake guest says what its labels say."""
    labels = meta(vmi).get("labels") or {}
    annotations = meta(vmi).get("annotations") or {}
    hint = (labels.get("kubevirt.io/os") or annotations.get("vm.kubevirt.io/os") or "fedora").lower()
    if "win" in hint:
        return {"id": "mswindows", "name": "Microsoft Windows", "prettyName": "Windows Server 2022 Datacenter",
                "version": "10.0", "versionId": "2022", "kernelRelease": "20348", "kernelVersion": "10.0",
                "machine": "x86_64"}
    if "rhel" in hint:
        return {"id": "rhel", "name": "Red Hat Enterprise Linux", "prettyName": "Red Hat Enterprise Linux 9.6 (Plow)",
                "version": "9.6 (Plow)", "versionId": "9.6", "kernelRelease": "5.14.0-570.el9.x86_64",
                "kernelVersion": "#1 SMP PREEMPT_DYNAMIC", "machine": "x86_64"}
    return {"id": "fedora", "name": "Fedora Linux", "prettyName": "Fedora Linux 42 (Cloud Edition)",
            "version": "42 (Cloud Edition)", "versionId": "42", "kernelRelease": "6.14.0-63.fc42.x86_64",
            "kernelVersion": "#1 SMP PREEMPT_DYNAMIC", "machine": "x86_64"}


def agent_info(vmi: Obj) -> Obj:
    """The handler API's guestosinfo answer (VirtualMachineInstanceGuestAgentInfo)."""
    return {"guestAgentVersion": "9.2.0", "hostname": meta(vmi).get("name"), "os": guest_os(vmi),
            "timezone": "UTC, 0", "supportedCommands": [{"name": "guest-ping", "enabled": True},
                                                        {"name": "guest-get-osinfo", "enabled": True}],
            "fsFreezeStatus": "thawed"}


def set_condition(conditions: list[Obj], new: Obj) -> bool:
    """Put a condition in place (a new lastTransitionTime only when its status flips); True if it changed."""
    current = find_condition(conditions, new["type"])
    stamped = dict(new)
    if current is not None and current.get("status") == new.get("status"):
        stamped["lastTransitionTime"] = current.get("lastTransitionTime")
        stamped["lastProbeTime"] = current.get("lastProbeTime")
        if current == stamped:
            return False
        conditions[conditions.index(current)] = stamped
        return True
    stamped.setdefault("lastTransitionTime", None)
    stamped["lastTransitionTime"] = stamped["lastTransitionTime"] or now_time()
    if current is not None:
        conditions[conditions.index(current)] = stamped
    else:
        conditions.append(stamped)
    return True


def drop_condition(conditions: list[Obj], ctype: str) -> bool:
    before = len(conditions)
    conditions[:] = [c for c in conditions if c.get("type") != ctype]
    return len(conditions) != before


def phase_transition(vmi_status: Obj, phase: str) -> None:
    """SetVMIPhaseTransitionTimestamp: one entry per phase reached."""
    stamps: list[Any] = vmi_status.setdefault("phaseTransitionTimestamps", [])
    if not any(s.get("phase") == phase for s in stamps):
        stamps.append({"phase": phase, "phaseTransitionTimestamp": now_time()})
