"""Who may read a person's notifications: the person themselves, an admin, or a system
of the site; only notifications of sites the caller may access."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import pytest
from fastapi import HTTPException

from services.common.auth import Caller
from services.common.clock import ManualClock
from services.notify.api import person_notifications
from services.notify.store import InMemoryNotificationStore
from tests.unit.notify.test_notify_email import START
from tests.unit.notify.test_notify_webhooks import NOTE

pytestmark = pytest.mark.unit


def request_with(store: InMemoryNotificationStore) -> Any:
    ctx = SimpleNamespace(state={"store": store}, clock=ManualClock(START))
    return SimpleNamespace(app=SimpleNamespace(state=SimpleNamespace(ctx=ctx)))


def read(who: Caller, person: str = "qe") -> Any:
    store = InMemoryNotificationStore()
    for site in ("sz", "nb"):
        note = NOTE.model_copy(update={"id": f"e-{site}|qe|email", "site": site,
                                       "created_at": START})  # fmt: skip
        asyncio.run(store.add(note))
    return asyncio.run(person_notifications(person, request_with(store), who.holding("read")))


def test_a_person_reads_their_own_at_their_sites_only() -> None:
    qe = Caller("qe", "person", {"sz": ("read", "quality")})
    assert [i["id"] for i in read(qe)["items"]] == ["e-sz|qe|email"]
    with pytest.raises(HTTPException) as refused:
        read(Caller("mgr", "person", {"sz": ("read",)}))
    assert refused.value.status_code == 403 and "their own" in refused.value.detail


def test_an_admin_or_a_system_reads_anyones_at_their_sites() -> None:
    admin = Caller("boss", "person", {"nb": ("read", "admin")})
    assert [i["id"] for i in read(admin)["items"]] == ["e-nb|qe|email"]
    hq = Caller("desk", "system", {"*": ("read",)})
    assert read(hq)["count"] == 2
