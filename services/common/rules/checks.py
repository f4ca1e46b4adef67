"""Semantic checks on a schema-valid rule file: references, uniqueness, graph shape, weights,
bands. Each check yields (path in the YAML, message)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from services.common.rules.calendar import published_through
from services.common.rules.checks_clocks import clock_errors
from services.common.rules.checks_notifications import notification_errors
from services.common.rules.checks_reply import reply_errors
from services.common.rules.schema import SiteRules
from services.common.rules.schema_survey import Survey
from services.common.rules.schema_workflow import FieldType, GuardTest, Workflow
from services.common.rules.yamltree import Path

Problem = tuple[Path, str]
CASE_OWNER = "case_owner"  # the department the complaint was routed to
DIMENSION_OWNER = "dimension_owner"
WEIGHT_TOLERANCE = 1e-6


def semantic_errors(rules: SiteRules) -> list[Problem]:
    checks = (
        _unique_ids,
        _people,
        _calendar,
        _complaints,
        _workflow,
        _gate,
        _survey,
        _languages,
        clock_errors,
        notification_errors,
        reply_errors,
    )
    return [problem for check in checks for problem in check(rules)]


def _dupes(items: Iterable[Any], path: Path, what: str) -> Iterator[Problem]:
    seen: set[str] = set()
    for index, item in enumerate(items):
        if item.id in seen:
            yield (*path, index, "id"), f"duplicate {what} id {item.id!r}"
        seen.add(item.id)


def _unique_ids(r: SiteRules) -> Iterator[Problem]:
    yield from _dupes(r.roles, ("roles",), "role")
    yield from _dupes(r.departments, ("departments",), "department")
    yield from _dupes(r.classification.rules, ("classification", "rules"), "classification rule")
    yield from _dupes(r.routing.rules, ("routing", "rules"), "routing rule")
    yield from _dupes(r.deadlines.rules, ("deadlines", "rules"), "deadline rule")
    yield from _dupes(r.escalation, ("escalation",), "escalation rule")
    w = r.workflow
    yield from _dupes(w.stages, ("workflow", "stages"), "stage")
    yield from _dupes(w.fields, ("workflow", "fields"), "field")
    yield from _dupes(w.outcomes, ("workflow", "outcomes"), "outcome")
    if r.survey:
        yield from _dupes(r.survey.dimensions, ("survey", "dimensions"), "dimension")
        yield from _dupes(r.survey.bands, ("survey", "bands"), "band")
        yield from _dupes(r.survey.triggers, ("survey", "triggers"), "trigger")
        seen: set[str] = set()
        for di, dim in enumerate(r.survey.dimensions):
            for ii, item in enumerate(dim.items):
                if item.id in seen:
                    yield (
                        ("survey", "dimensions", di, "items", ii, "id"),
                        (f"duplicate item id {item.id!r}"),
                    )
                seen.add(item.id)


def _who(r: SiteRules, *extra: str) -> set[str]:
    return {d.id for d in r.departments} | {x.id for x in r.roles} | set(extra)


def _refs(values: Iterable[str], known: set[str], path: Path, what: str) -> Iterator[Problem]:
    for index, value in enumerate(values):
        if value not in known:
            options = ", ".join(sorted(known))
            yield (*path, index), f"unknown {what} {value!r} (known: {options})"


def _ref(value: str | None, known: set[str], path: Path, what: str) -> Iterator[Problem]:
    if value is not None and value not in known:
        yield path, f"unknown {what} {value!r} (known: {', '.join(sorted(known))})"


def _people(r: SiteRules) -> Iterator[Problem]:
    roles = {x.id for x in r.roles}
    for i, dept in enumerate(r.departments):
        yield from _refs(dept.roles, roles, ("departments", i, "roles"), "role")


def _calendar(r: SiteRules) -> Iterator[Problem]:
    spec = r.calendar
    try:
        last = spec.last_year or published_through(spec.country)
    except NotImplementedError:
        yield ("calendar", "country"), f"the holidays package has no country {spec.country!r}"
        return
    if last < spec.first_year:
        yield ("calendar", "last_year"), f"last_year {last} is before first_year {spec.first_year}"
    both = {d.date for d in spec.extra_holidays} & {d.date for d in spec.extra_working_days}
    for i, day in enumerate(spec.extra_working_days):
        if day.date in both:
            yield ("calendar", "extra_working_days", i), f"{day.date} is also an extra holiday"


def _complaints(r: SiteRules) -> Iterator[Problem]:
    depts = {d.id for d in r.departments}
    who = _who(r, CASE_OWNER)
    stages = {s.id for s in r.workflow.stages}
    events = {"received", "registered", "customer_deadline"}
    events |= {f"{s}.{e}" for s in stages for e in ("entered", "completed")}
    for i, rule in enumerate(r.classification.rules):
        cond = rule.when.received_department or ()
        yield from _refs(
            cond, depts, ("classification", "rules", i, "when", "received_department"), "department"
        )
    yield from _ref(r.routing.default_owner, depts, ("routing", "default_owner"), "department")
    for i, route in enumerate(r.routing.rules):
        yield from _ref(route.owner, depts, ("routing", "rules", i, "owner"), "department")
        yield from _refs(
            route.copy_to, _who(r), ("routing", "rules", i, "copy_to"), "department or role"
        )
    for i, dl in enumerate(r.deadlines.rules):
        yield from _ref(dl.stage, stages, ("deadlines", "rules", i, "stage"), "stage")
        if dl.from_event not in events:
            yield (
                ("deadlines", "rules", i, "from"),
                (
                    f"unknown event {dl.from_event!r}: use received, registered, "
                    "customer_deadline, or <stage>.entered / <stage>.completed"
                ),
            )
    for i, esc in enumerate(r.escalation):
        yield from _refs(esc.notify, who, ("escalation", i, "notify"), "department or role")
        yield from _refs(esc.stages or (), stages, ("escalation", i, "stages"), "stage")


def _workflow(r: SiteRules) -> Iterator[Problem]:
    w, who = r.workflow, _who(r, CASE_OWNER)
    stages = {s.id for s in w.stages}
    fields = {f.id: f for f in w.fields}
    outcomes = {o.id for o in w.outcomes}
    yield from _ref(w.initial, stages, ("workflow", "initial"), "stage")
    for i, stage in enumerate(w.stages):
        yield from _refs(stage.actors, who, ("workflow", "stages", i, "actors"), "role")
        yield from _refs(
            stage.required_fields,
            set(fields),
            ("workflow", "stages", i, "required_fields"),
            "case field",
        )
    for i, t in enumerate(w.transitions):
        base: Path = ("workflow", "transitions", i)
        yield from _ref(t.from_stage, stages, (*base, "from"), "stage")
        yield from _ref(t.to, stages, (*base, "to"), "stage")
        yield from _refs(t.actors or (), who, (*base, "actors"), "role")
        yield from _refs(t.requires, set(fields), (*base, "requires"), "case field")
        yield from _ref(t.outcome, outcomes, (*base, "outcome"), "outcome")
        yield from _guard(t.guard, fields, (*base, "guard"))
        if t.signature is not None and t.signature.fills is not None:
            yield from _ref(
                t.signature.fills, set(fields), (*base, "signature", "fills"), "case field"
            )
        if t.review_loop and w.review_loop is None:
            yield (*base, "review_loop"), "review_loop transitions need workflow.review_loop"
    if w.review_loop:
        yield from _refs(w.review_loop.notify, who, ("workflow", "review_loop", "notify"), "role")
    yield from _entries(w, stages)
    yield from _graph(w)
    if w.recurrence:
        rec = w.recurrence
        yield from _ref(
            rec.reopen_stage, stages, ("workflow", "recurrence", "reopen_stage"), "stage"
        )
        if rec.action == "reopen" and rec.reopen_stage is None:
            yield ("workflow", "recurrence", "action"), "action 'reopen' needs reopen_stage"
        yield from _refs(rec.notify, who, ("workflow", "recurrence", "notify"), "role")


def _guard(guard: dict[str, Any], fields: dict[str, Any], path: Path) -> Iterator[Problem]:
    for name, test in guard.items():
        field = fields.get(name)
        if field is None:
            yield (*path, name), f"guard on unknown case field {name!r}"
            continue
        values = test.values() if isinstance(test, GuardTest) else (test,)
        if field.type is FieldType.choice:
            for value in values:
                if value not in (field.choices or ()):
                    yield (
                        (*path, name),
                        (
                            f"{value!r} is not a choice of field {name!r} "
                            f"({', '.join(field.choices or ())})"
                        ),
                    )


def _entries(w: Workflow, stages: set[str]) -> Iterator[Problem]:
    yield from _ref(w.entry.survey_action, stages, ("workflow", "entry", "survey_action"), "stage")
    if w.history_import is not None:
        where: Path = ("workflow", "history_import", "closed_stage")
        closed = w.history_import.closed_stage
        yield from _ref(closed, stages, where, "stage")
        if closed in stages and not any(s.terminal for s in w.stages if s.id == closed):
            yield where, f"stage {closed!r} is not terminal: an imported closed case must be"
    check = w.survey_verification
    if check is None:
        return
    base: Path = ("workflow", "survey_verification")
    yield from _ref(check.stage, stages, (*base, "stage"), "stage")
    for key in ("effective", "not_effective"):
        action = getattr(check, key)
        if check.stage in stages and not any(
            t.from_stage == check.stage and t.action == action for t in w.transitions
        ):
            yield (*base, key), f"no transition {action!r} out of stage {check.stage!r}"


def _graph(w: Workflow) -> Iterator[Problem]:
    index = {s.id: i for i, s in enumerate(w.stages)}
    if w.initial not in index:
        return
    reachable = _reach(w, w.initial, set())
    for entry in (w.entry.survey_action,):  # cases other than complaints start there
        if entry in index:
            reachable |= _reach(w, entry, set())
    if not any(s.terminal for s in w.stages):
        yield ("workflow", "stages"), "no terminal stage: cases could never close"
    for stage in w.stages:
        path: Path = ("workflow", "stages", index[stage.id], "id")
        if stage.id not in reachable:
            yield path, f"stage {stage.id!r} cannot be reached from {w.initial!r}"
        elif not stage.terminal and not any(t.from_stage == stage.id for t in w.transitions):
            yield path, f"stage {stage.id!r} is a dead end (no transition out, not terminal)"


def _reach(w: Workflow, start: str, avoid: set[str], *, skip_outcomes: bool = False) -> set[str]:
    seen, todo = {start}, [start]
    while todo:
        here = todo.pop()
        for t in w.transitions:
            if t.from_stage != here or t.to in seen or t.to in avoid:
                continue
            if skip_outcomes and (t.outcome or t.reopen):
                continue
            seen.add(t.to)
            todo.append(t.to)
    return seen


def _gate(r: SiteRules) -> Iterator[Problem]:
    w, gate = r.workflow, r.workflow.verification_gate
    if gate is None:
        return
    stages = {s.id: s for s in w.stages}
    base: Path = ("workflow", "verification_gate")
    yield from _refs(gate.stages, set(stages), (*base, "stages"), "stage")
    yield from _refs(gate.closing_stages, set(stages), (*base, "closing_stages"), "stage")
    yield from _ref(gate.ng_back_to, set(stages), (*base, "ng_back_to"), "stage")
    yield from _ref(gate.result_field, {f.id for f in w.fields}, (*base, "result_field"), "field")
    if any(s not in stages for s in (*gate.stages, *gate.closing_stages)):
        return
    for gi, gate_stage in enumerate(gate.stages):
        bypass = _reach(w, w.initial, {gate_stage}, skip_outcomes=True)
        for closing in gate.closing_stages:
            if closing in bypass:
                yield (
                    (*base, "stages", gi),
                    (
                        f"stage {closing!r} can be reached without passing verification stage "
                        f"{gate_stage!r} (only non-quality outcomes may skip it)"
                    ),
                )


def _survey(r: SiteRules) -> Iterator[Problem]:
    s = r.survey
    if s is None:
        return
    depts, who = {d.id for d in r.departments}, _who(r, DIMENSION_OWNER)
    total = sum(d.weight for d in s.dimensions)
    if abs(total - 1) > WEIGHT_TOLERANCE:
        yield ("survey", "dimensions"), f"dimension weights sum to {total:g}, not 1"
    for i, dim in enumerate(s.dimensions):
        yield from _ref(dim.owner, depts, ("survey", "dimensions", i, "owner"), "department")
        sub = sum(item.weight for item in dim.items)
        if abs(sub - 1) > WEIGHT_TOLERANCE:
            yield (
                ("survey", "dimensions", i, "items"),
                (f"item weights of dimension {dim.id!r} sum to {sub:g}, not 1"),
            )
    for i, trig in enumerate(s.triggers):
        yield from _ref(trig.owner, who, ("survey", "triggers", i, "owner"), "department or role")
    yield from _ref(
        s.response.below_target_owner,
        who,
        ("survey", "response", "below_target_owner"),
        "department or role",
    )
    yield from _ref(s.approver, _who(r), ("survey", "approver"), "department or role")
    if s.follow_up_after_closure:
        items = {it.id for d in s.dimensions for it in d.items}
        yield from _refs(
            s.follow_up_after_closure.items,
            items,
            ("survey", "follow_up_after_closure", "items"),
            "item",
        )
    yield from _bands(s)


def _bands(s: Survey) -> Iterator[Problem]:
    order = sorted(range(len(s.bands)), key=lambda i: (s.bands[i].min, s.bands[i].max))
    lo, hi = s.scale.min, s.scale.max
    for i in order:
        band = s.bands[i]
        if band.min > band.max or (
            band.min == band.max and not (band.min_inclusive and band.max_inclusive)
        ):
            yield ("survey", "bands", i), f"band {band.id!r} is empty ({band.min:g}-{band.max:g})"
        if band.min < lo or band.max > hi:
            yield ("survey", "bands", i), f"band {band.id!r} leaves the scale {lo:g}-{hi:g}"
    first, last = s.bands[order[0]], s.bands[order[-1]]
    if first.min > lo or not first.min_inclusive:
        yield ("survey", "bands", order[0]), f"no band covers {lo:g} (the scale's minimum)"
    if last.max < hi or not last.max_inclusive:
        yield ("survey", "bands", order[-1]), f"no band covers {hi:g} (the scale's maximum)"
    for lower, upper in zip(order, order[1:], strict=False):
        low, high = s.bands[lower], s.bands[upper]
        path: Path = ("survey", "bands", upper)
        if high.min < low.max or (high.min == low.max and low.max_inclusive and high.min_inclusive):
            yield path, f"bands {low.id!r} and {high.id!r} overlap at {high.min:g}"
        elif high.min > low.max or not (low.max_inclusive or high.min_inclusive):
            yield path, f"gap between bands {low.id!r} and {high.id!r} at {low.max:g}"


def _languages(r: SiteRules) -> Iterator[Problem]:
    wanted = r.site.languages
    named: list[tuple[Path, dict[str, str]]] = [(("site", "names"), r.site.names)]
    named += [(("roles", i, "names"), x.names) for i, x in enumerate(r.roles)]
    named += [(("departments", i, "names"), x.names) for i, x in enumerate(r.departments)]
    named += [
        (("workflow", "stages", i, "names"), x.names) for i, x in enumerate(r.workflow.stages)
    ]
    if r.survey:
        named += [(("survey", "bands", i, "names"), b.names) for i, b in enumerate(r.survey.bands)]
        named += [
            (("survey", "dimensions", i, "names"), d.names)
            for i, d in enumerate(r.survey.dimensions)
        ]
    for path, names in named:
        missing = [lang for lang in wanted if lang not in names]
        if missing:
            yield path, f"no name in {', '.join(missing)} (site languages: {', '.join(wanted)})"
