"""Errors answered as Kubernetes Status objects, with virt-api's wording."""
from __future__ import annotations

from typing import Any

VM_NOT_RUNNING = "VM is not running"
VMI_NOT_RUNNING = "VMI is not running"


class StatusError(Exception):
    """An error answered as a Kubernetes Status."""

    def __init__(self, code: int, reason: str, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.code, self.reason, self.message, self.details = code, reason, message, details or {}

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                                "message": self.message, "reason": self.reason, "code": self.code}
        if self.details:
            body["details"] = self.details
        return body


def conflict(kind: str, name: str, message: str) -> StatusError:
    return StatusError(409, "Conflict", f'Operation cannot be fulfilled on {kind}.kubevirt.io "{name}": {message}',
                       {"name": name, "group": "kubevirt.io", "kind": kind})


def bad_request(message: str) -> StatusError:
    return StatusError(400, "BadRequest", message)


def not_found(kind: str, name: str) -> StatusError:
    return StatusError(404, "NotFound", f'{kind}.kubevirt.io "{name}" not found',
                       {"name": name, "group": "kubevirt.io", "kind": kind})


def is_dry_run(body: dict[str, Any]) -> bool:
    value = body.get("dryRun")
    return value == "All" or (isinstance(value, list) and "All" in value)
