"""Volume hotplug: addvolume/removevolume on VMs (template and running VMI) and VMIs."""
from __future__ import annotations

from typing import Any

from .access import Access
from .errors import VMI_NOT_RUNNING, bad_request, conflict, is_dry_run
from labkube.rest import VMIS, VMS
from labkube.objects import Obj, deep, status


class VolumeActions(Access):
    @staticmethod
    def _volume_request(body: dict[str, Any]) -> tuple[Obj, Obj]:
        """(volume, disk) from AddVolumeOptions, validated as virt-api does."""
        name = body.get("name")
        if not name:
            raise bad_request("AddVolumeOptions requires name to be set")
        if not isinstance(body.get("disk"), dict):
            raise bad_request("AddVolumeOptions requires disk to not be nil")
        source = body.get("volumeSource")
        if not isinstance(source, dict) or not source:
            raise bad_request("AddVolumeOptions requires volumeSource to not be nil")
        kinds = [k for k in ("persistentVolumeClaim", "dataVolume") if isinstance(source.get(k), dict)]
        if len(kinds) != 1:
            raise bad_request("AddVolumeOptions requires exactly one of persistentVolumeClaim or dataVolume")
        reference = dict(source[kinds[0]])
        if not reference.get("claimName" if kinds[0] == "persistentVolumeClaim" else "name"):
            raise bad_request(f"AddVolumeOptions {kinds[0]} requires a claim name")
        reference["hotpluggable"] = True
        disk = deep(body["disk"])
        disk["name"] = name
        if not any(k in disk for k in ("disk", "lun", "cdrom")):
            disk["disk"] = {"bus": "scsi"}
        return {"name": name, kinds[0]: reference}, disk

    @staticmethod
    def _add_to(vmi_spec: Obj, volume: Obj, disk: Obj, kind: str, owner: str) -> None:
        volumes = vmi_spec.setdefault("volumes", [])
        disks = vmi_spec.setdefault("domain", {}).setdefault("devices", {}).setdefault("disks", [])
        if any(v.get("name") == volume["name"] for v in volumes) or any(d.get("name") == disk["name"] for d in disks):
            raise conflict(kind, owner, f"Unable to add volume [{volume['name']}] because volume with that name already exists")
        volumes.append(volume)
        disks.append(disk)

    @staticmethod
    def _remove_from(vmi_spec: Obj, name: str, kind: str, owner: str) -> None:
        volumes = vmi_spec.get("volumes") or []
        volume = next((v for v in volumes if v.get("name") == name), None)
        if volume is None:
            raise bad_request(f"Unable to remove volume [{name}] because it does not exist")
        if not any((volume.get(k) or {}).get("hotpluggable") for k in ("persistentVolumeClaim", "dataVolume")):
            raise bad_request(f"Unable to remove volume [{name}] because it is not hotpluggable")
        vmi_spec["volumes"] = [v for v in volumes if v.get("name") != name]
        devices = (vmi_spec.get("domain") or {}).get("devices") or {}
        devices["disks"] = [d for d in devices.get("disks") or [] if d.get("name") != name]

    def vmi_addvolume(self, namespace: str, name: str, body: dict[str, Any]) -> tuple[int, Any]:
        volume, disk = self._volume_request(body)

        def change(vmi: Obj) -> None:
            if status(vmi).get("phase") != "Running":
                raise conflict("virtualmachineinstance", name, VMI_NOT_RUNNING)
            self._add_to(vmi["spec"], deep(volume), deep(disk), "virtualmachineinstance", name)

        self._update(VMIS, namespace, name, change, dry_run=is_dry_run(body))
        self._note(namespace, name, f"addvolume {volume['name']}", is_dry_run(body))
        return 202, None

    def vmi_removevolume(self, namespace: str, name: str, body: dict[str, Any]) -> tuple[int, Any]:
        volume = body.get("name")
        if not volume:
            raise bad_request("RemoveVolumeOptions requires name to be set")

        def change(vmi: Obj) -> None:
            if status(vmi).get("phase") != "Running":
                raise conflict("virtualmachineinstance", name, VMI_NOT_RUNNING)
            self._remove_from(vmi["spec"], volume, "virtualmachineinstance", name)

        self._update(VMIS, namespace, name, change, dry_run=is_dry_run(body))
        self._note(namespace, name, f"removevolume {volume}", is_dry_run(body))
        return 202, None

    def vm_addvolume(self, namespace: str, name: str, body: dict[str, Any]) -> tuple[int, Any]:
        """The VM template changes; a running VMI gets the volume hotplugged as well."""
        volume, disk = self._volume_request(body)
        dry = is_dry_run(body)

        def change(vm: Obj) -> None:
            template_spec = vm["spec"].setdefault("template", {}).setdefault("spec", {})
            self._add_to(template_spec, deep(volume), deep(disk), "virtualmachine", name)

        self._update(VMS, namespace, name, change, dry_run=dry)
        vmi = self._vmi(namespace, name)
        if vmi is not None and status(vmi).get("phase") == "Running":
            def hotplug(obj: Obj) -> None:
                if not any(v.get("name") == volume["name"] for v in obj["spec"].get("volumes") or []):
                    self._add_to(obj["spec"], deep(volume), deep(disk), "virtualmachineinstance", name)

            self._update(VMIS, namespace, name, hotplug, dry_run=dry)
        self._note(namespace, name, f"addvolume {volume['name']}", dry)
        return 202, None

    def vm_removevolume(self, namespace: str, name: str, body: dict[str, Any]) -> tuple[int, Any]:
        volume = body.get("name")
        if not volume:
            raise bad_request("RemoveVolumeOptions requires name to be set")
        dry = is_dry_run(body)

        def change(vm: Obj) -> None:
            template_spec = vm["spec"].setdefault("template", {}).setdefault("spec", {})
            self._remove_from(template_spec, volume, "virtualmachine", name)

        self._update(VMS, namespace, name, change, dry_run=dry)
        vmi = self._vmi(namespace, name)
        if vmi is not None and status(vmi).get("phase") == "Running":
            def unplug(obj: Obj) -> None:
                if any(v.get("name") == volume for v in obj["spec"].get("volumes") or []):
                    self._remove_from(obj["spec"], volume, "virtualmachineinstance", name)

            self._update(VMIS, namespace, name, unplug, dry_run=dry)
        self._note(namespace, name, f"removevolume {volume}", dry)
        return 202, None
