# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ovirt_kubevirt.bridge contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""kubevirt_provider on the lab, run through ansible-playbook with the lab's environment only.

Every test works in a namespace of its own. The helpers at the top are shared
with test_cluster_type.py.
"""
from __future__ import annotations

import base64
import json
import ssl
import urllib.request
import uuid
from pathlib import Path
from typing import Any, Dict, List, Optional

import pytest
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.clients import k8s_client, ovirt_client
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.clients.k8s_service import KubeService
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.clients.ovirt_service import OvirtService
from harness import Lab, k8s_params, run_playbook

FQCN = "ovirt_kubevirt.bridge."
# The lab's env file sets both a kubeconfig (admin token) and K8S_AUTH_API_KEY; some tests run
# with another token and no kubeconfig at all, as a user of a ServiceAccount token would.
NO_KUBECONFIG = {"K8S_AUTH_KUBECONFIG": ""}


# -- shared helpers ----------------------------------------------------------------

def playbook(lab: Lab, tasks: List[Dict[str, Any]], tmp_path: Path, *, extra_args: Optional[List[str]] = None,
             env: Optional[Dict[str, str]] = None) -> Any:
    """conftest.run_playbook in a directory of its own."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    return run_playbook(lab, tasks, tmp_path, extra_args=extra_args, env=env)


def kube_for(lab: Lab, token: Optional[str] = None) -> KubeService:
    return KubeService(k8s_client.connect(k8s_params(lab.env, **({'api_key': token} if token else {})))[0])


def new_namespace_name(prefix: str = "t") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def cleanup_namespace(kube: KubeService, namespace: str) -> None:
    for kind in ("ClusterRoleBinding", "ClusterRole"):
        kube.delete("rbac.authorization.k8s.io/v1", kind, f"ovirt-kubevirt-bridge-{namespace}")
    kube.delete("v1", "Namespace", namespace)


def module_task(module: str, args: Dict[str, Any], name: str = "under test", **keywords: Any) -> Dict[str, Any]:
    task = {"name": name, FQCN + module: args, "register": "out", "ignore_errors": True}
    task.update(keywords)
    return task


def run_module(lab: Lab, tmp_path: Path, module: str, args: Dict[str, Any], *, check: bool = False,
               diff: bool = False, env: Optional[Dict[str, str]] = None) -> Dict[str, Any]:
    """One module call through ansible-playbook; its host result."""
    keywords: Dict[str, Any] = {}
    if check:
        keywords["check_mode"] = True
    if diff:
        keywords["diff"] = True
    run = playbook(lab, [module_task(module, args, **keywords)], tmp_path, env=env)
    return run.result("under test")


def ovirt_requests(lab: Lab) -> Dict[str, Any]:
    """The oVirt fake's request counters (its /lab/requests control endpoint)."""
    base = lab.env["OVIRT_URL"].split("/ovirt-engine/api")[0]
    request = urllib.request.Request(base + "/lab/requests")
    credentials = f"{lab.env['OVIRT_USERNAME']}:{lab.env['OVIRT_PASSWORD']}".encode()
    request.add_header("Authorization", "Basic " + base64.b64encode(credentials).decode())
    context = ssl.create_default_context(cafile=lab.env["OVIRT_CAFILE"])
    with urllib.request.urlopen(request, context=context, timeout=10) as response:
        return json.loads(response.read())


def ovirt_writes(lab: Lab) -> int:
    return ovirt_requests(lab)["writes"]


def resource_versions(kube: KubeService, refs: List[tuple]) -> Dict[tuple, Optional[str]]:
    found = {}
    for ref in refs:
        obj = kube.get(*ref)
        found[ref] = obj["metadata"]["resourceVersion"] if obj else None
    return found


@pytest.fixture()
def kube(lab):
    return kube_for(lab)


@pytest.fixture()
def ovirt(lab):
    connection = ovirt_client.connect({"url": lab.env["OVIRT_URL"], "username": lab.env["OVIRT_USERNAME"],
                                       "password": lab.env["OVIRT_PASSWORD"], "ca_file": lab.env["OVIRT_CAFILE"]})[0]
    yield OvirtService(connection)
    connection.close()


@pytest.fixture()
def namespace(kube):
    name = new_namespace_name()
    yield name
    cleanup_namespace(kube, name)


def record_ref(name: str, namespace: str) -> tuple:
    return ("v1", "ConfigMap", f"ovirt-kubevirt-provider-{name}", namespace)


def rbac_refs(namespace: str) -> List[tuple]:
    rbac = "rbac.authorization.k8s.io/v1"
    return [("v1", "ServiceAccount", "ovirt-kubevirt-bridge", namespace),
            (rbac, "Role", "ovirt-kubevirt-bridge", namespace),
            (rbac, "RoleBinding", "ovirt-kubevirt-bridge", namespace),
            (rbac, "ClusterRole", f"ovirt-kubevirt-bridge-{namespace}", None),
            (rbac, "ClusterRoleBinding", f"ovirt-kubevirt-bridge-{namespace}", None)]


# -- registration ------------------------------------------------------------------

def test_register_returns_capabilities_and_records_them(lab, kube, namespace, tmp_path):
    assert kube.get("v1", "Namespace", namespace) is None
    out = run_module(lab, tmp_path, "kubevirt_provider", {"name": "kv1", "namespace": namespace}, diff=True)
    assert out.get("failed") is not True, out.get("msg")
    assert out["changed"] is True
    caps = out["capabilities"]
    assert caps["server_version"].startswith("v1.20.")
    assert caps["kubevirt_version"] is None and caps["feature_gates"] == []  # the lab has no KubeVirt CR
    assert caps["crds"] == {"VirtualMachine": True, "VirtualMachineInstance": True,
                            "VirtualMachineInstanceMigration": True}
    assert {"virtualmachines/start", "virtualmachines/stop", "virtualmachines/migrate",
            "virtualmachineinstances/pause", "virtualmachineinstances/softreboot"} <= set(caps["subresources"])
    assert caps["operations"] == {"start": True, "stop": True, "restart": True, "migrate": True, "pause": True,
                                  "unpause": True, "softreboot": True, "addvolume": True, "removevolume": True,
                                  "hibernate": False}
    # The namespace was created, and the record is readable with plain kubectl.
    assert kube.get("v1", "Namespace", namespace) is not None
    record = kube.get(*record_ref("kv1", namespace))
    assert record["metadata"]["labels"] == {"app.kubernetes.io/managed-by": "ovirt_kubevirt.bridge",
                                            "ovirt-kubevirt.io/provider": "kv1"}
    data = record["data"]
    assert set(data) == {"name", "api_url", "ca_cert", "capabilities", "server_version", "created", "updated"}
    assert data["api_url"] == lab.env["K8S_AUTH_HOST"]
    assert data["ca_cert"] == Path(lab.env["K8S_AUTH_SSL_CA_CERT"]).read_text()
    assert json.loads(data["capabilities"]) == caps
    assert data["created"] == data["updated"]
    assert lab.env["K8S_AUTH_API_KEY"] not in json.dumps(record), "the record holds a credential"
    assert out["diff"] == {"before": {}, "after": data}
    assert out["provider"]["capabilities"] == caps


def test_rerun_changes_nothing_and_writes_nothing(lab, kube, namespace, tmp_path):
    first = run_module(lab, tmp_path, "kubevirt_provider", {"name": "kv1", "namespace": namespace})
    assert first["changed"] is True
    before = kube.get(*record_ref("kv1", namespace))
    ns_before = kube.get("v1", "Namespace", namespace)["metadata"]["resourceVersion"]
    again = run_module(lab, tmp_path, "kubevirt_provider", {"name": "kv1", "namespace": namespace}, diff=True)
    assert again["changed"] is False
    after = kube.get(*record_ref("kv1", namespace))
    assert after["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"]
    assert after["data"]["updated"] == before["data"]["updated"]
    assert kube.get("v1", "Namespace", namespace)["metadata"]["resourceVersion"] == ns_before
    assert again["diff"]["before"] == again["diff"]["after"] == before["data"]


def test_check_mode_writes_nothing(lab, kube, namespace, tmp_path):
    out = run_module(lab, tmp_path, "kubevirt_provider",
                     {"name": "kv1", "namespace": namespace, "create_service_account": True}, check=True, diff=True)
    assert out["changed"] is True
    assert "service_account" not in out, "check mode requested a token"
    assert out["diff"]["before"] == {} and out["diff"]["after"]["name"] == "kv1"
    assert kube.get("v1", "Namespace", namespace) is None
    assert kube.get(*record_ref("kv1", namespace)) is None
    assert all(rv is None for rv in resource_versions(kube, rbac_refs(namespace)).values())


def test_a_refreshed_capability_is_a_change(lab, kube, namespace, tmp_path):
    run_module(lab, tmp_path, "kubevirt_provider", {"name": "kv1", "namespace": namespace})
    stale = kube.get(*record_ref("kv1", namespace))
    caps = json.loads(stale["data"]["capabilities"])
    caps["subresources"] = []
    stale["data"]["capabilities"] = json.dumps(caps)
    stale["data"]["updated"] = "2000-01-01T00:00:00Z"
    kube.replace(stale)
    out = run_module(lab, tmp_path, "kubevirt_provider", {"name": "kv1", "namespace": namespace}, diff=True)
    assert out["changed"] is True
    fresh = kube.get(*record_ref("kv1", namespace))["data"]
    assert json.loads(fresh["capabilities"])["subresources"] and fresh["updated"] != "2000-01-01T00:00:00Z"
    assert fresh["created"] == stale["data"]["created"]
    assert json.loads(out["diff"]["before"]["capabilities"])["subresources"] == []


def test_absent_removes_what_it_created_but_not_the_namespace(lab, kube, namespace, tmp_path):
    run_module(lab, tmp_path, "kubevirt_provider",
               {"name": "kv1", "namespace": namespace, "create_service_account": True}, env=None)
    assert all(resource_versions(kube, rbac_refs(namespace) + [record_ref("kv1", namespace)]).values())
    check = run_module(lab, tmp_path, "kubevirt_provider", {"name": "kv1", "namespace": namespace, "state": "absent"},
                       check=True)
    assert check["changed"] is True
    assert all(resource_versions(kube, rbac_refs(namespace) + [record_ref("kv1", namespace)]).values())
    out = run_module(lab, tmp_path, "kubevirt_provider", {"name": "kv1", "namespace": namespace, "state": "absent"},
                     diff=True)
    assert out["changed"] is True and out["diff"]["after"] == {}
    assert not any(resource_versions(kube, rbac_refs(namespace) + [record_ref("kv1", namespace)]).values())
    assert kube.get("v1", "Namespace", namespace) is not None
    again = run_module(lab, tmp_path, "kubevirt_provider", {"name": "kv1", "namespace": namespace, "state": "absent"})
    assert again["changed"] is False


def test_absent_keeps_the_service_account_of_another_provider(lab, kube, namespace, tmp_path):
    for name in ("kv1", "kv2"):
        run_module(lab, tmp_path, "kubevirt_provider",
                   {"name": name, "namespace": namespace, "create_service_account": True})
    out = run_module(lab, tmp_path, "kubevirt_provider", {"name": "kv1", "namespace": namespace, "state": "absent"})
    assert out["changed"] is True
    assert kube.get(*record_ref("kv1", namespace)) is None
    assert all(resource_versions(kube, rbac_refs(namespace)).values()), "kv2 lost its service account"
    assert any("kv2" in w for w in out.get("warnings", []))


def test_invalid_provider_name_is_refused(lab, namespace, tmp_path):
    out = run_module(lab, tmp_path, "kubevirt_provider", {"name": "KV_1", "namespace": namespace})
    assert out["failed"] is True and "DNS-1123" in out["msg"]


# -- service account -----------------------------------------------------------------

def _sa_tasks(namespace: str, token_file: Path) -> List[Dict[str, Any]]:
    return [
        {"name": "register",
         FQCN + "kubevirt_provider": {"name": "kv1", "namespace": namespace, "create_service_account": True,
                                      "token_duration": 900},
         "register": "sa", "no_log": True},
        {"name": "keep the token", "ansible.builtin.copy": {"content": "{{ sa.service_account.token }}",
                                                            "dest": str(token_file), "mode": "0600"},
         "no_log": True},
        {"name": "show", "ansible.builtin.debug": {
            "msg": "{{ {'changed': sa.changed, 'sa': sa.service_account | dict2items | map(attribute='key') | list,"
                   " 'name': sa.service_account.name, 'namespace': sa.service_account.namespace} }}"}},
    ]


def test_service_account_token_can_do_only_what_the_collection_needs(lab, kube, namespace, tmp_path):
    token_file = tmp_path / "token"
    run = playbook(lab, _sa_tasks(namespace, token_file), tmp_path)
    assert run.rc == 0, run.stdout[-3000:]
    shown = run.result("show")["msg"]
    assert shown["changed"] is True
    assert sorted(shown["sa"]) == ["expiration_timestamp", "name", "namespace", "token"]
    assert (shown["name"], shown["namespace"]) == ("ovirt-kubevirt-bridge", namespace)
    token = token_file.read_text()
    assert token and token not in run.stdout, "the token leaked although the task has no_log"

    as_sa = kube_for(lab, token)
    assert as_sa.list("kubevirt.io/v1", "VirtualMachine", namespace)[0] == []
    as_sa.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "own", "namespace": namespace}})
    assert as_sa.list("v1", "Node")[0], "reading nodes is allowed"
    for forbidden in (
        lambda: as_sa.create({"apiVersion": "v1", "kind": "ConfigMap",
                              "metadata": {"name": "elsewhere", "namespace": "default"}}),
        lambda: as_sa.list("v1", "Secret", namespace),
        lambda: as_sa.list("v1", "ConfigMap", None),
        lambda: as_sa.list("kubevirt.io/v1", "VirtualMachine", "default"),
    ):
        with pytest.raises(Exception) as refused:
            forbidden()
        assert getattr(refused.value, "status", None) == 403, refused.value

    # The collection's modules work with it in its namespace.
    info = run_module(lab, tmp_path / "info", "cluster_type_info", {"namespace": namespace},
                      env=dict(NO_KUBECONFIG, K8S_AUTH_API_KEY=token))
    assert info.get("failed") is not True, info.get("msg")
    assert {c["name"] for c in info["clusters"]} >= {"legacy-a", "kv-b"}

    # A rerun changes nothing (a fresh token is not a change) and rewrites none of the objects.
    versions = resource_versions(kube, rbac_refs(namespace) + [record_ref("kv1", namespace)])
    again = playbook(lab, _sa_tasks(namespace, token_file), tmp_path)
    assert again.rc == 0
    assert again.result("show")["msg"]["changed"] is False
    assert resource_versions(kube, list(versions)) == versions
    assert token_file.read_text() != token, "no fresh token on the rerun"


def test_too_short_token_duration_is_refused(lab, namespace, tmp_path):
    out = run_module(lab, tmp_path, "kubevirt_provider",
                     {"name": "kv1", "namespace": namespace, "create_service_account": True, "token_duration": 60})
    assert out["failed"] is True and "at least 600" in out["msg"]


# -- credentials ---------------------------------------------------------------------

def test_restricted_token_cannot_use_the_modules(lab, kube, namespace, tmp_path):
    env = dict(NO_KUBECONFIG, K8S_AUTH_API_KEY=lab.env["LAB_RESTRICTED_TOKEN"])
    provider = run_module(lab, tmp_path / "p", "kubevirt_provider", {"name": "kv1", "namespace": namespace}, env=env)
    assert provider["failed"] is True and "403" in provider["msg"], provider
    assert kube.get("v1", "Namespace", namespace) is None
    info = run_module(lab, tmp_path / "i", "cluster_type_info", {}, env=env)
    assert info["failed"] is True and "403" in info["msg"]
    switch = run_module(lab, tmp_path / "s", "cluster_type",
                        {"cluster": "kv-b", "type": "kubevirt", "provider": "kv1", "namespace": namespace}, env=env)
    assert switch["failed"] is True and "403" in switch["msg"]


def test_api_key_from_the_environment_overrides_the_kubeconfig_token(lab, namespace, tmp_path):
    env = {"K8S_AUTH_API_KEY": lab.env["LAB_RESTRICTED_TOKEN"]}  # the lab's kubeconfig stays set
    out = run_module(lab, tmp_path, "kubevirt_provider", {"name": "kv1", "namespace": namespace}, env=env)
    assert out.get("failed") is True and "403" in out["msg"]


def test_secrets_never_appear_in_verbose_output(lab, kube, namespace, tmp_path):
    token_file = tmp_path / "token"
    tasks = _sa_tasks(namespace, token_file) + [
        module_task("cluster_type_info", {"cluster": "kv-b"}, name="info"),
        module_task("kubevirt_provider", {"name": "kv1", "namespace": namespace}, name="refresh"),
    ]
    run = playbook(lab, tasks, tmp_path, extra_args=["-vvv"], env={"ANSIBLE_STDOUT_CALLBACK": "ansible.builtin.default"})
    assert run.rc == 0, run.stdout[-3000:]
    output = run.stdout + run.stderr
    assert "under test" not in output and "TASK [info]" in output  # the verbose run did run the modules
    assert "kv-b" in output and "capabilities" in output
    token = token_file.read_text()
    for name, secret in (("OVIRT_PASSWORD", lab.env["OVIRT_PASSWORD"]), ("K8S_AUTH_API_KEY", lab.env["K8S_AUTH_API_KEY"]),
                         ("the service account token", token)):
        assert secret and secret not in output, f"{name} appears in the -vvv output"
