"""A fake oVirt engine REST API for the lab, driven by the real ovirtsdk4.

Bodies are read and written with the SDK's own readers and writers, so what
the collection sees is exactly what the SDK produces from engine XML. State
comes from the lab topology and survives restarts (DIR/state.json).

Run it with ``python -m ovirt_fake --help`` (PYTHONPATH=tests/lab).
"""
from __future__ import annotations

API_PREFIX = "/ovirt-engine/api"
SSO_TOKEN_PATH = "/ovirt-engine/sso/oauth/token"
# The SDK revokes its token here on connection.close(); older SDKs used the
# OAuth revoke endpoint, so both are answered.
SSO_LOGOUT_PATHS = ("/ovirt-engine/services/sso-logout", "/ovirt-engine/sso/oauth/revoke")
LAB_PREFIX = "/lab/"
