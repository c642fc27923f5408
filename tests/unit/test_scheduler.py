"""oVirt-side scheduling: each filter, the weights, the tie-break and batch reservation."""
from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.ovirt_kubevirt.bridge.plugins.filter.schedule import schedule as schedule_filter
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.scheduling import scheduler


def rep(name="vm1", vcpus=2, memory_mib=2048, cpu_model=None, **scheduling):
    base = {
        "cpu_request": {"vcpus": vcpus},
        "memory_request": {"memory_kib": memory_mib * 1024, "guaranteed_kib": None},
        "pinned_hosts": [], "host_devices": [], "affinity_groups": [], "affinity_labels": [],
        "high_availability": {"enabled": False, "priority": 0},
    }
    base.update(scheduling)
    configuration = {"name": name, "uuid": f"id-{name}"}
    if cpu_model:
        configuration["cpu"] = {"model": cpu_model}
    return {"schema_version": "1.0", "scheduling": base, "configuration": configuration, "dynamic": {}}


def host(name, cpus=8, memory_mib=16384, status="up", vms=(), **extra):
    return dict(name=name, cpus=cpus, memory_mib=memory_mib, status=status, vms=list(vms), **extra)


def rejected_by(result, host_name):
    return next((r["filter"], r["reason"]) for r in result["rejected"] if r["host"] == host_name)


def test_status_filter_rejects_maintenance_and_non_operational():
    result = schedule_filter([host("a", status="maintenance"), host("b", status="non_operational"), host("c")], rep())
    assert result["host"] == "c"
    assert rejected_by(result, "a") == ("Status", "host status is maintenance")
    assert rejected_by(result, "b")[0] == "Status"


def test_memory_counts_ovirt_vms_and_kubevirt_vmis_on_the_host():
    loaded = host("a", memory_mib=8192, vms=[{"name": "ovirt-vm", "cpus": 1, "memory_mib": 4096},
                                             {"name": "vmi-on-node-a", "cpus": 1, "memory_mib": 3072}])
    result = schedule_filter([loaded, host("b", memory_mib=4096)], rep(memory_mib=2048))
    assert result["host"] == "b"
    assert rejected_by(result, "a") == ("Memory", "1024 MiB free, the VM needs 2048 MiB")


def test_guaranteed_memory_is_what_is_scheduled():
    request = rep(memory_mib=8192)
    request["scheduling"]["memory_request"]["guaranteed_kib"] = 1024 * 1024
    assert schedule_filter([host("a", memory_mib=2048)], request)["host"] == "a"


def test_cpu_count_and_cpu_level():
    result = schedule_filter(
        [host("small", cpus=2), host("old", cpu_model="Nehalem"), host("new", cpu_model="Icelake-Server")],
        rep(vcpus=4, cpu_model="Skylake-Client-IBRS"))
    assert result["host"] == "new"
    assert rejected_by(result, "small")[0] == "CPU"
    assert rejected_by(result, "old")[0] == "CPU-Level"


def test_pinned_hosts_and_host_devices_and_labels():
    hosts = [host("a"), host("b", devices=["gpu0"]), host("c", devices=["gpu0"], labels=["ssd"])]
    assert schedule_filter(hosts, rep(pinned_hosts=["b"]))["host"] == "b"
    result = schedule_filter(hosts, rep(host_devices=[{"name": "gpu0", "kind": "pci"}], affinity_labels=["ssd"]))
    assert result["host"] == "c"
    assert rejected_by(result, "a")[0] == "HostDevice"
    assert rejected_by(result, "b")[0] == "Label"


def test_enforcing_vm_affinity_positive_and_negative():
    hosts = [host("a", vms=[{"id": "id-peer", "name": "peer", "cpus": 1, "memory_mib": 512}]), host("b")]
    together = {"name": "g", "vms": ["id-peer"], "vm_rule": "positive", "vm_enforcing": True}
    apart = {"name": "g", "vms": ["id-peer"], "vm_rule": "negative", "vm_enforcing": True}
    assert schedule_filter(hosts, rep(affinity_groups=[together]))["host"] == "a"
    result = schedule_filter(hosts, rep(affinity_groups=[apart]))
    assert result["host"] == "b"
    assert rejected_by(result, "a")[0] == "VmAffinityGroups"


def test_soft_affinity_only_weighs():
    hosts = [host("a", vms=[{"id": "id-peer", "name": "peer", "cpus": 4, "memory_mib": 8192}]), host("b")]
    soft = {"name": "g", "vms": ["id-peer"], "vm_rule": "positive", "vm_enforcing": False}
    result = schedule_filter(hosts, rep(affinity_groups=[soft]))
    assert result["host"] == "a"
    assert [c["host"] for c in result["candidates"]] == ["a", "b"] and not result["rejected"]


def test_host_affinity_group():
    group = {"name": "rack1", "hosts": ["b"], "host_rule": "positive", "host_enforcing": True}
    result = schedule_filter([host("a"), host("b")], rep(affinity_groups=[group]))
    assert result["host"] == "b" and rejected_by(result, "a")[0] == "VmToHostsAffinityGroups"


def test_ha_reservation_keeps_room_to_restart_ha_vms():
    hosts = [host("a", memory_mib=8192), host("b", memory_mib=8192,
                                              vms=[{"name": "x", "cpus": 1, "memory_mib": 6144}])]
    request = rep(memory_mib=4096, high_availability={"enabled": True, "priority": 1})
    result = schedule_filter(hosts, request, fail_on_no_host=False)
    # On a, b would have 2048 MiB left for a's 4096 MiB of HA VMs; on b, only 2048 MiB free.
    assert result["host"] is None
    assert rejected_by(result, "a")[0] == "HA"


def test_policies_and_deterministic_tie_break():
    busy = host("busy", vms=[{"name": "x", "cpus": 4, "memory_mib": 8192}])
    idle_b, idle_a = host("idle-b"), host("idle-a")
    assert schedule_filter([busy, idle_b, idle_a], rep())["host"] == "idle-a"
    assert schedule_filter([busy, idle_b, idle_a], rep(), policy="power_saving")["host"] == "busy"
    assert schedule_filter([busy, idle_b, idle_a], rep(), policy="vm_count")["host"] == "idle-a"
    ranks = [c["rank"] for c in schedule_filter([busy, idle_b, idle_a], rep())["candidates"]]
    assert ranks == [1, 2, 3]


def test_no_host_fits_error_lists_every_reason():
    with pytest.raises(AnsibleFilterError) as err:
        schedule_filter([host("a", status="maintenance"), host("b", cpus=1)], rep(vcpus=2))
    assert "a: Status (host status is maintenance)" in str(err.value)
    assert "b: CPU (1 CPUs, the VM has 2 vCPUs)" in str(err.value)


def test_batch_reserves_capacity_and_never_overcommits():
    hosts = [host("a", cpus=64, memory_mib=8192), host("b", cpus=64, memory_mib=8192)]
    requests = [rep(name=f"vm{i}", memory_mib=2048) for i in range(10)]
    results = schedule_filter(hosts, requests, fail_on_no_host=False)
    placed = [r["host"] for r in results]
    assert placed.count("a") == 4 and placed.count("b") == 4 and placed.count(None) == 2
    assert [r["vm"] for r in results] == [f"vm{i}" for i in range(10)]


def test_ovirt_host_info_shape_is_accepted():
    info = {"name": "h", "status": "up", "memory": 16 * 1024**3, "cpu": {"topology": {"sockets": 2, "cores": 4, "threads": 1},
                                                                         "type": "Intel Skylake"}}
    parsed = scheduler.parse_host(info)
    assert (parsed.cpus, parsed.memory_mib) == (8, 16384)


def test_bad_input_is_named():
    with pytest.raises(AnsibleFilterError, match="unknown scheduling policy"):
        schedule_filter([host("a")], rep(), policy="random")
    with pytest.raises(AnsibleFilterError, match="cpus and memory_mib"):
        schedule_filter([{"name": "x"}], rep())
    with pytest.raises(AnsibleFilterError, match="scheduling"):
        schedule_filter([host("a")], {"no": "scheduling"})


def test_a_node_full_of_pods_refuses_the_vm_whatever_its_cpu_and_memory():
    small = [{"name": n, "cpus": 1, "memory_mib": 64} for n in ("a", "b")]
    result = schedule_filter([host("full", cpus=512, memory_mib=1 << 20, max_pods=2, vms=small),
                              host("roomy", max_pods=110)], rep(vcpus=1, memory_mib=64))
    assert result["host"] == "roomy"
    assert rejected_by(result, "full") == ("Pods", "its node takes at most 2 pods and 2 VMs run there")
    one = [host("one", cpus=512, memory_mib=1 << 20, max_pods=2)]
    batch = schedule_filter(one, [rep(f"v{i}", vcpus=1, memory_mib=64) for i in range(2)])
    assert [r["host"] for r in batch] == ["one", "one"]
    with pytest.raises(AnsibleFilterError, match="no host can run VM v2: one: Pods"):
        schedule_filter(one, [rep(f"v{i}", vcpus=1, memory_mib=64) for i in range(3)])  # counts its own placements
