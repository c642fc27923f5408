# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ovirt_kubevirt.bridge contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Connection to the Kubernetes API: a configured ApiClient and a DynamicClient.

Follows kubernetes.core's precedence: explicit host/api_key/ca_cert override
the kubeconfig (given or default); with neither, the in-cluster config.
"""
from __future__ import annotations

import base64
import binascii
import json
import os
import time
from typing import Any, Dict, List, Optional, Tuple

from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.common.errors import (
    ApiError,
    InputError,
    MissingLibraryError,
)

try:
    import kubernetes
    from kubernetes import client as k8s_client_lib
    from kubernetes import config as k8s_config_lib
    from kubernetes.dynamic import DynamicClient
    KUBERNETES_IMPORT_ERROR: Optional[str] = None
except Exception as exc:  # pylint: disable=broad-except
    kubernetes = k8s_client_lib = k8s_config_lib = None  # type: ignore[assignment]
    DynamicClient = None  # type: ignore[assignment,misc]
    KUBERNETES_IMPORT_ERROR = f"{type(exc).__name__}: {exc}"

DEFAULT_KUBECONFIG = "~/.kube/config"


def require_kubernetes() -> Any:
    if kubernetes is None:
        raise MissingLibraryError("kubernetes", KUBERNETES_IMPORT_ERROR)
    return kubernetes


def connection_warnings(params: Dict[str, Any]) -> List[str]:
    if params.get("validate_certs") is False:
        return ["validate_certs is false: the Kubernetes API server's TLS certificate is not verified"]
    return []


def build_configuration(params: Dict[str, Any]) -> Any:
    """A kubernetes.client.Configuration from the module's connection options."""
    require_kubernetes()
    configuration = k8s_client_lib.Configuration()
    kubeconfig = params.get("kubeconfig")
    default_path = os.path.expanduser(DEFAULT_KUBECONFIG)
    if isinstance(kubeconfig, dict):
        k8s_config_lib.load_kube_config_from_dict(
            kubeconfig, context=params.get("context"), client_configuration=configuration
        )
    elif kubeconfig or (not params.get("host") and os.path.exists(default_path)):
        path = os.path.expanduser(kubeconfig or default_path)
        if not os.path.exists(path):
            raise InputError(f"kubeconfig {path} does not exist (from the kubeconfig option or K8S_AUTH_KUBECONFIG)")
        k8s_config_lib.load_kube_config(config_file=path, context=params.get("context"), client_configuration=configuration)
    elif not params.get("host"):
        try:
            k8s_config_lib.load_incluster_config(client_configuration=configuration)
        except k8s_config_lib.ConfigException as exc:
            raise InputError(
                "no Kubernetes connection: set host and api_key (K8S_AUTH_HOST, K8S_AUTH_API_KEY) "
                f"or kubeconfig (K8S_AUTH_KUBECONFIG); in-cluster configuration failed too: {exc}"
            ) from exc
    _apply_overrides(configuration, params)
    return configuration


def _apply_overrides(configuration: Any, params: Dict[str, Any]) -> None:
    if params.get("host"):
        configuration.host = params["host"].rstrip("/")
    if params.get("api_key"):
        # The explicit token wins over any kubeconfig credential: set it under every key the
        # client versions read, and drop the kubeconfig's refresh hook, which would put its own token back.
        token = f"Bearer {params['api_key']}"
        configuration.api_key = {"BearerToken": token, "authorization": token}
        configuration.api_key_prefix = {}
        configuration.refresh_api_key_hook = None
    if params.get("ca_cert"):
        ca_path = os.path.expanduser(params["ca_cert"])
        if not os.path.exists(ca_path):
            raise InputError(f"ca_cert {ca_path} does not exist (from the ca_cert option or K8S_AUTH_SSL_CA_CERT)")
        configuration.ssl_ca_cert = ca_path
    if params.get("validate_certs") is not None:
        configuration.verify_ssl = bool(params["validate_certs"])


# The connection parameter (not a module option) for how long to wait out an API server that is away.
API_WAIT_KEY = "api_wait_s"
UNAVAILABLE_WINDOW_S = 60
# Answers of an API server that is restarting or overloaded, not of a request that is wrong.
TRANSIENT_STATUSES = (429, 502, 503, 504)
WAIT_BACKOFF_S = (0.1, 0.2, 0.5, 1.0, 2.0)


def untrusted_certificate(exc: BaseException) -> bool:
    text = str(exc)
    return "CERTIFICATE_VERIFY_FAILED" in text or "certificate verify failed" in text


def unreachable_error(exc: BaseException, what: str) -> ApiError:
    """An error for a transport failure, telling how to fix an untrusted certificate."""
    text = str(exc)
    if untrusted_certificate(exc):
        return ApiError(
            f"{what}: the Kubernetes API server's certificate is not trusted ({text[:300]}); pass its CA with "
            "ca_cert (K8S_AUTH_SSL_CA_CERT) or a kubeconfig that names it"
        )
    return ApiError(f"{what}: the Kubernetes API is unreachable: {text[:500]}")


def wait_window_s(params: Dict[str, Any]) -> float:
    return float(params.get(API_WAIT_KEY) or UNAVAILABLE_WINDOW_S)


def connect(params: Dict[str, Any]) -> Tuple[Any, List[str]]:
    """A DynamicClient and the warnings its settings deserve; an API server that is away is waited for."""
    configuration = build_configuration(params)
    api_client = k8s_client_lib.ApiClient(configuration)
    began = time.monotonic()
    failures = 0
    while True:
        try:
            # DynamicClient reads the server's discovery documents right away.
            client = DynamicClient(api_client)
            break
        except Exception as exc:  # pylint: disable=broad-except  # urllib3, ssl and API errors alike
            status = getattr(exc, "status", None)
            waited = time.monotonic() - began
            retry = status in TRANSIENT_STATUSES if status else not untrusted_certificate(exc)
            if retry and waited < wait_window_s(params):
                time.sleep(WAIT_BACKOFF_S[min(failures, len(WAIT_BACKOFF_S) - 1)])
                failures += 1
                continue
            away = f" (for {waited:.0f} s)" if retry else ""
            if status:
                raise ApiError(f"connecting to {configuration.host}: the Kubernetes API answered {status}{away}: "
                               f"{getattr(exc, 'reason', '')}", status=status) from exc
            error = unreachable_error(exc, f"connecting to {configuration.host}{away}")
            raise error from exc
    return client, connection_warnings(params)


def service_account_namespace(configuration: Any) -> Optional[str]:
    """The namespace of the ServiceAccount whose token the client sends, or None.

    Read from the token's claims without checking them (the API server does):
    it only tells where a namespace-scoped token may look.
    """
    keys = getattr(configuration, "api_key", None) or {}
    token = str(keys.get("authorization") or keys.get("BearerToken") or "").rsplit(" ", maxsplit=1)[-1]
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except (ValueError, binascii.Error):
        return None
    if not isinstance(claims, dict):
        return None
    bound = claims.get("kubernetes.io")
    namespace = bound.get("namespace") if isinstance(bound, dict) else claims.get("kubernetes.io/serviceaccount/namespace")
    return namespace if isinstance(namespace, str) and namespace else None
