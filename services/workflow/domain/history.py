"""The case history as a hash chain: each entry's hash is sha256 of the previous hash and
the canonical JSON of the entry (without its own hash), so any edit, insertion or removal
of an entry is detectable."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from pydantic_core import to_jsonable_python

from services.workflow.domain.case import Case, HistoryEntry

GENESIS = "0" * 64


def canonical(entry: dict[str, Any]) -> bytes:
    return json.dumps(entry, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def chain_hash(prev_hash: str, entry: dict[str, Any]) -> str:
    body = {k: v for k, v in entry.items() if k != "hash"}
    return hashlib.sha256(prev_hash.encode() + canonical(body)).hexdigest()


def record(
    case: Case,
    *,
    at: datetime,
    actor: str,
    roles: tuple[str, ...] | list[str],
    what: str,
    rules_version: str,
    action: str | None = None,
    from_stage: str | None = None,
    to_stage: str | None = None,
    changes: dict[str, Any] | None = None,
    reason: str | None = None,
) -> HistoryEntry:
    """Append one entry (who, when, what, why, rule version) to the case's history."""
    prev = case.history[-1].hash if case.history else GENESIS
    body: dict[str, Any] = {
        "seq": len(case.history) + 1,
        "at": at.isoformat(timespec="milliseconds"),
        "actor": actor,
        "roles": list(roles),
        "what": what,
        "action": action,
        "from_stage": from_stage,
        "to_stage": to_stage,
        "changes": to_jsonable_python(changes or {}),
        "reason": reason,
        "rules_version": rules_version,
        "prev_hash": prev,
    }
    entry = HistoryEntry(**body, hash=chain_hash(prev, body))
    case.history.append(entry)
    return entry


def first_broken(entries: list[HistoryEntry]) -> int | None:
    """Index of the first entry whose link or hash does not verify, else None."""
    prev = GENESIS
    for index, item in enumerate(entries):
        entry = item.model_dump()
        if entry.get("prev_hash") != prev or chain_hash(prev, entry) != entry.get("hash"):
            return index
        prev = entry["hash"]
    return None
