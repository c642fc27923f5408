"""State records -> ovirtsdk4.types objects -> XML via the SDK's own writers.

The SDK writers never emit <link rel=...> elements, but the engine does and
the SDK reads them (vm.disk_attachments.href, connection.follow_link), so the
links of top-level entities are added to the writer's output afterwards.
"""
from __future__ import annotations

import datetime
import functools
from typing import Any, Callable

import ovirtsdk4.readers  # noqa: F401  # pylint: disable=unused-import  # imported for its side effect: registers the readers the server parses with
import ovirtsdk4.writers  # noqa: F401  # pylint: disable=unused-import  # imported for its side effect: registers the writers used below
from lxml import etree
from ovirtsdk4 import reader, types, writer

import labtopology

from . import API_PREFIX
from .errors import ApiFault, invalid_enum
from .seed import GIB, State

Record = dict[str, Any]
RUNNING = {"up", "powering_up", "wait_for_launch", "reboot_in_progress", "migrating", "powering_down",
           "paused", "saving_state", "restoring_state", "not_responding", "unknown"}

# Collection path segment of each top-level kind.
PATHS = {"datacenter": "datacenters", "cluster": "clusters", "host": "hosts", "vm": "vms", "disk": "disks",
         "network": "networks", "vnicprofile": "vnicprofiles", "storagedomain": "storagedomains",
         "template": "templates", "event": "events"}
# Sub-collections the fake serves, announced as <link rel=...> like the engine does.
LINKS = {"vm": ("diskattachments", "nics", "graphicsconsoles", "hostdevices", "numanodes"),
         "host": ("devices",)}


def href(kind: str, entity_id: str) -> str:
    return f"{API_PREFIX}/{PATHS[kind]}/{entity_id}"


def ref(cls: type, kind: str, entity_id: str | None) -> Any:
    """A reference as the engine writes it: id plus href, nothing else."""
    if entity_id is None:
        return None
    obj = cls(id=entity_id)
    obj.href = href(kind, entity_id)
    return obj


def stamp(ms: int | None) -> datetime.datetime | None:
    if ms is None:
        return None
    return datetime.datetime.fromtimestamp(ms / 1000, tz=datetime.timezone.utc)


def _with_href(obj: Any, path: str) -> Any:
    obj.href = f"{API_PREFIX}/{path}"
    return obj


# ---- builders: one per kind, (state, record) -> types object ---------------------------------

def datacenter(state: State, r: Record) -> types.DataCenter:
    major, minor = (int(p) for p in r["version"].split(".")[:2])
    return _with_href(types.DataCenter(
        id=r["id"], name=r["name"], local=False, status=types.DataCenterStatus.UP,
        storage_format=types.StorageFormat.V5, quota_mode=types.QuotaModeType.DISABLED,
        version=types.Version(major=major, minor=minor),
        supported_versions=[types.Version(major=major, minor=minor)],
    ), f"datacenters/{r['id']}")


def cluster(state: State, r: Record) -> types.Cluster:
    major, minor = (int(p) for p in r["version"].split(".")[:2])
    return _with_href(types.Cluster(
        id=r["id"], name=r["name"],
        data_center=ref(types.DataCenter, "datacenter", r["datacenter_id"]),
        version=types.Version(major=major, minor=minor),
        cpu=types.Cpu(type=r["cpu_type"], architecture=types.Architecture.X86_64),
        bios_type=types.BiosType.Q35_SEA_BIOS, virt_service=True, gluster_service=False,
        ha_reservation=False, ballooning_enabled=True,
    ), f"clusters/{r['id']}")


def host(state: State, r: Record) -> types.Host:
    vms_here = [v for v in state["vms"].values() if v["host_id"] == r["id"] and v["status"] in RUNNING]
    committed = sum(v["memory"] for v in vms_here)
    detail = r.get("maintenance_reason") or r.get("status_detail")
    return _with_href(types.Host(
        id=r["id"], name=r["name"], description=r.get("description") or None, comment=r.get("comment") or None,
        address=f"{r['name']}.lab.example", port=54321, protocol=types.HostProtocol.STOMP,
        type=types.HostType.RHEL, cluster=ref(types.Cluster, "cluster", r["cluster_id"]),
        status=types.HostStatus(r["status"]), status_detail=detail,
        external_status=types.ExternalStatus(r["external_status"]),
        cpu=types.Cpu(name=r["cpu_model"], type=r["cpu_model"],
                      topology=types.CpuTopology(sockets=1, cores=r["cpus"], threads=1)),
        memory=r["memory"], max_scheduling_memory=max(r["memory"] - committed, 0),
        summary=types.VmSummary(active=len(vms_here), total=len(vms_here),
                                migrating=sum(1 for v in vms_here if v["status"] == "migrating")),
        os=types.OperatingSystem(type="RHEL", version=types.Version(full_version="8.7", major=8, minor=7)),
    ), f"hosts/{r['id']}")


def vm(state: State, r: Record) -> types.Vm:
    running = r["status"] in RUNNING
    memory = r["memory"]
    return _with_href(types.Vm(
        id=r["id"], name=r["name"], description=r["description"] or None, comment=r["comment"] or None,
        status=types.VmStatus(r["status"]), type=types.VmType.SERVER, origin=r["origin"],
        cluster=ref(types.Cluster, "cluster", r["cluster_id"]),
        template=ref(types.Template, "template", r["template_id"]),
        original_template=ref(types.Template, "template", r["template_id"]),
        host=ref(types.Host, "host", r["host_id"]) if running else None,
        start_time=stamp(r["start_ms"]) if running else None, stop_time=stamp(r.get("stop_ms")),
        creation_time=stamp(r["creation_ms"]), run_once=False, stateless=r["stateless"],
        delete_protected=r["delete_protected"], next_run_configuration_exists=False,
        cpu=types.Cpu(architecture=types.Architecture.X86_64, topology=types.CpuTopology(
            sockets=r["cpu_sockets"], cores=r["cpu_cores"], threads=r["cpu_threads"])),
        custom_cpu_model=r.get("custom_cpu_model"),
        memory=memory,
        memory_policy=types.MemoryPolicy(guaranteed=r["memory_guaranteed"] or memory,
                                         max=r["memory_max"] or 4 * memory, ballooning=True),
        os=types.OperatingSystem(type=r["os_type"], boot=types.Boot(devices=[types.BootDevice.HD])),
        bios=types.Bios(type=types.BiosType(r["bios_type"]), boot_menu=types.BootMenu(enabled=False)),
        high_availability=types.HighAvailability(enabled=r["ha"], priority=r["ha_priority"]),
        placement_policy=types.VmPlacementPolicy(
            affinity=types.VmAffinity(r["affinity"]),
            hosts=[ref(types.Host, "host", h) for h in r["placement_host_ids"]] or None),
        custom_properties=[types.CustomProperty(name=p["name"], value=p["value"]) for p in r["custom_properties"]],
        display=types.Display(type=types.DisplayType(r["display"]), monitors=1),
    ), f"vms/{r['id']}")


def disk(state: State, r: Record) -> types.Disk:
    cow = r["format"] == "cow"
    return _with_href(types.Disk(
        id=r["id"], alias=r["alias"], name=r["alias"],
        # The active volume's id, as the engine reports it; derived so old state files keep working.
        image_id=r.get("image_id") or labtopology.stable_id("volume", r["id"]),
        provisioned_size=r["provisioned_size"], actual_size=min(r["provisioned_size"], GIB),
        total_size=min(r["provisioned_size"], GIB), format=types.DiskFormat(r["format"]),
        qcow_version=types.QcowVersion.QCOW2_V3 if cow else None, sparse=r["sparse"],
        status=types.DiskStatus.OK, storage_type=types.DiskStorageType.IMAGE,
        content_type=types.DiskContentType.DATA, shareable=False, wipe_after_delete=False,
        propagate_errors=False, backup=types.DiskBackup.NONE,
        storage_domains=[ref(types.StorageDomain, "storagedomain", r["storage_domain_id"])],
    ), f"disks/{r['id']}")


def disk_attachment(state: State, r: Record) -> types.DiskAttachment:
    return _with_href(types.DiskAttachment(
        id=r["id"], disk=ref(types.Disk, "disk", r["id"]), vm=ref(types.Vm, "vm", r["vm_id"]),
        interface=types.DiskInterface(r["interface"]), bootable=r["bootable"], active=r["active"],
        pass_discard=False, read_only=False, uses_scsi_reservation=False,
    ), f"vms/{r['vm_id']}/diskattachments/{r['id']}")


def nic(state: State, r: Record) -> types.Nic:
    return _with_href(types.Nic(
        id=r["id"], name=r["name"], interface=types.NicInterface(r["interface"]),
        mac=types.Mac(address=r["mac"]), linked=r["linked"], plugged=r["plugged"],
        vnic_profile=ref(types.VnicProfile, "vnicprofile", r["vnic_profile_id"]),
        vm=ref(types.Vm, "vm", r["vm_id"]),
    ), f"vms/{r['vm_id']}/nics/{r['id']}")


def vnic_profile(state: State, r: Record) -> types.VnicProfile:
    return _with_href(types.VnicProfile(
        id=r["id"], name=r["name"], network=ref(types.Network, "network", r["network_id"]),
        pass_through=types.VnicPassThrough(mode=types.VnicPassThroughMode.DISABLED),
        port_mirroring=False, migratable=True,
    ), f"vnicprofiles/{r['id']}")


def network(state: State, r: Record) -> types.Network:
    usages = [types.NetworkUsage.VM]
    if r["name"] == "ovirtmgmt":
        usages += [types.NetworkUsage.MANAGEMENT, types.NetworkUsage.DISPLAY, types.NetworkUsage.MIGRATION]
    return _with_href(types.Network(
        id=r["id"], name=r["name"], mtu=0, stp=False, required=True,
        data_center=ref(types.DataCenter, "datacenter", r["datacenter_id"]), usages=usages,
    ), f"networks/{r['id']}")


def storage_domain(state: State, r: Record) -> types.StorageDomain:
    used = sum(d["provisioned_size"] for d in state["disks"].values() if d["storage_domain_id"] == r["id"])
    dcs = [ref(types.DataCenter, "datacenter", r["datacenter_id"])] if r["datacenter_id"] else None
    return _with_href(types.StorageDomain(
        id=r["id"], name=r["name"], type=types.StorageDomainType.DATA,
        status=types.StorageDomainStatus.ACTIVE if dcs else types.StorageDomainStatus.UNATTACHED,
        external_status=types.ExternalStatus.OK, master=r["name"] == "data1",
        storage_format=types.StorageFormat.V5, available=max(r["size"] - used, 0), used=used, committed=used,
        block_size=512, backup=False, wipe_after_delete=False, data_centers=dcs,
        storage=types.HostStorage(type=types.StorageType.NFS, address="nfs.lab.example",
                                  path=f"/exports/{r['name']}"),
    ), f"storagedomains/{r['id']}")


def template(state: State, r: Record) -> types.Template:
    return _with_href(types.Template(
        id=r["id"], name=r["name"], description=r.get("description") or None, status=types.TemplateStatus.OK,
        type=types.VmType.SERVER, memory=r["memory"], creation_time=stamp(r["creation_ms"]),
        cpu=types.Cpu(architecture=types.Architecture.X86_64, topology=types.CpuTopology(
            sockets=r["cpu_sockets"], cores=r["cpu_cores"], threads=r["cpu_threads"])),
        os=types.OperatingSystem(type=r["os_type"]),
        version=types.TemplateVersion(version_number=1, version_name="base version"),
    ), f"templates/{r['id']}")


def graphics_console(state: State, r: Record) -> types.GraphicsConsole:
    # The engine's console id is the hex-encoded protocol name.
    console_id = r["display"].encode().hex()
    return _with_href(types.GraphicsConsole(
        id=console_id, protocol=types.GraphicsType(r["display"]), vm=ref(types.Vm, "vm", r["id"]),
    ), f"vms/{r['id']}/graphicsconsoles/{console_id}")


def host_device(state: State, r: Record) -> types.HostDevice:
    return types.HostDevice(id=r["name"].encode().hex(), name=r["name"], capability="pci",
                            host=ref(types.Host, "host", r.get("host_id")), vm=ref(types.Vm, "vm", r.get("vm_id")))


def event(state: State, r: Record) -> types.Event:
    return _with_href(types.Event(
        id=str(r["index"]), index=r["index"], time=stamp(r["time_ms"]), code=r["code"],
        severity=types.LogSeverity(r["severity"]), description=r["description"], origin=r["origin"],
        custom_id=r["custom_id"], flood_rate=r.get("flood_rate"), correlation_id=r.get("correlation_id"),
        custom_data=r.get("custom_data"),
        vm=ref(types.Vm, "vm", r.get("vm_id")), host=ref(types.Host, "host", r.get("host_id")),
        cluster=ref(types.Cluster, "cluster", r.get("cluster_id")),
        data_center=ref(types.DataCenter, "datacenter", r.get("data_center_id")),
        storage_domain=ref(types.StorageDomain, "storagedomain", r.get("storage_domain_id")),
        template=ref(types.Template, "template", r.get("template_id")),
    ), f"events/{r['index']}")


BUILDERS: dict[str, Callable[[State, Record], Any]] = {
    "datacenter": datacenter, "cluster": cluster, "host": host, "vm": vm, "disk": disk,
    "diskattachment": disk_attachment, "nic": nic, "vnicprofile": vnic_profile, "network": network,
    "storagedomain": storage_domain, "template": template, "graphicsconsole": graphics_console,
    "hostdevice": host_device, "event": event,
}


# ---- follow: inline linked entities, as ?follow=disk_attachments.disk,nics does -------------

def vm_disks(state: State, r: Record) -> list[Record]:
    return [d for d in state["disks"].values() if d["vm_id"] == r["id"]]


def vm_nics(state: State, r: Record) -> list[Record]:
    return [n for n in state["nics"].values() if n["vm_id"] == r["id"]]


def host_devices(state: State, r: Record) -> list[Record]:
    return [{"name": d, "host_id": r["id"]} for d in r.get("devices", [])]


def vm_host_devices(state: State, r: Record) -> list[Record]:
    return [{"name": d, "vm_id": r["id"]} for d in r.get("host_devices", [])]


Relation = tuple[str, str, Callable[[State, Record], Any]]
RELATIONS: dict[str, dict[str, Relation]] = {
    "vm": {
        "diskattachments": ("disk_attachments", "diskattachment", vm_disks),
        "nics": ("nics", "nic", vm_nics),
        "graphicsconsoles": ("graphics_consoles", "graphicsconsole", lambda s, r: [r]),
        "hostdevices": ("host_devices", "hostdevice", vm_host_devices),
        "numanodes": ("numa_nodes", "", lambda s, r: []),
        "host": ("host", "host", lambda s, r: s["hosts"].get(r["host_id"] or "")),
        "cluster": ("cluster", "cluster", lambda s, r: s["clusters"].get(r["cluster_id"])),
        "template": ("template", "template", lambda s, r: s["templates"].get(r["template_id"])),
    },
    "diskattachment": {"disk": ("disk", "disk", lambda s, r: r)},
    "nic": {"vnicprofile": ("vnic_profile", "vnicprofile", lambda s, r: s["vnic_profiles"].get(r["vnic_profile_id"]))},
    "vnicprofile": {"network": ("network", "network", lambda s, r: s["networks"].get(r["network_id"]))},
    "host": {"cluster": ("cluster", "cluster", lambda s, r: s["clusters"].get(r["cluster_id"])),
             "devices": ("devices", "hostdevice", host_devices)},
    "cluster": {"datacenter": ("data_center", "datacenter", lambda s, r: s["datacenters"].get(r["datacenter_id"]))},
    "disk": {"storagedomains": ("storage_domains", "storagedomain",
                                lambda s, r: [s["storage_domains"][r["storage_domain_id"]]])},
}


def parse_follow(text: str | None) -> dict[str, Any]:
    """'disk_attachments.disk,nics' -> {'diskattachments': {'disk': {}}, 'nics': {}}."""
    tree: dict[str, Any] = {}
    for path in (text or "").split(","):
        node = tree
        for part in path.strip().split("."):
            if part:
                node = node.setdefault(part.replace("_", "").lower(), {})
    return tree


def build(kind: str, state: State, record: Record, follow: dict[str, Any] | None = None) -> Any:
    obj = BUILDERS[kind](state, record)
    for name, subtree in (follow or {}).items():
        relation = RELATIONS.get(kind, {}).get(name)
        if relation is None:
            raise ApiFault(400, f"Link '{name}' of '{kind}' can not be followed", reason="Invalid follow link")
        attr, sub_kind, resolve = relation
        target = resolve(state, record)
        if isinstance(target, list):
            setattr(obj, attr, [build(sub_kind, state, t, subtree) for t in target])
        elif target is not None:
            setattr(obj, attr, build(sub_kind, state, target, subtree))
    return obj


# ---- XML --------------------------------------------------------------------------------------

@functools.lru_cache(maxsize=None)
def plural_tag(cls: type) -> str:
    """The list root tag the SDK reader expects for a type (Vm -> 'vms')."""
    wanted = f"{cls.__name__}Reader.read_many"
    for tag, read in reader.Reader._readers.items():
        if getattr(read, "__qualname__", "") == wanted:
            return tag
    raise KeyError(cls.__name__)


def to_xml(obj: Any, links: tuple[str, ...] = ()) -> bytes:
    return _linked(writer.Writer.write(obj, indent=True), [(obj, links)], single=True)


def list_to_xml(cls: type, objs: list[Any], links: tuple[str, ...] = ()) -> bytes:
    text = writer.Writer.write(objs, root=plural_tag(cls), indent=True)
    return _linked(text, [(o, links) for o in objs], single=False)


def _linked(text: str, items: list[tuple[Any, tuple[str, ...]]], single: bool) -> bytes:
    """Insert <link rel href/> children into each top-level entity element."""
    if not any(links for _entity, links in items):
        return _declared(text.encode())
    root = etree.fromstring(text.encode())
    elements = [root] if single else list(root)
    for element, (obj, links) in zip(elements, items):
        for rel in reversed(links):
            element.insert(0, etree.Element("link", href=f"{obj.href}/{rel}", rel=rel))
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def _declared(body: bytes) -> bytes:
    return b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n' + body


def fault_xml(reason: str, detail: str) -> bytes:
    return _declared(writer.Writer.write(types.Fault(reason=reason, detail=detail), indent=True).encode())


def parse(body: bytes, expected: type) -> Any:
    """Read a request body with the SDK reader; 400 unless it is an `expected`."""
    try:
        obj = reader.Reader.read(body) if body.strip() else None
    except Exception as error:  # the C reader raises plain Errors for bad XML
        raise ApiFault(400, f"Failed to parse request body: {error}",
                       reason="Request syntactically incorrect.") from error
    if obj is None and expected is types.Action:
        return types.Action()
    if not isinstance(obj, expected):
        got = type(obj).__name__ if obj is not None else "an empty body"
        raise ApiFault(400, f"Expected a '{expected.__name__}' element, got {got}",
                       reason="Request syntactically incorrect.")
    return obj


_SAFE_PARSER = etree.XMLParser(resolve_entities=False, no_network=True)


def check_enums(body: bytes, paths: dict[str, type]) -> None:
    """400 for enum values the SDK reader would silently turn into None."""
    try:
        root = etree.fromstring(body, _SAFE_PARSER)
    except etree.XMLSyntaxError:
        return  # parse() has already rejected it
    for path, enum_cls in paths.items():
        allowed = [e.value for e in enum_cls]
        for element in root.findall(path):
            text = (element.text or "").strip()
            if text not in allowed:
                raise invalid_enum(text, enum_cls.__name__, allowed)
