"""virt-handler's console server: the API real virt-api forwards subresources to.

virt-api finds the handler pod on the VMI's node (label ``kubevirt.io=virt-handler``),
dials ``https://<pod IP>:<--console-server-port>`` with its client certificate
(CN ``kubevirt.io:system:client:virt-handler``) and checks the server's
(CN ``kubevirt.io:system:node:virt-handler``), both under ``kubevirt-ca``
(``client-go/kubecli/handler.go``, ``pkg/util/tls``). Every fake node's
handler pod has the node IP 127.0.0.1, so one server answers for all nodes.
Routes and answers are those of ``cmd/virt-handler/virt-handler.go``
``runServer`` and ``pkg/virt-handler/rest``: lifecycle PUTs answer 202, the
guest-agent GETs JSON, a VMI this handler does not run 404.
"""
from __future__ import annotations

import json
import logging
import re
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any

from labkube.objects import meta
from standins import vmistatus

if TYPE_CHECKING:
    from standins.handler import Handler

LOG = logging.getLogger("standins")

CLIENT_CN = "kubevirt.io:system:client:virt-handler"
PATH = re.compile(r"^/v1/namespaces/(?P<ns>[^/]+)/virtualmachineinstances/(?P<name>[^/]+)/(?P<sub>[a-z/]+)$")
LIFECYCLE = {"pause", "unpause", "freeze", "unfreeze", "softreboot", "reset"}
AGENT_GETS = {"guestosinfo", "userlist", "filesystemlist"}


class HandlerApi:
    def __init__(self, handler: Handler, port: int, cert: Path, key: Path, ca: Path) -> None:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(str(cert), str(key))
        context.load_verify_locations(str(ca))
        context.verify_mode = ssl.CERT_REQUIRED   # RequireAndVerifyClientCert
        self.server = ThreadingHTTPServer(("127.0.0.1", port), _requests(handler))
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.server.daemon_threads = True
        self.port = int(self.server.server_address[1])

    def start(self) -> None:
        threading.Thread(target=self.server.serve_forever, name="handler-api", daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()


def _requests(handler: Handler) -> type[BaseHTTPRequestHandler]:
    class Requests(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002  (the base class's name)
            LOG.debug("handler api: " + format, *args)

        def do_PUT(self) -> None:  # noqa: N802
            self._serve("PUT")

        def do_GET(self) -> None:  # noqa: N802
            self._serve("GET")

        def _serve(self, method: str) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            if not self._client_allowed():
                return self._answer(403, "client certificate is not virt-api's")
            match = PATH.match(self.path.split("?")[0])
            if not match:
                return self._answer(404, f"no route {self.path}")
            sub = match["sub"]
            vmi, domain = handler.vmi_on_node(match["ns"], match["name"])
            if vmi is None or domain is None:   # pkg/virt-handler/rest/common.go getVMI
                return self._answer(404, f"VMI {match['ns']}/{match['name']} does not exist")
            key = f"{match['ns']}/{match['name']}"
            if method == "PUT" and sub in LIFECYCLE:
                return self._lifecycle(sub, key, vmi, domain, body)
            if method == "GET" and sub in AGENT_GETS:
                return self._agent(sub, vmi)
            return self._answer(404, f"no route {method} {sub}")

        def _client_allowed(self) -> bool:
            """verifyPeerCert: the client's CN must be virt-api's handler client."""
            cert = self.connection.getpeercert() if hasattr(self.connection, "getpeercert") else None
            subject = dict(pair for rdn in (cert or {}).get("subject", ()) for pair in rdn)
            return subject.get("commonName") == CLIENT_CN

        def _lifecycle(self, sub: str, key: str, vmi: dict[str, Any], domain: Any, body: bytes) -> None:
            node = domain.node
            identity = handler.agent.handler_client(node)
            if sub == "freeze":
                try:
                    timeout = (json.loads(body or b"{}") or {}).get("unfreezeTimeout")
                except ValueError:
                    return self._answer(400, "failed to unmarshal freeze request body")
                if not timeout:
                    return self._answer(400, "Unfreeze timeout in freeze request is not set")
                domain.extra["frozen"] = True
            elif sub == "unfreeze":
                domain.extra["frozen"] = False
            elif sub == "pause":
                domain.state = "paused"
                handler.recorder.emit(vmi, "Normal", "Paused", "VirtualMachineInstance paused",
                                      component="virt-handler", host=node, kube=identity)
            elif sub == "unpause":
                domain.state = "running"
                handler.recorder.emit(vmi, "Normal", "Unpaused", "VirtualMachineInstance unpaused",
                                      component="virt-handler", host=node, kube=identity)
            elif sub == "softreboot":
                handler.recorder.emit(vmi, "Normal", "SoftRebooted", "VirtualMachineInstance soft rebooted",
                                      component="virt-handler", host=node, kube=identity)
            elif sub == "reset":
                handler.recorder.emit(vmi, "Normal", "Reset", "VirtualMachineInstance reset",
                                      component="virt-handler", host=node, kube=identity)
            handler.queue.add(key)
            LOG.info("handler api: %s %s", sub, meta(vmi).get("name"))
            return self._answer(202, "")

        def _agent(self, sub: str, vmi: dict[str, Any]) -> None:
            if not handler.has_agent(vmi):
                return self._answer(500, "Guest agent is not connected")
            if sub == "guestosinfo":
                return self._json(vmistatus.agent_info(vmi))
            if sub == "userlist":
                return self._json({"items": [{"userName": "cloud-user", "loginTime": 1.7e9}]})
            return self._json({"items": [{"diskName": "vda1", "mountPoint": "/", "fileSystemType": "xfs",
                                          "usedBytes": 2 << 30, "totalBytes": 10 << 30}]})

        def _json(self, data: Any) -> None:
            self._answer(200, json.dumps(data), "application/json")

        def _answer(self, code: int, text: str, ctype: str = "text/plain") -> None:
            payload = text.encode()
            self.send_response(code)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

    return Requests
