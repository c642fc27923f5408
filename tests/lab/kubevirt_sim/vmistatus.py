"""Pure builders for the parts of a VMI status that virt-handler reports from the guest."""
from __future__ import annotations

import uuid
from typing import Any

from labkube.objects import Obj, meta, spec, stable_bytes, status

LAUNCHER_IMAGE = "quay.io/kubevirt/virt-launcher:v1.3.0-sim"
FINAL_PHASES = ("Succeeded", "Failed")

_GUESTS = {
    "windows": {"id": "mswindows", "name": "Microsoft Windows", "prettyName": "Windows Server 2019 Standard",
                "version": "2019", "versionId": "2019", "kernelRelease": "17763", "kernelVersion": "10.0"},
    "rhel": {"id": "rhel", "name": "Red Hat Enterprise Linux", "prettyName": "Red Hat Enterprise Linux 9.4 (Plow)",
             "version": "9.4", "versionId": "9.4", "kernelRelease": "5.14.0-427.el9.x86_64",
             "kernelVersion": "#1 SMP PREEMPT_DYNAMIC"},
    "centos": {"id": "centos", "name": "CentOS Stream", "prettyName": "CentOS Stream 9", "version": "9",
               "versionId": "9", "kernelRelease": "5.14.0-427.el9.x86_64", "kernelVersion": "#1 SMP PREEMPT_DYNAMIC"},
    "ubuntu": {"id": "ubuntu", "name": "Ubuntu", "prettyName": "Ubuntu 22.04.4 LTS", "version": "22.04.4 LTS",
               "versionId": "22.04", "kernelRelease": "5.15.0-105-generic", "kernelVersion": "#115-Ubuntu SMP"},
    "fedora": {"id": "fedora", "name": "Fedora Linux", "prettyName": "Fedora Linux 39 (Cloud Edition)",
               "version": "39 (Cloud Edition)", "versionId": "39", "kernelRelease": "6.5.6-300.fc39.x86_64",
               "kernelVersion": "#1 SMP PREEMPT_DYNAMIC"},
}


def is_final(vmi: Obj | None) -> bool:
    return status(vmi).get("phase") in FINAL_PHASES


def ever_running(vmi: Obj | None) -> bool:
    return any(t.get("phase") == "Running" for t in status(vmi).get("phaseTransitionTimestamps") or [])


def phase_since(vmi: Obj | None, phase: str) -> str | None:
    """When the VMI (last) entered ``phase``."""
    stamps = [t for t in status(vmi).get("phaseTransitionTimestamps") or [] if t.get("phase") == phase]
    return stamps[-1].get("phaseTransitionTimestamp") if stamps else None


def add_transitions(st: Obj, phases: list[str], stamp: str) -> None:
    transitions = st.setdefault("phaseTransitionTimestamps", [])
    for phase in phases:
        transitions.append({"phase": phase, "phaseTransitionTimestamp": stamp})


def guest_os(vmi: Obj) -> Obj:
    """Guess the guest from the usual OS labels/annotations; Fedora when nothing says."""
    m = meta(vmi)
    hints = " ".join(f"{k}={v}" for d in (m.get("labels") or {}, m.get("annotations") or {}) for k, v in d.items()).lower()
    for key in ("windows", "rhel", "centos", "ubuntu"):
        if key in hints:
            return dict(_GUESTS[key], machine="x86_64")
    return dict(_GUESTS["fedora"], machine="x86_64")


def _mac(vmi: Obj, iface: str) -> str:
    tail = stable_bytes(f"mac/{meta(vmi).get('namespace')}/{meta(vmi)['name']}/{iface}", 5)
    return ":".join(f"{b:02x}" for b in [0x02, *tail])


def _ip(vmi: Obj, iface: str, subnet: int) -> str:
    a, b = stable_bytes(f"ip/{meta(vmi).get('namespace')}/{meta(vmi)['name']}/{iface}", 2)
    return f"10.{subnet}.{a}.{2 + b % 252}"


def interfaces(vmi: Obj) -> list[Obj]:
    """status.interfaces: MAC from the spec (else a stable one), a stable IP per VMI."""
    devices = (spec(vmi).get("domain") or {}).get("devices") or {}
    nets = {n.get("name"): n for n in spec(vmi).get("networks") or []}
    ifaces = list(devices.get("interfaces") or [])
    if not ifaces and devices.get("autoattachPodInterface", True) is not False and not nets:
        ifaces = [{"name": "default"}]
    result = []
    for index, iface in enumerate(ifaces):
        name = iface.get("name") or f"net{index}"
        net = nets.get(name) or ({"pod": {}} if name == "default" else {})
        ip = _ip(vmi, name, 244 if "pod" in net or not net else 245)
        result.append({
            "name": name, "mac": iface.get("macAddress") or _mac(vmi, name), "ipAddress": ip, "ipAddresses": [ip],
            "interfaceName": f"eth{index}", "infoSource": "domain, guest-agent", "queueCount": 1, "linkState": "up",
        })
    return result


def _hotpluggable(volume: Obj) -> bool:
    return any((volume.get(kind) or {}).get("hotpluggable") for kind in ("persistentVolumeClaim", "dataVolume"))


def volume_status(vmi: Obj) -> list[Obj]:
    """One entry per volume with the guest device name; hotplugged ones report Ready."""
    disks = {d.get("name"): d for d in ((spec(vmi).get("domain") or {}).get("devices") or {}).get("disks") or []}
    counters = {"vd": 0, "sd": 0}
    result = []
    for volume in spec(vmi).get("volumes") or []:
        name = volume.get("name", "")
        disk = disks.get(name) or {}
        bus = next((disk[k].get("bus") for k in ("disk", "lun", "cdrom") if isinstance(disk.get(k), dict)), None)
        prefix = "vd" if (bus or "virtio") == "virtio" else "sd"
        target = f"{prefix}{chr(ord('a') + counters[prefix] % 26)}"
        counters[prefix] += 1
        entry: Obj = {"name": name, "target": target}
        if _hotpluggable(volume):
            pod = f"hp-volume-{''.join(f'{b:02x}' for b in stable_bytes(meta(vmi).get('uid', '') + name, 3))[:5]}"
            entry.update({
                "phase": "Ready", "reason": "VolumeReady",
                "message": f"Successfully attach hotplugged volume {name} to VM",
                "hotplugVolume": {"attachPodName": pod, "attachPodUID": str(uuid.uuid5(uuid.NAMESPACE_URL, pod))},
            })
        result.append(entry)
    return result


def live_migratable(vmi: Obj) -> tuple[bool, str, str]:
    """(migratable, reason, message): host devices pin a VMI to its node."""
    devices = (spec(vmi).get("domain") or {}).get("devices") or {}
    if devices.get("hostDevices") or devices.get("gpus"):
        return False, "HostDeviceNotLiveMigratable", "VMI uses a PCI host devices"
    return True, "", ""


def running_extras(vmi: Obj, node: str) -> dict[str, Any]:
    """Fields virt-handler fills once the domain runs."""
    domain = spec(vmi).get("domain") or {}
    cpu = domain.get("cpu") or {}
    guest = (domain.get("memory") or {}).get("guest") or ((domain.get("resources") or {}).get("requests") or {}).get("memory")
    pod_uid = str(uuid.uuid5(uuid.NAMESPACE_URL, f"pod/{meta(vmi).get('uid')}/{node}"))
    extras: dict[str, Any] = {
        "interfaces": interfaces(vmi),
        "guestOSInfo": guest_os(vmi),
        "launcherContainerImageVersion": LAUNCHER_IMAGE,
        "qosClass": "Burstable",
        "migrationMethod": "LiveMigration",
        "migrationTransport": "Unix",
        "activePods": {pod_uid: node},
        "currentCPUTopology": {"sockets": int(cpu.get("sockets") or 1), "cores": int(cpu.get("cores") or 1),
                               "threads": int(cpu.get("threads") or 1)},
        "machine": {"type": (domain.get("machine") or {}).get("type") or "pc-q35-rhel9.4.0"},
        "volumeStatus": volume_status(vmi),
    }
    if guest:
        extras["memory"] = {"guestAtBoot": guest, "guestCurrent": guest, "guestRequested": guest}
    return extras
