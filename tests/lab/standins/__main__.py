"""python -m standins: the node-side stand-ins of the real-KubeVirt lab.

    PYTHONPATH=tests/lab python -m standins --kubeconfig ADMIN --topology FILE --state-dir DIR \\
        --pki-dir RUN/pki --handler-cert C --handler-key K --kubevirt-ca CA --handler-port P

Runs virt-handler's part on every fake node (labels, heartbeat, VMIs,
migrations, the console-server API), the kubelet's part in a launcher's end,
a volume provisioner and CDI's importer. Prints ``READY <handler port>`` once
everything listens and watches; SIGTERM stops it.
"""
from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from pathlib import Path

import kubelab
import labtopology
from labkube.events import Recorder
from labkube.rest import Credentials, Kube, load_kubeconfig
from standins.budgets import Budgets
from standins.handler import Handler
from standins.handler_api import HandlerApi
from standins.migration import Migrations
from standins.nodes import NodeAgent
from standins.storage import Importer, Provisioner

LOG = logging.getLogger("standins")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="standins", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kubeconfig", required=True, help="admin kubeconfig (reads, and the lab's own acts)")
    parser.add_argument("--topology", required=True)
    parser.add_argument("--state-dir", required=True)
    parser.add_argument("--pki-dir", required=True, help="the lab PKI (ca.crt, ca.key): kubelet certificates")
    parser.add_argument("--handler-cert", required=True, help="virt-handler's server certificate (kubevirt-ca)")
    parser.add_argument("--handler-key", required=True)
    parser.add_argument("--kubevirt-ca", required=True, help="kubevirt-ca: verifies virt-api's client certificate")
    parser.add_argument("--handler-port", type=int, default=0, help="the console server port (0: a free one)")
    parser.add_argument("--log-level", default="INFO")
    return parser.parse_args(argv)


def kubelet_clients(admin_creds: Credentials, pki: Path, nodes: list[str]) -> dict[str, Kube]:
    """One client per node as its kubelet (CN system:node:<name>, O system:nodes): the Node
    authorizer lets it write only the pods bound to that node."""
    out = pki / "kubelets"
    clients = {}
    for node in nodes:
        name = f"system:node:{node}"
        cert = out / f"{kubelab._file_name(name)}.crt"  # pylint: disable=protected-access
        if not cert.exists():
            kubelab.issue_cert(pki / "ca.crt", pki / "ca.key", out, name, [], client=True,
                               organization="system:nodes")
        creds = Credentials(server=admin_creds.server, ca_file=admin_creds.ca_file, cert_file=str(cert),
                            key_file=str(cert.with_suffix(".key")))
        clients[node] = Kube(creds, pool_size=4, user_agent=f"kubelet/{node}")
    return clients


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(stream=sys.stderr, level=args.log_level.upper(),
                        format="%(asctime)s standins %(levelname).1s %(message)s")
    logging.getLogger("urllib3").setLevel(logging.ERROR)
    topology = labtopology.load(args.topology)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    creds = load_kubeconfig(args.kubeconfig)
    admin = Kube(creds, user_agent="lab-standins")
    budgets = Budgets(Path(args.state_dir), topology)
    recorder = Recorder(admin)
    agent = NodeAgent(admin, topology, budgets.started_at, stop)
    kubelets = kubelet_clients(creds, Path(args.pki_dir), [h.name for h in topology.hosts])
    handler = Handler(admin, kubelets, agent, topology, budgets, recorder, stop)
    handler.migrations = Migrations(handler)
    api = HandlerApi(handler, args.handler_port, Path(args.handler_cert), Path(args.handler_key),
                     Path(args.kubevirt_ca))
    provisioner = Provisioner(admin, stop)
    importer = Importer(admin, budgets, topology.kubevirt.import_delay_s, stop)

    api.start()
    threading.Thread(target=agent.run, name="nodes", daemon=True).start()
    handler.start()
    provisioner.start()
    importer.start()
    print(f"READY {api.port}", flush=True)
    LOG.info("ready: %d nodes, handler API on 127.0.0.1:%d", len(agent.nodes), api.port)
    while not stop.wait(1.0):
        pass
    LOG.info("stopping")
    api.stop()
    handler.queue.shutdown()
    recorder.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
