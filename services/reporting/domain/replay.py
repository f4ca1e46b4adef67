"""Projecting a history in memory: the rebuild and the unit tests fold events here with the
very functions the incremental projector uses, then sum the contributions into buckets."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from pydantic import BaseModel

from services.common.contracts.envelope import Envelope
from services.reporting.domain.buckets import BucketKey, Contributions, Counters, add
from services.reporting.domain.policy import Policy
from services.reporting.domain.projection import (
    Sites,
    State,
    Target,
    contributions,
    fold,
    targets,
)


@dataclass
class Entity:
    target: Target
    state: State
    version: int = 0
    applied: list[str] = field(default_factory=list)
    contributed: Contributions = field(default_factory=dict)


class Replay:
    def __init__(self, sites: Sites, policy: Policy) -> None:
        self.sites, self.policy = sites, policy
        self.entities: dict[str, Entity] = {}

    def apply(self, envelope: Envelope[BaseModel]) -> None:
        event_id = str(envelope.id)
        for target in targets(envelope):
            entity = self.entities.get(target.id)
            if entity is not None and event_id in entity.applied:
                continue
            state = fold(target, entity.state if entity else None, envelope)
            if entity is None:
                entity = self.entities[target.id] = Entity(target, state)
            entity.state = state
            entity.version += 1
            entity.applied.append(event_id)

    def apply_all(self, envelopes: Iterable[Envelope[BaseModel]]) -> Replay:
        for envelope in envelopes:
            self.apply(envelope)
        return self

    def buckets(self) -> dict[BucketKey, Counters]:
        totals: dict[BucketKey, Counters] = {}
        for entity in self.entities.values():
            entity.contributed = contributions(
                entity.target.kind, entity.state, self.sites, self.policy
            )
            for key, counters in entity.contributed.items():
                add(totals.setdefault(key, {}), counters)
        return {k: {n: v for n, v in c.items() if v} for k, c in totals.items()}
