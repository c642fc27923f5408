# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ovirt_kubevirt.bridge contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Connection to the oVirt engine API through ovirtsdk4."""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Tuple

from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.common.errors import (
    ApiError,
    InputError,
    MissingLibraryError,
)

try:
    import ovirtsdk4
    OVIRTSDK_IMPORT_ERROR: Optional[str] = None
except Exception as exc:  # pylint: disable=broad-except  # pycurl may fail to load with any error
    ovirtsdk4 = None
    OVIRTSDK_IMPORT_ERROR = f"{type(exc).__name__}: {exc}"


def require_ovirtsdk() -> Any:
    """The ovirtsdk4 package, or an error naming the missing piece (SDK or pycurl)."""
    if ovirtsdk4 is None:
        error = OVIRTSDK_IMPORT_ERROR or ""
        library = "pycurl" if "pycurl" in error else "ovirt-engine-sdk-python"
        raise MissingLibraryError(library, error)
    return ovirtsdk4


def connection_warnings(auth: Dict[str, Any]) -> List[str]:
    if auth.get("insecure"):
        return ["auth.insecure is set: the oVirt engine's TLS certificate is not verified"]
    return []


def check_auth(auth: Optional[Dict[str, Any]]) -> Dict[str, Any]:
    """Validate the auth dict before any network access; errors say what is missing."""
    auth = dict(auth or {})
    if not auth.get("url"):
        raise InputError("no oVirt engine URL: set auth.url or the OVIRT_URL environment variable")
    if not auth.get("token") and not (auth.get("username") and auth.get("password")):
        raise InputError(
            "no oVirt credentials: set auth.username and auth.password (OVIRT_USERNAME, OVIRT_PASSWORD) "
            "or auth.token (OVIRT_TOKEN)"
        )
    return auth


def connect(auth: Optional[Dict[str, Any]]) -> Tuple[Any, List[str]]:
    """An open ovirtsdk4 Connection and the warnings its settings deserve."""
    sdk = require_ovirtsdk()
    auth = check_auth(auth)
    try:
        connection = sdk.Connection(
            url=auth["url"],
            username=auth.get("username"),
            password=auth.get("password"),
            token=auth.get("token"),
            ca_file=auth.get("ca_file"),
            insecure=bool(auth.get("insecure")),
            timeout=int(auth.get("timeout") or 120),
            headers=auth.get("headers"),
        )
    except sdk.Error as exc:
        raise ApiError(f"cannot connect to the oVirt engine at {auth['url']}: {describe_error(exc)}") from exc
    return connection, connection_warnings(auth)


def describe_error(exc: BaseException) -> str:
    """The engine's fault reason and detail, with a hint for TLS trust failures."""
    text = str(exc)
    if any(sign in text for sign in ("SSL certificate problem", "certificate verify failed", "SSL certificate OpenSSL verify")):
        text += (
            "; the engine's certificate is not trusted: pass its CA with auth.ca_file (OVIRT_CAFILE), "
            "or, only for a test engine, set auth.insecure"
        )
    elif "timed out" in text or "Timeout was reached" in text:
        text += (
            " (auth.timeout); a write may still complete on the engine: rerun the task, which reads before it "
            "repeats anything"
        )
    return text


def owns_session(auth: Optional[Dict[str, Any]]) -> bool:
    """Whether closing a connection made with ``auth`` may log out: only a session it opened with a password.

    A token the user gave (auth.token, OVIRT_TOKEN, or ovirt_auth's) belongs to the user and stays valid.
    """
    return not (auth or {}).get("token")
