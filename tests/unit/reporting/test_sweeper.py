"""The projector's token sweeper: a bucket's used tokens are pulled together once a batch
has gathered, all of them on a sweep, and kept for the next sweep when a pull fails."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from services.reporting.domain.buckets import BucketKey
from services.reporting.projector import Sweeper

A, B = BucketKey("s", "2026-03", "received", "all"), BucketKey("s", "live", "open", "all")


class Pulls:
    """Records the pulls (the sweeper's logic only; the real pull is tested on the
    database in tests/integration/test_projector.py)."""

    def __init__(self) -> None:
        self.pulled: list[tuple[str, list[str]]] = []
        self.failing = False

    async def forget_tokens(self, key: BucketKey, tokens: Sequence[str]) -> None:
        if self.failing:
            raise ConnectionError("database gone")
        self.pulled.append((key.id, list(tokens)))


def sweeper(pulls: Pulls, batch: int = 3) -> Sweeper:
    store: Any = pulls
    return Sweeper(store, batch=batch)


async def test_a_full_batch_is_pulled_in_one_write() -> None:
    pulls = Pulls()
    tokens = sweeper(pulls)
    await tokens.forget([A, B], "e1@1")
    await tokens.forget([A], "e2@1")
    assert pulls.pulled == [] and tokens.waiting == 3
    await tokens.forget([A, B], "e3@1")
    assert pulls.pulled == [(A.id, ["e1@1", "e2@1", "e3@1"])]
    assert tokens.waiting == 2  # B's two


async def test_a_sweep_pulls_every_waiting_token() -> None:
    pulls = Pulls()
    tokens = sweeper(pulls)
    await tokens.forget([A, B], "e1@1")
    await tokens.sweep()
    assert sorted(pulls.pulled) == sorted([(A.id, ["e1@1"]), (B.id, ["e1@1"])])
    assert tokens.waiting == 0
    await tokens.sweep()
    assert len(pulls.pulled) == 2  # nothing left to pull


async def test_tokens_of_a_failed_pull_wait_for_the_next_sweep() -> None:
    pulls = Pulls()
    tokens = sweeper(pulls)
    await tokens.forget([A], "e1@1")
    pulls.failing = True
    with pytest.raises(ConnectionError):
        await tokens.sweep()
    assert tokens.waiting == 1
    pulls.failing = False
    await tokens.sweep()
    assert pulls.pulled == [(A.id, ["e1@1"])]
