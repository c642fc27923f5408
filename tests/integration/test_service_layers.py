"""The collection's Kubernetes and oVirt service layers against the lab's real servers."""
from __future__ import annotations

import threading
import time
import uuid

import labctl
import pytest
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.clients import k8s_client, ovirt_client
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.clients.k8s_service import KubeService
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.clients.ovirt_service import OvirtService
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.common.errors import ApiError, NotFoundError
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.common.naming import event_custom_id
from harness import k8s_params


@pytest.fixture()
def kube(lab):
    client, warnings = k8s_client.connect(k8s_params(lab.env))
    assert warnings == []
    return KubeService(client)


@pytest.fixture()
def ovirt(lab):
    connection = ovirt_client.connect({"url": lab.env["OVIRT_URL"], "username": lab.env["OVIRT_USERNAME"],
                                       "password": lab.env["OVIRT_PASSWORD"], "ca_file": lab.env["OVIRT_CAFILE"]})[0]
    yield OvirtService(connection)
    connection.close()


def configmap(name, namespace="default", **data):
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": namespace}, "data": data}


def test_untrusted_ca_names_the_fix(lab, tmp_path):
    other_ca = tmp_path / "other-ca.crt"
    import kubelab
    kubelab._make_ca(other_ca, tmp_path / "other-ca.key", "not the lab")
    with pytest.raises(ApiError, match="ca_cert"):
        client = k8s_client.connect(k8s_params(lab.env, ca_cert=str(other_ca)))[0]
        KubeService(client).list("v1", "ConfigMap", "default")


def test_get_missing_is_none_and_crud_round_trip(kube):
    name = f"t-{uuid.uuid4().hex[:8]}"
    assert kube.get("v1", "ConfigMap", name, "default") is None
    assert kube.create(configmap(name, a="1"), dry_run=True)["data"] == {"a": "1"}
    assert kube.get("v1", "ConfigMap", name, "default") is None, "dry run wrote"
    kube.create(configmap(name, a="1"))
    obj, changed = kube.update("v1", "ConfigMap", name, "default", lambda o: None)
    assert not changed and obj["data"] == {"a": "1"}
    assert kube.delete("v1", "ConfigMap", name, "default") is True
    assert kube.delete("v1", "ConfigMap", name, "default") is False


def test_concurrent_updates_are_retried_not_lost(kube):
    name = f"t-{uuid.uuid4().hex[:8]}"
    kube.create(configmap(name, count="0"))

    def increment(obj):
        obj["data"]["count"] = str(int(obj["data"]["count"]) + 1)
        return obj

    def increment_five_times():
        for _round in range(5):
            kube.update("v1", "ConfigMap", name, "default", increment)

    threads = [threading.Thread(target=increment_five_times) for _thread in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert kube.get("v1", "ConfigMap", name, "default")["data"]["count"] == "20"


def test_watch_starts_with_current_state_then_sees_changes(kube):
    label = uuid.uuid4().hex[:8]
    first = configmap(f"w-{label}-1")
    first["metadata"]["labels"] = {"t": label}
    kube.create(first)

    def later():
        time.sleep(0.5)
        second = configmap(f"w-{label}-2")
        second["metadata"]["labels"] = {"t": label}
        kube.create(second)

    threading.Thread(target=later).start()
    seen = []
    for event_type, obj in kube.watch("v1", "ConfigMap", "default", label_selector=f"t={label}", timeout_s=20):
        seen.append((event_type, obj["metadata"]["name"]))
        if obj["metadata"]["name"].endswith("-2"):
            break
    assert seen[0] == ("SYNC", f"w-{label}-1")
    assert seen[-1] == ("ADDED", f"w-{label}-2")


def test_watch_survives_an_apiserver_restart(kube, lab):
    label = uuid.uuid4().hex[:8]
    done = threading.Event()

    def restart_then_create():
        time.sleep(0.5)
        labctl.restart(lab.dir, "apiserver")
        obj = configmap(f"r-{label}")
        obj["metadata"]["labels"] = {"t": label}
        kube.create(obj)
        done.set()

    threading.Thread(target=restart_then_create).start()
    names = []
    for _event_type, obj in kube.watch("v1", "ConfigMap", "default", label_selector=f"t={label}", timeout_s=60):
        names.append(obj["metadata"]["name"])
        if names:
            break
    assert done.wait(30)
    assert names == [f"r-{label}"]


def test_ovirt_lookups_name_what_is_missing(ovirt):
    assert ovirt.cluster("kv-b").name == "kv-b"
    assert ovirt.vm("web-1").name == "web-1"
    with pytest.raises(NotFoundError, match="no cluster named or with id 'nope'"):
        ovirt.cluster("nope")


def test_ovirt_search_input_cannot_add_clauses(ovirt):
    with pytest.raises(NotFoundError):
        ovirt.vm('web-1" or name="app-1')


def test_event_is_posted_once(ovirt):
    cluster = ovirt.cluster("kv-b")
    custom_id = event_custom_id(cluster.id, "test", uuid.uuid4().hex)
    assert ovirt.post_event(custom_id, "first", cluster_id=cluster.id, check_mode=True) is True
    assert not ovirt.event_exists(custom_id), "check mode posted"
    assert ovirt.post_event(custom_id, "first", cluster_id=cluster.id) is True
    assert ovirt.post_event(custom_id, "again", cluster_id=cluster.id) is False
    events = list(ovirt.system.events_service().list(search=f"custom_event_id={custom_id}"))
    assert len(events) == 1 and events[0].cluster.id == cluster.id
