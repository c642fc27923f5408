# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ovirt_kubevirt.bridge contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A session with both APIs, as most modules use (see clients.session)."""
from __future__ import annotations

import contextlib
from typing import Iterator

from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.clients.kube_session import connect_kube
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.clients.ovirt_session import connect_ovirt, ovirt_closed
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.clients.session import Params, Session


@contextlib.contextmanager
def open_session(auth: Params, k8s: Params) -> Iterator[Session]:
    """Kubernetes first: it needs no logout if the engine then fails."""
    session = Session()
    connect_kube(session, k8s)
    connect_ovirt(session, auth)
    with ovirt_closed(session):
        yield session
