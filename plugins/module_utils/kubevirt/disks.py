# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ovirt_kubevirt.bridge contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Disks: each oVirt disk to a KubeVirt disk and its volume (PVC, DataVolume or hostDisk)."""
from __future__ import annotations

import re
from typing import Any, Dict, List, Mapping, Optional, Tuple

from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.common.errors import InputError
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.common.naming import kubernetes_name
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.kubevirt.device_names import kubevirt_disk_name
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.kubevirt.maps import render, storage_entry
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.kubevirt.translation import (
    DEFAULT_PVC_NAME,
    DNS1123_SUBDOMAIN,
    TranslationBase,
    disk_label,
    quantity_bytes,
)
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.model.vm_config import Disk

# oVirt disk buses KubeVirt has; any other is attached as SATA, with a concern.
KUBEVIRT_DISK_BUSES = {"virtio": "virtio", "scsi": "scsi", "sata": "sata", "usb": "usb"}
# KubeVirt's admission webhook accepts these disk serials only.
_SERIAL = re.compile(r"^[A-Za-z0-9_.+-]{1,256}$")
# storage_map imageio keys -> the fields of CDI's imageio source.
_IMAGEIO_KEYS = {"url": "url", "secret_ref": "secretRef", "cert_config_map": "certConfigMap", "insecure_skip_verify": "insecureSkipVerify"}


class DisksPart(TranslationBase):
    """Disks: each oVirt disk to a KubeVirt disk and its volume (PVC, DataVolume or hostDisk)."""

    def disks(self) -> Tuple[List[Dict[str, Any]], List[Dict[str, Any]]]:
        disks: List[Dict[str, Any]] = []
        volumes: List[Dict[str, Any]] = []
        for index, disk in enumerate(self.config.disks):
            translated = self.disk(disk, index)
            if translated is not None:
                disks.append(translated[0])
                volumes.append(translated[1])
        return disks, volumes

    def disk(self, disk: Disk, index: int) -> Optional[Tuple[Dict[str, Any], Dict[str, Any]]]:
        label = disk_label(disk)
        if disk.payload is not None or disk.source == "PAYLOAD:":
            self.concerns.add("disk.payload", "warning", f"Payload drive {label} (sysprep or cloud-init data for first boot) is not carried.")
            return None
        if disk.device == "floppy":
            self.concerns.add("disk.floppy", "warning", f"Floppy {label} is dropped: KubeVirt has no floppy drives.")
            return None
        if not disk.source:
            self.concerns.add("disk.empty_cdrom", "info", f"Empty {disk.device} {label} is not carried: a KubeVirt drive needs a volume.")
            return None
        entry_key = self.storage_key(disk)
        if entry_key is None:
            category = "warning" if disk.device == "cdrom" else "critical"
            self.concerns.add(
                "disk.unmapped", category,
                f"{disk.device.capitalize()} {label} on storage domain {disk.storage_domain or disk.domain_id or '(unknown)'} "
                "is not in the storage map; it is not attached.",
            )
            return None
        name = kubevirt_disk_name(disk.target)
        kubevirt_disk: Dict[str, Any] = {"name": name, disk.device: self.disk_target(disk)}
        if disk.boot_order:
            kubevirt_disk["bootOrder"] = disk.boot_order
        serial = disk.image_id or disk.serial
        if serial and disk.device != "lun":
            if _SERIAL.match(serial):
                kubevirt_disk["serial"] = serial
            else:
                self.concerns.add("disk.serial", "warning", f"Disk {label} serial {serial!r} has characters KubeVirt refuses; the disk gets no serial.")
        if disk.cache in ("none", "writethrough", "writeback"):
            kubevirt_disk["cache"] = disk.cache
        # virt-api admits only native and threads (pkg/storage/admitters/disks.go, validateIOMode);
        # oVirt's "default" is libvirt's own choice, which leaving io unset gives too.
        if disk.io in ("native", "threads"):
            kubevirt_disk["io"] = disk.io
        if disk.error_policy in ("stop", "ignore", "report", "enospace"):
            kubevirt_disk["errorPolicy"] = disk.error_policy
        if disk.shareable:
            kubevirt_disk["shareable"] = True
        if disk.iotune:
            self.concerns.add(
                "disk.iotune", "warning",
                f"Disk {label} has I/O limits (disk QoS); KubeVirt has no per-disk limits.",
                kept_by_domxml=True,
            )
        return kubevirt_disk, self.volume(disk, name, index, entry_key)

    def disk_target(self, disk: Disk) -> Dict[str, Any]:
        if disk.device == "cdrom":
            bus = "scsi" if disk.bus == "scsi" else "sata"
            return {"bus": bus, "readonly": True}
        if disk.device == "lun":
            return {"bus": "scsi"}
        kubevirt_bus = KUBEVIRT_DISK_BUSES.get(disk.bus)
        target: Dict[str, Any] = {}
        if kubevirt_bus is None:
            kubevirt_bus = "sata"
            self.concerns.add(
                "disk.bus_changed", "info",
                f"Disk {disk_label(disk)} on bus {disk.bus} is attached as SATA, the KubeVirt bus closest to it.",
                kept_by_domxml=True,
            )
        if disk.readonly and kubevirt_bus == "sata":
            # virt-api refuses read-only SATA hard disks (validateBusSupport); SCSI carries read-only.
            kubevirt_bus = "scsi"
            self.concerns.add(
                "disk.bus_changed", "warning",
                f"Read-only disk {disk_label(disk)} on bus {disk.bus} is attached on SCSI, as KubeVirt refuses read-only "
                "SATA disks; the guest needs a virtio-scsi driver to see it.",
                kept_by_domxml=True,
            )
        target["bus"] = kubevirt_bus
        if disk.readonly:
            target["readonly"] = True
        return target

    def storage_key(self, disk: Disk) -> Optional[str]:
        for key in (disk.storage_domain, disk.domain_id, disk.lun_id, "*"):
            if key and key in self.storage_map:
                return key
        return None

    def volume(self, disk: Disk, name: str, index: int, key: str) -> Dict[str, Any]:
        entry = storage_entry(self.storage_map[key], key)
        values = {
            "vm": self.vm_name,
            "disk_id": disk.image_id or disk.lun_id or disk.target,
            "disk_name": kubernetes_name(disk.name or disk.target)[0],
            "target": disk.target,
            "index": index,
            "storage_domain": disk.storage_domain or disk.domain_id or "",
        }
        if entry.get("host_disk_path") and disk.device == "lun":
            # virt-api maps a LUN only to a PVC or a DataVolume (vmi-create-admitter.go, validateBootOrder).
            self.concerns.add(
                "disk.lun_host_disk", "critical",
                f"Direct LUN {disk_label(disk)} maps to host_disk_path in the storage map, but KubeVirt attaches a LUN "
                "only from a PVC or DataVolume (a block-mode PersistentVolume of the LUN); map it with pvc_name or "
                "storage_class instead.",
            )
        if entry.get("host_disk_path"):
            path = render(str(entry["host_disk_path"]), values, "host_disk_path")
            host_disk: Dict[str, Any] = {"path": path, "type": "Disk"}
            if disk.shareable:
                host_disk["shared"] = True
            return {"name": name, "hostDisk": host_disk}
        claim = render(str(entry.get("pvc_name") or DEFAULT_PVC_NAME), values, "pvc_name")
        if len(claim) > 253 or not DNS1123_SUBDOMAIN.match(claim):
            raise InputError(f"pvc_name for disk {disk_label(disk)} renders to {claim!r}, which is not a valid Kubernetes name")
        if not entry.get("storage_class"):
            volume: Dict[str, Any] = {"claimName": claim}
            if disk.readonly or disk.device == "cdrom":
                volume["readOnly"] = True
            return {"name": name, "persistentVolumeClaim": volume}
        self.data_volumes.append(self.data_volume(disk, claim, entry))
        return {"name": name, "dataVolume": {"name": claim}}

    def data_volume(self, disk: Disk, claim: str, entry: Mapping[str, Any]) -> Dict[str, Any]:
        storage: Dict[str, Any] = {"storageClassName": str(entry["storage_class"])}
        size = entry.get("size") or (quantity_bytes(disk.size_bytes) if disk.size_bytes else None)
        if size:
            storage["resources"] = {"requests": {"storage": str(size)}}
        else:
            self.concerns.add(
                "disk.size_unknown", "warning",
                f"The size of disk {disk_label(disk)} is unknown; give size in the storage map if CDI cannot infer it from the source.",
            )
        if entry.get("volume_mode"):
            storage["volumeMode"] = str(entry["volume_mode"])
        if entry.get("access_modes"):
            storage["accessModes"] = [str(mode) for mode in entry["access_modes"]]
        if entry.get("imageio"):
            imageio = entry["imageio"]
            if not isinstance(imageio, Mapping) or not imageio.get("url"):
                raise InputError("storage_map imageio needs at least url (the oVirt engine API URL)")
            unknown = sorted(set(imageio) - set(_IMAGEIO_KEYS))
            if unknown:
                raise InputError(f"storage_map imageio: unknown key{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}")
            source = {"imageio": {"diskId": disk.image_id or "", **{_IMAGEIO_KEYS[k]: v for k, v in imageio.items()}}}
        else:
            source = dict(entry["source"])
        return {
            "apiVersion": "cdi.kubevirt.io/v1beta1",
            "kind": "DataVolume",
            "metadata": {"name": claim},
            "spec": {"source": source, "storage": storage},
        }
