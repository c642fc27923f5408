"""The aggregated API server for subresources.kubevirt.io/v1 (virt-api's REST part).

HTTPS on 127.0.0.1. Callers are authenticated like any extension apiserver
does it: a client certificate signed by the front-proxy CA (the aggregator's)
makes the X-Remote-User/-Group/-Extra-* headers trustworthy; anything else gets
401. Each action is then authorized with a SubjectAccessReview, as virt-api
does, so RBAC on e.g. ``virtualmachines/start`` in the group
``subresources.kubevirt.io`` decides.
"""
from __future__ import annotations

import contextlib
import json
import logging
import re
import socket
import ssl
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

from .actions import VM_ACTIONS, VMI_ACTIONS, VMI_QUERIES, Actions
from .errors import StatusError
from labkube.rest import SUBJECT_ACCESS_REVIEWS

if TYPE_CHECKING:
    from .app import Sim

LOG = logging.getLogger("kubevirt-sim")

GROUP = "subresources.kubevirt.io"
VERSION = "v1"
GROUP_VERSION = f"{GROUP}/{VERSION}"
SIM_VERSION = "v1.3.0-sim"
_ACTION_PATH = re.compile(
    rf"^/apis/{re.escape(GROUP)}/{VERSION}/namespaces/(?P<ns>[^/]+)/"
    r"(?P<res>virtualmachines|virtualmachineinstances)/(?P<name>[^/]+)/(?P<action>[^/]+)$")
_VERBS = {"GET": "get", "PUT": "update", "POST": "create", "DELETE": "delete", "PATCH": "patch"}


def discovery() -> dict[str, Any]:
    resources = [{"name": f"virtualmachines/{a}", "singularName": "", "namespaced": True, "kind": "",
                  "verbs": ["update"]} for a in VM_ACTIONS]
    resources += [{"name": f"virtualmachineinstances/{a}", "singularName": "", "namespaced": True, "kind": "",
                   "verbs": ["update"]} for a in VMI_ACTIONS]
    resources += [{"name": f"virtualmachineinstances/{a}", "singularName": "", "namespaced": True, "kind": "",
                   "verbs": ["get"]} for a in VMI_QUERIES]
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": GROUP_VERSION, "resources": resources}


def api_group() -> dict[str, Any]:
    version = {"groupVersion": GROUP_VERSION, "version": VERSION}
    return {"kind": "APIGroup", "apiVersion": "v1", "name": GROUP, "versions": [version], "preferredVersion": version}


class Caller:
    def __init__(self, user: str, groups: list[str], extra: dict[str, list[str]]) -> None:
        self.user, self.groups, self.extra = user, groups, extra


class SubresourceApp:
    """Routing, authentication and authorization; the actions do the work."""

    def __init__(self, sim: Sim, allowed_names: set[str]) -> None:
        self.sim = sim
        self.actions = Actions(sim)
        self.allowed_names = allowed_names

    def handle(self, method: str, target: str, headers: Any, body: bytes, peer: dict[str, Any] | None) -> tuple[int, Any]:
        path = urllib.parse.urlsplit(target).path.rstrip("/") or "/"
        if path in ("/healthz", "/readyz", "/livez"):
            return 200, "ok"
        caller = self._authenticate(headers, peer)
        if path == "/openapi/v2":  # the aggregator merges it into the apiserver's; subresources add no types
            return 200, {"swagger": "2.0", "info": {"title": "KubeVirt subresources (simulated)", "version": SIM_VERSION},
                         "paths": {}}
        if path == "/apis":
            return 200, {"kind": "APIGroupList", "apiVersion": "v1", "groups": [api_group()]}
        if path == f"/apis/{GROUP}":
            return 200, api_group()
        if path == f"/apis/{GROUP_VERSION}":
            return 200, discovery()
        if path in (f"/apis/{GROUP_VERSION}/healthz", f"/apis/{GROUP_VERSION}/version"):
            return 200, {"gitVersion": SIM_VERSION, "gitCommit": "simulated", "platform": "linux/amd64"} \
                if path.endswith("version") else "ok"
        match = _ACTION_PATH.match(path)
        if not match:
            raise StatusError(404, "NotFound", "the server could not find the requested resource")
        ns, res, name, action = match.group("ns", "res", "name", "action")
        allowed = (VM_ACTIONS if res == "virtualmachines" else VMI_ACTIONS + VMI_QUERIES)
        if action not in allowed:
            raise StatusError(404, "NotFound", f"the server could not find the requested resource ({res}/{action})")
        wanted = "GET" if action in VMI_QUERIES else "PUT"
        if method != wanted:
            raise StatusError(405, "MethodNotAllowed", f"{method} is not supported on {res}/{action}")
        self._authorize(caller, _VERBS[method], ns, res, name, action)
        payload = self._body(body)
        return self.actions.run(res, ns, name, action, payload)

    def _authenticate(self, headers: Any, peer: dict[str, Any] | None) -> Caller:
        if not peer:
            raise StatusError(401, "Unauthorized", "Unauthorized: a front-proxy client certificate is required")
        subject = {k: v for rdn in peer.get("subject", ()) for k, v in rdn}
        if self.allowed_names and subject.get("commonName") not in self.allowed_names:
            raise StatusError(401, "Unauthorized", f"Unauthorized: client {subject.get('commonName')} is not allowed")
        user = headers.get("X-Remote-User")
        if not user:
            raise StatusError(401, "Unauthorized", "Unauthorized: no X-Remote-User")
        extra: dict[str, list[str]] = {}
        for key, value in headers.items():
            if key.lower().startswith("x-remote-extra-"):
                extra.setdefault(urllib.parse.unquote(key[len("x-remote-extra-"):]).lower(), []).append(value)
        return Caller(user, headers.get_all("X-Remote-Group") or [], extra)

    def _authorize(self, caller: Caller, verb: str, ns: str, res: str, name: str, action: str) -> None:
        review = {
            "apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview",
            "spec": {"user": caller.user, "groups": caller.groups, "extra": caller.extra,
                     "resourceAttributes": {"namespace": ns, "verb": verb, "group": GROUP, "version": VERSION,
                                            "resource": res, "subresource": action, "name": name}},
        }
        answer = self.sim.kube.request("POST", SUBJECT_ACCESS_REVIEWS.path(), review)
        result = answer.get("status") or {}
        if result.get("allowed"):
            return
        why = f": {result['reason']}" if result.get("reason") else ""
        raise StatusError(
            403, "Forbidden",
            f'{res}.{GROUP} "{name}" is forbidden: User "{caller.user}" cannot {verb} resource "{res}/{action}" '
            f'in API group "{GROUP}" in the namespace "{ns}"{why}',
            {"name": name, "group": GROUP, "kind": res})

    @staticmethod
    def _body(raw: bytes) -> dict[str, Any]:
        if not raw.strip():
            return {}
        try:
            body = json.loads(raw)
        except ValueError as err:
            raise StatusError(400, "BadRequest", f"Can not unmarshal Request body to struct, error: {err}") from err
        if not isinstance(body, dict):
            raise StatusError(400, "BadRequest", "Can not unmarshal Request body to struct: not an object")
        return body


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: the aggregator reuses connections
    server_version = "virt-api-sim"
    timeout = 300
    server: _Server

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PATCH(self) -> None:
        self._dispatch("PATCH")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _dispatch(self, method: str) -> None:
        body = self._read_body()
        peer = self.connection.getpeercert() if isinstance(self.connection, ssl.SSLSocket) else None
        try:
            code, payload = self.server.app.handle(method, self.path, self.headers, body, peer)
        except StatusError as err:
            code, payload = err.code, err.body()
            if code >= 500:
                LOG.warning("%s %s: %s", method, self.path, err.message)
        except Exception as err:  # an apiserver outage mid-request
            LOG.exception("%s %s failed", method, self.path)
            code, payload = 500, StatusError(500, "InternalError", f"Internal error occurred: {err}").body()
        self._reply(code, payload)

    def _reply(self, code: int, payload: Any) -> None:
        if payload is None:
            data, ctype = b"", "application/json"
        elif isinstance(payload, str):
            data, ctype = payload.encode(), "text/plain; charset=utf-8"
        else:
            data, ctype = json.dumps(payload).encode(), "application/json"
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        LOG.debug("virt-api: " + format, *args)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, port: int, context: ssl.SSLContext, app: SubresourceApp) -> None:
        self.context, self.app = context, app
        super().__init__(("127.0.0.1", port), _Handler)

    def finish_request(self, request: Any, client_address: Any) -> None:
        # The TLS handshake runs here, in the connection's own thread, not in the accept loop.
        request.settimeout(30)
        try:
            tls = self.context.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError) as err:
            LOG.debug("virt-api: TLS handshake from %s failed: %s", client_address, err)
            return
        try:
            tls.settimeout(_Handler.timeout)
            self.RequestHandlerClass(tls, client_address, self)  # type: ignore[arg-type]  # typeshed wants Self
        finally:
            with contextlib.suppress(OSError):
                tls.shutdown(socket.SHUT_RDWR)
            tls.close()


class SubresourceServer:
    def __init__(self, sim: Sim, port: int, cert: str, key: str, client_ca: str,
                 allowed_names: set[str] | None = None) -> None:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        context.load_verify_locations(client_ca)
        context.verify_mode = ssl.CERT_OPTIONAL
        self._server = _Server(port, context, SubresourceApp(sim, allowed_names or set()))
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(target=self._server.serve_forever, name="virt-api", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
