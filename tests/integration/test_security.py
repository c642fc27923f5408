"""Security on its own lab: least privilege, TLS trust, secrets kept out of every store, input kept out of queries.

Tests run in file order and share the lab: the service account's run leaves the objects the secrets scan reads.
"""
from __future__ import annotations

import datetime
import json
import ssl
import urllib.request

import ovirtsdk4
import pytest
from harness import engine, kubectl, own_lab, run_playbook
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

NAMESPACE = "sec"
MAPS = {"storage_map": {"*": {"pvc_name": "{vm}-{disk_id}"}}, "network_map": {"*": "pod"}}
NO_KUBECONFIG = {"K8S_AUTH_KUBECONFIG": ""}
TOPOLOGY = {"datacenters": [{"name": "dcs", "clusters": [
    {"name": "s-kv", "hosts": [{"name": f"s-{i}", "cpus": 16, "memory_mib": 65536} for i in (1, 2)],
     "vms": [{"name": "sv-1", "cpus": 1, "memory_mib": 512}, {"name": "sv-2", "cpus": 1, "memory_mib": 512}]},
    {"name": "s-other", "hosts": [{"name": "s-3", "cpus": 8, "memory_mib": 16384}]}]}]}
TOKEN = {}


@pytest.fixture(scope="module")
def seclab(tmp_path_factory):
    yield from own_lab(tmp_path_factory, "seclab", TOPOLOGY)


def task(name, module, args, **keywords):
    return {"name": name, f"ovirt_kubevirt.bridge.{module}": args, "ignore_errors": True, **keywords}


def as_service_account(lab, tmp_path, tasks):
    return run_playbook(lab, tasks, tmp_path, env=dict(NO_KUBECONFIG, K8S_AUTH_API_KEY=TOKEN["sa"]))


def untrusted_ca(tmp_path):
    """A CA that signed nothing the lab serves."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "not the lab's CA")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now)
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True).sign(key, hashes.SHA256()))
    path = tmp_path / "other-ca.pem"
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return str(path)


# -- least privilege --------------------------------------------------------------------------------------------------

def test_the_provider_role_runs_every_milestone_and_nothing_outside_its_namespace(seclab, tmp_path):
    token_file = tmp_path / "token"
    setup = run_playbook(seclab, [
        {"name": "register", "ovirt_kubevirt.bridge.kubevirt_provider": {
            "name": "kv1", "namespace": NAMESPACE, "create_service_account": True, "token_duration": 3600},
         "register": "sa", "no_log": True},
        {"name": "keep", "ansible.builtin.copy": {"content": "{{ sa.service_account.token }}", "dest": str(token_file),
                                                  "mode": "0600"}, "no_log": True}], tmp_path)
    assert setup.rc == 0, setup.failure()
    TOKEN["sa"] = token_file.read_text()
    vms = ["sv-1", "sv-2"]
    run = as_service_account(seclab, tmp_path, [
        task("type", "cluster_type", {"cluster": "s-kv", "type": "kubevirt", "provider": "kv1", "namespace": NAMESPACE,
                                      "milestone": 3}),
        task("run", "vm_run", {"vms": vms, **MAPS}),
        task("wait", "vm_run_wait", {"vms": vms, "timeout": 60}),
        task("sync", "vm_state_sync", {"vms": vms}),
        task("pause", "vm_operation", {"vm": "sv-1", "operation": "pause", "timeout": 30}),
        task("resume", "vm_operation", {"vm": "sv-1", "operation": "resume", "timeout": 30}),
        task("migrate", "vm_operation", {"vm": "sv-2", "operation": "migrate", "timeout": 30}),
        task("info", "cluster_type_info", {"namespace": NAMESPACE}),
        task("health", "node_health", {"node": "s-1", "state": "operational"}),
        task("runtime", "vm_runtime_info", {"datacenter": "dcs"}),
    ])
    failed = {name: run.result(name).get("msg") for name in
              ("type", "run", "wait", "sync", "pause", "resume", "migrate", "info", "health", "runtime")
              if run.result(name).get("failed")}
    assert failed == {}, failed
    assert run.result("migrate")["node"] != run.result("migrate")["source_node"]

    # The same token cannot put the collection's objects anywhere else.
    elsewhere = as_service_account(seclab, tmp_path, [
        task("type", "cluster_type", {"cluster": "s-other", "type": "kubevirt", "provider": "kv1",
                                      "namespace": "default", "milestone": 1})]).result("type")
    assert elsewhere["failed"] is True and "403" in elsewhere["msg"] and "default" in elsewhere["msg"], elsewhere
    assert [c for c in kubectl(seclab, "get", "configmap", "-n", "default")["items"]
            if "ovirt-kubevirt.io/cluster-id" in (c["metadata"].get("labels") or {})] == []


# -- TLS --------------------------------------------------------------------------------------------------------------

def test_an_untrusted_engine_certificate_fails_and_says_how_to_pass_the_ca(seclab, tmp_path):
    result = run_playbook(seclab, [task("info", "cluster_type_info", {"auth": {"ca_file": untrusted_ca(tmp_path)}})],
                          tmp_path).result("info")
    assert result["failed"] is True
    assert "not trusted" in result["msg"] and "auth.ca_file (OVIRT_CAFILE)" in result["msg"], result["msg"]


def test_an_untrusted_kubernetes_certificate_fails_and_says_how_to_pass_the_ca(seclab, tmp_path):
    result = run_playbook(seclab, [task("info", "cluster_type_info", {"ca_cert": untrusted_ca(tmp_path)})],
                          tmp_path, env=dict(NO_KUBECONFIG, K8S_AUTH_API_KEY=seclab.env["K8S_AUTH_API_KEY"]),
                          ).result("info")
    assert result["failed"] is True
    assert "ca_cert" in result["msg"] and "K8S_AUTH_SSL_CA_CERT" in result["msg"], result["msg"]


def test_turning_verification_off_is_explicit_and_warns_for_each_api(seclab, tmp_path):
    quiet = run_playbook(seclab, [task("info", "cluster_type_info", {})], tmp_path).result("info")
    assert not quiet.get("failed") and not quiet.get("warnings"), quiet.get("warnings")
    loud = run_playbook(seclab, [task("info", "cluster_type_info", {"auth": {"insecure": True},
                                                                    "validate_certs": False})],
                        tmp_path, env=dict(NO_KUBECONFIG, K8S_AUTH_API_KEY=seclab.env["K8S_AUTH_API_KEY"])).result("info")
    assert not loud.get("failed"), loud.get("msg")
    warnings = " ".join(loud.get("warnings", []))
    assert "oVirt engine's TLS certificate is not verified" in warnings, warnings
    assert "Kubernetes API server's TLS certificate is not verified" in warnings, warnings


def test_a_token_the_user_gave_stays_valid_after_the_modules_ran(seclab, tmp_path):
    own = ovirtsdk4.Connection(url=seclab.env["OVIRT_URL"], username=seclab.env["OVIRT_USERNAME"],
                               password=seclab.env["OVIRT_PASSWORD"], ca_file=seclab.env["OVIRT_CAFILE"])
    token = own.authenticate()
    try:
        # The token only: no username or password for the modules to open a session of their own with.
        run = run_playbook(seclab, [task("info", "cluster_type_info", {}),
                                    task("representation", "vm_representation", {"vm": "sv-1"})],
                           tmp_path, env={"OVIRT_USERNAME": "", "OVIRT_PASSWORD": "", "OVIRT_TOKEN": token})
        for name in ("info", "representation"):
            assert not run.result(name).get("failed"), run.result(name).get("msg")
        request = urllib.request.Request(seclab.env["OVIRT_URL"] + "/vms",
                                         headers={"Authorization": f"Bearer {token}", "Version": "4"})
        with urllib.request.urlopen(request, context=ssl.create_default_context(cafile=seclab.env["OVIRT_CAFILE"]),
                                    timeout=10) as reply:
            assert reply.status == 200  # the engine still accepts it: no module logged it out
    finally:
        own.close()  # the test's own session, which it may end


# -- secrets ----------------------------------------------------------------------------------------------------------

def test_no_secret_is_written_to_the_registry_annotations_or_events(seclab):
    secrets = {"oVirt password": seclab.env["OVIRT_PASSWORD"], "admin token": seclab.env["K8S_AUTH_API_KEY"],
               "restricted token": seclab.env["LAB_RESTRICTED_TOKEN"], "service account token": TOKEN["sa"]}
    stores = {
        "ConfigMaps": kubectl(seclab, "get", "configmap", "-A"),
        "VirtualMachines": kubectl(seclab, "get", "vm", "-A"),
        "VirtualMachineInstances": kubectl(seclab, "get", "vmi", "-A"),
        "migrations": kubectl(seclab, "get", "vmim", "-A"),
        "Kubernetes events": kubectl(seclab, "get", "events", "-A"),
        "Nodes": kubectl(seclab, "get", "nodes"),
        "the oVirt engine (events, VMs, hosts, clusters)": engine(seclab, "/lab/state"),
    }
    assert len(stores["ConfigMaps"]["items"]) and stores["the oVirt engine (events, VMs, hosts, clusters)"]["events"]
    leaks = [f"{what} in {where}" for where, data in stores.items() for what, secret in secrets.items()
             if secret and secret in json.dumps(data)]
    assert leaks == []


# -- injection --------------------------------------------------------------------------------------------------------

def test_names_cannot_add_search_clauses_or_walk_to_other_objects(seclab, tmp_path):
    host_id = next(h["id"] for h in engine(seclab, "/lab/state")["hosts"].values() if h["name"] == "s-1")
    cluster_id = next(c["id"] for c in engine(seclab, "/lab/state")["clusters"].values() if c["name"] == "s-kv")
    run = run_playbook(seclab, [
        task("walk", "vm_operation", {"vm": f"../hosts/{host_id}", "operation": "pause"}),
        task("walk cluster", "cluster_type_info", {"cluster": f"../clusters/{cluster_id}"}),
        task("clause", "vm_operation", {"vm": 'sv-1" or name="sv-2', "operation": "pause"}),
        task("selector", "cluster_type_info", {"cluster": "s-kv,ovirt-kubevirt.io/cluster-id"}),
    ], tmp_path)
    assert "no VM named '../hosts/" in run.result("walk")["msg"], run.result("walk")
    assert "no cluster named or with id '../clusters/" in run.result("walk cluster")["msg"]
    assert "no VM named 'sv-1\" or name=\"sv-2'" in run.result("clause")["msg"]
    assert "no cluster named or with id 's-kv,ovirt-kubevirt.io/cluster-id'" in run.result("selector")["msg"]
    assert kubectl(seclab, "get", "vmi", "sv-1", "-n", NAMESPACE)["status"]["phase"] == "Running"
