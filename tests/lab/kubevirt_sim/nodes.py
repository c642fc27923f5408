"""The kubelets (and KubeVirt's node-labeller): one Node per topology host.

Registers each node with capacity, labels and taints, renews its Lease so
kube-controller-manager's node lifecycle controller keeps it Ready, and turns
it NotReady (Ready=Unknown plus the unreachable NoExecute taint, as the
lifecycle controller would) once its ``not_ready_after_s`` fault is due.
Admin changes (cordon, extra taints, extra labels) are left alone.
"""
from __future__ import annotations

import logging
import threading
import time
from typing import TYPE_CHECKING, Any

import labtopology

from standins.cpu import cpu_models, vendor

from . import scheduler
from labkube.rest import LEASES, NODES, ApiError
from labkube.objects import Obj, deep, find_condition, meta, now_iso, spec, stable_bytes, status

if TYPE_CHECKING:
    from .app import Sim

LOG = logging.getLogger("kubevirt-sim")

UNREACHABLE = "node.kubernetes.io/unreachable"
NOT_READY = "node.kubernetes.io/not-ready"
LEASE_NAMESPACE = "kube-node-lease"
KUBELET_VERSION = "v1.20.2"


def node_labels(host: labtopology.Host, datacenter: str, ready: bool) -> dict[str, str]:
    labels = {
        "kubernetes.io/hostname": host.name, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64",
        "beta.kubernetes.io/os": "linux", "beta.kubernetes.io/arch": "amd64",
        "topology.kubernetes.io/region": datacenter, "topology.kubernetes.io/zone": host.cluster,
        "kubevirt.io/schedulable": "true" if ready else "false",
        f"host-model-cpu.node.kubevirt.io/{host.cpu_model}": "true",
        f"cpu-vendor.node.kubevirt.io/{vendor(host.cpu_model)}": "true",
        "cpumanager": "false",
    }
    for model in cpu_models(host.cpu_model):
        labels[f"cpu-model.node.kubevirt.io/{model}"] = "true"
        labels[f"cpu-model-migration.node.kubevirt.io/{model}"] = "true"
    labels.update(host.labels)
    return labels


def capacity(host: labtopology.Host, max_pods: int) -> dict[str, str]:
    result = {
        "cpu": str(host.cpus), "memory": f"{host.memory_mib}Mi", "pods": str(max_pods),
        "ephemeral-storage": "100Gi", "hugepages-1Gi": "0", "hugepages-2Mi": "0",
        "devices.kubevirt.io/kvm": "1k", "devices.kubevirt.io/tun": "1k", "devices.kubevirt.io/vhost-net": "1k",
    }
    for device in host.devices:
        name = scheduler.device_resource(device)
        result[name] = str(int(result.get(name, "0")) + 1)
    return result


def _same_amounts(have: dict[str, str] | None, want: dict[str, str]) -> bool:
    """Quantities compare by value: the apiserver rewrites "65536Mi" as "64Gi"."""
    have = have or {}
    try:
        return have.keys() == want.keys() and all(
            scheduler.parse_quantity(have[k]) == scheduler.parse_quantity(v) for k, v in want.items())
    except ValueError:
        return False


def _condition_view(conditions: list[Obj] | None) -> list[tuple[str, str, str]]:
    return sorted((c.get("type", ""), c.get("status", ""), c.get("reason", "")) for c in conditions or [])


def _taint_present(taints: list[Obj], key: str, effect: str) -> bool:
    return any(t.get("key") == key and t.get("effect") == effect for t in taints)


class NodeAgent:
    def __init__(self, sim: Sim) -> None:
        self.sim = sim
        self.hosts = {h.name: h for h in sim.topology.hosts}
        self._datacenter = {c.name: dc.name for dc in sim.topology.datacenters for c in dc.clusters}

    def start(self) -> None:
        for name in self.hosts:
            self.sim.queue.add(("node", name))
            at = self.sim.faults.not_ready_at(name)
            if at is not None and at > time.time():
                self.sim.queue.add_after(("node", name), at - time.time() + 0.01)
        threading.Thread(target=self._heartbeat_loop, name="node-heartbeat", daemon=True).start()

    # ---------------------------------------------------------- reconcile

    def reconcile(self, name: str) -> None:
        host = self.hosts.get(name)
        if host is None:
            return  # not ours: an admin's node
        ready = self.sim.faults.node_ready(name)
        node = self.sim.nodes.get(name)
        if node is None:
            node = self._register(host, ready)
        if node is None:
            return
        wanted_meta = self._desired_meta(node, host, ready)
        if wanted_meta is not None:
            node = self.sim.put(NODES, wanted_meta)
        wanted_status = self._desired_status(node, host, ready)
        if wanted_status is not None:
            self.sim.put(NODES, wanted_status, "status")
            LOG.info("node %s is %s", name, "Ready" if ready else "NotReady")

    def _register(self, host: labtopology.Host, ready: bool) -> Obj | None:
        taints = [dict(t) for t in host.taints]
        if not ready:
            taints.append({"key": UNREACHABLE, "effect": "NoExecute", "timeAdded": now_iso()})
        body = {
            "apiVersion": "v1", "kind": "Node",
            "metadata": {"name": host.name, "labels": node_labels(host, self._datacenter[host.cluster], ready),
                         "annotations": {"node.alpha.kubernetes.io/ttl": "0",
                                         "kubevirt.io/heartbeat": now_iso()}},
            # An oVirt host in maintenance starts cordoned; afterwards cordoning is the admin's business.
            "spec": {"taints": taints, "unschedulable": host.status == "maintenance"},
            "status": self._status_body(host, ready, {}),  # a Node may carry its status on create
        }
        try:
            node = self.sim.create(NODES, body)
        except ApiError as err:
            if err.status == 409:
                return self.sim.nodes.get(host.name)
            raise
        LOG.info("node %s registered (%d cpus, %d MiB)", host.name, host.cpus, host.memory_mib)
        return node

    def _desired_meta(self, node: Obj, host: labtopology.Host, ready: bool) -> Obj | None:
        """Labels and taints we own, merged into what is there; None when nothing is missing."""
        new = deep(node)
        labels = meta(new).setdefault("labels", {})
        changed = False
        for key, value in node_labels(host, self._datacenter[host.cluster], ready).items():
            if labels.get(key) != value:
                labels[key], changed = value, True
        taints = spec(new).get("taints") or []
        for taint in host.taints:
            if not _taint_present(taints, taint["key"], taint["effect"]):
                taints.append(dict(taint))
                changed = True
        if not ready and not _taint_present(taints, UNREACHABLE, "NoExecute"):
            taints.append({"key": UNREACHABLE, "effect": "NoExecute", "timeAdded": now_iso()})
            changed = True
        if ready:
            kept = [t for t in taints if t.get("key") not in (UNREACHABLE, NOT_READY)]
            changed = changed or len(kept) != len(taints)
            taints = kept
        new.setdefault("spec", {})["taints"] = taints
        return new if changed else None

    def _status_body(self, host: labtopology.Host, ready: bool, current: Obj) -> dict[str, Any]:
        conditions = []
        now = now_iso()
        wanted = [("Ready", "True" if ready else "Unknown",
                   "KubeletReady" if ready else "NodeStatusUnknown",
                   "kubelet is posting ready status" if ready else "Kubelet stopped posting node status.")]
        for ctype, reason in (("MemoryPressure", "KubeletHasSufficientMemory"),
                              ("DiskPressure", "KubeletHasNoDiskPressure"), ("PIDPressure", "KubeletHasSufficientPID")):
            wanted.append((ctype, "False" if ready else "Unknown", reason if ready else "NodeStatusUnknown",
                           f"kubelet has no {ctype}" if ready else "Kubelet stopped posting node status."))
        for ctype, value, reason, message in wanted:
            old = find_condition(current.get("conditions"), ctype) or {}
            same = old.get("status") == value
            conditions.append({
                "type": ctype, "status": value, "reason": reason, "message": message,
                # Heartbeats only move when something changes: leases carry liveness.
                "lastHeartbeatTime": old.get("lastHeartbeatTime") if same and old.get("lastHeartbeatTime") else now,
                "lastTransitionTime": old.get("lastTransitionTime") if same and old.get("lastTransitionTime") else now,
            })
        caps = capacity(host, self.sim.timing.max_pods)
        octets = stable_bytes(f"node/{host.name}", 2)
        return {
            "capacity": caps, "allocatable": dict(caps), "conditions": conditions,
            "addresses": [{"type": "InternalIP", "address": f"192.168.{octets[0]}.{1 + octets[1] % 254}"},
                          {"type": "Hostname", "address": host.name}],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
            "nodeInfo": {
                "machineID": host.id.replace("-", ""), "systemUUID": host.id, "bootID": host.id,
                "kernelVersion": "5.14.0-427.el9.x86_64", "osImage": "Red Hat Enterprise Linux CoreOS (simulated)",
                "containerRuntimeVersion": "cri-o://1.20.0", "kubeletVersion": KUBELET_VERSION,
                "kubeProxyVersion": KUBELET_VERSION, "operatingSystem": "linux", "architecture": "amd64",
            },
        }

    def _desired_status(self, node: Obj, host: labtopology.Host, ready: bool) -> Obj | None:
        current = status(node)
        body = self._status_body(host, ready, current)
        if _same_amounts(current.get("capacity"), body["capacity"]) and \
                _same_amounts(current.get("allocatable"), body["allocatable"]) and \
                _condition_view(current.get("conditions")) == _condition_view(body["conditions"]):
            return None
        new = deep(node)
        new["status"] = {**current, **body}
        return new

    # ---------------------------------------------------------- heartbeat

    def _heartbeat_loop(self) -> None:
        while not self.sim.stop.wait(self.sim.timing.heartbeat):
            for name in self.hosts:
                if self.sim.nodes.get(name) is None:
                    self.sim.queue.add(("node", name))  # deleted by someone: register again
                if self.sim.faults.node_ready(name):
                    try:
                        self._renew_lease(name)
                    except Exception as err:  # apiserver down: try next beat
                        LOG.debug("lease %s: %s", name, err)

    def renew_all(self) -> None:
        for name in self.hosts:
            if self.sim.faults.node_ready(name):
                self._renew_lease(name)

    def _renew_lease(self, name: str) -> None:
        spec_ = {"holderIdentity": name, "leaseDurationSeconds": 40, "renewTime": now_iso()}
        try:
            self.sim.kube.patch(LEASES, LEASE_NAMESPACE, name, {"spec": spec_})
        except ApiError as err:
            if err.status != 404:
                raise
            body = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                    "metadata": {"name": name, "namespace": LEASE_NAMESPACE}, "spec": spec_}
            self.sim.kube.request("POST", LEASES.path(LEASE_NAMESPACE), body)
