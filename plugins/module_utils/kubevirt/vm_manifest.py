# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ovirt_kubevirt.bridge contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Translate a VM representation into a ``kubevirt.io/v1`` VirtualMachine.

``representation_to_vm`` returns ``(manifest, concerns)``. The manifest
carries everything KubeVirt can express; each concern
(``{id, category, message}``, category critical / warning / info) names what
could not be carried or was changed on the way. A critical concern means the
VM would not run as it did (a disk or NIC the maps do not cover).

Maps supplied by the caller:

* ``storage_map``: storage domain name (or storage domain id, LUN GUID, or
  ``"*"``) -> one of
    - ``{"storage_class": sc, "pvc_name": "{vm}-{disk_id}", "imageio": {...} | "source": {...}}``:
      a DataVolume template; ``imageio`` (``url``, ``secret_ref``,
      ``cert_config_map``, ``insecure_skip_verify``) imports the oVirt disk,
      ``source`` is any CDI source; optional ``size``, ``volume_mode``,
      ``access_modes``;
    - ``{"pvc_name": "{vm}-{disk_id}"}``: an existing PersistentVolumeClaim;
    - ``{"host_disk_path": "/var/lib/vms/{vm}/{disk_id}.img"}``: a hostDisk.
  Templates may use ``{vm}``, ``{disk_id}``, ``{disk_name}``, ``{target}``,
  ``{index}`` and ``{storage_domain}``.
* ``network_map``: vNIC profile name, network name or ``"*"`` -> ``"pod"``,
  ``"multus:<namespace>/<name>"``, or ``{"type": "pod"|"multus", "name":
  "<ns>/<name>", "binding": "masquerade"|"bridge"|"sriov"}``. Only one NIC may
  use the pod network.
* ``host_device_map`` (optional): oVirt host device name (``pci_0000_05_00_1``)
  or mdev type (``nvidia-22``) -> KubeVirt permitted device name.
* ``node_map`` (optional): oVirt host name -> Kubernetes node name.

Scheduling: high availability gives runStrategy ``Always``, otherwise a
running VM gets ``Manual`` and a stopped one ``Halted`` (``run_strategy``
overrides). A single pinned or scheduled host becomes a
``kubernetes.io/hostname`` nodeSelector, a pinned-host list required node
affinity (In); affinity groups become pod (anti-)affinity on the VM id label
and node affinity; the placement policy sets the evictionStrategy
(migratable: LiveMigrate; pinned and user_migratable: External, so a drain
waits for an operator as host maintenance does in oVirt).

``delivery="passthrough"`` additionally asks KubeVirt to start the oVirt
domxml itself through the hook sidecar (see ``passthrough``); concerns about
what the domxml keeps then become info.
"""
from __future__ import annotations

import functools
import hashlib
import re
from typing import Any, Dict, List, Mapping, Optional, Tuple

try:
    import zoneinfo
except ImportError:  # Python < 3.9
    zoneinfo = None  # type: ignore[assignment]

from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.common import labels
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.common.errors import InputError
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.common.kubevirt_api import KUBEVIRT_API
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.common.naming import (
    is_dns1123_label,
    is_label_name,
    kubernetes_name,
)
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.common.ovirt_status import MAY_RUN
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.common.quantities import is_quantity
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.domxml.placeholders import parse_placeholder
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.domxml.representation import (
    representation_config,
    representation_domxml,
    validate_representation,
)
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.kubevirt.device_names import kubevirt_disk_name, kubevirt_host_device_name
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.kubevirt.passthrough import (
    HOOK_ANNOTATION,
    configmap_name,
    hook_sidecar_annotation,
)
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.model.vm_config import Disk, Nic, VmConfig

API_VERSION = KUBEVIRT_API
PREFIX = labels.PREFIX
LABEL_VM_ID = labels.VM_ID
LABEL_CLUSTER_ID = labels.CLUSTER_ID
ANNOTATION_VM_NAME = PREFIX + "vm-name"
ANNOTATION_CLUSTER_ID = PREFIX + "cluster-id"
ANNOTATION_DOMXML_SHA256 = PREFIX + "domxml-sha256"
ANNOTATION_HA_PRIORITY = PREFIX + "ha-priority"
ANNOTATION_DELIVERY = PREFIX + "delivery"
AFFINITY_LABEL_PREFIX = "affinity-label.ovirt-kubevirt.io/"
HOSTNAME_LABEL = labels.HOSTNAME
RUN_STRATEGIES = ("Always", "Halted", "Manual", "RerunOnFailure", "Once")
DELIVERIES = ("native", "passthrough")
CATEGORIES = ("critical", "warning", "info")
DEFAULT_PVC_NAME = "{vm}-{disk_id}"
# oVirt states in which the VM is (or is about to be) running.
KUBEVIRT_DISK_BUSES = {"virtio": "virtio", "scsi": "scsi", "sata": "sata", "usb": "usb"}
KUBEVIRT_NIC_MODELS = ("virtio", "e1000", "e1000e", "igb", "ne2k_pci", "pcnet", "rtl8139")
WATCHDOG_ACTIONS = {"reset": "reset", "poweroff": "poweroff", "shutdown": "shutdown"}
HYPERV_FEATURES = {
    "relaxed": "relaxed", "vapic": "vapic", "spinlocks": "spinlocks", "vpindex": "vpindex", "runtime": "runtime",
    "synic": "synic", "stimer": "synictimer", "reset": "reset", "vendor_id": "vendorid", "frequencies": "frequencies",
    "reenlightenment": "reenlightenment", "tlbflush": "tlbflush", "ipi": "ipi", "evmcs": "evmcs",
}
TIMER_NAMES = {"rtc": "rtc", "pit": "pit", "hpet": "hpet", "hypervclock": "hyperv", "kvmclock": "kvm"}
TICK_POLICIES = ("delay", "catchup", "merge", "discard")
_STORAGE_KEYS = {"storage_class", "pvc_name", "host_disk_path", "volume_mode", "access_modes", "imageio", "source", "size"}
_IMAGEIO_KEYS = {"url": "url", "secret_ref": "secretRef", "cert_config_map": "certConfigMap", "insecure_skip_verify": "insecureSkipVerify"}
_DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")
_LABEL_VALUE = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$")
_MAC = re.compile(r"^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$")
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
# KubeVirt's admission webhook accepts these disk serials only.
_SERIAL = re.compile(r"^[A-Za-z0-9_.+-]{1,256}$")


def representation_to_vm(
    representation: Mapping[str, Any],
    storage_map: Mapping[str, Any],
    network_map: Mapping[str, Any],
    namespace: Optional[str] = None,
    name: Optional[str] = None,
    run_strategy: Optional[str] = None,
    delivery: str = "native",
    host_device_map: Optional[Mapping[str, str]] = None,
    node_map: Optional[Mapping[str, str]] = None,
) -> Tuple[Dict[str, Any], List[Dict[str, str]]]:
    """The VirtualMachine manifest for ``representation`` and the concerns met on the way."""
    if delivery not in DELIVERIES:
        raise InputError(f"delivery must be one of {', '.join(DELIVERIES)}, got {delivery!r}")
    if run_strategy is not None and run_strategy not in RUN_STRATEGIES:
        raise InputError(f"run_strategy must be one of {', '.join(RUN_STRATEGIES)}, got {run_strategy!r}")
    for label, value in (("storage_map", storage_map), ("network_map", network_map),
                         ("host_device_map", host_device_map or {}), ("node_map", node_map or {})):
        if not isinstance(value, Mapping):
            raise InputError(f"{label} must be a mapping, got {type(value).__name__}")
    if not isinstance(representation, Mapping):
        raise InputError(f"expected a VM representation (a mapping), got {type(representation).__name__}")
    # The configuration is checked as it is read; the rest against the schema.
    validate_representation(representation, ("schema_version", "scheduling", "dynamic"))
    config = representation_config(representation)
    if not _UUID.match(config.uuid):
        raise InputError(f"VM uuid {config.uuid!r} is not a UUID; KubeVirt's firmware.uuid needs one")
    translation = _Translation(
        config=config,
        scheduling=representation.get("scheduling") or {},
        dynamic=representation.get("dynamic") or {},
        domxml=representation_domxml(representation),
        storage_map=storage_map,
        network_map=network_map,
        host_device_map=host_device_map or {},
        node_map=node_map or {},
        delivery=delivery,
    )
    manifest = translation.manifest(namespace, name, run_strategy)
    return manifest, translation.concerns.items


# --- helpers ---------------------------------------------------------------


class _Concerns:
    """The concern list; in passthrough delivery what the domxml keeps is only info."""

    def __init__(self, passthrough: bool) -> None:
        self.passthrough = passthrough
        self.items: List[Dict[str, str]] = []

    def add(self, concern_id: str, category: str, message: str, kept_by_domxml: bool = False) -> None:
        if kept_by_domxml and self.passthrough:
            category = "info"
            message += " Passthrough delivery keeps it: the oVirt domxml carries it."
        self.items.append({"id": f"ovirt_kubevirt.{concern_id}", "category": category, "message": message})


def quantity_kib(kib: int) -> str:
    """A Kubernetes quantity for a size in KiB, in the largest exact binary unit."""
    for unit, factor in (("Ti", 1024**3), ("Gi", 1024**2), ("Mi", 1024)):
        if kib % factor == 0 and kib >= factor:
            return f"{kib // factor}{unit}"
    return f"{kib}Ki"


def quantity_bytes(size: int) -> str:
    return quantity_kib(size // 1024) if size % 1024 == 0 else str(size)


def _pci_address(address: Mapping[str, str]) -> Optional[str]:
    if address.get("type") != "pci":
        return None
    try:
        parts = [int(address.get(key, "0"), 16) for key in ("domain", "bus", "slot", "function")]
    except ValueError:
        return None
    return "{:04x}:{:02x}:{:02x}.{:x}".format(*parts)


def _integer(value: Any, what: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise InputError(f"{what} is not an integer: {value!r}") from None


@functools.lru_cache(maxsize=None)
def _timezone_database() -> bool:
    try:
        zoneinfo.ZoneInfo("UTC")
    except Exception:  # pylint: disable=broad-except  # no tz database on this host
        return False
    return True


def _known_timezone(name: str) -> bool:
    """Whether ``name`` is an IANA time zone KubeVirt will accept (Windows names are not)."""
    if zoneinfo is None or not _timezone_database():  # no way to ask: trust the shape of IANA names
        return "/" in name or name in ("UTC", "GMT")
    try:
        zoneinfo.ZoneInfo(name)
    except (ValueError, zoneinfo.ZoneInfoNotFoundError):
        return False
    return True


def _label_ok(value: str) -> bool:
    return len(value) <= 63 and bool(_LABEL_VALUE.match(value))


def _disk_label(disk: Disk) -> str:
    described = disk.name or disk.image_id or disk.lun_id
    return f"{disk.target} ({described})" if described else disk.target


def _nic_label(nic: Nic) -> str:
    return f"{nic.name} ({nic.mac})" if nic.name else nic.mac


def _render(template: str, values: Mapping[str, Any], what: str) -> str:
    try:
        return template.format_map(values)
    except (KeyError, IndexError, ValueError) as exc:
        raise InputError(
            f"{what} template {template!r} is invalid ({exc}); it may use {', '.join('{' + k + '}' for k in values)}"
        ) from None


def _storage_entry(entry: Any, key: str) -> Dict[str, Any]:
    if not isinstance(entry, Mapping):
        raise InputError(f"storage_map[{key!r}] must be a mapping, got {type(entry).__name__}")
    unknown = sorted(set(entry) - _STORAGE_KEYS)
    if unknown:
        raise InputError(
            f"storage_map[{key!r}]: unknown key{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}; "
            f"known: {', '.join(sorted(_STORAGE_KEYS))}"
        )
    kinds = [k for k in ("storage_class", "host_disk_path") if entry.get(k)]
    if len(kinds) > 1:
        raise InputError(f"storage_map[{key!r}]: give storage_class or host_disk_path, not both")
    if not kinds and not entry.get("pvc_name"):
        raise InputError(f"storage_map[{key!r}] needs storage_class (DataVolume), pvc_name (existing PVC) or host_disk_path")
    if entry.get("storage_class") and not (entry.get("imageio") or entry.get("source")):
        raise InputError(
            f"storage_map[{key!r}]: a DataVolume needs imageio (import the oVirt disk) or source (any CDI source); "
            "a blank disk is never assumed"
        )
    if entry.get("size") is not None and not is_quantity(entry["size"]):
        raise InputError(f"storage_map[{key!r}].size {entry['size']!r} is not a Kubernetes quantity")
    return dict(entry)


def _network_entry(entry: Any, key: str) -> Dict[str, str]:
    if isinstance(entry, str):
        if entry == "pod":
            return {"type": "pod", "binding": "masquerade"}
        if entry.startswith("multus:") and len(entry) > len("multus:"):
            return {"type": "multus", "name": entry[len("multus:"):], "binding": "bridge"}
        raise InputError(f"network_map[{key!r}] must be 'pod' or 'multus:<namespace>/<name>', got {entry!r}")
    if not isinstance(entry, Mapping):
        raise InputError(f"network_map[{key!r}] must be a string or a mapping, got {type(entry).__name__}")
    unknown = sorted(set(entry) - {"type", "name", "binding"})
    if unknown:
        raise InputError(f"network_map[{key!r}]: unknown key{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}")
    kind = entry.get("type")
    if kind not in ("pod", "multus"):
        raise InputError(f"network_map[{key!r}].type must be pod or multus, got {kind!r}")
    if kind == "multus" and not entry.get("name"):
        raise InputError(f"network_map[{key!r}]: a multus network needs name: <namespace>/<name>")
    binding = entry.get("binding") or ("masquerade" if kind == "pod" else "bridge")
    if binding not in ("masquerade", "bridge", "sriov"):
        raise InputError(f"network_map[{key!r}].binding must be masquerade, bridge or sriov, got {binding!r}")
    return {"type": kind, "name": str(entry.get("name") or ""), "binding": binding}


# --- the translation -------------------------------------------------------


class _Translation:
    def __init__(self, config: VmConfig, scheduling: Mapping[str, Any], dynamic: Mapping[str, Any], domxml: Optional[str],
                 storage_map: Mapping[str, Any], network_map: Mapping[str, Any], host_device_map: Mapping[str, str],
                 node_map: Mapping[str, str], delivery: str) -> None:
        self.config = config
        self.scheduling = scheduling
        self.dynamic = dynamic
        self.domxml = domxml
        self.storage_map = storage_map
        self.network_map = network_map
        self.host_device_map = host_device_map
        self.node_map = node_map
        self.passthrough = delivery == "passthrough"
        self.concerns = _Concerns(self.passthrough)
        self.vm_name = ""
        self.pod_network_used = False
        self.data_volumes: List[Dict[str, Any]] = []
        # Node label keys the VM requires, from host devices that are not passed through.
        self.required_node_labels: List[str] = []

    def manifest(self, namespace: Optional[str], name: Optional[str], run_strategy: Optional[str]) -> Dict[str, Any]:
        c = self.config
        self.vm_name = self.kubernetes_vm_name(name)
        disks, volumes = self.disks()
        interfaces, networks = self.interfaces()
        devices = self.devices(disks, interfaces)
        template_spec: Dict[str, Any] = {"domain": self.domain(devices)}
        if networks:
            template_spec["networks"] = networks
        if volumes:
            template_spec["volumes"] = volumes
        template_spec.update(self.placement())
        if c.launch_paused:
            template_spec["startStrategy"] = "Paused"
        spec: Dict[str, Any] = {"runStrategy": run_strategy or self.run_strategy()}
        if self.data_volumes:
            spec["dataVolumeTemplates"] = self.data_volumes
        spec["template"] = {"metadata": self.template_metadata(), "spec": template_spec}
        metadata: Dict[str, Any] = {"name": self.vm_name, "labels": self.identity_labels(), "annotations": self.annotations()}
        if namespace:
            metadata["namespace"] = namespace
        self.other_concerns()
        return {"apiVersion": API_VERSION, "kind": "VirtualMachine", "metadata": metadata, "spec": spec}

    # -- identity --

    def kubernetes_vm_name(self, name: Optional[str]) -> str:
        if name is not None:
            if not is_dns1123_label(name):
                raise InputError(f"name {name!r} is not a valid VirtualMachine name (a DNS-1123 label, at most 63 characters)")
            return name
        converted, changed = kubernetes_name(self.config.name or self.config.uuid)
        if changed:
            self.concerns.add(
                "name.changed", "info",
                f"VM name {self.config.name!r} is not a Kubernetes name; the VirtualMachine is named {converted!r}.",
            )
        return converted

    def identity_labels(self) -> Dict[str, str]:
        labels = {}
        if _label_ok(self.config.uuid):
            labels[LABEL_VM_ID] = self.config.uuid
        cluster_id = self.scheduling.get("cluster_id")
        if cluster_id and _label_ok(str(cluster_id)):
            labels[LABEL_CLUSTER_ID] = str(cluster_id)
        return labels

    def annotations(self) -> Dict[str, str]:
        annotations = {ANNOTATION_VM_NAME: self.config.name, ANNOTATION_DELIVERY: "passthrough" if self.passthrough else "native"}
        if self.scheduling.get("cluster_id"):
            annotations[ANNOTATION_CLUSTER_ID] = str(self.scheduling["cluster_id"])
        if self.domxml is not None:
            annotations[ANNOTATION_DOMXML_SHA256] = hashlib.sha256(self.domxml.encode("utf-8")).hexdigest()
        ha = self.scheduling.get("high_availability") or {}
        if ha.get("enabled"):
            annotations[ANNOTATION_HA_PRIORITY] = str(ha.get("priority", 0))
        return annotations

    def template_metadata(self) -> Dict[str, Any]:
        labels = {"kubevirt.io/vm": self.vm_name, **self.identity_labels()}
        for label in self.scheduling.get("affinity_labels") or []:
            labels[AFFINITY_LABEL_PREFIX + kubernetes_name(str(label))[0]] = "true"
        metadata: Dict[str, Any] = {"labels": labels}
        if self.passthrough:
            metadata["annotations"] = {HOOK_ANNOTATION: hook_sidecar_annotation(configmap_name(self.vm_name))}
        return metadata

    def run_strategy(self) -> str:
        status = self.dynamic.get("status") or "down"
        ha = self.scheduling.get("high_availability") or {}
        if ha.get("enabled"):
            return "Always"
        if status == "suspended":
            self.concerns.add(
                "status.suspended", "warning",
                "The VM is suspended (hibernated) in oVirt; its saved memory state is not carried and it starts cold.",
            )
        return "Manual" if status in MAY_RUN else "Halted"

    # -- domain --

    def domain(self, devices: Dict[str, Any]) -> Dict[str, Any]:
        c = self.config
        domain: Dict[str, Any] = {
            "cpu": self.cpu(),
            "memory": self.memory(),
            "firmware": self.firmware(),
            "clock": self.clock(),
            "features": self.features(),
            "devices": devices,
        }
        machine = self.machine_type()
        if machine:
            domain["machine"] = {"type": machine}
        resources = self.resources()
        if resources:
            domain["resources"] = resources
        if c.io_threads:
            domain["ioThreadsPolicy"] = "shared" if c.io_threads == 1 else "auto"
            if c.io_threads > 1:
                self.concerns.add(
                    "cpu.io_threads", "info",
                    f"oVirt gave the VM {c.io_threads} I/O threads; KubeVirt allocates them itself (ioThreadsPolicy auto).",
                    kept_by_domxml=True,
                )
        return domain

    def cpu(self) -> Dict[str, Any]:
        c = self.config
        request = self.scheduling.get("cpu_request") or {}
        cores = int(request.get("cores") or (c.topology.cores if c.topology else 1))
        threads = int(request.get("threads") or (c.topology.threads if c.topology else 1))
        vcpus = int(request.get("vcpus") or c.vcpus)
        max_vcpus = int(request.get("max_vcpus") or c.vcpu_ceiling)
        if min(cores, threads, vcpus) < 1:
            raise InputError(f"the CPU request ({vcpus} vCPUs, {cores} cores, {threads} threads) needs counts of at least 1")
        if vcpus % (cores * threads):
            self.concerns.add(
                "cpu.topology_changed", "warning",
                f"{vcpus} vCPUs do not fill whole sockets of {cores} core(s) x {threads} thread(s); the guest gets {vcpus} single-core sockets.",
                kept_by_domxml=True,
            )
            cores = threads = 1
        cpu: Dict[str, Any] = {"sockets": vcpus // (cores * threads), "cores": cores, "threads": threads}
        if max_vcpus > vcpus:
            cpu["maxSockets"] = max(max_vcpus // (cores * threads), cpu["sockets"])
        if c.cpu.mode in ("host-passthrough", "host-model"):
            cpu["model"] = c.cpu.mode
        elif c.cpu.model:
            cpu["model"] = c.cpu.model
        if c.cpu.features:
            cpu["features"] = [{"name": f.name, "policy": f.policy or "require"} for f in c.cpu.features]
        dedicated = bool(request.get("dedicated", bool(c.cpu_tune.vcpu_pins)))
        if dedicated:
            cpu["dedicatedCpuPlacement"] = True
            if c.cpu_tune.vcpu_pins:
                self.concerns.add(
                    "cpu.pinning", "info",
                    "CPU pinning becomes dedicated CPU placement: KubeVirt picks the host CPUs; the oVirt cpusets are not kept.",
                    kept_by_domxml=True,
                )
            if c.cpu_tune.emulator_pin:
                cpu["isolateEmulatorThread"] = True
        self.numa(cpu, dedicated)
        if request.get("shares") is not None:
            self.concerns.add(
                "cpu.shares", "info",
                f"CPU shares {request['shares']} are not carried; Kubernetes CPU requests weigh the pod instead.",
                kept_by_domxml=True,
            )
        return cpu

    def numa(self, cpu: Dict[str, Any], dedicated: bool) -> None:
        numa = self.scheduling.get("numa") or {}
        nodes = numa.get("nodes") or []
        if len(nodes) > 1:
            if dedicated and (self.scheduling.get("memory_request") or {}).get("hugepage_size_kib"):
                cpu["numa"] = {"guestMappingPassthrough": {}}
                self.concerns.add(
                    "cpu.numa", "info",
                    f"The guest's {len(nodes)} NUMA cells are replaced by KubeVirt's mapping of the host NUMA cells it runs on.",
                    kept_by_domxml=True,
                )
            else:
                self.concerns.add(
                    "cpu.numa", "warning",
                    f"The guest's {len(nodes)} NUMA cells are not carried: KubeVirt mirrors NUMA only for dedicated CPUs with hugepages.",
                    kept_by_domxml=True,
                )
        if numa.get("nodeset") or (numa.get("tune_mode") and len(nodes) > 1):
            self.concerns.add(
                "cpu.numa_tune", "warning",
                f"NUMA tuning ({numa.get('tune_mode')} on host nodes {numa.get('nodeset')}) is not carried.",
                kept_by_domxml=True,
            )

    def memory(self) -> Dict[str, Any]:
        c = self.config
        request = self.scheduling.get("memory_request") or {}
        memory: Dict[str, Any] = {"guest": quantity_kib(c.memory_kib)}
        max_kib = request.get("max_memory_kib", c.max_memory_kib)
        if max_kib and max_kib > c.memory_kib:
            memory["maxGuest"] = quantity_kib(max_kib)
        hugepage = request.get("hugepage_size_kib", c.hugepage_size_kib)
        if hugepage:
            memory["hugepages"] = {"pageSize": quantity_kib(hugepage)}
        if c.current_memory_kib is not None and c.current_memory_kib != c.memory_kib:
            self.concerns.add(
                "memory.balloon_target", "info",
                f"The balloon target ({c.current_memory_kib} KiB) is not carried; the guest starts with all its memory.",
            )
        return memory

    def resources(self) -> Dict[str, Any]:
        resources: Dict[str, Any] = {}
        memory = self.scheduling.get("memory_request") or {}
        guaranteed = memory.get("guaranteed_kib")
        if guaranteed and guaranteed < self.config.memory_kib:
            # Kubernetes requests are what oVirt calls guaranteed memory: the rest is overcommitted.
            resources["requests"] = {"memory": quantity_kib(guaranteed)}
        limit = (self.scheduling.get("cpu_request") or {}).get("limit_millicores")
        if limit:
            resources["limits"] = {"cpu": f"{limit}m"}
        return resources

    def machine_type(self) -> Optional[str]:
        machine = self.config.machine_type
        if not machine or machine == "q35" or machine.startswith("pc-q35"):
            return machine
        self.concerns.add(
            "machine.changed", "warning",
            f"Machine type {machine} (i440fx) is not offered by KubeVirt; the VM gets q35, "
            "so the guest sees a new chipset (PCIe, AHCI instead of IDE).",
            kept_by_domxml=True,
        )
        return "q35"

    def firmware(self) -> Dict[str, Any]:
        c = self.config
        firmware: Dict[str, Any] = {"uuid": c.uuid}
        serial = c.sysinfo.get("serial")
        if serial and parse_placeholder(serial) is None:
            firmware["serial"] = serial
        elif serial:
            self.concerns.add("firmware.serial", "info", "The SMBIOS serial was the oVirt host's (HOST-SERIAL:); KubeVirt generates one.")
        if c.firmware.type == "uefi":
            firmware["bootloader"] = {"efi": {"secureBoot": c.firmware.secure_boot}}
            self.concerns.add("firmware.nvram", "info", "UEFI variables (NVRAM) are not carried; boot entries are re-created on first boot.")
        else:
            firmware["bootloader"] = {"bios": {"useSerial": True} if c.firmware.bios_serial else {}}
        if c.firmware.boot_menu:
            self.concerns.add("firmware.boot_menu", "info", "The BIOS boot menu is not offered by KubeVirt.", kept_by_domxml=True)
        if c.kernel_boot is not None:
            self.concerns.add(
                "firmware.kernel_boot", "warning",
                f"Direct kernel boot from host paths ({c.kernel_boot.kernel}) is not carried: KubeVirt boots kernels from container images only.",
            )
        return firmware

    def clock(self) -> Dict[str, Any]:
        clock_config = self.config.clock
        clock: Dict[str, Any] = {}
        timezone = clock_config.timezone
        if timezone and _known_timezone(timezone):
            clock["timezone"] = timezone
        else:
            clock["utc"] = {"offsetSeconds": clock_config.adjustment_seconds} if clock_config.adjustment_seconds else {}
            if timezone:
                self.concerns.add(
                    "clock.timezone", "info",
                    f"Time zone {timezone!r} is not an IANA name (a Windows one?); "
                    f"the guest keeps its offset of {clock_config.adjustment_seconds} s from UTC.",
                )
        timers: Dict[str, Any] = {}
        for timer in clock_config.timers:
            name = TIMER_NAMES.get(timer.name)
            if name is None:
                continue
            settings: Dict[str, Any] = {}
            if timer.present is not None:
                settings["present"] = timer.present
            if timer.tickpolicy in TICK_POLICIES and name in ("rtc", "pit", "hpet"):
                settings["tickPolicy"] = timer.tickpolicy
            timers[name] = settings
        if timers:
            clock["timer"] = timers
        return clock

    def features(self) -> Dict[str, Any]:
        f = self.config.features
        features: Dict[str, Any] = {"acpi": {} if f.acpi else {"enabled": False}}
        if f.apic:
            features["apic"] = {}
        if f.smm or (self.config.firmware.type == "uefi" and self.config.firmware.secure_boot):
            features["smm"] = {}
        hyperv: Dict[str, Any] = {}
        for name, attrs in f.hyperv.items():
            target = HYPERV_FEATURES.get(name)
            if target is None:
                self.concerns.add("features.hyperv", "info", f"Hyper-V enlightenment {name!r} has no KubeVirt setting.", kept_by_domxml=True)
                continue
            setting: Dict[str, Any] = {} if attrs.get("state", "on") == "on" else {"enabled": False}
            if target == "spinlocks" and attrs.get("retries"):
                setting["spinlocks"] = max(_integer(attrs["retries"], "Hyper-V spinlocks retries"), 4096)
            if target == "vendorid" and attrs.get("value"):
                setting["vendorid"] = attrs["value"]
            hyperv[target] = setting
        if hyperv:
            features["hyperv"] = hyperv
        if f.vmcoreinfo:
            self.concerns.add(
                "features.vmcoreinfo", "info",
                "The vmcoreinfo device (kernel crash dumps with KASLR) has no KubeVirt setting.",
                kept_by_domxml=True,
            )
        return features

    # -- devices --

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
        if watchdog.model not in ("i6300esb", "diag288"):
            self.concerns.add(
                "watchdog.model", "warning",
                f"Watchdog model {watchdog.model} is not offered by KubeVirt (i6300esb, diag288); it is dropped.",
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

    # -- disks --

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
        label = _disk_label(disk)
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
        if disk.io in ("native", "threads", "default"):
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
                f"Disk {_disk_label(disk)} on bus {disk.bus} is attached as SATA, the KubeVirt bus closest to it.",
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
        entry = _storage_entry(self.storage_map[key], key)
        values = {
            "vm": self.vm_name,
            "disk_id": disk.image_id or disk.lun_id or disk.target,
            "disk_name": kubernetes_name(disk.name or disk.target)[0],
            "target": disk.target,
            "index": index,
            "storage_domain": disk.storage_domain or disk.domain_id or "",
        }
        if entry.get("host_disk_path"):
            path = _render(str(entry["host_disk_path"]), values, "host_disk_path")
            host_disk: Dict[str, Any] = {"path": path, "type": "Disk"}
            if disk.shareable:
                host_disk["shared"] = True
            return {"name": name, "hostDisk": host_disk}
        claim = _render(str(entry.get("pvc_name") or DEFAULT_PVC_NAME), values, "pvc_name")
        if len(claim) > 253 or not _DNS1123_SUBDOMAIN.match(claim):
            raise InputError(f"pvc_name for disk {_disk_label(disk)} renders to {claim!r}, which is not a valid Kubernetes name")
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
                f"The size of disk {_disk_label(disk)} is unknown; give size in the storage map if CDI cannot infer it from the source.",
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

    # -- interfaces --

    def interfaces(self) -> Tuple[List[Dict[str, Any]], List[Dict[str, Any]]]:
        interfaces: List[Dict[str, Any]] = []
        networks: List[Dict[str, Any]] = []
        used_names: Dict[str, int] = {}
        pod_nic: Optional[str] = None
        for index, nic in enumerate(self.config.nics):
            if not _MAC.match(nic.mac):
                raise InputError(f"NIC {nic.name or index + 1} has MAC address {nic.mac!r}, which is not a MAC address")
            key = next((k for k in (nic.vnic_profile, nic.network, "*") if k and k in self.network_map), None)
            if key is None:
                self.concerns.add(
                    "nic.unmapped", "critical",
                    f"NIC {_nic_label(nic)} on network {nic.network or '(none)'} is not in the network map; it is not attached.",
                )
                continue
            target = _network_entry(self.network_map[key], key)
            if target["type"] == "pod":
                if pod_nic is not None:
                    self.concerns.add(
                        "nic.second_pod", "critical",
                        f"NIC {_nic_label(nic)} maps to the pod network, which {pod_nic} already uses; only one NIC may. It is not attached.",
                    )
                    continue
                pod_nic = _nic_label(nic)
            name = self.interface_name(nic, index, used_names)
            interfaces.append(self.interface(nic, name, target))
            network: Dict[str, Any] = {"name": name}
            network.update({"pod": {}} if target["type"] == "pod" else {"multus": {"networkName": target["name"]}})
            networks.append(network)
            self.nic_concerns(nic, target)
        self.pod_network_used = pod_nic is not None
        return interfaces, networks

    @staticmethod
    def interface_name(nic: Nic, index: int, used: Dict[str, int]) -> str:
        name = kubernetes_name(nic.name)[0] if nic.name else f"nic{index + 1}"
        if name in used:
            used[name] += 1
            name = f"{name}-{used[name]}"
        used.setdefault(name, 0)
        return name

    def interface(self, nic: Nic, name: str, target: Mapping[str, str]) -> Dict[str, Any]:
        binding = target["binding"]
        if nic.type == "hostdev" and binding != "sriov":
            self.concerns.add(
                "nic.sriov_binding", "warning",
                f"SR-IOV NIC {_nic_label(nic)} maps to a {binding} binding; the guest gets a paravirtual NIC instead of a VF.",
            )
        interface: Dict[str, Any] = {"name": name, binding: {}, "macAddress": nic.mac}
        if binding != "sriov":
            model = nic.model or "virtio"
            if model == "pv":
                model = "virtio"
            if model not in KUBEVIRT_NIC_MODELS:
                self.concerns.add(
                    "nic.model_changed", "warning",
                    f"NIC {_nic_label(nic)} model {model} is not offered by KubeVirt; it becomes virtio.",
                )
                model = "virtio"
            interface["model"] = model
        if nic.boot_order:
            interface["bootOrder"] = nic.boot_order
        if not nic.link_up:
            if binding == "bridge":
                interface["state"] = "down"
            else:
                self.concerns.add(
                    "nic.link_down", "info",
                    f"NIC {_nic_label(nic)} is unplugged in oVirt; KubeVirt can only set link down on bridge bindings, so its link is up.",
                )
        if self.passthrough:
            pci = _pci_address(nic.address)
            if pci:
                interface["pciAddress"] = pci
        return interface

    def nic_concerns(self, nic: Nic, target: Mapping[str, str]) -> None:
        label = _nic_label(nic)
        if nic.inbound or nic.outbound:
            self.concerns.add("nic.qos", "warning", f"NIC {label} has network QoS (bandwidth limits); KubeVirt has none per interface.")
        if nic.filter and nic.filter != "vdsm-no-mac-spoofing":
            self.concerns.add("nic.filter", "warning", f"NIC {label} uses network filter {nic.filter}; KubeVirt applies no libvirt network filters.")
        if nic.port_mirroring:
            self.concerns.add(
                "nic.port_mirroring", "warning",
                f"NIC {label} mirrors traffic of {', '.join(nic.port_mirroring)}; KubeVirt has no port mirroring.",
            )
        if nic.custom_properties:
            self.concerns.add(
                "nic.custom_properties", "warning",
                f"NIC {label} vNIC profile custom properties ({', '.join(sorted(nic.custom_properties))}) are not carried.",
            )
        if nic.type == "hostdev" and nic.vlan is not None and target["binding"] == "sriov":
            self.concerns.add(
                "nic.vlan", "info",
                f"SR-IOV NIC {label} VLAN {nic.vlan} comes from the network attachment definition {target['name']}.",
            )

    # -- placement --

    def placement(self) -> Dict[str, Any]:
        s = self.scheduling
        result: Dict[str, Any] = {}
        policy = s.get("placement_policy", "migratable")
        # A VM oVirt may not migrate blocks the drain until someone acts, as it blocks host maintenance in oVirt.
        result["evictionStrategy"] = {"migratable": "LiveMigrate", "user_migratable": "External", "pinned": "External"}.get(policy, "LiveMigrate")
        hosts = [self.node(h) for h in s.get("pinned_hosts") or []] if s.get("host_pinning") else []
        if not hosts and s.get("host"):
            # The host oVirt scheduled the VM on is the node it starts on.
            hosts = [self.node(s["host"])]
            if policy != "pinned":
                self.concerns.add(
                    "placement.scheduled_host", "info",
                    f"The VM is bound to node {hosts[0]}, the host oVirt scheduled it on; to let KubeVirt live-migrate it "
                    "to another node, remove the nodeSelector once it runs.",
                )
        required: List[Dict[str, Any]] = []
        preferred: List[Dict[str, Any]] = []
        selector = self.cpu_node_selector()
        if len(hosts) == 1:
            selector[HOSTNAME_LABEL] = hosts[0]
        elif hosts:
            required.append({"key": HOSTNAME_LABEL, "operator": "In", "values": hosts})
        if selector:
            result["nodeSelector"] = selector
        required += [{"key": key, "operator": "Exists"} for key in self.required_node_labels]
        affinity = self.affinity_groups(required, preferred)
        node_affinity: Dict[str, Any] = {}
        if required:
            node_affinity["requiredDuringSchedulingIgnoredDuringExecution"] = {"nodeSelectorTerms": [{"matchExpressions": required}]}
        if preferred:
            node_affinity["preferredDuringSchedulingIgnoredDuringExecution"] = preferred
        if node_affinity:
            affinity["nodeAffinity"] = node_affinity
        if affinity:
            result["affinity"] = affinity
        if policy == "migratable":
            self.concerns.add(
                "placement.live_migration", "info",
                "The VM migrates on node drain (evictionStrategy LiveMigrate); live migration needs ReadWriteMany volumes.",
            )
        return result

    def cpu_node_selector(self) -> Dict[str, str]:
        """The CPU model (the cluster's CPU level) and required features as KubeVirt node-labeller selectors."""
        cpu = self.config.cpu
        selector: Dict[str, str] = {}
        wanted = [(labels.CPU_FEATURE_PREFIX, f.name) for f in cpu.features if (f.policy or "require") in ("require", "force")]
        if cpu.model and cpu.mode not in ("host-passthrough", "host-model"):
            wanted.insert(0, (labels.CPU_MODEL_PREFIX, cpu.model))
        for prefix, name in wanted:
            if is_label_name(name):
                selector[prefix + name] = "true"
            else:
                self.concerns.add("cpu.label", "warning", f"CPU {name!r} is not a valid node label name; scheduling does not select on it.")
        return selector

    def node(self, host: str) -> str:
        return str(self.node_map.get(host, host))

    def affinity_groups(self, node_required: List[Dict[str, Any]], node_preferred: List[Dict[str, Any]]) -> Dict[str, Any]:
        affinity: Dict[str, Any] = {}
        for group in self.scheduling.get("affinity_groups") or []:
            vm_rule, host_rule = group.get("vm_rule", "disabled"), group.get("host_rule", "disabled")
            others = [str(v) for v in group.get("vms") or [] if str(v) != self.config.uuid]
            if vm_rule != "disabled" and others:
                # The VM's own id is in the selector so the first VM of a positive group can schedule.
                selector = {"matchExpressions": [{"key": LABEL_VM_ID, "operator": "In", "values": [self.config.uuid] + others}]}
                term = {"labelSelector": selector, "topologyKey": HOSTNAME_LABEL}
                kind = "podAffinity" if vm_rule == "positive" else "podAntiAffinity"
                if group.get("vm_enforcing", False):
                    affinity.setdefault(kind, {}).setdefault("requiredDuringSchedulingIgnoredDuringExecution", []).append(term)
                else:
                    preferred = affinity.setdefault(kind, {}).setdefault("preferredDuringSchedulingIgnoredDuringExecution", [])
                    preferred.append({"weight": 100, "podAffinityTerm": term})
            hosts = [self.node(str(h)) for h in group.get("hosts") or []]
            if host_rule != "disabled" and hosts:
                expression = {"key": HOSTNAME_LABEL, "operator": "In" if host_rule == "positive" else "NotIn", "values": hosts}
                if group.get("host_enforcing", False):
                    node_required.append(expression)
                else:
                    node_preferred.append({"weight": 100, "preference": {"matchExpressions": [expression]}})
        return affinity

    # -- the rest --

    def other_concerns(self) -> None:
        c = self.config
        for lease in c.leases:
            self.concerns.add(
                "lease.dropped", "warning",
                f"The sanlock lease {lease.key} on storage domain {lease.lockspace} is dropped: KubeVirt guards against running a VM "
                "twice through the VMI and its pod, not through storage leases.",
            )
        if any(ch.name == "ovirt-guest-agent.0" for ch in c.channels):
            self.concerns.add(
                "channel.ovirt_guest_agent", "info",
                "The oVirt guest agent channel is dropped; KubeVirt talks to the QEMU guest agent.",
            )
        if c.custom_properties:
            self.concerns.add(
                "custom_properties", "warning",
                f"VM custom properties ({', '.join(sorted(c.custom_properties))}) are not carried; they drive VDSM hooks KubeVirt does not run.",
            )
        ha = self.scheduling.get("high_availability") or {}
        if ha.get("enabled"):
            self.concerns.add(
                "high_availability.priority", "info",
                f"High availability becomes runStrategy Always; the oVirt restart priority {ha.get('priority', 0)} is kept as an annotation only.",
            )
        if self.scheduling.get("affinity_labels"):
            self.concerns.add(
                "affinity_labels", "info",
                "oVirt affinity labels are kept as VM labels; Kubernetes nodes carry no matching labels, so they do not steer placement.",
            )
        if self.passthrough:
            self.concerns.add(
                "delivery.passthrough", "info",
                f"Passthrough delivery needs the Sidecar feature gate and the ConfigMap {configmap_name(self.vm_name)} "
                "(passthrough.passthrough_configmap).",
            )
