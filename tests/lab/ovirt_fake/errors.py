"""Engine-style failures: HTTP status plus the Fault reason and detail.

The texts follow the engine's REST layer: a failed validation answers
reason "Operation Failed" and detail "[Cannot <action> <type>. <message>]";
the HTTP status comes from the message's ErrorType (CONFLICT -> 409,
BAD_PARAMETERS -> 400), see ErrorMessageHelper in ovirt-engine.
"""
from __future__ import annotations

OPERATION_FAILED = "Operation Failed"


class ApiFault(Exception):
    """Raised by handlers; the server renders it as a types.Fault."""

    def __init__(self, status: int, detail: str, reason: str = OPERATION_FAILED) -> None:
        super().__init__(f"{status} {reason}: {detail}")
        self.status = status
        self.reason = reason
        self.detail = detail


def engine(status: int, action: str, kind: str, message: str) -> ApiFault:
    """A validation failure as the engine words it: [Cannot run VM. VM is running.]."""
    return ApiFault(status, f"[Cannot {action} {kind}. {message}]")


def conflict(action: str, kind: str, message: str) -> ApiFault:
    return engine(409, action, kind, message)


def bad_parameters(action: str, kind: str, message: str) -> ApiFault:
    return engine(400, action, kind, message)


def not_found(kind: str, key: str, value: str) -> ApiFault:
    """A referenced or addressed entity does not exist."""
    return ApiFault(404, f"Entity not found: {kind}: {key}={value}")


def incomplete(kind: str, missing: list[str], action: str) -> ApiFault:
    """Mandatory parameters missing, worded like the engine's CompletenessAssertor."""
    return ApiFault(400, f"{kind} [{', '.join(missing)}] required for {action}", reason="Incomplete parameters")


def invalid_enum(value: str, enum_name: str, allowed: list[str]) -> ApiFault:
    detail = (f"'{value}' is not a member of {enum_name}. "
              f"Possible values for {enum_name} are: {', '.join(allowed)}")
    return ApiFault(400, detail, reason="Invalid value")


def syntax(detail: str) -> ApiFault:
    return ApiFault(400, detail, reason="Request syntactically incorrect.")
