"""Classification rules compiled for speed.

Each rule is indexed by one of its required "atoms" (a keyword, customer, product model, kind
or channel): a rule whose indexed condition has no atom present in the complaint cannot match,
so only the candidates are tested. Keywords are found once per complaint by looking up the
complaint's characters in a first-character index and confirming with substring tests.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from services.common.contracts.complaint import ComplaintSubmission
from services.common.rules.schema_base import NumberRange
from services.common.rules.schema_complaints import ClassificationRule, ComplaintCondition

Atom = tuple[str, str]


@dataclass(slots=True)
class Facts:
    """What conditions look at, extracted once per complaint."""

    channel: str
    kind_requested: str | None
    customer: str
    models: frozenset[str]
    specs: frozenset[str]
    keywords: frozenset[str]
    customer_severity: str | None
    source: str | None
    received_department: str | None
    samples_requested: bool
    has_customer_deadline: bool
    numbers: dict[str, float | None]


Test = Callable[[Facts], str | None]  # returns the reason text when it holds, else None


def _in(attr: str, allowed: frozenset[str], label: str) -> Test:
    def test(facts: Facts) -> str | None:
        value = getattr(facts, attr)
        return f"{label} is {value}" if value in allowed else None

    return test


def _overlap(attr: str, allowed: frozenset[str], label: str) -> Test:
    def test(facts: Facts) -> str | None:
        hit = allowed & getattr(facts, attr)
        return f"{label} {', '.join(sorted(hit))}" if hit else None

    return test


def _flag(attr: str, wanted: bool, label: str) -> Test:
    def test(facts: Facts) -> str | None:
        return f"{label} is {wanted}".lower() if getattr(facts, attr) is wanted else None

    return test


def _number(name: str, bounds: NumberRange) -> Test:
    def test(facts: Facts) -> str | None:
        value = facts.numbers.get(name)
        if value is None or not bounds.contains(value):
            return None
        return f"{name} {value:g} within {bounds.model_dump(exclude_none=True)}"

    return test


_SETS = {
    "channel": ("channel", "channel", False),
    "kind_requested": ("kind_requested", "requested kind", False),
    "customer": ("customer", "customer", False),
    "customer_severity": ("customer_severity", "customer severity", False),
    "source": ("source", "source", False),
    "received_department": ("received_department", "received by", False),
    "product_model": ("models", "product model", True),
    "product_spec": ("specs", "product spec", True),
    "keywords": ("keywords", "description mentions", True),
}
_NUMBERS = ("defect_quantity", "defect_ratio", "total_quantity", "claimed_amount")
# Most selective first: the atom a rule is indexed under.
_INDEX_ORDER = (
    "keywords",
    "customer",
    "product_model",
    "product_spec",
    "kind_requested",
    "channel",
    "customer_severity",
    "source",
    "received_department",
)


def compile_condition(cond: ComplaintCondition | None) -> tuple[Test, ...]:
    if cond is None:
        return ()
    tests: list[Test] = []
    for name, (attr, label, many) in _SETS.items():
        values = getattr(cond, name)
        if values is not None:
            normal = frozenset(_norm(name, v) for v in values)
            tests.append(_overlap(attr, normal, label) if many else _in(attr, normal, label))
    for flag in ("samples_requested", "has_customer_deadline"):
        wanted = getattr(cond, flag)
        if wanted is not None:
            tests.append(_flag(flag, wanted, flag.replace("_", " ")))
    for name in _NUMBERS:
        bounds = getattr(cond, name)
        if bounds is not None:
            tests.append(_number(name, bounds))
    return tuple(tests)


def _norm(name: str, value: object) -> str:
    text = str(value.value if hasattr(value, "value") else value)
    return text.casefold() if name == "keywords" else text


def index_atoms(cond: ComplaintCondition) -> tuple[Atom, ...] | None:
    """The atoms under which a rule is indexed, or None when it must always be tested."""
    for name in _INDEX_ORDER:
        values = getattr(cond, name)
        if values:
            return tuple((name, _norm(name, v)) for v in values)
    return None


@dataclass(slots=True)
class CompiledRule:
    position: int
    rule: ClassificationRule
    when: tuple[Test, ...]
    unless: tuple[Test, ...] | None


class CompiledClassifier:
    def __init__(self, rules: tuple[ClassificationRule, ...]) -> None:
        self.rules = [
            CompiledRule(i, r, compile_condition(r.when), compile_condition(r.unless) or None)
            for i, r in enumerate(rules)
        ]
        self.always: list[int] = []
        self.index: dict[Atom, list[int]] = {}
        keywords: set[str] = set()
        for compiled in self.rules:
            atoms = index_atoms(compiled.rule.when)
            if atoms is None:
                self.always.append(compiled.position)
            for atom in atoms or ():
                self.index.setdefault(atom, []).append(compiled.position)
            for cond in (compiled.rule.when, compiled.rule.unless):
                if cond is not None:
                    keywords.update(k.casefold() for k in cond.keywords or ())
        self.by_first_char: dict[str, tuple[str, ...]] = {}
        for word in sorted(keywords):
            self.by_first_char[word[0]] = (*self.by_first_char.get(word[0], ()), word)
        # One character class finds candidate positions in C; substring tests confirm.
        chars = "".join(re.escape(c) for c in sorted(self.by_first_char))
        self.first_char_pattern = re.compile(f"[{chars}]" if chars else "(?!)")

    def keywords_in(self, text: str) -> frozenset[str]:
        by_first_char = self.by_first_char
        return frozenset(
            word
            for char in set(self.first_char_pattern.findall(text))
            for word in by_first_char[char]
            if word in text
        )

    def candidates(self, facts: Facts) -> list[int]:
        atoms: list[Atom] = [("keywords", k) for k in facts.keywords]
        atoms += [("product_model", m) for m in facts.models]
        atoms += [("product_spec", s) for s in facts.specs]
        for name, value in (
            ("customer", facts.customer),
            ("kind_requested", facts.kind_requested),
            ("channel", facts.channel),
            ("customer_severity", facts.customer_severity),
            ("source", facts.source),
            ("received_department", facts.received_department),
        ):
            if value is not None:
                atoms.append((name, value))
        seen = set(self.always)
        for atom in atoms:
            seen.update(self.index.get(atom, ()))
        return sorted(seen)

    def facts(self, complaint: ComplaintSubmission) -> Facts:
        parts = [complaint.description]
        if complaint.phenomenon:
            parts.append(complaint.phenomenon)
        if complaint.impact_at_customer:
            parts.append(complaint.impact_at_customer)
        text = " ".join(parts).casefold()
        products = complaint.products
        quantities = [p.quantity for p in products if p.quantity is not None]
        total = sum(quantities) if quantities else None
        ratio = complaint.defect_ratio
        if ratio is None and complaint.defect_quantity is not None and total:
            ratio = min(1.0, complaint.defect_quantity / total)
        amount = complaint.claimed_amount
        # StrEnum members hash and compare as their text: no .value needed.
        return Facts(
            channel=complaint.channel,
            kind_requested=complaint.kind_requested,
            customer=complaint.customer.id,
            models=frozenset(p.model for p in products if p.model),
            specs=frozenset(p.spec for p in products if p.spec),
            keywords=self.keywords_in(text),
            customer_severity=complaint.customer_severity,
            source=complaint.source,
            received_department=complaint.received_department,
            samples_requested=complaint.samples_requested,
            has_customer_deadline=complaint.customer_deadline is not None,
            numbers={
                "defect_quantity": _opt(complaint.defect_quantity),
                "defect_ratio": ratio,
                "total_quantity": _opt(total),
                "claimed_amount": float(amount.amount) if amount else None,
            },
        )


def _opt(value: int | None) -> float | None:
    return None if value is None else float(value)


def evaluate(compiled: CompiledRule, facts: Facts) -> list[str] | None:
    """Reasons the rule matched, or None when it does not."""
    reasons = []
    for test in compiled.when:
        reason = test(facts)
        if reason is None:
            return None
        reasons.append(reason)
    if compiled.unless is not None and all(test(facts) for test in compiled.unless):
        return None
    return reasons
