"""Read-only endpoints: the API root, top-level collections and VM sub-collections."""
from __future__ import annotations

from typing import Any, Callable

from ovirtsdk4 import types

from . import API_PREFIX, render, search
from .errors import ApiFault
from .render import RUNNING
from .routes import ROUTER, Call, Reply, listing, lookup, ok
from .seed import BLANK_TEMPLATE_ID, State

Fields = dict[str, search.Accessor]
Rows = Callable[[State, dict[str, Any]], list[dict[str, Any]]]


def _name(state: State, table: str, entity_id: str | None) -> str | None:
    record = state[table].get(entity_id or "")
    return record["name"] if record else None


def _dc_of_cluster(state: State, cluster_id: str | None) -> str | None:
    cluster = state["clusters"].get(cluster_id or "")
    return _name(state, "datacenters", cluster["datacenter_id"]) if cluster else None


def _fields(kind: str, state: State) -> Fields:
    """Search fields per collection, as the engine's search backend names them."""
    common: Fields = {"name": lambda r: r.get("name"), "id": lambda r: r.get("id")}
    extra: dict[str, Fields] = {
        "datacenter": {"status": lambda r: "up"},
        "cluster": {"datacenter": lambda r: _name(state, "datacenters", r["datacenter_id"])},
        "host": {"cluster": lambda r: _name(state, "clusters", r["cluster_id"]),
                 "datacenter": lambda r: _dc_of_cluster(state, r["cluster_id"]),
                 "status": lambda r: r["status"], "external_status": lambda r: r["external_status"]},
        "vm": {"cluster": lambda r: _name(state, "clusters", r["cluster_id"]),
               "datacenter": lambda r: _dc_of_cluster(state, r["cluster_id"]),
               "host": lambda r: _name(state, "hosts", r["host_id"]) if r["status"] in RUNNING else None,
               "status": lambda r: r["status"], "template": lambda r: _name(state, "templates", r["template_id"]),
               "description": lambda r: r["description"]},
        "disk": {"alias": lambda r: r["alias"], "name": lambda r: r["alias"],
                 "storage": lambda r: _name(state, "storage_domains", r["storage_domain_id"])},
        "network": {"datacenter": lambda r: _name(state, "datacenters", r["datacenter_id"])},
        "storagedomain": {"datacenter": lambda r: _name(state, "datacenters", r["datacenter_id"])},
    }
    return {**common, **extra.get(kind, {})}


def list_table(call: Call, table: str, kind: str, cls: type, records: list[dict[str, Any]] | None = None) -> Reply:
    """A collection GET with search, case_sensitive, max and follow."""
    rows = list(call.state[table].values()) if records is None else records
    predicate = search.matcher(call.query.get("search"), _fields(kind, call.state),
                               case_sensitive=call.flag("case_sensitive", default=True))
    rows = [r for r in rows if predicate(r)]
    limit = call.integer("max")
    if limit is not None and limit >= 0:
        rows = rows[:limit]
    follow = render.parse_follow(call.query.get("follow"))
    objs = [render.build(kind, call.state, r, follow) for r in rows]
    return listing(cls, objs, render.LINKS.get(kind, ()))


def get_one(call: Call, table: str, kind: str, entity_id: str) -> Reply:
    record = lookup(call, table, entity_id, kind)
    obj = render.build(kind, call.state, record, render.parse_follow(call.query.get("follow")))
    return ok(obj, render.LINKS.get(kind, ()))


# Top-level collections: path segment -> (state table, kind, SDK type).
TOP_LEVEL: dict[str, tuple[str, str, type]] = {
    "datacenters": ("datacenters", "datacenter", types.DataCenter),
    "clusters": ("clusters", "cluster", types.Cluster),
    "hosts": ("hosts", "host", types.Host),
    "vms": ("vms", "vm", types.Vm),
    "disks": ("disks", "disk", types.Disk),
    "networks": ("networks", "network", types.Network),
    "vnicprofiles": ("vnic_profiles", "vnicprofile", types.VnicProfile),
    "storagedomains": ("storage_domains", "storagedomain", types.StorageDomain),
    "templates": ("templates", "template", types.Template),
}


def _register_top_level(segment: str, table: str, kind: str, cls: type) -> None:
    ROUTER.add("GET", f"/{segment}")(lambda call: list_table(call, table, kind, cls))
    ROUTER.add("GET", f"/{segment}/{{id}}")(lambda call: get_one(call, table, kind, call.params["id"]))


for _segment, (_table, _kind, _cls) in TOP_LEVEL.items():
    _register_top_level(_segment, _table, _kind, _cls)


@ROUTER.add("GET", "")
def api_root(call: Call) -> Reply:
    state = call.state
    running = sum(1 for v in state["vms"].values() if v["status"] in RUNNING)
    hosts_up = sum(1 for h in state["hosts"].values() if h["status"] == "up")
    api = types.Api(
        product_info=types.ProductInfo(name="oVirt Engine", vendor="ovirt.org", version=types.Version(
            major=4, minor=5, build=5, revision=0, full_version="4.5.5-1.el8")),
        time=render.stamp(call.now),
        summary=types.ApiSummary(
            vms=types.ApiSummaryItem(active=running, total=len(state["vms"])),
            hosts=types.ApiSummaryItem(active=hosts_up, total=len(state["hosts"])),
            storage_domains=types.ApiSummaryItem(active=len(state["storage_domains"]),
                                                 total=len(state["storage_domains"])),
            users=types.ApiSummaryItem(active=1, total=1)),
        special_objects=types.SpecialObjects(blank_template=render.ref(types.Template, "template", BLANK_TEMPLATE_ID)),
        authenticated_user=types.User(user_name=call.user), effective_user=types.User(user_name=call.user),
    )
    api.href = API_PREFIX
    return ok(api, tuple(sorted(set(TOP_LEVEL) | {"events"})))


def _vm(call: Call) -> dict[str, Any]:
    return lookup(call, "vms", call.params["id"], "vm")


def _sub_list(kind: str, cls: type, rows: Rows) -> Callable[[Call], Reply]:
    def handler(call: Call) -> Reply:
        follow = render.parse_follow(call.query.get("follow"))
        objs = [render.build(kind, call.state, r, follow) for r in rows(call.state, _vm(call))]
        return listing(cls, objs)
    return handler


def _sub_get(kind: str, rows: Rows, key: Callable[[dict[str, Any]], str]) -> Callable[[Call], Reply]:
    def handler(call: Call) -> Reply:
        wanted = call.params["sub"]
        for row in rows(call.state, _vm(call)):
            if key(row) == wanted:
                return ok(render.build(kind, call.state, row, render.parse_follow(call.query.get("follow"))))
        raise ApiFault(404, f"Entity not found: {kind}: id={wanted}")
    return handler


ROUTER.add("GET", "/vms/{id}/diskattachments")(_sub_list("diskattachment", types.DiskAttachment, render.vm_disks))
ROUTER.add("GET", "/vms/{id}/diskattachments/{sub}")(
    _sub_get("diskattachment", render.vm_disks, lambda r: r["id"]))
ROUTER.add("GET", "/vms/{id}/nics")(_sub_list("nic", types.Nic, render.vm_nics))
ROUTER.add("GET", "/vms/{id}/nics/{sub}")(_sub_get("nic", render.vm_nics, lambda r: r["id"]))
ROUTER.add("GET", "/vms/{id}/graphicsconsoles")(_sub_list("graphicsconsole", types.GraphicsConsole, lambda s, r: [r]))
ROUTER.add("GET", "/vms/{id}/graphicsconsoles/{sub}")(
    _sub_get("graphicsconsole", lambda s, r: [r], lambda r: r["display"].encode().hex()))
ROUTER.add("GET", "/vms/{id}/hostdevices")(_sub_list("hostdevice", types.HostDevice, render.vm_host_devices))
ROUTER.add("GET", "/vms/{id}/numanodes")(_sub_list("", types.VirtualNumaNode, lambda s, r: []))


@ROUTER.add("GET", "/hosts/{id}/devices")
def host_devices(call: Call) -> Reply:
    host = lookup(call, "hosts", call.params["id"], "host")
    return listing(types.HostDevice, [render.build("hostdevice", call.state, r)
                                      for r in render.host_devices(call.state, host)])
