# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ovirt_kubevirt.bridge contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Shared argument specs: the oVirt ``auth`` dict, the Kubernetes options, and vm_run's placement.

One place for both, each with its environment fallbacks, so that every module
takes the same connection options and ``module_defaults`` for the
``group/ovirt_kubevirt.bridge.all`` action group sets them once.
"""
from __future__ import annotations

import copy
from typing import Any, Dict

from ansible.module_utils.basic import env_fallback

from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.clients import k8s_client

OVIRT_AUTH_SPEC: Dict[str, Any] = {
    "auth": {
        "type": "dict",
        "apply_defaults": True,
        "options": {
            "url": {"type": "str", "fallback": (env_fallback, ["OVIRT_URL"])},
            "username": {"type": "str", "fallback": (env_fallback, ["OVIRT_USERNAME"])},
            "password": {"type": "str", "no_log": True, "fallback": (env_fallback, ["OVIRT_PASSWORD"])},
            "token": {"type": "str", "no_log": True, "fallback": (env_fallback, ["OVIRT_TOKEN"])},
            "ca_file": {"type": "path", "fallback": (env_fallback, ["OVIRT_CAFILE"])},
            "insecure": {"type": "bool", "default": False, "fallback": (env_fallback, ["OVIRT_INSECURE"])},
            "timeout": {"type": "int", "default": 120},
            "headers": {"type": "dict"},
        },
    },
}

K8S_AUTH_SPEC: Dict[str, Any] = {
    "host": {"type": "str", "fallback": (env_fallback, ["K8S_AUTH_HOST"])},
    "api_key": {"type": "str", "no_log": True, "fallback": (env_fallback, ["K8S_AUTH_API_KEY"])},
    # A kubeconfig may be given inline as a dict holding credentials.
    "kubeconfig": {"type": "raw", "no_log": True, "fallback": (env_fallback, ["K8S_AUTH_KUBECONFIG"])},
    "context": {"type": "str", "fallback": (env_fallback, ["K8S_AUTH_CONTEXT"])},
    "ca_cert": {"type": "path", "aliases": ["ssl_ca_cert"], "fallback": (env_fallback, ["K8S_AUTH_SSL_CA_CERT"])},
    "validate_certs": {"type": "bool", "aliases": ["verify_ssl"], "fallback": (env_fallback, ["K8S_AUTH_VERIFY_SSL"])},
}


# Where vm_run puts a VM started in KubeVirt; vm_run_wait's ovirt_rerun takes the same, to place it again.
PLACEMENT_SPEC: Dict[str, Any] = {
    "storage_map": {"type": "dict", "default": {}},
    "network_map": {"type": "dict", "default": {}},
    "node_map": {"type": "dict", "default": {}},
    "host_device_map": {"type": "dict", "default": {}},
    "policy": {"type": "str", "choices": ["even_distribution", "power_saving", "vm_count"], "default": "even_distribution"},
}


def placement_argument_spec() -> Dict[str, Any]:
    """vm_run's placement options, copied so a module can nest or extend them safely."""
    return copy.deepcopy(PLACEMENT_SPEC)


def connection_argument_spec() -> Dict[str, Any]:
    """Both connection option sets, copied so a module can extend them safely."""
    spec: Dict[str, Any] = copy.deepcopy(OVIRT_AUTH_SPEC)
    spec.update(copy.deepcopy(K8S_AUTH_SPEC))
    return spec


def k8s_params(params: Dict[str, Any]) -> Dict[str, Any]:
    """The Kubernetes connection options out of a module's validated params, and how long to wait out an API
    server that is away: the module's timeout when it has one."""
    connection = {key: params.get(key) for key in K8S_AUTH_SPEC}
    if params.get("timeout"):
        connection[k8s_client.API_WAIT_KEY] = params["timeout"]
    return connection
