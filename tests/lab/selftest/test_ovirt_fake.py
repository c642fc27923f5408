"""The oVirt engine fake, driven by the real ovirtsdk4 exactly as the collection drives it.

Each test gets a fresh fake process (own state dir) behind TLS with a throwaway CA.
"""
from __future__ import annotations

import base64
import datetime
import ipaddress
import json
import os
import select
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

ovirtsdk4 = pytest.importorskip("ovirtsdk4")
from cryptography import x509  # noqa: E402
from cryptography.hazmat.primitives import hashes, serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec  # noqa: E402
from cryptography.x509.oid import NameOID  # noqa: E402
from ovirtsdk4 import types  # noqa: E402

ROOT = Path(__file__).resolve().parents[3]
LAB = ROOT / "tests" / "lab"
TOPOLOGY_FILE = LAB / "topologies" / "default.yaml"
sys.path.insert(0, str(LAB))
import labtopology  # noqa: E402

USER, PASSWORD = "admin@internal", "lab-secret"
MIB = 1024 ** 2
TOPOLOGY = labtopology.load(TOPOLOGY_FILE)


# ---- PKI ----------------------------------------------------------------------------------------

def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _ca(cn: str) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(_name(cn)).issuer_name(_name(cn))
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    return key, cert


@dataclass(frozen=True)
class Pki:
    ca: Path
    wrong_ca: Path
    cert: Path
    key: Path


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    directory = tmp_path_factory.mktemp("pki")
    ca_key, ca_cert = _ca("ovirt-fake test CA")
    other_cert = _ca("some other CA")[1]
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc)
    san = x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))])
    cert = (x509.CertificateBuilder().subject_name(_name("localhost")).issuer_name(ca_cert.subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(san, critical=False).sign(ca_key, hashes.SHA256()))
    pem = serialization.Encoding.PEM
    paths = Pki(directory / "ca.pem", directory / "wrong-ca.pem", directory / "server.pem", directory / "server.key")
    paths.ca.write_bytes(ca_cert.public_bytes(pem))
    paths.wrong_ca.write_bytes(other_cert.public_bytes(pem))
    paths.cert.write_bytes(cert.public_bytes(pem))
    paths.key.write_bytes(key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    return paths


# ---- the fake process -----------------------------------------------------------------------------

class Fake:
    """One fake engine process; restart() keeps its state dir and port."""

    def __init__(self, pki: Pki, state_dir: Path, log: Path) -> None:
        self.pki, self.state_dir, self.log = pki, state_dir, log
        self.port = 0
        self.url = ""
        self.proc: subprocess.Popen[str] | None = None

    def start(self) -> None:
        env = dict(os.environ, PYTHONPATH=str(LAB))
        command = [sys.executable, "-m", "ovirt_fake", "--topology", str(TOPOLOGY_FILE), "--port", str(self.port),
                   "--cert", str(self.pki.cert), "--key", str(self.pki.key), "--state-dir", str(self.state_dir),
                   "--username", USER, "--password", PASSWORD]
        with open(self.log, "a") as log:
            self.proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=log, text=True, env=env, cwd=ROOT)
        assert self.proc.stdout is not None
        ready = select.select([self.proc.stdout], [], [], 20)[0]
        line = self.proc.stdout.readline() if ready else ""
        assert line.startswith("READY https://127.0.0.1:"), f"fake did not start: {line!r}; {self.log.read_text()}"
        self.url = line.split()[1]
        self.port = int(self.url.split(":")[2].split("/")[0])

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def connect(self, **kwargs: Any) -> Any:
        options = dict(url=self.url, username=USER, password=PASSWORD, ca_file=str(self.pki.ca))
        options.update(kwargs)
        return ovirtsdk4.Connection(**options)

    def lab(self, method: str, path: str, payload: Any = None, auth: str | None = None) -> tuple[int, Any]:
        """Call the /lab/ control API with basic auth; returns (status, decoded JSON)."""
        base = self.url.split("/ovirt-engine")[0]
        data = None if payload is None else json.dumps(payload).encode()
        request = urllib.request.Request(base + path, data=data, method=method)
        credential = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
        request.add_header("Authorization", auth or f"Basic {credential}")
        request.add_header("Content-Type", "application/json")
        context = ssl.create_default_context(cafile=str(self.pki.ca))
        try:
            with urllib.request.urlopen(request, context=context, timeout=10) as response:
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            return error.code, error.read()


@pytest.fixture
def fake(pki: Pki, tmp_path: Path) -> Iterator[Fake]:
    engine = Fake(pki, tmp_path / "state", tmp_path / "fake.log")
    engine.start()
    try:
        yield engine
    finally:
        engine.stop()


@pytest.fixture
def connection(fake: Fake) -> Iterator[Any]:
    conn = fake.connect()
    try:
        yield conn
    finally:
        conn.close()


@pytest.fixture
def system(connection: Any) -> Any:
    return connection.system_service()


# ---- helpers -------------------------------------------------------------------------------------

def vm_named(system: Any, name: str) -> types.Vm:
    found = system.vms_service().list(search=f"name={name}")
    assert len(found) == 1, f"expected one VM named {name}, got {[v.name for v in found]}"
    return found[0]


def host_id(name: str) -> str:
    return labtopology.stable_id("host", name)


def watch(read: Callable[[], Any], done: Callable[[Any], bool], timeout: float = 5.0) -> list[Any]:
    """Poll quickly; return the distinct successive values seen until done()."""
    seen: list[Any] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = read()
        if not seen or seen[-1] != value:
            seen.append(value)
        if done(value):
            return seen
        time.sleep(0.02)
    raise AssertionError(f"timed out; values seen: {seen}")


def statuses(vm_service: Any, final: types.VmStatus) -> list[types.VmStatus]:
    return watch(lambda: vm_service.get().status, lambda s: s == final)


def fault_of(call: Callable[[], Any]) -> Any:
    with pytest.raises(ovirtsdk4.Error) as caught:
        call()
    return caught.value


# ---- inventory ------------------------------------------------------------------------------------

def test_inventory_equals_topology(system: Any) -> None:
    dcs = system.data_centers_service().list()
    assert [(d.id, d.name) for d in dcs] == [(d.id, d.name) for d in TOPOLOGY.datacenters]
    clusters = system.clusters_service().list()
    assert [(c.id, c.name) for c in clusters] == [(c.id, c.name) for c in TOPOLOGY.clusters]
    assert {c.data_center.id for c in clusters} == {TOPOLOGY.datacenters[0].id}
    assert all(c.version.major == 4 and c.version.minor == 7 and c.cpu.type for c in clusters)
    hosts = {h.name: h for h in system.hosts_service().list()}
    assert list(hosts) == [h.name for h in TOPOLOGY.hosts]
    for spec in TOPOLOGY.hosts:
        host = hosts[spec.name]
        assert host.id == spec.id
        assert host.cluster.id == labtopology.stable_id("cluster", spec.cluster)
        assert host.status == types.HostStatus.UP and host.external_status == types.ExternalStatus.OK
        assert host.cpu.topology.cores * host.cpu.topology.sockets * host.cpu.topology.threads == spec.cpus
        assert host.memory == spec.memory_mib * MIB
    vm_mib = {v.name: v.memory_mib for v in TOPOLOGY.vms}
    assert hosts["host-a1"].summary.active == 1
    assert hosts["host-a1"].max_scheduling_memory == (65536 - vm_mib["web-1"]) * MIB
    vms = system.vms_service().list()
    assert [(v.id, v.name) for v in vms] == [(v.id, v.name) for v in TOPOLOGY.vms]


def test_search_by_name_and_cluster(system: Any) -> None:
    vms = system.vms_service()
    assert [v.name for v in vms.list(search="name=web-1")] == ["web-1"]
    assert [v.name for v in vms.list(search="cluster=kv-b")] == ["db-1", "app-1", "batch-1"]
    assert [v.name for v in vms.list(search="name=web* and cluster=legacy-a")] == ["web-1", "web-2"]
    assert vms.list(search="name=web-1 cluster=kv-b") == []
    assert [v.name for v in vms.list(search="status=up")] == ["web-1", "app-1"]
    assert [h.name for h in system.hosts_service().list(search="cluster=kv-b")] == ["node-b1", "node-b2", "node-b3"]
    assert [c.name for c in system.clusters_service().list(search="name=kv-b")] == ["kv-b"]
    assert len(vms.list(max=2, all_content=True)) == 2
    error = fault_of(lambda: vms.list(search="colour=blue"))
    assert error.code == 400 and "colour" in str(error)


def test_vm_all_content_fields(connection: Any, system: Any) -> None:
    web1 = system.vms_service().list(search="name=web-1", all_content=True)[0]
    assert web1.status == types.VmStatus.UP and web1.host.id == host_id("host-a1")
    assert web1.start_time is not None and web1.run_once is False and web1.stateless is False
    assert (web1.cpu.topology.sockets, web1.cpu.topology.cores, web1.cpu.topology.threads) == (2, 1, 1)
    assert web1.memory == 2048 * MIB and web1.memory_policy.guaranteed == 2048 * MIB
    assert web1.memory_policy.max >= web1.memory
    assert web1.os.type == "rhel_8x64" and web1.bios.type == types.BiosType.Q35_SEA_BIOS
    assert web1.high_availability.enabled is False and web1.custom_properties == []
    assert web1.origin == "ovirt" and web1.description is None
    assert web1.template.id == "00000000-0000-0000-0000-000000000000"
    db1 = system.vms_service().vm_service(labtopology.stable_id("vm", "db-1")).get(all_content=True)
    assert db1.high_availability.enabled is True and db1.high_availability.priority >= 1
    assert db1.placement_policy.affinity == types.VmAffinity.MIGRATABLE
    assert [h.id for h in db1.placement_policy.hosts] == [host_id("node-b1")]
    assert db1.host is None and db1.start_time is None

    attachments = connection.follow_link(web1.disk_attachments)
    assert len(attachments) == 1 and attachments[0].bootable
    assert attachments[0].interface == types.DiskInterface.VIRTIO_SCSI
    disk = connection.follow_link(attachments[0].disk)
    assert disk.provisioned_size == 10 * 1024 ** 3 and disk.format == types.DiskFormat.COW
    domain = connection.follow_link(disk.storage_domains[0])
    assert domain.name == "data1"
    nics = connection.follow_link(web1.nics)
    assert len(nics) == 1 and nics[0].interface == types.NicInterface.VIRTIO
    assert nics[0].mac.address.startswith("56:6f:")
    profile = connection.follow_link(nics[0].vnic_profile)
    assert profile.name == "ovirtmgmt" and connection.follow_link(profile.network).name == "ovirtmgmt"
    vm_service = system.vms_service().vm_service(web1.id)
    assert [c.protocol for c in vm_service.graphics_consoles_service().list()] == [types.GraphicsType.SPICE]
    assert vm_service.host_devices_service().list() == []
    assert vm_service.numa_nodes_service().list() == []
    followed = system.vms_service().list(search="name=web-1", follow="disk_attachments.disk,nics")[0]
    assert followed.disk_attachments[0].disk.alias == "web-1_Disk1" and followed.nics[0].name == "nic1"
    assert [t.name for t in system.templates_service().list()] == ["Blank"]
    assert [s.name for s in system.storage_domains_service().list()] == ["data1"]


# ---- VM lifecycle --------------------------------------------------------------------------------

def test_start_then_stop(system: Any) -> None:
    vm = vm_named(system, "web-2")
    service = system.vms_service().vm_service(vm.id)
    service.start()
    seen = statuses(service, types.VmStatus.UP)
    assert seen[0] == types.VmStatus.WAIT_FOR_LAUNCH and types.VmStatus.POWERING_UP in seen, seen
    running = service.get()
    assert running.host.id == host_id("host-a2")  # the least loaded up host of legacy-a
    assert running.start_time is not None
    service.stop()
    stopped = service.get()
    assert stopped.status == types.VmStatus.DOWN and stopped.host is None and stopped.start_time is None


def test_start_on_requested_host_and_shutdown(system: Any) -> None:
    service = system.vms_service().vm_service(labtopology.stable_id("vm", "batch-1"))
    wanted = types.Vm(placement_policy=types.VmPlacementPolicy(hosts=[types.Host(name="node-b3")]))
    service.start(vm=wanted)
    statuses(service, types.VmStatus.UP)
    assert service.get().host.id == host_id("node-b3")
    service.shutdown()
    seen = statuses(service, types.VmStatus.DOWN)
    assert seen[0] == types.VmStatus.POWERING_DOWN, seen


def test_migrate_keeps_start_time(system: Any) -> None:
    service = system.vms_service().vm_service(labtopology.stable_id("vm", "web-1"))
    before = service.get()
    service.migrate(host=types.Host(id=host_id("host-a2")))
    seen = statuses(service, types.VmStatus.UP)
    assert seen[0] == types.VmStatus.MIGRATING, seen
    after = service.get()
    assert after.host.id == host_id("host-a2") and after.start_time == before.start_time
    service.migrate()  # no host: the scheduler picks the other one
    statuses(service, types.VmStatus.UP)
    assert service.get().host.id == host_id("host-a1") and service.get().start_time == before.start_time


def test_cancel_migration(system: Any) -> None:
    service = system.vms_service().vm_service(labtopology.stable_id("vm", "app-1"))
    service.migrate()
    assert service.get().status == types.VmStatus.MIGRATING
    service.cancel_migration()
    vm = service.get()
    assert vm.status == types.VmStatus.UP and vm.host.id == host_id("node-b1")
    assert fault_of(service.cancel_migration).code == 409


def test_suspend_then_resume(system: Any) -> None:
    service = system.vms_service().vm_service(labtopology.stable_id("vm", "web-1"))
    service.suspend()
    seen = statuses(service, types.VmStatus.SUSPENDED)
    assert seen[0] == types.VmStatus.SAVING_STATE and service.get().host is None
    service.start()
    seen = statuses(service, types.VmStatus.UP)
    assert seen[0] == types.VmStatus.RESTORING_STATE and service.get().host is not None


def test_reboot_keeps_start_time(system: Any) -> None:
    service = system.vms_service().vm_service(labtopology.stable_id("vm", "web-1"))
    before = service.get().start_time
    service.reboot()
    assert statuses(service, types.VmStatus.UP)[0] == types.VmStatus.REBOOT_IN_PROGRESS
    assert service.get().start_time == before


def test_conflicts_look_like_the_engine(system: Any) -> None:
    running = system.vms_service().vm_service(labtopology.stable_id("vm", "web-1"))
    error = fault_of(running.start)
    assert error.code == 409
    assert error.fault.reason == "Operation Failed" and error.fault.detail == "[Cannot run VM. VM is running.]"
    down = system.vms_service().vm_service(labtopology.stable_id("vm", "web-2"))
    error = fault_of(down.stop)
    assert error.code == 409 and error.fault.detail == "[Cannot stop VM. VM is not running.]"
    assert fault_of(down.migrate).code == 409


def test_unknown_vm_is_404(system: Any) -> None:
    service = system.vms_service().vm_service("00000000-1111-2222-3333-444444444444")
    assert isinstance(fault_of(service.get), ovirtsdk4.NotFoundError)
    error = fault_of(service.start)
    assert error.code == 404


def test_create_update_remove_vm(system: Any) -> None:
    vms = system.vms_service()
    created = vms.add(types.Vm(
        name="new-1", cluster=types.Cluster(name="kv-b"), template=types.Template(name="Blank"),
        memory=4096 * MIB, cpu=types.Cpu(topology=types.CpuTopology(sockets=2, cores=2, threads=1))))
    assert created.status == types.VmStatus.DOWN and created.memory == 4096 * MIB
    assert created.cluster.id == labtopology.stable_id("cluster", "kv-b") and created.cpu.topology.cores == 2
    assert fault_of(lambda: vms.add(types.Vm(name="new-1", cluster=types.Cluster(name="kv-b")))).code == 409
    missing = fault_of(lambda: vms.add(types.Vm(name="new-2")))
    assert missing.code == 400 and missing.fault.reason == "Incomplete parameters"
    service = vms.vm_service(created.id)
    updated = service.update(types.Vm(description="from the lab", memory=8192 * MIB))
    assert updated.description == "from the lab" and service.get().memory == 8192 * MIB
    service.start()
    assert fault_of(service.remove).code == 409
    service.stop()
    service.remove()
    assert isinstance(fault_of(service.get), ovirtsdk4.NotFoundError)


# ---- hosts ---------------------------------------------------------------------------------------

def test_deactivate_with_reason_and_activate(system: Any) -> None:
    service = system.hosts_service().host_service(host_id("host-a2"))
    service.deactivate(reason="kernel upgrade")
    seen = watch(lambda: service.get().status, lambda s: s == types.HostStatus.MAINTENANCE)
    assert seen[0] == types.HostStatus.PREPARING_FOR_MAINTENANCE, seen
    assert service.get().status_detail == "kernel upgrade"
    events = system.events_service().list(search="origin=oVirt")
    assert any("kernel upgrade" in e.description and e.host.id == host_id("host-a2") for e in events)
    service.activate()
    host = service.get()
    assert host.status == types.HostStatus.UP and host.status_detail is None


def test_deactivate_refused_while_vms_run(system: Any) -> None:
    service = system.hosts_service().host_service(host_id("host-a1"))
    error = fault_of(lambda: service.deactivate(reason="x"))
    assert error.code == 409 and "web-1" in error.fault.detail
    assert service.get().status == types.HostStatus.UP


def test_update_external_status(system: Any) -> None:
    service = system.hosts_service().host_service(host_id("node-b2"))
    service.update(types.Host(external_status=types.ExternalStatus.ERROR))
    assert service.get().external_status == types.ExternalStatus.ERROR
    assert system.hosts_service().host_service(host_id("node-b1")).get().external_status == types.ExternalStatus.OK


# ---- events --------------------------------------------------------------------------------------

def _event(custom_id: int, origin: str = "bridge", **links: Any) -> types.Event:
    return types.Event(origin=origin, custom_id=custom_id, severity=types.LogSeverity.NORMAL,
                       description=f"lab event {custom_id}", **links)


def test_event_origin_custom_id_is_unique(system: Any) -> None:
    events = system.events_service()
    first = events.add(_event(1))
    assert first.custom_id == 1 and first.origin == "bridge" and first.code == 9801
    error = fault_of(lambda: events.add(_event(1)))
    assert error.code == 400 and error.fault.reason == "Operation Failed"
    assert error.fault.detail == "[Cannot add External Event. External Event with this custom id already exists.]"
    assert events.add(_event(2)).custom_id == 2
    assert events.add(_event(1, origin="other")).origin == "other"
    events.event_service(first.id).remove()
    assert fault_of(lambda: events.add(_event(1))).code == 400  # removed events keep their pair
    assert fault_of(lambda: events.add(_event(3, origin="oVirt"))).code == 400
    incomplete = fault_of(lambda: events.add(types.Event(origin="bridge", description="x")))
    assert incomplete.code == 400 and incomplete.fault.reason == "Incomplete parameters"


def test_events_tie_to_vm_host_cluster(system: Any) -> None:
    events = system.events_service()
    vm_id, cluster_id = labtopology.stable_id("vm", "web-1"), labtopology.stable_id("cluster", "legacy-a")
    added = events.add(_event(10, vm=types.Vm(id=vm_id), host=types.Host(id=host_id("host-a1")),
                              cluster=types.Cluster(id=cluster_id)))
    got = events.event_service(added.id).get()
    assert (got.vm.id, got.host.id, got.cluster.id) == (vm_id, host_id("host-a1"), cluster_id)
    assert got.severity == types.LogSeverity.NORMAL and got.time is not None and got.index == int(got.id)
    later = events.add(_event(11))
    assert [e.custom_id for e in events.list(search="event_vm=web-1")] == [10]
    assert [e.custom_id for e in events.list(search="origin=bridge")] == [11, 10]  # newest first
    assert [e.custom_id for e in events.list(from_=added.index)] == [11]
    assert len(events.list(max=1)) == 1 and later.index > added.index
    assert [e.custom_id for e in events.list(search='origin="bridge" and custom_event_id=10')] == [10]
    error = fault_of(lambda: events.list(search="custom_id=10"))  # not an engine search field
    assert error.code == 400 and "$custom_id$" in error.fault.detail


# ---- lab control plane ---------------------------------------------------------------------------

def test_injected_fault_then_success(fake: Fake, system: Any) -> None:
    status, rule = fake.lab("POST", "/lab/faults", {"path": "/vms$", "method": "GET", "status": 500, "count": 1})
    assert status == 201 and rule["count"] == 1
    error = fault_of(lambda: system.vms_service().list())
    assert error.code == 500
    assert len(system.vms_service().list()) == len(TOPOLOGY.vms)
    assert fake.lab("GET", "/lab/faults") == (200, [])


def test_request_counts_show_writes(fake: Fake, system: Any) -> None:
    assert fake.lab("POST", "/lab/requests/reset")[0] == 200
    system.vms_service().list()
    system.hosts_service().list()
    counts = fake.lab("GET", "/lab/requests")[1]
    assert counts["writes"] == 0 and counts["by_method"] == {"GET": 2}
    system.vms_service().vm_service(labtopology.stable_id("vm", "web-2")).start()
    counts = fake.lab("GET", "/lab/requests")[1]
    assert counts["writes"] == 1 and counts["by_method"]["POST"] == 1
    state = fake.lab("GET", "/lab/state")[1]
    assert state["vms"][labtopology.stable_id("vm", "web-2")]["status"] != "down"
    assert fake.lab("GET", "/lab/state", auth="Basic " + base64.b64encode(b"admin@internal:nope").decode())[0] == 401


def test_injected_delay_times_out_the_client(fake: Fake) -> None:
    fake.lab("POST", "/lab/faults", {"path": "/hosts$", "delay_s": 2, "count": 1})
    conn = fake.connect(timeout=1)
    try:
        with pytest.raises(ovirtsdk4.Error):
            conn.system_service().hosts_service().list()
        assert len(conn.system_service().hosts_service().list()) == len(TOPOLOGY.hosts)
    finally:
        conn.close()


# ---- persistence, auth, TLS ----------------------------------------------------------------------

def test_state_survives_restart(fake: Fake) -> None:
    conn = fake.connect()
    try:
        system = conn.system_service()
        service = system.vms_service().vm_service(labtopology.stable_id("vm", "web-2"))
        service.start()
        statuses(service, types.VmStatus.UP)
        before = service.get()
        system.hosts_service().host_service(host_id("node-b3")).deactivate(reason="disk swap")
        system.events_service().add(_event(7))

        fake.restart()  # same state dir and port; the open connection re-authenticates on its 401
        after = service.get()
        assert (after.status, after.host.id, after.start_time) == (types.VmStatus.UP, before.host.id, before.start_time)
        host = watch(lambda: system.hosts_service().host_service(host_id("node-b3")).get(),
                     lambda h: h.status == types.HostStatus.MAINTENANCE)[-1]
        assert host.status_detail == "disk swap"
        assert [e.custom_id for e in system.events_service().list(search="origin=bridge")] == [7]
        assert fault_of(lambda: system.events_service().add(_event(7))).code == 400
        assert [v.name for v in system.vms_service().list()] == [v.name for v in TOPOLOGY.vms]
    finally:
        conn.close()


def test_close_revokes_the_token(fake: Fake) -> None:
    conn = fake.connect()
    token = conn.authenticate()
    conn.system_service().get()
    conn.close()  # SSO logout must succeed
    request = urllib.request.Request(fake.url + "/vms", headers={"Authorization": f"Bearer {token}", "Version": "4"})
    context = ssl.create_default_context(cafile=str(fake.pki.ca))
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request, context=context, timeout=10)
    assert caught.value.code == 401


def test_wrong_password_is_refused(fake: Fake) -> None:
    conn = fake.connect(password="wrong")
    try:
        with pytest.raises(ovirtsdk4.AuthError):
            conn.system_service().get()
    finally:
        conn.close(logout=False)


def test_tls_with_wrong_ca_fails(fake: Fake) -> None:
    conn = fake.connect(ca_file=str(fake.pki.wrong_ca))
    try:
        with pytest.raises(ovirtsdk4.Error) as caught:
            conn.system_service().get()
        assert "SSL" in str(caught.value) or "certificate" in str(caught.value).lower()
    finally:
        conn.close(logout=False)
