# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ovirt_kubevirt.bridge contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The devices besides disks and interfaces: graphics, watchdog, sound, host devices."""
from __future__ import annotations

from typing import Any, Dict, List, Optional

from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.common import labels
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.common.naming import is_label_name
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.kubevirt.device_names import kubevirt_host_device_name
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.kubevirt.translation import TranslationBase

WATCHDOG_ACTIONS = {"reset": "reset", "poweroff": "poweroff", "shutdown": "shutdown"}
# The watchdog models virt-api admits per architecture (webhooks/amd64.go, s390x.go, arm64.go validateWatchdog*).
WATCHDOG_MODELS = {"x86_64": ("i6300esb",), "s390x": ("diag288",), "aarch64": ()}


class DevicesPart(TranslationBase):
    """The devices besides disks and interfaces: graphics, watchdog, sound, host devices."""

    def devices(self, disks: List[Dict[str, Any]], interfaces: List[Dict[str, Any]]) -> Dict[str, Any]:
        c = self.config
        devices: Dict[str, Any] = {"disks": disks, "interfaces": interfaces}
        if not self.pod_network_used:
            # Otherwise KubeVirt adds a pod NIC the oVirt VM never had.
            devices["autoattachPodInterface"] = False
        devices["autoattachGraphicsDevice"] = bool(c.graphics)
        devices["autoattachMemBalloon"] = c.balloon_model != "none"
        if c.console is not None:
            devices["autoattachSerialConsole"] = True
        self.graphics()
        inputs = [
            {"name": f"tablet{i}" if i else "tablet", "type": "tablet", "bus": device.bus if device.bus in ("usb", "virtio") else "usb"}
            for i, device in enumerate(d for d in c.inputs if d.type == "tablet")
        ]
        if inputs:
            devices["inputs"] = inputs
        watchdog = self.watchdog()
        if watchdog:
            devices["watchdog"] = watchdog
        if c.rng is not None:
            devices["rng"] = {}
            if c.rng.source != "urandom" or c.rng.rate_bytes:
                self.concerns.add("rng.source", "info", f"The RNG reads /dev/urandom in KubeVirt, not /dev/{c.rng.source}, and has no rate limit.")
        sound = self.sound()
        if sound:
            devices["sound"] = sound
        if c.tpm is not None:
            devices["tpm"] = {}
            self.concerns.add(
                "tpm.state", "warning",
                "The VM gets an emulated TPM, but the oVirt TPM state (keys, BitLocker/LUKS bindings) is not transferred.",
            )
        if c.usb_redirection:
            devices["clientPassthrough"] = {}
            self.concerns.add("usb.redirection", "info", "SPICE USB redirection becomes KubeVirt client passthrough (virtctl usbredir).")
        self.host_devices(devices)
        return devices

    def graphics(self) -> None:
        c = self.config
        if any(g.type == "spice" for g in c.graphics):
            self.concerns.add("graphics.spice", "info", "SPICE is not offered by KubeVirt; the console is VNC (virtctl vnc).")
        for video in c.video:
            if video.model not in ("vga", "virtio", "bochs", "cirrus", "none"):
                self.concerns.add("video.model", "info", f"Video card {video.model} is replaced by KubeVirt's default video device.")
        if c.smartcard is not None:
            self.concerns.add("smartcard", "warning", "Smartcard passthrough (SPICE) is not offered by KubeVirt.")

    def watchdog(self) -> Optional[Dict[str, Any]]:
        watchdog = self.config.watchdog
        if watchdog is None:
            return None
        offered = WATCHDOG_MODELS.get(self.config.arch, ())
        if watchdog.model not in offered:
            self.concerns.add(
                "watchdog.model", "warning",
                f"Watchdog model {watchdog.model} is not offered by KubeVirt on {self.config.arch} "
                f"({', '.join(offered) or 'no watchdog'}); it is dropped.",
                kept_by_domxml=True,
            )
            return None
        action = WATCHDOG_ACTIONS.get(watchdog.action)
        if action is None:
            self.concerns.add(
                "watchdog.action", "warning",
                f"Watchdog action {watchdog.action!r} has no KubeVirt equivalent (reset, poweroff, shutdown); the watchdog is dropped.",
                kept_by_domxml=True,
            )
            return None
        return {"name": "watchdog", watchdog.model: {"action": action}}

    def sound(self) -> Optional[Dict[str, Any]]:
        sounds = self.config.sound
        if not sounds:
            return None
        model = sounds[0].model
        if len(sounds) > 1:
            self.concerns.add("sound.extra", "warning", f"KubeVirt emulates one sound card; {len(sounds) - 1} more are dropped.", kept_by_domxml=True)
        if model in ("ich9", "ac97"):
            return {"name": "sound", "model": model}
        self.concerns.add("sound.model", "info", f"Sound card {model} becomes ich9 (KubeVirt offers ich9 and ac97).", kept_by_domxml=True)
        return {"name": "sound", "model": "ich9"}

    def host_devices(self, devices: Dict[str, Any]) -> None:
        host_devices: List[Dict[str, Any]] = []
        gpus: List[Dict[str, Any]] = []
        for index, device in enumerate(self.config.host_devices):
            key = device.mdev_type if device.kind == "mdev" else device.name
            mapped = self.host_device_map.get(key or "")
            label = f"{device.kind} host device {key or '(unnamed)'}"
            if device.kind == "scsi":
                self.concerns.add(
                    "host_device.scsi", "warning",
                    f"The {label} is dropped: KubeVirt passes through PCI, USB and mediated devices only.",
                )
                continue
            if not mapped:
                self.unmapped_host_device(label, key)
                continue
            entry = {"name": kubevirt_host_device_name(index), "deviceName": mapped}
            (gpus if device.kind == "mdev" else host_devices).append(entry)
        if host_devices:
            devices["hostDevices"] = host_devices
        if gpus:
            devices["gpus"] = gpus

    def unmapped_host_device(self, label: str, key: Optional[str]) -> None:
        node_label = labels.HOST_DEVICE_PREFIX + key if key and is_label_name(key) else None
        if node_label is None:
            self.concerns.add("host_device.unmapped", "warning", f"The {label} is dropped: host_device_map names no KubeVirt device for {key!r}.")
            return
        # Scheduling still honours the device: only nodes labelled as holding it qualify.
        self.required_node_labels.append(node_label)
        self.concerns.add(
            "host_device.unmapped", "warning",
            f"The {label} is not passed through: host_device_map names no KubeVirt device for {key!r}. The VM is kept to "
            f"nodes labelled {node_label}; map the device to a permitted KubeVirt device name to attach it.",
        )
