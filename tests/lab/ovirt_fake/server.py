"""HTTPS front: SSO, bearer auth, fault injection, the /lab/ control API, dispatch."""
from __future__ import annotations

import base64
import json
import secrets
import socket
import ssl
import sys
import threading
import time
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Mapping
from urllib.parse import parse_qsl, unquote, urlsplit

from . import API_PREFIX, LAB_PREFIX, SSO_LOGOUT_PATHS, SSO_TOKEN_PATH, render
from . import event_ops, host_ops, readonly, vm_ops  # noqa: F401  # pylint: disable=unused-import  # imported for their side effect: they register routes
from .errors import ApiFault
from .lab import FaultBook, LabError, RequestLog, dumps
from .routes import ROUTER, Call, Reply
from .store import Store, now_ms

JSON = "application/json"


def fault_reply(status: int, reason: str, detail: str) -> Reply:
    return Reply(status, render.fault_xml(reason, detail))


def json_reply(status: int, data: Any) -> Reply:
    return Reply(status, dumps(data), JSON)


class App:
    """Everything behind the socket, callable without HTTP."""

    def __init__(self, store: Store, username: str, password: str, verbose: bool = False) -> None:
        self.store = store
        self.username = username
        self.password = password
        self.verbose = verbose
        self.faults = FaultBook()
        self.requests = RequestLog()
        self._tokens: dict[str, str] = {}
        self._tokens_lock = threading.Lock()

    def handle(self, method: str, raw_path: str, headers: Mapping[str, str], body: bytes) -> Reply:
        url = urlsplit(raw_path)
        path = unquote(url.path)
        if path.startswith(LAB_PREFIX):
            return self._lab(method, path, headers, body)
        is_api = path == API_PREFIX or path.startswith(API_PREFIX + "/")
        if is_api:
            self.requests.record(method, raw_path)
        # As in the engine, a request is authenticated when it arrives; a slow one then still completes
        # even if its client has given up (and logged out) meanwhile.
        user = self._user(headers, allow_basic=False) if is_api else None
        injected = self._injected(method, path)
        if injected is not None:
            return injected
        if path == SSO_TOKEN_PATH:
            return self._token(method, body)
        if path in SSO_LOGOUT_PATHS:
            return self._logout(body)
        if is_api:
            query = dict(parse_qsl(url.query, keep_blank_values=True))
            return self._api(method, path[len(API_PREFIX):].rstrip("/"), query, headers, body, user)
        return Reply(404, b"Not Found\n", "text/plain")

    # ---- fault injection ----

    def _injected(self, method: str, path: str) -> Reply | None:
        rule = self.faults.take(method, path)
        if rule is None:
            return None
        if rule.delay_s:
            time.sleep(rule.delay_s)  # outside the store lock: other requests carry on
        if rule.status is None:
            return None
        return fault_reply(rule.status, "Lab injected fault",
                           f"Lab fault rule {rule.id} matched {method} {path}")

    # ---- SSO ----

    def _token(self, method: str, body: bytes) -> Reply:
        form = dict(parse_qsl(body.decode("utf-8", "replace")))
        if method != "POST":
            return json_reply(405, {"error_code": "invalid_request", "error": "POST required"})
        if form.get("grant_type") != "password":
            return json_reply(400, {"error_code": "unsupported_grant_type",
                                    "error": f"Unsupported grant type '{form.get('grant_type')}'"})
        user = form.get("username", "")
        if user != self.username or form.get("password") != self.password:
            return json_reply(400, {"error_code": "access_denied", "error":
                                    f"Cannot authenticate user '{user}': The username or password is incorrect.."})
        token = secrets.token_urlsafe(32)
        with self._tokens_lock:
            self._tokens[token] = user
        expires = now_ms() + 10 * 3600 * 1000
        return json_reply(200, {"access_token": token, "scope": form.get("scope", "ovirt-app-api"),
                                "exp": str(expires), "token_type": "bearer"})

    def _logout(self, body: bytes) -> Reply:
        # Revoking an unknown token (e.g. issued before a restart) still succeeds.
        token = dict(parse_qsl(body.decode("utf-8", "replace"))).get("token", "")
        with self._tokens_lock:
            self._tokens.pop(token, None)
        return json_reply(200, {})

    def _user(self, headers: Mapping[str, str], allow_basic: bool) -> str | None:
        value = headers.get("Authorization") or ""
        scheme, _space, credential = value.partition(" ")
        if scheme.lower() == "bearer":
            with self._tokens_lock:
                return self._tokens.get(credential.strip())
        if allow_basic and scheme.lower() == "basic":
            try:
                user, _colon, password = base64.b64decode(credential.strip()).decode().partition(":")
            except (ValueError, UnicodeDecodeError):
                return None
            if user == self.username and password == self.password:
                return user
        return None

    # ---- API ----

    def _api(self, method: str, path: str, query: dict[str, str], headers: Mapping[str, str], body: bytes,
             user: str | None) -> Reply:
        if user is None:
            reply = fault_reply(401, "Unauthorized", "Authentication required: send 'Authorization: Bearer <token>'")
            reply.headers["WWW-Authenticate"] = 'Bearer realm="ENGINE"'
            return reply
        version = (headers.get("Version") or "4").strip()
        if version != "4":
            return fault_reply(400, "Operation Failed", f"Version {version} of the API isn't supported")
        try:
            with self.store.transaction() as state:
                call = Call(method, path, query, body, self.store, state, now_ms(), user)
                return ROUTER.dispatch(call)
        except ApiFault as fault:
            return fault_reply(fault.status, fault.reason, fault.detail)
        except Exception as error:  # a fake bug must still answer, loudly
            traceback.print_exc(file=sys.stderr)
            return fault_reply(500, "Internal Server Error", f"{type(error).__name__}: {error}")

    # ---- /lab/ control ----

    def _lab(self, method: str, path: str, headers: Mapping[str, str], body: bytes) -> Reply:
        if self._user(headers, allow_basic=True) is None:
            reply = json_reply(401, {"error": "authentication required (bearer token or basic)"})
            reply.headers["WWW-Authenticate"] = 'Basic realm="ovirt-fake-lab"'
            return reply
        route = (method, path.rstrip("/"))
        try:
            if route == ("GET", "/lab/state"):
                return Reply(200, self.store.dump().encode(), JSON)
            if route == ("GET", "/lab/faults"):
                return json_reply(200, self.faults.rules())
            if route == ("POST", "/lab/faults"):
                return json_reply(201, self.faults.add(json.loads(body or b"null")).to_json())
            if route == ("DELETE", "/lab/faults"):
                self.faults.clear()
                return json_reply(200, {"cleared": True})
            if route == ("GET", "/lab/requests"):
                return json_reply(200, self.requests.snapshot())
            if route == ("POST", "/lab/requests/reset"):
                self.requests.reset()
                return json_reply(200, {"reset": True})
        except (LabError, json.JSONDecodeError) as error:
            return json_reply(400, {"error": str(error)})
        return json_reply(404, {"error": f"no lab endpoint {method} {path}"})


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, and '100 Continue' for pycurl's large POSTs
    server_version = "ovirt-fake/1"
    sys_version = ""
    timeout = 120  # idle keep-alive connections give their thread back

    server: "FakeServer"

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        reply = self.server.app.handle(self.command, self.path, self.headers, body)
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(len(reply.body)))
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(reply.body)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _serve

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002  (stdlib signature)
        if self.server.app.verbose:
            super().log_message(format, *args)


class FakeServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, port: int, app: App, tls: ssl.SSLContext) -> None:
        super().__init__(("127.0.0.1", port), Handler)
        self.app = app
        self.tls = tls

    def get_request(self) -> tuple[socket.socket, Any]:
        # The TLS handshake happens in the connection's own thread (finish_request),
        # so a slow or failing client never blocks accept().
        sock, address = super().get_request()
        return self.tls.wrap_socket(sock, server_side=True, do_handshake_on_connect=False), address

    def finish_request(self, request: Any, client_address: Any) -> None:
        try:
            request.settimeout(10)
            request.do_handshake()
        except (ssl.SSLError, OSError) as error:
            if self.app.verbose:
                print(f"TLS handshake with {client_address} failed: {error}", file=sys.stderr)
            return
        super().finish_request(request, client_address)

    def handle_error(self, request: Any, client_address: Any) -> None:
        error = sys.exc_info()[1]
        if isinstance(error, (ConnectionError, ssl.SSLError, TimeoutError)) and not self.app.verbose:
            return  # clients hanging up (timeouts, wrong CA) are normal in fault tests
        super().handle_error(request, client_address)
