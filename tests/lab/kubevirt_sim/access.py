"""Fresh reads and conflict-retrying writes for the subresource actions (as virt-api does them)."""
from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from .errors import StatusError, not_found
from labkube.rest import VMIS, VMS, ApiError, Resource, as_obj
from labkube.objects import Obj, deep

if TYPE_CHECKING:
    from .app import Sim

LOG = logging.getLogger("kubevirt-sim")


class Access:
    def __init__(self, sim: Sim) -> None:
        self.sim = sim

    # ------------------------------------------------------------ reads

    def _vm(self, namespace: str, name: str) -> Obj:
        vm = self.sim.kube.get_or_none(VMS, namespace, name)
        if vm is None:
            raise not_found("virtualmachine", name)
        return vm

    def _vmi(self, namespace: str, name: str, required: bool = False) -> Obj | None:
        vmi = self.sim.kube.get_or_none(VMIS, namespace, name)
        if vmi is None and required:
            raise not_found("virtualmachineinstance", name)
        return vmi

    def _update(self, res: Resource, namespace: str, name: str, change: Callable[[Obj], None],
                sub: str | None = None, dry_run: bool = False) -> Obj:
        """Fresh read, ``change`` (which may raise StatusError), PUT with its resourceVersion."""
        for _attempt in range(8):
            current = self.sim.kube.get_or_none(res, namespace, name)
            if current is None:
                raise not_found(res.kind.lower(), name)
            candidate = deep(current)
            change(candidate)
            if dry_run:
                return as_obj(self.sim.kube.request("PUT", res.path(namespace, name, sub), candidate, {"dryRun": "All"}))
            try:
                return self.sim.put(res, candidate, sub)
            except ApiError as err:
                if err.status != 409:
                    raise
        raise StatusError(409, "Conflict", f"{res.kind} {name} kept changing; try again")

    @staticmethod
    def _note(namespace: str, name: str, what: str, dry: bool) -> None:
        LOG.info("subresource %s %s/%s%s", what, namespace, name, " (dry run)" if dry else "")
