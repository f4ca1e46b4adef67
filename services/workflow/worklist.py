""""My work": the open cases a caller's roles or departments must act on now.

Read through the worklists (store_worklists.py): the documents of the stages whose actors
include one of the caller's identities, then each listed case by `_id`, checked against
what it is now (a listed case may have moved on). Nearest due first, so the overdue come
first; cases without a due time last.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from services.common.rulebook import Rulebook
from services.workflow.domain.case import Case
from services.workflow.domain.people import CASE_OWNER, identities
from services.workflow.handlers import view
from services.workflow.store import CaseStore

SERVICE_ROLES = ("read", "act", "submit")
READS_AT_ONCE = 32  # case reads by `_id` in flight together (they were one after another)


async def _read_all(store: CaseStore, case_ids: list[str]) -> list[Case | None]:
    """Each listed case by `_id`, at most READS_AT_ONCE at a time, in the listed order."""
    gate = asyncio.Semaphore(READS_AT_ONCE)

    async def one(case_id: str) -> Case | None:
        async with gate:
            return await store.get(case_id)

    return list(await asyncio.gather(*(one(c) for c in case_ids)))


def _must_act(case: Case, actors: Iterable[str], mine: set[str]) -> bool:
    allowed = set(actors)
    return bool(mine & allowed) or (CASE_OWNER in allowed and case.owner_department in mine)


async def my_work(
    *, store: CaseStore, rulebook: Rulebook, roles_at: Mapping[str, Iterable[str]], now: datetime
) -> list[dict[str, Any]]:
    """`roles_at`: the caller's roles per site. Each item is the case's view."""
    found: list[Case] = []
    for site, roles in roles_at.items():
        rules = rulebook.for_site(site)
        mine = identities(rules, (r for r in roles if r not in SERVICE_ROLES))
        for stage in rules.workflow.stages:
            if stage.terminal or not (mine & set(stage.actors) or CASE_OWNER in stage.actors):
                continue
            listed = await store.listed(site, stage.id)
            for case in await _read_all(store, listed):
                if (
                    case is not None
                    and case.stage == stage.id
                    and not case.terminal
                    and _must_act(case, stage.actors, mine)
                ):
                    found.append(case)
    found.sort(key=lambda c: (c.due is None, c.due or now, c.id))
    return [view(c, now) for c in found]
