# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ovirt_kubevirt.bridge contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one skeleton of every module: argument spec, one operation call, its result.

    def main():
        module = create_module(ARGUMENT_SPEC)
        p = module.params
        run_module(module, open_session, lambda session: operation(session.ovirt, session.kube, p["vms"], ...))

``run_module`` owns how every module ends: it opens the connections with the
opener the module gives (clients.session: both APIs, one, or none, so a
module ships only the clients it uses), keeps the connection warnings and the operation's own, shows
the diff only under ``--diff``, and turns a BridgeError into fail_json with a
message that says what and why (its details join the result), never a traceback.
"""
from __future__ import annotations

from typing import Any, Callable, Dict, List, Sequence

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils._ansible.args import (
    connection_argument_spec,
    k8s_params,
)
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.clients.session import Opener, Session
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.common.errors import BridgeError

Operation = Callable[[Session], Dict[str, Any]]


def create_module(argument_spec: Dict[str, Any], **kwargs: Any) -> AnsibleModule:
    """An AnsibleModule taking the module's own options plus both connection option sets."""
    spec = connection_argument_spec()
    spec.update(argument_spec)
    kwargs.setdefault("supports_check_mode", True)
    return AnsibleModule(argument_spec=spec, **kwargs)


def run_module(module: AnsibleModule, opener: Opener, operation: Operation) -> None:
    """Open the run's session, call the operation once, and exit with its result or fail with its error."""
    warnings: List[str] = []
    try:
        with opener(module.params.get("auth"), k8s_params(module.params)) as session:
            warnings = session.warnings
            result = operation(session)
    except BridgeError as exc:
        _warn(module, warnings)
        details = {k: v for k, v in exc.details.items() if v is not None}
        module.fail_json(msg=str(exc), error_type=type(exc).__name__, **details)
    else:
        _warn(module, warnings + list(result.pop("warnings", None) or []))
        diff = result.pop("diff", None)
        if module._diff and diff is not None:  # pylint: disable=protected-access  # Ansible's own flag for --diff
            result["diff"] = diff
        module.exit_json(**result)


def _warn(module: AnsibleModule, warnings: Sequence[str]) -> None:
    for warning in warnings:
        module.warn(warning)
