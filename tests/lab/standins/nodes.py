"""Fake nodes: what a kubelet registers, and what virt-handler writes on its node.

Registration (``register_nodes``, run by labctl before KWOK starts) creates
one Node per topology host, as a kubelet's node registration would, with the
capacity the kubelet and KubeVirt's device plugins report
(``devices.kubevirt.io/kvm``, ``tun``, ``vhost-net``: virt-handler's device
manager advertises 1000 each, ``cmd/virt-handler`` ``maxDevices``); once KWOK
runs them, ``create_handler_pods`` makes one virt-handler pod per node, standing
for the virt-handler DaemonSet's pods.
KWOK then plays the kubelet: node conditions, leases, pods Running.

``NodeAgent`` is virt-handler's part on each node: the node-labeller labels
(``node_labeller.go`` ``prepareLabels``, ``patchNode``), the heartbeat
(``pkg/virt-handler/heartbeat/heartbeat.go`` ``do``) and, for the topology's
``not_ready_after_s`` fault, the node's death: its KWOK label goes, so KWOK
stops renewing its lease and the real node lifecycle controller does the rest.
Every write on a node goes out with the kubevirt-handler ServiceAccount token
bound to that node's handler pod, so it carries the node name, as the real
handler's projected token does (KubeVirt's node-restriction policy checks it).
"""
from __future__ import annotations

import logging
import random
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import kubevirt_install
import labtopology
from labkube.objects import Obj, parse_iso
from labkube.rest import NODES, PODS, ApiError, Kube
from standins import cpu

LOG = logging.getLogger("standins")

KWOK_LABEL = "lab.ovirt-kubevirt.io/kwok"   # KWOK manages the nodes that carry it (--manage-nodes-with-label-selector)
HANDLER_LABEL = {"kubevirt.io": "virt-handler"}
HANDLER_IMAGE = "registry.lab.invalid/virt-handler"
NODE_IP = "127.0.0.1"   # every node's InternalIP: hostNetwork handler pods get it, and the stand-in listens on it
MAX_PODS = 110          # the kubelet's default
HEARTBEAT_S = 60.0      # heartbeat.go: wait.JitterUntil(heartBeatInterval = 1 min, 1.2)
KUBELET_VERSION = "v1.34.4"


def handler_pod_name(node: str) -> str:
    return f"virt-handler-{node}"


def node_manifest(host: labtopology.Host, datacenter: str) -> Obj:
    """The Node a kubelet on this host registers (labels, taints, capacity, addresses)."""
    labels = {
        "kubernetes.io/hostname": host.name, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64",
        "beta.kubernetes.io/os": "linux", "beta.kubernetes.io/arch": "amd64",
        "topology.kubernetes.io/region": datacenter, "topology.kubernetes.io/zone": host.cluster,
        **host.labels,
    }
    # A host the oVirt topology has down or non-operational has no kubelet answering.
    if host.status not in ("down", "non_operational"):
        labels[KWOK_LABEL] = "true"
    capacity = {
        "cpu": str(host.cpus), "memory": f"{host.memory_mib}Mi", "pods": str(MAX_PODS),
        "ephemeral-storage": "100Gi", "hugepages-1Gi": "0", "hugepages-2Mi": "0",
        "devices.kubevirt.io/kvm": "1k", "devices.kubevirt.io/tun": "1k", "devices.kubevirt.io/vhost-net": "1k",
    }
    for device in host.devices:
        name = device if "/" in device else f"devices.kubevirt.io/{device}"
        capacity[name] = str(int(capacity.get(name, "0")) + 1)
    return {
        "apiVersion": "v1", "kind": "Node",
        "metadata": {"name": host.name, "labels": labels,
                     "annotations": {"kwok.x-k8s.io/node": "fake", "node.alpha.kubernetes.io/ttl": "0"}},
        # An oVirt host in maintenance starts cordoned; afterwards cordoning is the admin's business.
        "spec": {"taints": [dict(t) for t in host.taints], "unschedulable": host.status == "maintenance"},
        "status": {
            "capacity": capacity, "allocatable": dict(capacity),
            # Both addresses, or KWOK's node-initialize stage renders "addresses": null and drops them.
            "addresses": [{"type": "InternalIP", "address": NODE_IP}, {"type": "Hostname", "address": host.name}],
            "nodeInfo": {
                "machineID": host.id.replace("-", ""), "systemUUID": host.id, "bootID": host.id,
                "kernelVersion": "5.14.0-570.el9.x86_64", "osImage": "CentOS Stream 9 (lab node)",
                "containerRuntimeVersion": "cri-o://1.34.0", "kubeletVersion": KUBELET_VERSION,
                "kubeProxyVersion": KUBELET_VERSION, "operatingSystem": "linux", "architecture": "amd64",
            },
        },
    }


def handler_pod_manifest(node: str, version: str) -> Obj:
    """One virt-handler pod on the node, as the DaemonSet would make it (hostNetwork, kubevirt-handler SA),
    with the tolerations the DaemonSet controller adds to its pods (AddOrUpdateDaemonPodTolerations)."""
    tolerations = [{"key": "CriticalAddonsOnly", "operator": "Exists"}]
    tolerations += [{"key": f"node.kubernetes.io/{key}", "operator": "Exists", "effect": "NoExecute"}
                    for key in ("not-ready", "unreachable")]
    tolerations += [{"key": f"node.kubernetes.io/{key}", "operator": "Exists", "effect": "NoSchedule"}
                    for key in ("disk-pressure", "memory-pressure", "pid-pressure", "unschedulable",
                                "network-unavailable")]
    return {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": handler_pod_name(node), "namespace": kubevirt_install.NAMESPACE,
                     "labels": dict(HANDLER_LABEL, **{"app.kubernetes.io/component": "kubevirt"})},
        "spec": {
            "nodeName": node, "hostNetwork": True, "serviceAccountName": kubevirt_install.HANDLER_SA,
            "tolerations": tolerations,
            "containers": [{"name": "virt-handler", "image": f"{HANDLER_IMAGE}:{version}",
                            "ports": [{"name": "metrics", "containerPort": 8443, "protocol": "TCP"}]}],
        },
    }


def register_nodes(kube: Kube, topology: labtopology.Topology) -> None:
    """Create (or keep) every topology host's Node, as its kubelet registers it."""
    datacenter = {c.name: dc.name for dc in topology.datacenters for c in dc.clusters}
    for host in topology.hosts:
        _create_or_keep(kube, NODES, None, node_manifest(host, datacenter[host.cluster]))


def create_handler_pods(kube: Kube, topology: labtopology.Topology, version: str) -> None:
    """One virt-handler pod per node, as the DaemonSet controller creates them once the nodes exist."""
    for host in topology.hosts:
        _create_or_keep(kube, PODS, kubevirt_install.NAMESPACE, handler_pod_manifest(host.name, version))


def _create_or_keep(kube: Kube, res: Any, namespace: str | None, body: Obj) -> None:
    try:
        kube.create(res, namespace, body)
    except ApiError as err:
        if err.status != 409:  # 409: an earlier start in the same lab dir registered it
            raise


# ------------------------------------------------------------- on the node


@dataclass
class NodeState:
    host: labtopology.Host
    handler: Kube | None = None          # kubevirt-handler token bound to this node's handler pod
    handler_pod_uid: str = ""
    dead: bool = False                   # not_ready_after_s reached: nothing on this node answers any more
    dead_at: float | None = None
    labelled: bool = False
    next_heartbeat: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)


class NodeAgent:
    """virt-handler's node-level duties on every fake node."""

    def __init__(self, admin: Kube, topology: labtopology.Topology, started_at: float, stop: threading.Event) -> None:
        self.admin = admin
        self.stop = stop
        self.started_at = started_at
        self.nodes = {h.name: NodeState(h) for h in topology.hosts}

    # ------------------------------------------------------------- identity

    def handler_client(self, node: str) -> Kube | None:
        """The kubevirt-handler identity on ``node`` (None while its handler pod has no token yet)."""
        state = self.nodes.get(node)
        if state is None or state.dead:
            return None
        with state.lock:
            if state.handler is None:
                self._bind_token(state)
            return state.handler

    def _bind_token(self, state: NodeState) -> None:
        pod = self.admin.get_or_none(PODS, kubevirt_install.NAMESPACE, handler_pod_name(state.host.name))
        if pod is None or (pod.get("status") or {}).get("phase") != "Running":
            return
        token = kubevirt_install.service_account_token(self.admin, kubevirt_install.HANDLER_SA, bound_pod=pod)
        state.handler = self.admin.with_token(token, user_agent=f"virt-handler/{state.host.name}")
        state.handler_pod_uid = pod["metadata"]["uid"]

    def alive(self, node: str) -> bool:
        state = self.nodes.get(node)
        return state is not None and not state.dead

    # ------------------------------------------------------------ the loop

    def run(self) -> None:
        """Label and heartbeat each node; kill nodes whose not_ready_after_s is due."""
        while not self.stop.is_set():
            now = time.time()
            for state in self.nodes.values():
                try:
                    self._tend(state, now)
                except Exception as err:  # apiserver down or a conflict: the next round retries
                    LOG.warning("node %s: %s", state.host.name, err)
            self.stop.wait(1.0)

    def _tend(self, state: NodeState, now: float) -> None:
        if state.dead:
            return
        fault = state.host.faults.get("not_ready_after_s")
        if fault is not None and now >= self.started_at + fault:
            self._die(state)
            return
        if state.host.status in ("down", "non_operational"):
            return
        client = self.handler_client(state.host.name)
        if client is None:
            return
        if not state.labelled:
            self._label(state, client)
        if now >= state.next_heartbeat:
            self._heartbeat(state, client)

    def _label(self, state: NodeState, client: Kube) -> None:
        """node_labeller.go patchNode: a JSON patch testing the labels it read, replacing them."""
        node = self.admin.get(NODES, None, state.host.name)
        old = dict((node.get("metadata") or {}).get("labels") or {})
        new = {k: v for k, v in old.items() if not cpu.is_labeller_label(k)}
        new.update(cpu.labeller_labels(state.host.cpu_model, state.host.machine_types or None))
        if new != old:
            client.patch(NODES, None, state.host.name,
                         [{"op": "test", "path": "/metadata/labels", "value": old},
                          {"op": "replace", "path": "/metadata/labels", "value": new}], kind="json")
        state.labelled = True
        LOG.info("node %s labelled (%s)", state.host.name, state.host.cpu_model)

    def _heartbeat(self, state: NodeState, client: Kube) -> None:
        """heartbeat.go do: schedulable, cpumanager labels and the heartbeat annotation."""
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        patch = {"metadata": {"labels": {"kubevirt.io/schedulable": "true", "cpumanager": "false",
                                         "kubevirt.io/cpumanager": "false"},
                              "annotations": {"kubevirt.io/heartbeat": stamp}}}
        client.patch(NODES, None, state.host.name, patch, kind="strategic")
        state.next_heartbeat = time.time() + HEARTBEAT_S * random.uniform(1.0, 2.2)

    def _die(self, state: NodeState) -> None:
        """The host loses power: its kubelet (KWOK's lease) and virt-handler stop at once."""
        try:
            self.admin.patch(NODES, None, state.host.name, {"metadata": {"labels": {KWOK_LABEL: None}}})
        except ApiError as err:
            if err.status != 404:
                raise
        state.dead, state.dead_at = True, time.time()
        LOG.warning("node %s stopped reporting (fault not_ready_after_s)", state.host.name)


def heartbeat_age_s(node: Obj) -> float | None:
    """Seconds since the node's kubevirt.io/heartbeat (None: never)."""
    stamp = parse_iso(((node.get("metadata") or {}).get("annotations") or {}).get("kubevirt.io/heartbeat"))
    return None if stamp is None else time.time() - stamp
