# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ovirt_kubevirt.bridge contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A session with the Kubernetes API only (see clients.session)."""
from __future__ import annotations

import contextlib
from typing import Iterator

from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.clients import k8s_client
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.clients.k8s_service import KubeService
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.clients.session import Params, Session


def connect_kube(session: Session, k8s: Params) -> None:
    """Add the Kubernetes service and its connection warnings to the session."""
    client, warnings = k8s_client.connect(k8s or {})
    session.kube_service = KubeService(client, unavailable_window_s=k8s_client.wait_window_s(k8s or {}))
    session.warnings += warnings


@contextlib.contextmanager
def open_kube_session(auth: Params, k8s: Params) -> Iterator[Session]:
    session = Session()
    connect_kube(session, k8s)
    yield session
