# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ovirt_kubevirt.bridge contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""KubeService's raw requests, as the API server sees them."""
from __future__ import annotations

import time
from types import SimpleNamespace

import pytest
from kubernetes.client.exceptions import ApiException
from kubernetes.dynamic.exceptions import ResourceNotFoundError

from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.clients.k8s_service import KubeService
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.common.errors import ApiError, NotFoundError


class RecordingClient:
    """The DynamicClient's request(), recording what it was asked to send."""

    def __init__(self, data: bytes = b"") -> None:
        self.calls: list = []
        self.data = data

    def request(self, method, path, body=None, **params):
        self.calls.append((method, path, body, params))
        return SimpleNamespace(data=self.data)


def test_subresource_requests_accept_any_type_as_virt_api_needs():
    """virt-api's start, stop and migrate routes declare no produced type: JSON alone gets 406 Not Acceptable."""
    client = RecordingClient()
    KubeService(client).request("PUT", "/apis/subresources.kubevirt.io/v1/namespaces/vms/virtualmachines/a/start",
                                body={})
    (_method, _path, _body, params) = client.calls[0]
    accept = [t.strip() for t in params["header_params"]["Accept"].split(",")]
    assert accept[0] == "application/json" and "*/*" in accept
    assert params["serialize"] is False


def test_a_json_answer_is_decoded_and_other_text_is_kept():
    assert KubeService(RecordingClient(b'{"major": "1"}')).request("GET", "/version") == {"major": "1"}
    assert KubeService(RecordingClient(b"ok")).request("GET", "/healthz") == {"text": "ok"}
    assert KubeService(RecordingClient()).request("PUT", "/x") == {}


class RestartingClient:
    """A DynamicClient whose API server is restarting: discovery is partial and reads are refused until it is ready."""

    def __init__(self, unready_calls: int, missing: bool = False) -> None:
        self.unready_calls = unready_calls  # how many discovery and read calls fail before it is ready
        self.missing = missing  # whether the kind is missing once it is ready
        self.readyz = 0
        self.resources = self
        self.client = SimpleNamespace(configuration=SimpleNamespace(host="https://api.example:6443"))

    def _starting(self) -> bool:
        self.unready_calls -= 1
        return self.unready_calls >= 0

    def request(self, method, path, **params):
        assert (method, path) == ("GET", "/readyz")
        self.readyz += 1
        if self.unready_calls >= 0:
            raise ApiException(status=500, reason="[-]poststarthook/crd-informer-synced failed")
        return SimpleNamespace(data=b"ok")

    def get(self, api_version=None, kind=None, name=None, namespace=None, **params):
        if kind is not None:  # discovery
            if self._starting() or self.missing:
                raise ResourceNotFoundError(f"No matches found for {{'api_version': {api_version!r}, 'kind': {kind!r}}}")
            return self
        if self._starting():
            raise ApiException(status=503, reason="Service Unavailable")
        return SimpleNamespace(to_dict=lambda: {"metadata": {"name": name}})


def test_discovery_and_reads_wait_out_an_api_server_that_is_restarting(monkeypatch):
    monkeypatch.setattr(time, "sleep", lambda _s: None)
    client = RestartingClient(unready_calls=3)
    assert KubeService(client).get("v1", "Node", "node-1") == {"metadata": {"name": "node-1"}}
    assert client.readyz >= 1


def test_a_ready_api_server_without_the_kind_is_a_missing_resource(monkeypatch):
    monkeypatch.setattr(time, "sleep", lambda _s: None)
    client = RestartingClient(unready_calls=-1, missing=True)
    with pytest.raises(NotFoundError, match="serves no VirtualMachine"):
        KubeService(client).get("kubevirt.io/v1", "VirtualMachine", "a", "vms")


def test_an_api_server_that_stays_away_is_unavailable_with_its_address_and_last_error(monkeypatch):
    clock = iter(range(0, 10_000, 5))
    monkeypatch.setattr(time, "sleep", lambda _s: None)
    monkeypatch.setattr(time, "monotonic", lambda: next(clock))
    client = RestartingClient(unready_calls=10_000)
    with pytest.raises(ApiError) as raised:
        KubeService(client, unavailable_window_s=30).get("v1", "Node", "node-1")
    message = str(raised.value)
    assert "https://api.example:6443" in message and "not ready" in message and "serves no" not in message
