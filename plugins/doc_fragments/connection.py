# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ovirt_kubevirt.bridge contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Documentation of the shared connection options (see module_utils/_ansible/args.py)."""
from __future__ import annotations


class ModuleDocFragment:
    OVIRT = r"""
options:
  auth:
    description:
      - Connection to the oVirt engine API.
      - Each key falls back to an environment variable, so C(module_defaults) or the
        environment can set it once for every task.
    type: dict
    suboptions:
      url:
        description:
          - The engine API URL, for example V(https://engine.example.com/ovirt-engine/api).
          - Falls back to E(OVIRT_URL).
        type: str
      username:
        description:
          - The user name, for example V(admin@internal). Falls back to E(OVIRT_USERNAME).
        type: str
      password:
        description:
          - The password of O(auth.username). Falls back to E(OVIRT_PASSWORD).
        type: str
      token:
        description:
          - An SSO token to use instead of O(auth.username) and O(auth.password).
          - Falls back to E(OVIRT_TOKEN).
        type: str
      ca_file:
        description:
          - PEM file of the CA that signed the engine's certificate.
          - Falls back to E(OVIRT_CAFILE). Without it the system trust store is used.
        type: path
      insecure:
        description:
          - Skip TLS certificate verification. Never use it in production; the module warns when it is set.
          - Falls back to E(OVIRT_INSECURE).
        type: bool
        default: false
      timeout:
        description:
          - Seconds to wait for each engine API request.
        type: int
        default: 120
      headers:
        description:
          - Extra HTTP headers sent with every engine request.
        type: dict
"""

    KUBERNETES = r"""
options:
  host:
    description:
      - The Kubernetes API server URL. Falls back to E(K8S_AUTH_HOST).
    type: str
  api_key:
    description:
      - A bearer token for the Kubernetes API. Falls back to E(K8S_AUTH_API_KEY).
    type: str
  kubeconfig:
    description:
      - Path to a kubeconfig file, or the kubeconfig itself as a dict.
      - Falls back to E(K8S_AUTH_KUBECONFIG). Treated as a secret, as it may hold credentials.
    type: raw
  context:
    description:
      - The kubeconfig context to use. Falls back to E(K8S_AUTH_CONTEXT).
    type: str
  ca_cert:
    description:
      - PEM file of the CA that signed the API server's certificate.
      - Falls back to E(K8S_AUTH_SSL_CA_CERT).
    type: path
    aliases: [ssl_ca_cert]
  validate_certs:
    description:
      - Verify the API server's TLS certificate. Verification is on unless this is set
        to V(false), and the module warns when it is off.
      - Falls back to E(K8S_AUTH_VERIFY_SSL).
    type: bool
    aliases: [verify_ssl]
"""
