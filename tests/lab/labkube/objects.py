"""Small helpers for Kubernetes objects as dicts: time stamps, conditions, owners, stable names."""
from __future__ import annotations

import copy
import datetime
import hashlib
import time
from collections.abc import Mapping
from typing import Any

Obj = dict[str, Any]


def now_iso(at: float | None = None) -> str:
    """RFC 3339 with exactly six fractional digits (valid for Time and MicroTime fields)."""
    stamp = datetime.datetime.fromtimestamp(time.time() if at is None else at, datetime.UTC)
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def now_time(at: float | None = None) -> str:
    """RFC 3339 in whole seconds, as metav1.Time serialises: a controller that tests a field it read
    (a JSON patch "test" op) compares against this form, so a Time written with fractions never matches."""
    stamp = datetime.datetime.fromtimestamp(time.time() if at is None else at, datetime.UTC)
    return stamp.strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(text: str | None) -> float | None:
    if not text:
        return None
    try:
        return datetime.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def stable_bytes(text: str, count: int) -> list[int]:
    """Deterministic bytes from a name, so a VMI keeps its MAC and IP across restarts."""
    return list(hashlib.sha256(text.encode()).digest()[:count])


def _section(obj: Mapping[str, Any] | None, name: str) -> Obj:
    value = (obj or {}).get(name)
    return value if isinstance(value, dict) else {}


def meta(obj: Mapping[str, Any] | None) -> Obj:
    return _section(obj, "metadata")


def status(obj: Mapping[str, Any] | None) -> Obj:
    return _section(obj, "status")


def spec(obj: Mapping[str, Any] | None) -> Obj:
    return _section(obj, "spec")


def deleting(obj: Mapping[str, Any] | None) -> bool:
    return bool(meta(obj).get("deletionTimestamp"))


def deep(obj: Obj) -> Obj:
    return copy.deepcopy(obj)


def find_condition(conditions: list[Obj] | None, ctype: str) -> Obj | None:
    return next((c for c in conditions or [] if c.get("type") == ctype), None)


def condition_true(obj: Obj | None, ctype: str) -> bool:
    cond = find_condition(status(obj).get("conditions"), ctype)
    return cond is not None and cond.get("status") == "True"


def set_condition(conditions: list[Obj], ctype: str, value: str, reason: str = "", message: str = "") -> list[Obj]:
    """Set a condition in place, keeping lastTransitionTime when the status did not flip."""
    current = find_condition(conditions, ctype)
    new: Obj = {"type": ctype, "status": value, "lastProbeTime": None,
                "lastTransitionTime": now_iso()}
    if reason:
        new["reason"] = reason
    if message:
        new["message"] = message
    if current is not None:
        if current.get("status") == value:
            new["lastTransitionTime"] = current.get("lastTransitionTime") or new["lastTransitionTime"]
        conditions[conditions.index(current)] = new
    else:
        conditions.append(new)
    return conditions


def drop_condition(conditions: list[Obj], ctype: str) -> list[Obj]:
    conditions[:] = [c for c in conditions if c.get("type") != ctype]
    return conditions


def controller_owner(obj: Obj | None, kind: str) -> Obj | None:
    for ref in meta(obj).get("ownerReferences") or []:
        if isinstance(ref, dict) and ref.get("controller") and ref.get("kind") == kind:
            return ref
    return None
