# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ovirt_kubevirt.bridge contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The scheduler filter: hosts | ovirt_kubevirt.bridge.schedule(representation)."""
from __future__ import annotations

from typing import Any, Callable, Dict

from ansible.errors import AnsibleFilterError

from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.common.errors import BridgeError
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.scheduling import scheduler


def schedule(hosts: Any, representation: Any, policy: str = scheduler.DEFAULT_POLICY, fail_on_no_host: bool = True) -> Any:
    """Rank the hosts for one representation, or for a list of them as one batch."""
    if not isinstance(hosts, list):
        raise AnsibleFilterError(f"schedule: expected a list of hosts, got {type(hosts).__name__}")
    batch = isinstance(representation, list)
    try:
        parsed_hosts = [scheduler.parse_host(h) for h in hosts]
        requests = [scheduler.parse_request(r) for r in (representation if batch else [representation])]
        results = scheduler.schedule_batch(parsed_hosts, requests, policy)
        if fail_on_no_host:
            for request, result in zip(requests, results, strict=True):
                if result["host"] is None:
                    raise scheduler.no_host_error(request.name, result)
    except BridgeError as exc:
        raise AnsibleFilterError(f"schedule: {exc}") from exc
    if batch:
        return results
    results[0].pop("vm", None)
    return results[0]


class FilterModule:
    def filters(self) -> Dict[str, Callable[..., Any]]:
        return {"schedule": schedule}
