"""python -m ovirt_fake --topology FILE --port PORT --cert CERT --key KEY --state-dir DIR

Prints 'READY https://127.0.0.1:PORT/ovirt-engine/api' once it serves.
"""
from __future__ import annotations

import argparse
import signal
import ssl
import sys
import threading
from pathlib import Path

# labtopology lives next to this package; the lab sets PYTHONPATH=tests/lab,
# this keeps a plain `python tests/lab/ovirt_fake` working too.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ovirt_fake import API_PREFIX, scheduling  # noqa: E402
from ovirt_fake.seed import SeedError  # noqa: E402
from ovirt_fake.server import App, FakeServer  # noqa: E402
from ovirt_fake.store import Settler, Store  # noqa: E402


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="ovirt_fake", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--topology", required=True, type=Path, help="lab topology YAML (used on first start)")
    parser.add_argument("--port", required=True, type=int, help="TCP port on 127.0.0.1; 0 picks a free one")
    parser.add_argument("--cert", required=True, type=Path, help="server certificate (PEM)")
    parser.add_argument("--key", required=True, type=Path, help="server private key (PEM)")
    parser.add_argument("--state-dir", required=True, type=Path, help="where state.json lives across restarts")
    parser.add_argument("--username", default="admin@internal")
    parser.add_argument("--password", default="secret")
    parser.add_argument("--step-s", type=float, default=0.2,
                        help="duration of one status-transition step (a VM start takes 2 steps)")
    parser.add_argument("--verbose", action="store_true", help="log every request to stderr")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    scheduling.TIMING["step_ms"] = max(int(args.step_s * 1000), 0)
    try:
        store = Store.open(args.state_dir, args.topology)
    except (OSError, ValueError, SeedError) as error:
        print(f"ovirt_fake: cannot load state: {error}", file=sys.stderr)
        return 2
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(str(args.cert), str(args.key))
    server = FakeServer(args.port, App(store, args.username, args.password, args.verbose), tls)
    settler = Settler(store)
    settler.start()

    def stop(signum: int, frame: object) -> None:
        # shutdown() waits for serve_forever() to return, so not from this thread.
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(f"READY https://127.0.0.1:{server.server_address[1]}{API_PREFIX}", flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        settler.stopped.set()
        with store.lock:
            store.save()
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
