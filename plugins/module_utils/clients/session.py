# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ovirt_kubevirt.bridge contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One module run's connections: the oVirt engine, the Kubernetes API, or both.

``open_session`` connects to what the run uses, gathers the connection
warnings (TLS verification turned off), and closes the engine connection at
the end, logging out only a session it opened itself: a token the user gave
is never revoked (ovirt_client.owns_session).
"""
from __future__ import annotations

import contextlib
import dataclasses
from typing import Any, Callable, Dict, Iterator, List, Optional

from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.clients import k8s_client, ovirt_client
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.clients.k8s_service import KubeService
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.clients.ovirt_service import OvirtService
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.common.errors import BridgeError

OVIRT = "ovirt"
KUBERNETES = "kubernetes"
BOTH = (OVIRT, KUBERNETES)


@dataclasses.dataclass
class Session:
    """The services of one module run; a service the run does not use is None."""

    ovirt_auth: Optional[Dict[str, Any]]
    ovirt_service: Optional[OvirtService] = None
    kube_service: Optional[KubeService] = None
    warnings: List[str] = dataclasses.field(default_factory=list)

    @property
    def ovirt(self) -> OvirtService:
        if self.ovirt_service is None:
            raise BridgeError("this run has no oVirt engine connection")
        return self.ovirt_service

    @property
    def kube(self) -> KubeService:
        if self.kube_service is None:
            raise BridgeError("this run has no Kubernetes connection")
        return self.kube_service

    def ovirt_connector(self) -> Callable[[], OvirtService]:
        """Opens one more engine connection, for calls run in parallel (ovirt_service.run_parallel)."""
        return ovirt_connector(self.ovirt_auth)


def ovirt_connector(auth: Optional[Dict[str, Any]]) -> Callable[[], OvirtService]:
    return lambda: OvirtService(ovirt_client.connect(auth)[0], logout=ovirt_client.owns_session(auth))


@contextlib.contextmanager
def open_session(auth: Optional[Dict[str, Any]], k8s: Optional[Dict[str, Any]],
                 uses: "tuple[str, ...]" = BOTH) -> Iterator[Session]:
    """Connect to the APIs in ``uses`` (Kubernetes first: it needs no logout if the engine then fails)."""
    session = Session(ovirt_auth=auth)
    if KUBERNETES in uses:
        client, warnings = k8s_client.connect(k8s or {})
        session.kube_service = KubeService(client)
        session.warnings += warnings
    if OVIRT in uses:
        connection, warnings = ovirt_client.connect(auth)
        session.ovirt_service = OvirtService(connection, logout=ovirt_client.owns_session(auth))
        session.warnings = warnings + session.warnings
    try:
        yield session
    finally:
        if session.ovirt_service is not None:
            session.ovirt_service.close()
