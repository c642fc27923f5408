# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ovirt_kubevirt.bridge contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The static configuration of an oVirt VM, typed: what a domxml says.

``VmConfig`` and its parts are plain dataclasses. ``domxml.read`` fills them
from a domxml, ``domxml.build`` writes a domxml from them, and the two
round-trip. ``config_to_dict``/``config_from_dict`` give the JSON form used by
the VM representation, and ``json_schema`` derives that form's JSON Schema from
the same type hints, so the schema cannot drift from the code.

Units follow libvirt: memory in KiB, except ``guaranteed_memory_mib`` which
keeps oVirt's MiB. oVirt ids (image, volume, storage domain, pool, device) are
the UUID strings the engine writes.
"""
from __future__ import annotations

import dataclasses
import typing
from functools import partial
from typing import Any, Callable, Collection, Dict, List, Literal, Optional, Sequence, Tuple

from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.common.errors import InputError

# The type hints below are evaluated at import (schema, from_dict): each must
# be a runtime object on every supported Python (3.10+, tests/config.yml).


def _doc(text: str, default: Any = dataclasses.MISSING, factory: Any = dataclasses.MISSING) -> Any:
    """A dataclass field whose description goes into the JSON Schema."""
    # Called only while the dataclasses below are defined, which pylint cannot see.
    return dataclasses.field(default=default, default_factory=factory, metadata={"doc": text})  # pylint: disable=invalid-field-call


DiskDevice = Literal["disk", "cdrom", "floppy", "lun"]
DiskBus = Literal["virtio", "scsi", "sata", "ide", "fdc", "usb", "sd", "xen"]
SourceType = Literal["file", "block", "network", "volume"]
FirmwareType = Literal["bios", "uefi"]
HostDeviceKind = Literal["pci", "usb", "scsi", "mdev"]


@dataclasses.dataclass
class CpuTopology:
    """Guest CPU topology (libvirt ``cpu/topology``), counted for the maximum vCPUs."""

    sockets: int = 1
    cores: int = 1
    threads: int = 1


@dataclasses.dataclass
class CpuFeature:
    """One CPU flag of a custom model."""

    name: str
    policy: Optional[str] = _doc("require, disable, force, optional or forbid; null = libvirt default", None)


@dataclasses.dataclass
class Cpu:
    """Guest CPU model: a named model with flags, or host-model / host-passthrough."""

    mode: Optional[str] = _doc("custom, host-model or host-passthrough", None)
    model: Optional[str] = _doc("CPU model name, e.g. SandyBridge", None)
    features: List[CpuFeature] = _doc("CPU flags", factory=list)


@dataclasses.dataclass
class VcpuPin:
    """A vCPU pinned to a host CPU set (oVirt CPU pinning)."""

    vcpu: int
    cpuset: str


@dataclasses.dataclass
class CpuTune:
    """libvirt ``cputune``: CPU shares, CPU QoS quota and pinning."""

    shares: Optional[int] = None
    period: Optional[int] = _doc("CFS period in microseconds", None)
    quota: Optional[int] = _doc("CFS quota per vCPU in microseconds; negative = unlimited", None)
    vcpu_pins: List[VcpuPin] = _doc("vCPU to host CPU pinning", factory=list)
    emulator_pin: Optional[str] = _doc("host CPU set for the emulator and I/O threads", None)


@dataclasses.dataclass
class NumaNode:
    """A guest NUMA cell."""

    index: int
    cpus: str = _doc("vCPU list, e.g. 0-1,4")
    memory_kib: int = _doc("memory of the cell in KiB")
    mem_access: Optional[str] = _doc("shared when hugepages are shared", None)


@dataclasses.dataclass
class NumaMemnode:
    """Binding of one guest NUMA cell to host nodes."""

    cell: int
    mode: str
    nodeset: str


@dataclasses.dataclass
class NumaTune:
    """libvirt ``numatune``: how guest memory is bound to host NUMA nodes."""

    mode: str = _doc("strict, interleave or preferred")
    nodeset: Optional[str] = None
    memnodes: List[NumaMemnode] = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class Firmware:
    """Boot firmware."""

    type: FirmwareType = "bios"
    secure_boot: bool = False
    bios_serial: bool = _doc("BIOS output on the serial console", False)
    boot_menu: bool = False


@dataclasses.dataclass
class KernelBoot:
    """Direct kernel boot from host paths."""

    kernel: str
    initrd: Optional[str] = None
    cmdline: Optional[str] = None


@dataclasses.dataclass
class Timer:
    """A clock timer."""

    name: str
    present: Optional[bool] = None
    tickpolicy: Optional[str] = None


@dataclasses.dataclass
class Clock:
    """Guest clock: libvirt offset and adjustment, and oVirt's time zone name."""

    offset: str = _doc("libvirt clock offset: variable, utc, localtime", "variable")
    adjustment_seconds: int = _doc("offset from UTC the guest sees, in seconds", 0)
    timezone: Optional[str] = _doc("oVirt time zone name (IANA or Windows name)", None)
    timers: List[Timer] = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class Features:
    """Hypervisor features (libvirt ``features``)."""

    acpi: bool = True
    apic: bool = False
    smm: bool = False
    vmcoreinfo: bool = False
    hyperv: Dict[str, Dict[str, str]] = _doc(
        "Hyper-V enlightenments: element name to its attributes, e.g. spinlocks: {state: on, retries: 8191}",
        factory=dict,
    )


@dataclasses.dataclass
class Disk:
    """A disk, CD-ROM, floppy or direct LUN."""

    target: str = _doc("guest device name, e.g. vda, sda, hdc")
    bus: DiskBus = "virtio"
    device: DiskDevice = "disk"
    source_type: SourceType = "file"
    source: Optional[str] = _doc("host path (file/block) or network volume name; null = empty drive", None)
    image_id: Optional[str] = _doc("oVirt disk id (image group); also the guest-visible serial", None)
    volume_id: Optional[str] = None
    domain_id: Optional[str] = _doc("storage domain id", None)
    pool_id: Optional[str] = _doc("storage pool (data center) id", None)
    lun_id: Optional[str] = _doc("LUN GUID of a direct LUN disk", None)
    name: Optional[str] = _doc("oVirt disk alias", None)
    storage_domain: Optional[str] = _doc("storage domain name", None)
    size_bytes: Optional[int] = _doc("provisioned size in bytes", None)
    format: Optional[Literal["raw", "qcow2"]] = None
    cache: Optional[str] = None
    io: Optional[str] = None
    error_policy: Optional[str] = None
    discard: Optional[str] = None
    boot_order: Optional[int] = None
    readonly: bool = False
    shareable: bool = False
    serial: Optional[str] = None
    device_id: Optional[str] = _doc("oVirt VM device id (the ua- alias)", None)
    address: Dict[str, str] = _doc("guest address attributes (pci or drive)", factory=dict)
    startup_policy: Optional[str] = None
    iotune: Dict[str, int] = _doc("disk QoS limits (libvirt iotune)", factory=dict)
    payload: Optional[Dict[str, str]] = _doc("payload files (path: content) of a payload drive; null = not a payload", None)


@dataclasses.dataclass
class Nic:
    """A network interface."""

    mac: str
    model: Optional[str] = _doc("virtio, e1000, e1000e, rtl8139...; null for SR-IOV", "virtio")
    type: str = _doc("bridge, or hostdev for an SR-IOV VF", "bridge")
    name: Optional[str] = _doc("oVirt NIC name, e.g. nic1", None)
    network: Optional[str] = _doc("oVirt logical network name", None)
    vnic_profile: Optional[str] = _doc("oVirt vNIC profile name", None)
    bridge: Optional[str] = _doc("host bridge when it differs from the network name (VDSM names long networks on<hash>)", None)
    link_up: bool = True
    boot_order: Optional[int] = None
    device_id: Optional[str] = _doc("oVirt VM device id (the ua- alias)", None)
    address: Dict[str, str] = dataclasses.field(default_factory=dict)
    mtu: Optional[int] = None
    filter: Optional[str] = _doc("libvirt network filter, e.g. vdsm-no-mac-spoofing", None)
    filter_parameters: Dict[str, str] = dataclasses.field(default_factory=dict)
    inbound: Dict[str, str] = _doc("inbound QoS (average, burst, peak)", factory=dict)
    outbound: Dict[str, str] = _doc("outbound QoS (average, burst, peak)", factory=dict)
    host_address: Dict[str, str] = _doc("PCI address of the host VF (SR-IOV)", factory=dict)
    vlan: Optional[int] = None
    driver_name: Optional[str] = None
    queues: Optional[int] = None
    port_mirroring: List[str] = dataclasses.field(default_factory=list)
    custom_properties: Dict[str, str] = _doc("vNIC profile custom properties", factory=dict)


@dataclasses.dataclass
class Graphics:
    """A remote console protocol."""

    type: Literal["spice", "vnc"]
    listen_network: Optional[str] = _doc("libvirt network of the listener, e.g. vdsm-ovirtmgmt", None)
    listen_address: Optional[str] = None
    keymap: Optional[str] = None
    secure_channels: List[str] = _doc("SPICE channels forced to TLS", factory=list)


@dataclasses.dataclass
class Video:
    """A video card."""

    model: str
    vram: Optional[int] = None
    heads: Optional[int] = None
    ram: Optional[int] = None
    vgamem: Optional[int] = None
    device_id: Optional[str] = None
    address: Dict[str, str] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass
class Console:
    """The text console (and the serial port behind a serial console)."""

    type: Literal["pty", "unix"] = "pty"
    target_type: Literal["serial", "virtio"] = "serial"
    path: Optional[str] = _doc("unix socket path of ovirt-vmconsole", None)
    device_id: Optional[str] = None


@dataclasses.dataclass
class Watchdog:
    """A watchdog card."""

    model: str = "i6300esb"
    action: str = _doc("none, reset, poweroff, dump or pause", "none")
    device_id: Optional[str] = None
    address: Dict[str, str] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass
class Rng:
    """A virtio random number generator."""

    model: str = "virtio"
    source: str = _doc("random, urandom or hwrng", "urandom")
    rate_bytes: Optional[int] = None
    rate_period: Optional[int] = None
    device_id: Optional[str] = None


@dataclasses.dataclass
class Sound:
    """A sound card."""

    model: str
    device_id: Optional[str] = None
    address: Dict[str, str] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass
class Controller:
    """A device controller (usb, scsi, virtio-serial, ide...)."""

    type: str
    model: Optional[str] = None
    index: Optional[int] = None
    ports: Optional[int] = None
    iothread: Optional[int] = None
    device_id: Optional[str] = None
    address: Dict[str, str] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass
class Input:
    """A pointing or keyboard device."""

    type: str
    bus: str


@dataclasses.dataclass
class HostDevice:
    """A host device passed through: PCI, USB, SCSI or a mediated device (vGPU)."""

    kind: HostDeviceKind
    name: Optional[str] = _doc("oVirt host device name, e.g. pci_0000_05_00_1", None)
    source: Dict[str, str] = _doc("host-side address attributes (or uuid of an mdev)", factory=dict)
    mdev_type: Optional[str] = _doc("mediated device type, e.g. nvidia-22", None)
    device_id: Optional[str] = None
    address: Dict[str, str] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass
class Channel:
    """A guest channel (guest agents, SPICE agent)."""

    type: str
    name: str = _doc("target name, e.g. org.qemu.guest_agent.0")
    path: Optional[str] = None


@dataclasses.dataclass
class Lease:
    """A sanlock lease (VM lease or volume lease)."""

    key: str
    lockspace: str
    path: str
    offset: str


@dataclasses.dataclass
class Tpm:
    """An emulated TPM."""

    model: str = "tpm-crb"
    version: str = "2.0"


@dataclasses.dataclass
class HighAvailability:
    """oVirt high availability."""

    enabled: bool = False
    priority: int = 0


@dataclasses.dataclass
class VmConfig:
    """The static configuration of one oVirt VM."""

    name: str
    uuid: str
    memory_kib: int = _doc("guest memory in KiB")
    current_memory_kib: Optional[int] = _doc("balloon target when it differs from memory_kib", None)
    max_memory_kib: Optional[int] = _doc("hot-plug ceiling in KiB", None)
    max_memory_slots: Optional[int] = None
    guaranteed_memory_mib: Optional[int] = _doc("oVirt guaranteed memory in MiB", None)
    vcpus: int = _doc("vCPUs plugged at start", 1)
    max_vcpus: Optional[int] = _doc("hot-plug ceiling of vCPUs; null = vcpus", None)
    topology: Optional[CpuTopology] = None
    cpu: Cpu = dataclasses.field(default_factory=Cpu)
    cpu_tune: CpuTune = dataclasses.field(default_factory=CpuTune)
    numa_nodes: List[NumaNode] = dataclasses.field(default_factory=list)
    numa_tune: Optional[NumaTune] = None
    hugepage_size_kib: Optional[int] = None
    io_threads: int = 0
    arch: str = "x86_64"
    machine_type: Optional[str] = _doc("emulated machine, e.g. pc-q35-rhel8.6.0", None)
    firmware: Firmware = dataclasses.field(default_factory=Firmware)
    kernel_boot: Optional[KernelBoot] = None
    os_type: Optional[str] = _doc("oVirt operating system id, e.g. rhel_8x64, windows_10", None)
    clock: Clock = dataclasses.field(default_factory=Clock)
    features: Features = dataclasses.field(default_factory=Features)
    sysinfo: Dict[str, str] = _doc("SMBIOS system entries (manufacturer, product, version, serial, uuid)", factory=dict)
    lifecycle: Dict[str, str] = _doc("on_poweroff / on_reboot / on_crash actions", factory=dict)
    emulator: Optional[str] = None
    disks: List[Disk] = dataclasses.field(default_factory=list)
    nics: List[Nic] = dataclasses.field(default_factory=list)
    graphics: List[Graphics] = dataclasses.field(default_factory=list)
    video: List[Video] = dataclasses.field(default_factory=list)
    console: Optional[Console] = None
    watchdog: Optional[Watchdog] = None
    balloon_model: str = _doc("memory balloon model; none = no balloon", "none")
    rng: Optional[Rng] = None
    sound: List[Sound] = dataclasses.field(default_factory=list)
    controllers: List[Controller] = dataclasses.field(default_factory=list)
    inputs: List[Input] = dataclasses.field(default_factory=list)
    host_devices: List[HostDevice] = dataclasses.field(default_factory=list)
    channels: List[Channel] = dataclasses.field(default_factory=list)
    leases: List[Lease] = dataclasses.field(default_factory=list)
    tpm: Optional[Tpm] = None
    smartcard: Optional[Dict[str, str]] = _doc("smartcard mode and type", None)
    usb_redirection: int = _doc("number of SPICE USB redirection channels", 0)
    custom_properties: Dict[str, str] = _doc("oVirt VM custom properties", factory=dict)
    high_availability: HighAvailability = dataclasses.field(default_factory=HighAvailability)
    cluster_version: Optional[str] = _doc("compatibility version of the cluster, e.g. 4.2", None)
    launch_paused: bool = False
    resume_behavior: Optional[str] = None

    @property
    def vcpu_ceiling(self) -> int:
        return self.max_vcpus if self.max_vcpus is not None else self.vcpus


# --- JSON form -------------------------------------------------------------


def config_to_dict(config: VmConfig, fields: Optional[Sequence[str]] = None) -> Dict[str, Any]:
    """The JSON form of a configuration (plain dicts, lists and scalars), or of some of its fields."""
    if fields is None:
        return _plain(config)
    return {name: _plain(getattr(config, name)) for name in fields}


def clone_config(config: VmConfig, skip: Collection[str] = ()) -> VmConfig:
    """A deep copy of a configuration, much cheaper than copy.deepcopy.

    Top-level fields named in ``skip`` are shared, not copied: for callers that
    replace them right away.
    """
    copied = object.__new__(VmConfig)
    copied.__dict__.update({
        name: getattr(config, name) if name in skip else _clone(getattr(config, name)) for name in _FIELD_NAMES[VmConfig]
    })
    return copied


_ATOMS = (str, int, bool, type(None))


def _clone(value: Any) -> Any:
    if type(value) in _ATOMS:
        return value
    names = _FIELD_NAMES.get(type(value))
    if names is not None:
        # The dataclasses here have no __post_init__, so skipping __init__ is safe.
        copied = object.__new__(type(value))
        copied.__dict__.update({name: _clone(getattr(value, name)) for name in names})
        return copied
    if isinstance(value, list):
        return [_clone(item) for item in value]
    if isinstance(value, dict):
        return {key: _clone(item) for key, item in value.items()}
    return value


def config_from_dict(data: Any) -> VmConfig:
    """A configuration from its JSON form; unknown keys and wrong types are refused."""
    return _converter(VmConfig)(data, "configuration")


def partial_from_dict(data: Dict[str, Any]) -> Dict[str, Any]:
    """Typed values for some top-level VmConfig fields (the hybrid representation's properties)."""
    hints = _hints(VmConfig)
    unknown = sorted(set(data) - set(hints))
    if unknown:
        raise InputError(f"configuration: unknown propert{'y' if len(unknown) == 1 else 'ies'} {', '.join(unknown)}")
    return {key: _converter(hints[key])(value, f"configuration.{key}") for key, value in data.items()}


def _plain(value: Any) -> Any:
    # dataclasses.asdict deep-copies every leaf; the JSON form only needs new containers.
    if type(value) in _ATOMS:
        return value
    names = _FIELD_NAMES.get(type(value))
    if names is not None:
        return {name: _plain(getattr(value, name)) for name in names}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    return value


_HINTS_CACHE: Dict[type, Dict[str, Any]] = {}
_CONVERTERS: Dict[Any, Callable[[Any, str], Any]] = {}


def _hints(cls: type) -> Dict[str, Any]:
    hints = _HINTS_CACHE.get(cls)
    if hints is None:
        hints = _HINTS_CACHE[cls] = typing.get_type_hints(cls)
    return hints


def _type_name(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def _converter(hint: Any) -> Callable[[Any, str], Any]:
    """A function (value, where) -> typed value for a type hint, built once per hint."""
    converter = _CONVERTERS.get(hint)
    if converter is None:
        converter = _CONVERTERS[hint] = _make_converter(hint)
    return converter


def _make_converter(hint: Any) -> Callable[[Any, str], Any]:
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin is typing.Union:
        inner = _converter([a for a in args if a is not type(None)][0])
        return lambda value, where: None if value is None else inner(value, where)
    if origin is Literal:
        return partial(_literal, args)
    if origin in (list, List):
        return partial(_list, _converter(args[0]))
    if origin in (dict, Dict):
        return partial(_dict, _converter(args[1]))
    if dataclasses.is_dataclass(hint):
        return partial(_dataclass, hint)
    return partial(_scalar, hint)


def _literal(options: Tuple[Any, ...], value: Any, where: str) -> Any:
    if value not in options:
        raise InputError(f"{where}: {value!r} is not one of {', '.join(map(str, options))}")
    return value


def _list(item: Callable[[Any, str], Any], value: Any, where: str) -> List[Any]:
    if not isinstance(value, list):
        raise InputError(f"{where}: expected a list, got {_type_name(value)}")
    return [item(element, f"{where}[{i}]") for i, element in enumerate(value)]


def _dict(item: Callable[[Any, str], Any], value: Any, where: str) -> Dict[str, Any]:
    if not isinstance(value, dict):
        raise InputError(f"{where}: expected a mapping, got {_type_name(value)}")
    return {str(k): item(v, f"{where}.{k}") for k, v in value.items()}


def _scalar(hint: Any, value: Any, where: str) -> Any:
    # bool is an int in Python; JSON keeps them apart, so do we. Subclasses
    # (Ansible's tagged strings) are fine.
    if isinstance(value, hint) and (hint is bool or not isinstance(value, bool)):
        return value
    raise InputError(f"{where}: expected {hint.__name__}, got {_type_name(value)}")


def _dataclass(cls: Any, value: Any, where: str) -> Any:
    if not isinstance(value, dict):
        raise InputError(f"{where}: expected a mapping, got {_type_name(value)}")
    hints = _hints(cls)
    unknown = [key for key in value if key not in hints]
    if unknown:
        raise InputError(f"{where}: unknown key{'s' if len(unknown) > 1 else ''} {', '.join(sorted(map(str, unknown)))}")
    missing = [name for name in _REQUIRED[cls] if name not in value]
    if missing:
        raise InputError(f"{where}: missing {', '.join(missing)}")
    return cls(**{key: _converter(hints[key])(item, f"{where}.{key}") for key, item in value.items()})


def _is_required(field: dataclasses.Field) -> bool:
    return field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING


def _dataclasses_of(cls: Any, seen: Dict[type, None]) -> Dict[type, None]:
    if cls in seen:
        return seen
    seen[cls] = None
    for hint in _hints(cls).values():
        for candidate in (hint,) + typing.get_args(hint) + sum((typing.get_args(a) for a in typing.get_args(hint)), ()):
            if dataclasses.is_dataclass(candidate):
                _dataclasses_of(candidate, seen)
    return seen


_ALL_CLASSES = list(_dataclasses_of(VmConfig, {}))
_FIELD_NAMES: Dict[type, Tuple[str, ...]] = {cls: tuple(f.name for f in dataclasses.fields(cls)) for cls in _ALL_CLASSES}
_REQUIRED: Dict[type, Tuple[str, ...]] = {cls: tuple(f.name for f in dataclasses.fields(cls) if _is_required(f)) for cls in _ALL_CLASSES}


# --- JSON Schema -----------------------------------------------------------


def json_schema(cls: type = VmConfig) -> Dict[str, Any]:
    """JSON Schema (draft 2020-12 vocabulary) of a dataclass's JSON form."""
    return _schema_of(cls)


def _schema_of(hint: Any) -> Dict[str, Any]:
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin is typing.Union:
        inner = [a for a in args if a is not type(None)]
        return {"anyOf": [_schema_of(inner[0]), {"type": "null"}]}
    if origin is Literal:
        return {"enum": list(args)}
    if origin in (list, List):
        return {"type": "array", "items": _schema_of(args[0])}
    if origin in (dict, Dict):
        return {"type": "object", "additionalProperties": _schema_of(args[1])}
    if dataclasses.is_dataclass(hint):
        return _object_schema(hint)
    return {"type": {bool: "boolean", int: "integer", str: "string"}[hint]}


def _object_schema(cls: Any) -> Dict[str, Any]:
    hints = _hints(cls)
    properties: Dict[str, Any] = {}
    for field in dataclasses.fields(cls):
        schema = _schema_of(hints[field.name])
        if "doc" in field.metadata:
            schema = {"description": field.metadata["doc"], **schema}
        properties[field.name] = schema
    object_schema: Dict[str, Any] = {
        "type": "object",
        "description": (cls.__doc__ or "").strip(),
        "properties": properties,
        "additionalProperties": False,
    }
    required = [f.name for f in dataclasses.fields(cls) if _is_required(f)]
    if required:
        object_schema["required"] = required
    return object_schema
