"""python -m kubevirt_sim: run the KubeVirt simulator against a real kube-apiserver.

    PYTHONPATH=tests/lab python -m kubevirt_sim --kubeconfig K --topology FILE --state-dir DIR \\
        --listen-port P --tls-cert C --tls-key K [--ca-cert CA] --requestheader-ca FRONT_PROXY_CA

Prints ``READY <port>`` on stdout once the nodes are registered, the caches are
synced and the aggregator reports the subresource APIService Available; logs
go to stderr. SIGTERM/SIGINT stop it and remove the APIService (an APIService
without a backend breaks discovery and namespace deletion).
"""
from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
import time
from pathlib import Path

import labtopology

from . import apiservice
from .app import Sim, Timing
from labkube.rest import Kube
from .migration import MigrationController
from .nodes import NodeAgent
from .subresources import SubresourceServer
from .vm import VmController
from .vmi import VmiController

LOG = logging.getLogger("kubevirt-sim")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="kubevirt_sim", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kubeconfig", required=True)
    parser.add_argument("--topology", required=True)
    parser.add_argument("--state-dir", required=True)
    parser.add_argument("--listen-port", type=int, default=0, help="0: pick a free port")
    parser.add_argument("--tls-cert", help="serving cert (SAN virt-api.kubevirt.svc); default: self-made in state dir")
    parser.add_argument("--tls-key")
    parser.add_argument("--ca-cert", help="CA that signed --tls-cert (default: the chain's last certificate)")
    parser.add_argument("--requestheader-ca", required=True, help="CA of the aggregator's client certificate")
    parser.add_argument("--requestheader-allowed-names", default="",
                        help="comma-separated client certificate CNs to accept (default: any the CA signed)")
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--migration-step-s", type=float, default=Timing.migration_step)
    parser.add_argument("--shutdown-s", type=float, default=Timing.shutdown)
    parser.add_argument("--start-backoff-s", type=float, default=Timing.start_backoff)
    parser.add_argument("--heartbeat-s", type=float, default=Timing.heartbeat)
    parser.add_argument("--max-pods", type=int, default=Timing.max_pods)
    parser.add_argument("--ready-timeout-s", type=float, default=50.0)
    parser.add_argument("--keep-apiservice", action="store_true", help="leave the APIService registered on exit")
    parser.add_argument("--log-level", default="INFO")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(stream=sys.stderr, level=args.log_level.upper(),
                        format="%(asctime)s kubevirt-sim %(levelname).1s %(message)s")
    logging.getLogger("urllib3").setLevel(logging.ERROR)
    state_dir = Path(args.state_dir)
    topology = labtopology.load(args.topology)
    if args.tls_cert:
        cert, key = Path(args.tls_cert), Path(args.tls_key or args.tls_cert)
        bundle = apiservice.ca_bundle(cert, Path(args.ca_cert) if args.ca_cert else None)
    else:
        cert, key, ca = apiservice.self_signed(state_dir)
        bundle = ca.read_bytes()
    timing = Timing(migration_step=args.migration_step_s, shutdown=args.shutdown_s,
                    start_backoff=args.start_backoff_s, heartbeat=args.heartbeat_s, max_pods=args.max_pods)
    sim = Sim(Kube.from_kubeconfig(args.kubeconfig, user_agent="kubevirt-sim"), topology, state_dir, timing, workers=args.workers)
    nodes = NodeAgent(sim)
    sim.handle("node", nodes.reconcile)
    sim.handle("vm", VmController(sim).reconcile)
    sim.handle("vmi", VmiController(sim).reconcile)
    sim.handle("vmim", MigrationController(sim).reconcile)
    allowed = {n.strip() for n in args.requestheader_allowed_names.split(",") if n.strip()}
    server = SubresourceServer(sim, args.listen_port, str(cert), str(key), args.requestheader_ca, allowed)
    signal.signal(signal.SIGTERM, lambda *_: sim.stop.set())
    signal.signal(signal.SIGINT, lambda *_: sim.stop.set())

    server.start()
    sim.start()
    if not _ready(sim, nodes, server.port, bundle, args.ready_timeout_s):
        server.stop()
        return 1
    print(f"READY {server.port}", flush=True)
    LOG.info("ready on 127.0.0.1:%d (%d nodes)", server.port, len(nodes.hosts))
    sim.start_resync()
    threading.Thread(target=_keep_registered, args=(sim, server.port, bundle), name="apiservice", daemon=True).start()
    while not sim.stop.wait(1.0):
        pass
    LOG.info("stopping")
    if not args.keep_apiservice:
        apiservice.unregister(sim.kube)
    server.stop()
    return 0


def _keep_registered(sim: Sim, port: int, bundle: bytes) -> None:
    """Someone may delete the APIService (or wipe etcd): put it back, like virt-operator would."""
    while not sim.stop.wait(sim.timing.heartbeat):
        try:
            if apiservice.ensure_registered(sim.kube, port, bundle):
                LOG.warning("APIService %s was missing or changed: registered again", apiservice.APISERVICE)
        except Exception as err:  # apiserver down: next round
            LOG.debug("APIService check failed: %s", err)


def _ready(sim: Sim, nodes: NodeAgent, port: int, bundle: bytes, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    if not sim.wait_synced(timeout):
        LOG.error("caches not synced after %.0f s: is the apiserver up and are the KubeVirt CRDs installed?", timeout)
        return False
    nodes.start()
    while any(sim.nodes.get(name) is None for name in nodes.hosts):
        if time.monotonic() > deadline or sim.stop.is_set():
            LOG.error("nodes not registered after %.0f s", timeout)
            return False
        time.sleep(0.05)
    try:
        nodes.renew_all()
    except Exception as err:  # the heartbeat loop retries
        LOG.warning("first lease renewal failed: %s", err)
    apiservice.register(sim.kube, port, bundle)
    reason = apiservice.wait_available(sim.kube, max(5.0, deadline - time.monotonic()))
    if reason is not None:
        LOG.error("APIService %s not Available: %s", apiservice.APISERVICE, reason)
        return False
    return True


if __name__ == "__main__":
    sys.exit(main())
