# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ovirt_kubevirt.bridge contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The readiness filter: clusters | ovirt_kubevirt.bridge.unready_hosts(names)."""
from __future__ import annotations

from typing import Any, Callable, Dict, List, Optional, Sequence

from ansible.errors import AnsibleFilterError

from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.model import hosts


def unready_hosts(clusters: Any, names: Optional[Sequence[str]] = None) -> List[str]:
    """The up hosts of the named clusters that are not a Ready Kubernetes node."""
    if not isinstance(clusters, list) or not all(isinstance(c, dict) for c in clusters):
        raise AnsibleFilterError("unready_hosts: expected the clusters list of cluster_type_info")
    return hosts.unready_hosts(clusters, names)


class FilterModule:
    def filters(self) -> Dict[str, Callable[..., Any]]:
        return {"unready_hosts": unready_hosts}
