"""Bucket documents: per (site, month, dimension, value), sums and counts only.

A read-model entity (a complaint, a delivery, a score) *contributes* counters to a few
buckets; its contribution is a pure function of its state. When its state changes the
store applies the difference, so a bucket always equals the sum of the contributions of
the entities in it, and no report needs to scan history. Averages are derived
(sum / count) when reading, because FerretDB 1.24 offers only `$sum` and `$count`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

Counters = dict[str, int]

# The dimensions every complaint figure is cut by ("all" is the site total).
ALL = "all"
DIMENSIONS = ("customer", "product", "nature", "category", "department")


@dataclass(frozen=True, order=True)
class BucketKey:
    site: str
    month: str
    dimension: str
    value: str

    @property
    def id(self) -> str:
        return f"{self.site}|{self.month}|{self.dimension}|{self.value}"


Contributions = dict[BucketKey, Counters]


def cut(
    site: str, month: str, counters: Counters, values: Mapping[str, str | None]
) -> Contributions:
    """The same counters in the site total and in the bucket of each known dimension value."""
    kept = {name: n for name, n in counters.items() if n}
    if not kept:
        return {}
    found = {BucketKey(site, month, ALL, ALL): kept}
    for dimension, value in values.items():
        if value:
            found[BucketKey(site, month, dimension, value)] = dict(kept)
    return found


def difference(target: Contributions, held: Contributions) -> Contributions:
    """What to add to each bucket to go from `held` to `target` (zero entries dropped)."""
    changes: Contributions = {}
    for key in target.keys() | held.keys():
        want, have = target.get(key, {}), held.get(key, {})
        delta = {n: want.get(n, 0) - have.get(n, 0) for n in want.keys() | have.keys()}
        delta = {n: d for n, d in delta.items() if d}
        if delta:
            changes[key] = delta
    return changes


def add(total: Counters, more: Mapping[str, int]) -> Counters:
    for name, n in more.items():
        total[name] = total.get(name, 0) + n
    return total


def summed(counters: Iterable[Mapping[str, int]]) -> Counters:
    total: Counters = {}
    for one in counters:
        add(total, one)
    return total
