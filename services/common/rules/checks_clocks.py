"""Checks on the `clocks` section: known events, stages, fields and people, and a stop the
case can reach from the start (a clock that can never stop would be missed on every case)."""

from __future__ import annotations

from collections.abc import Iterator

from services.common.rules.schema import SiteRules
from services.common.rules.schema_clocks import (
    CLOCK_OWNER,
    CLOSED,
    START_EVENTS,
    Clock,
    field_of,
    stage_event,
)
from services.common.rules.yamltree import Path

Problem = tuple[Path, str]
CASE_OWNER = "case_owner"


def clock_errors(r: SiteRules) -> Iterator[Problem]:
    seen: set[str] = set()
    who = {d.id for d in r.departments} | {x.id for x in r.roles} | {CASE_OWNER}
    for i, clock in enumerate(r.clocks):
        base: Path = ("clocks", i)
        if clock.id in seen:
            yield (*base, "id"), f"duplicate clock id {clock.id!r}"
        seen.add(clock.id)
        problem = _unknown(r, clock.start, start=True)
        if problem:
            yield (*base, "start"), problem
        for j, event in enumerate(clock.stop):
            problem = _unknown(r, event, start=False)
            if problem:
                yield (*base, "stop", j), problem
        if clock.owner not in who:
            yield (*base, "owner"), f"unknown department or role {clock.owner!r}"
        for k, rule in enumerate(clock.escalation or ()):
            for n, name in enumerate(rule.notify):
                if name not in who | {CLOCK_OWNER}:
                    yield (
                        (*base, "escalation", k, "notify", n),
                        f"unknown department or role {name!r} (or clock_owner, case_owner)",
                    )
        missing = [lang for lang in r.site.languages if lang not in clock.names]
        if missing:
            yield (*base, "names"), f"no name in {', '.join(missing)}"
        if not any(_unknown(r, e, start=False) for e in (clock.start, *clock.stop)):
            if not _can_stop(r, clock):
                yield (
                    (*base, "stop"),
                    (
                        f"clock {clock.id!r} can never stop: no stop event can happen after "
                        f"{clock.start!r} (check the transitions)"
                    ),
                )


def _unknown(r: SiteRules, event: str, *, start: bool) -> str | None:
    stages = {s.id for s in r.workflow.stages}
    fields = {f.id for f in r.workflow.fields}
    name = field_of(event)
    if name is not None:
        return None if name in fields else f"unknown case field {name!r} in {event!r}"
    on_stage = stage_event(event)
    if on_stage is not None:
        return None if on_stage[0] in stages else f"unknown stage {on_stage[0]!r} in {event!r}"
    if (start and event in START_EVENTS) or (not start and event == CLOSED):
        return None
    first = "received, registered" if start else "closed"
    return (
        f"unknown {'start' if start else 'stop'} event {event!r}: use {first}, "
        "<stage>.entered, <stage>.completed or field:<field id>"
    )


def _can_stop(r: SiteRules, clock: Clock) -> bool:
    """Whether some stop event can follow the start on some path through the workflow."""
    w = r.workflow
    terminal = {s.id for s in w.stages if s.terminal}
    on_stage = stage_event(clock.start)
    if on_stage is None:  # received, registered or a field: any stage the case can be in
        starts = _reach(r, {w.initial}, include_start=True)
    elif on_stage[1] == "entered":
        starts = {on_stage[0]}
    else:  # completed: the case is in a stage the completed one leads to
        starts = _successors(r, on_stage[0])
    after = _reach(r, starts, include_start=True)
    later = _reach(r, starts, include_start=False)  # entered again after the start
    for event in clock.stop:
        stop_stage = stage_event(event)
        if event == CLOSED and after & terminal and not starts <= terminal:
            return True
        if field_of(event) is not None and after - terminal:
            return True
        if stop_stage and stop_stage[1] == "entered" and stop_stage[0] in later:
            return True
        if stop_stage and stop_stage[1] == "completed" and stop_stage[0] in after:
            if _successors(r, stop_stage[0]):
                return True
    return False


def _successors(r: SiteRules, stage: str) -> set[str]:
    return {t.to for t in r.workflow.transitions if t.from_stage == stage}


def _reach(r: SiteRules, starts: set[str], *, include_start: bool) -> set[str]:
    seen = set(starts) if include_start else set()
    todo = list(starts)
    while todo:
        for nxt in _successors(r, todo.pop()):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen
