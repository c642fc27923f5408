# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ovirt_kubevirt.bridge contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The thin Ansible side of every module: argument spec, one core call, result.

The core raises BridgeError subclasses; this turns them into fail_json with a
message that says what and why, and never lets a traceback replace it.
"""
from __future__ import annotations

from typing import Any, Callable, Dict, Optional

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils._ansible.args import connection_argument_spec
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.common.errors import BridgeError


def create_module(argument_spec: Dict[str, Any], **kwargs: Any) -> AnsibleModule:
    """An AnsibleModule taking the module's own options plus both connection option sets."""
    spec = connection_argument_spec()
    spec.update(argument_spec)
    kwargs.setdefault("supports_check_mode", True)
    return AnsibleModule(argument_spec=spec, **kwargs)


def run_module(module: AnsibleModule, core: Callable[[], Dict[str, Any]], extra_warnings: Optional[list] = None) -> None:
    """Call the core once and exit with its result, or fail with its error."""
    for warning in extra_warnings or []:
        module.warn(warning)
    try:
        result = core()
    except BridgeError as exc:
        details = {k: v for k, v in exc.details.items() if v is not None}
        module.fail_json(msg=str(exc), error_type=type(exc).__name__, **details)
    else:
        for warning in result.pop("warnings", []):
            module.warn(warning)
        module.exit_json(**result)
