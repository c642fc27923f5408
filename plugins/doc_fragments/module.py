# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ovirt_kubevirt.bridge contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the collection's modules share in their documentation.

List these before ansible.builtin.action_common_attributes: when fragments merge,
the attribute values already in the documentation win.
"""
from __future__ import annotations


class ModuleDocFragment:
    # Every module runs anywhere Python does and is in the group/ovirt_kubevirt.bridge.all action group.
    DOCUMENTATION = r"""
attributes:
  platform:
    platforms: all
  action_group:
    support: full
    membership: [ovirt_kubevirt.bridge.all]
"""

    # Modules that talk to both the oVirt engine and Kubernetes (merged with a module's own requirements).
    BOTH_APIS = r"""
options: {}
requirements:
  - python >= 3.10
  - kubernetes >= 29.0.0
  - ovirt-engine-sdk-python >= 4.6.0
"""
