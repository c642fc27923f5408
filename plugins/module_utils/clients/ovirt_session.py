# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ovirt_kubevirt.bridge contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A session with the oVirt engine only (see clients.session)."""
from __future__ import annotations

import contextlib
from typing import Callable, Iterator

from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.clients import ovirt_client
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.clients.ovirt_service import OvirtService
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.clients.session import Params, Session
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.common.services import OvirtApi


def ovirt_connector(auth: Params) -> Callable[[], OvirtApi]:
    """Opens one more engine connection with the same credentials; a user's token is never logged out."""
    return lambda: OvirtService(ovirt_client.connect(auth)[0], logout=ovirt_client.owns_session(auth))


def connect_ovirt(session: Session, auth: Params) -> None:
    """Add the engine service and its connection warnings (first) to the session."""
    connection, warnings = ovirt_client.connect(auth)
    session.ovirt_service = OvirtService(connection, logout=ovirt_client.owns_session(auth))
    session.ovirt_connector = ovirt_connector(auth)
    session.warnings = warnings + session.warnings


@contextlib.contextmanager
def ovirt_closed(session: Session) -> Iterator[Session]:
    """Yield the session, closing its engine connection at the end."""
    try:
        yield session
    finally:
        if session.ovirt_service is not None:
            session.ovirt_service.close()


@contextlib.contextmanager
def open_ovirt_session(auth: Params, k8s: Params) -> Iterator[Session]:
    session = Session()
    connect_ovirt(session, auth)
    with ovirt_closed(session):
        yield session
