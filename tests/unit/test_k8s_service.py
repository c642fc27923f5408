# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ovirt_kubevirt.bridge contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""KubeService's raw requests, as the API server sees them."""
from __future__ import annotations

from types import SimpleNamespace

from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.clients.k8s_service import KubeService


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
