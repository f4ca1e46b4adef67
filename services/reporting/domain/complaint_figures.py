"""What one complaint contributes to the buckets: a pure function of its folded state.

A stage is *on time* when the case left it at or before its due time; *late* when it
left after, or the workflow announced the deadline missed. A stage not yet left and not
missed is undecided and not counted: rates are over decided stages only.
"""

from __future__ import annotations

from datetime import datetime, tzinfo

from services.reporting.domain.buckets import ALL, BucketKey, Contributions, Counters, cut
from services.reporting.domain.complaints import State
from services.reporting.domain.periods import LIVE, month_of
from services.reporting.domain.policy import Policy

NO_CASE_YET = "awaiting_case"
KPI_NAMES = ("acknowledgement", "investigation", "eight_d", "closure")


def is_open(state: State) -> bool:
    closed, reopened = state.get("closed_at"), state.get("reopened_at")
    return closed is None or (reopened is not None and reopened > closed)


def due(state: State, stage: str) -> datetime | None:
    revised = (state.get("revised_due") or {}).get(stage)
    if revised is not None:  # computed again on a newly published calendar
        moved: datetime = revised["due"]
        return moved
    found: datetime | None = state["registered_due"].get(stage) or state["stage_due"].get(stage)
    return found


def stage_outcome(state: State, stage: str) -> str | None:
    deadline = due(state, stage)
    if deadline is None:
        return None
    left = state["left"].get(stage)
    if left is not None:
        return "on_time" if left <= deadline and stage not in state["missed"] else "late"
    return "late" if stage in state["missed"] else None


def eight_d_stage(state: State, policy: Policy) -> str | None:
    return next((s for s in policy.eight_d_stages if due(state, s) is not None), None)


def kpi_outcomes(state: State, policy: Policy) -> dict[str, str | None]:
    """Each on-time KPI of the complaint: from the site's case clock for it when one has
    stopped or been missed (a clock runs from receipt whatever the stage), else from the
    stage deadlines."""
    eight_d = eight_d_stage(state, policy)
    closure = None
    if not is_open(state) and state.get("closed_on_time") is not None:
        closure = "on_time" if state["closed_on_time"] else "late"
    by_stage = {
        "acknowledgement": stage_outcome(state, policy.acknowledge_stage),
        "investigation": stage_outcome(state, policy.investigate_stage),
        "eight_d": stage_outcome(state, eight_d) if eight_d else None,
        "closure": closure,
    }
    clocked = state.get("clock_kpis") or {}
    return {name: clocked.get(name, outcome) for name, outcome in by_stage.items()}


def current_stage(state: State) -> str:
    return str(state.get("stage") or NO_CASE_YET)


def is_overdue(state: State) -> bool:
    stage = state.get("stage")
    missed = state["missed"].get(stage) if stage else None
    return bool(is_open(state) and missed is not None and missed >= state["stage_at"])


def is_answered(state: State, policy: Policy) -> bool:
    left = state["left"]
    return state.get("closed_at") is not None or any(s in left for s in policy.answer_stages)


def month(state: State, zone: tzinfo) -> str | None:
    """The month the complaint was received in (the case's opening while intake's
    registration has not arrived yet); None while only later case events are known."""
    moment = state.get("received_at") or state.get("opened_at")
    return month_of(moment, zone) if moment else None


def counters(state: State, policy: Policy) -> Counters:
    found: Counters = {
        "received": 1,
        "open": int(is_open(state)),
        "closed": int(not is_open(state)),
        "overdue": int(is_overdue(state)),
        "repeat": int(bool(state.get("repeat"))),
        "answered": int(is_answered(state, policy)),
        "recurred": int(bool(state.get("recurred"))),
        "nonconformity": int(bool(state.get("nonconformity")) and not is_open(state)),
    }
    for name, outcome in kpi_outcomes(state, policy).items():
        if outcome:
            found[f"{name}_{outcome}"] = 1
    claim = state.get("claim")
    if claim:
        found["claims"] = 1
        found[f"claim_cents:{claim['currency']}"] = claim["cents"]
    return found


def contributions(state: State, zone: tzinfo, policy: Policy) -> Contributions:
    site = state["site"]
    found: Contributions = {}
    when = month(state, zone)
    if state.get("origin", "complaint") == "complaint" and when is not None:
        values = {
            "customer": state.get("customer_id"),
            "product": state.get("product"),
            "nature": state.get("nature"),
            "category": state.get("category"),
            "department": state.get("department"),
        }
        found.update(cut(site, when, counters(state, policy), values))
        for tag in state.get("tags") or ():  # defect types, for the Pareto
            found[BucketKey(site, when, "tag", tag)] = {"received": 1}
    if is_open(state):
        stage = current_stage(state)
        live = {f"open:{stage}": 1, f"overdue:{stage}": int(is_overdue(state))}
        found[BucketKey(site, LIVE, ALL, ALL)] = {k: v for k, v in live.items() if v}
    return found
