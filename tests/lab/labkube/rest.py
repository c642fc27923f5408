"""A small thread-safe Kubernetes REST client: JSON dicts in and out over urllib3.

The generated kubernetes client turns every object into models, which costs
more than the simulator's whole reconcile for thousands of VMIs; this keeps one
connection pool and hands back plain dicts.
"""
from __future__ import annotations

import base64
import json
import ssl
import tempfile
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import urllib3
import yaml


@dataclass(frozen=True)
class Resource:
    group: str
    version: str
    plural: str
    kind: str
    namespaced: bool = True

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    def path(self, namespace: str | None = None, name: str | None = None, sub: str | None = None) -> str:
        base = f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"
        if self.namespaced and namespace:
            base += f"/namespaces/{namespace}"
        base += f"/{self.plural}"
        if name:
            base += f"/{name}"
        if sub:
            base += f"/{sub}"
        return base


NODES = Resource("", "v1", "nodes", "Node", namespaced=False)
PODS = Resource("", "v1", "pods", "Pod")
SERVICE_ACCOUNTS = Resource("", "v1", "serviceaccounts", "ServiceAccount")
CONFIGMAPS = Resource("", "v1", "configmaps", "ConfigMap")
SECRETS = Resource("", "v1", "secrets", "Secret")
PVCS = Resource("", "v1", "persistentvolumeclaims", "PersistentVolumeClaim")
PVS = Resource("", "v1", "persistentvolumes", "PersistentVolume", namespaced=False)
STORAGE_CLASSES = Resource("storage.k8s.io", "v1", "storageclasses", "StorageClass", namespaced=False)
KUBEVIRTS = Resource("kubevirt.io", "v1", "kubevirts", "KubeVirt")
DATAVOLUMES = Resource("cdi.kubevirt.io", "v1beta1", "datavolumes", "DataVolume")
NAMESPACES = Resource("", "v1", "namespaces", "Namespace", namespaced=False)
SERVICES = Resource("", "v1", "services", "Service")
EVENTS = Resource("", "v1", "events", "Event")
LEASES = Resource("coordination.k8s.io", "v1", "leases", "Lease")
APISERVICES = Resource("apiregistration.k8s.io", "v1", "apiservices", "APIService", namespaced=False)
SUBJECT_ACCESS_REVIEWS = Resource("authorization.k8s.io", "v1", "subjectaccessreviews", "SubjectAccessReview",
                                  namespaced=False)
VMS = Resource("kubevirt.io", "v1", "virtualmachines", "VirtualMachine")
VMIS = Resource("kubevirt.io", "v1", "virtualmachineinstances", "VirtualMachineInstance")
VMIMS = Resource("kubevirt.io", "v1", "virtualmachineinstancemigrations", "VirtualMachineInstanceMigration")


def as_obj(value: Any) -> dict[str, Any]:
    """A decoded answer as an object (an empty one when the server sent no JSON object)."""
    return value if isinstance(value, dict) else {}


class ApiError(Exception):
    """A non-2xx answer; ``body`` is the Kubernetes Status when there is one."""

    def __init__(self, status: int, body: Any, method: str = "", path: str = "") -> None:
        self.status = status
        self.body = body if isinstance(body, dict) else {"message": str(body)[:500]}
        super().__init__(f"{method} {path}: HTTP {status}: {self.body.get('message', '')}")

    @property
    def reason(self) -> str:
        return str(self.body.get("reason") or "")

    @property
    def message(self) -> str:
        return str(self.body.get("message") or "")


def is_status(err: BaseException, *codes: int) -> bool:
    return isinstance(err, ApiError) and err.status in codes


@dataclass
class Credentials:
    server: str
    ca_file: str | None = None
    insecure: bool = False
    token: str | None = None
    cert_file: str | None = None
    key_file: str | None = None


def load_kubeconfig(path: str | Path) -> Credentials:
    """The current context of a kubeconfig (files or inline -data, token or client cert)."""
    path = Path(path)
    config = yaml.safe_load(path.read_text())
    ctx_name = config.get("current-context")
    contexts = {c["name"]: c["context"] for c in config.get("contexts") or []}
    ctx = contexts[ctx_name] if ctx_name in contexts else next(iter(contexts.values()))
    cluster = {c["name"]: c["cluster"] for c in config["clusters"]}[ctx["cluster"]]
    user = {u["name"]: u.get("user") or {} for u in config.get("users") or []}.get(ctx.get("user"), {})
    scratch: list[str] = []

    def file_of(entry: dict[str, Any], key: str) -> str | None:
        if entry.get(f"{key}-data"):
            if not scratch:
                scratch.append(tempfile.mkdtemp(prefix="labkube-"))
            target = Path(scratch[0]) / key
            target.touch(mode=0o600)
            target.write_bytes(base64.b64decode(entry[f"{key}-data"]))
            return str(target)
        if entry.get(key):
            return str((path.parent / entry[key]).resolve())
        return None

    token = user.get("token")
    if not token and user.get("tokenFile"):
        token = Path(user["tokenFile"]).read_text().strip()
    return Credentials(
        server=cluster["server"].rstrip("/"),
        ca_file=file_of(cluster, "certificate-authority"),
        insecure=bool(cluster.get("insecure-skip-tls-verify")),
        token=token,
        cert_file=file_of(user, "client-certificate"),
        key_file=file_of(user, "client-key"),
    )


class Kube:
    """JSON over one keep-alive pool; safe to share between threads."""

    def __init__(self, creds: Credentials, pool_size: int = 24, user_agent: str = "ovirt-kubevirt-lab") -> None:
        url = urllib.parse.urlsplit(creds.server)
        ctx = ssl.create_default_context(cafile=creds.ca_file)
        if creds.insecure:
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        if creds.cert_file:
            ctx.load_cert_chain(creds.cert_file, creds.key_file)
        # "*/*" too, as kubectl: go-restful answers 406 when a route produces nothing and Accept names a type.
        self._headers = {"Accept": "application/json, */*", "User-Agent": user_agent}
        if creds.token:
            self._headers["Authorization"] = f"Bearer {creds.token}"
        self._pool = urllib3.HTTPSConnectionPool(
            url.hostname or "localhost", url.port or 443, maxsize=pool_size, block=False, ssl_context=ctx,
            retries=False,
        )
        self.server = creds.server

    @classmethod
    def from_kubeconfig(cls, path: str | Path, user_agent: str = "ovirt-kubevirt-lab") -> Kube:
        return cls(load_kubeconfig(path), user_agent=user_agent)

    def with_token(self, token: str, user_agent: str | None = None) -> Kube:
        """The same server and CA with another bearer token (another identity)."""
        other = Kube.__new__(Kube)
        other.__dict__.update(self.__dict__)
        other._headers = dict(self._headers, Authorization=f"Bearer {token}")
        if user_agent:
            other._headers["User-Agent"] = user_agent
        return other

    def request(self, method: str, path: str, body: Any = None, query: dict[str, Any] | None = None,
                content_type: str = "application/json", timeout: float = 30.0) -> Any:
        url = path + ("?" + urllib.parse.urlencode(query, doseq=True) if query else "")
        headers = dict(self._headers)
        data = None
        if body is not None:
            data = json.dumps(body, separators=(",", ":")).encode()
            headers["Content-Type"] = content_type
        resp = self._pool.urlopen(method, url, body=data, headers=headers,
                                  timeout=urllib3.Timeout(connect=5.0, read=timeout), retries=False)
        payload = resp.data
        try:
            decoded = json.loads(payload) if payload else {}
        except ValueError:
            decoded = payload.decode(errors="replace")
        if not 200 <= resp.status < 300:
            raise ApiError(resp.status, decoded, method, url)
        return decoded

    # ------------------------------------------------------------- verbs

    def get(self, res: Resource, namespace: str | None, name: str) -> dict[str, Any]:
        return as_obj(self.request("GET", res.path(namespace, name)))

    def get_or_none(self, res: Resource, namespace: str | None, name: str) -> dict[str, Any] | None:
        try:
            return self.get(res, namespace, name)
        except ApiError as err:
            if err.status == 404:
                return None
            raise

    def create(self, res: Resource, namespace: str | None, body: dict[str, Any], dry_run: bool = False) -> dict[str, Any]:
        body.setdefault("apiVersion", res.api_version)
        body.setdefault("kind", res.kind)
        return as_obj(self.request("POST", res.path(namespace), body, {"dryRun": "All"} if dry_run else None))

    def replace(self, res: Resource, obj: dict[str, Any], sub: str | None = None) -> dict[str, Any]:
        meta = obj["metadata"]
        return as_obj(self.request("PUT", res.path(meta.get("namespace"), meta["name"], sub), obj))

    def patch(self, res: Resource, namespace: str | None, name: str, patch: Any, sub: str | None = None,
              kind: str = "merge") -> dict[str, Any]:
        ctype = {"merge": "application/merge-patch+json", "json": "application/json-patch+json",
                 "strategic": "application/strategic-merge-patch+json"}[kind]
        return as_obj(self.request("PATCH", res.path(namespace, name, sub), patch, content_type=ctype))

    def delete(self, res: Resource, namespace: str | None, name: str, uid: str | None = None,
               grace: int | None = None) -> dict[str, Any] | None:
        """Delete (optionally only that uid); None when it is already gone."""
        options: dict[str, Any] = {"kind": "DeleteOptions", "apiVersion": "v1"}
        if uid:
            options["preconditions"] = {"uid": uid}
        if grace is not None:
            options["gracePeriodSeconds"] = grace
        try:
            return as_obj(self.request("DELETE", res.path(namespace, name), options))
        except ApiError as err:
            # 409 with a uid precondition: that object is gone, a new one took the name.
            if err.status == 404 or (uid and err.status == 409):
                return None
            raise

    def list(self, res: Resource, namespace: str | None = None, limit: int = 500,
             selectors: dict[str, str] | None = None) -> tuple[list[dict[str, Any]], str]:
        """All items (paginated) and the list's resourceVersion.

        ``selectors``: ``labelSelector`` and/or ``fieldSelector`` query values."""
        items: list[dict[str, Any]] = []
        query: dict[str, Any] = {"limit": limit, **(selectors or {})}
        while True:
            page = self.request("GET", res.path(namespace), query=query, timeout=60.0)
            items.extend(page.get("items") or [])
            cont = (page.get("metadata") or {}).get("continue")
            if not cont:
                return items, page["metadata"]["resourceVersion"]
            query["continue"] = cont

    def watch(self, res: Resource, resource_version: str, timeout_s: int = 240,
              selectors: dict[str, str] | None = None, namespace: str | None = None) -> Iterator[dict[str, Any]]:
        """Watch events from ``resource_version`` until the server ends the stream."""
        query = {"watch": "1", "resourceVersion": resource_version, "allowWatchBookmarks": "true",
                 "timeoutSeconds": str(timeout_s), **(selectors or {})}
        url = res.path(namespace) + "?" + urllib.parse.urlencode(query)
        resp = self._pool.urlopen("GET", url, headers=self._headers, preload_content=False, retries=False,
                                  timeout=urllib3.Timeout(connect=5.0, read=timeout_s + 30))
        try:
            if resp.status != 200:
                payload = resp.read()
                try:
                    body: Any = json.loads(payload)
                except ValueError:
                    body = payload.decode(errors="replace")
                raise ApiError(resp.status, body, "WATCH", url)
            for line in resp:
                if line.strip():
                    yield json.loads(line)
        finally:
            # A watch connection is never reused: the stream may have been cut mid-chunk.
            resp.close()
            resp.release_conn()
