# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ovirt_kubevirt.bridge contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One module run's connections: the oVirt engine, the Kubernetes API, both or neither.

A module hands ``run_module`` the opener for what it uses, and ships only
those clients: ``full_session.open_session`` (both), ``kube_session.
open_kube_session``, ``ovirt_session.open_ovirt_session``, or
``open_no_session`` here for a run that needs no API. Each opener gathers the
connection warnings (TLS verification turned off) and closes the engine
connection at the end, logging out only a session it opened itself: a token
the user gave is never revoked (ovirt_client.owns_session).
"""
from __future__ import annotations

import contextlib
import dataclasses
from typing import Any, Callable, ContextManager, Dict, Iterator, List, Optional

from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.common.errors import BridgeError
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.common.services import KubeApi, OvirtApi

Params = Optional[Dict[str, Any]]


@dataclasses.dataclass
class Session:
    """The services of one module run; a service the run does not use is None."""

    ovirt_service: Optional[OvirtApi] = None
    kube_service: Optional[KubeApi] = None
    warnings: List[str] = dataclasses.field(default_factory=list)
    # Opens one more engine connection, for calls run in parallel (ovirt_service.run_parallel).
    ovirt_connector: Optional[Callable[[], OvirtApi]] = None

    @property
    def ovirt(self) -> OvirtApi:
        if self.ovirt_service is None:
            raise BridgeError("this run has no oVirt engine connection")
        return self.ovirt_service

    @property
    def kube(self) -> KubeApi:
        if self.kube_service is None:
            raise BridgeError("this run has no Kubernetes connection")
        return self.kube_service

    def more_ovirt_connections(self) -> Callable[[], OvirtApi]:
        if self.ovirt_connector is None:
            raise BridgeError("this run has no oVirt engine connection")
        return self.ovirt_connector


# What run_module takes: the oVirt auth dict and the Kubernetes options to a session for one run.
Opener = Callable[[Params, Params], ContextManager[Session]]


@contextlib.contextmanager
def open_no_session(auth: Params, k8s: Params) -> Iterator[Session]:
    """A run that reaches no API (a domxml given inline or as a file)."""
    yield Session()
