# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ovirt_kubevirt.bridge contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Whether oVirt hosts can run their clusters' VMs in KubeVirt: each up host must be a Ready node."""
from __future__ import annotations

from typing import Any, Iterable, List, Mapping, Optional, Sequence


def unready_hosts(clusters: Iterable[Mapping[str, Any]], names: Optional[Sequence[str]] = None) -> List[str]:
    """The up hosts of the clusters (cluster_type_info's ``clusters``) that are not a Ready Kubernetes node.

    A host counts as not Ready when no node has its name, its node is not
    Ready, or the nodes could not be read (``node_ready`` null). ``names``
    limits the check to those clusters.
    """
    wanted = None if names is None else set(names)
    return sorted(str(host.get("name")) for cluster in clusters
                  if wanted is None or cluster.get("name") in wanted
                  for host in cluster.get("hosts") or []
                  if host.get("status") == "up" and not host.get("node_ready"))
