"""Rules engine benchmark: classifications/s with 200 rules, due-time computations/s.

    .venv/bin/python bench/bench_rules.py [--seconds 3] [--no-write]

Prints a table and writes the "Rules engine" section of docs/performance.md (other sections
are kept). Goal: >= 50,000 classifications per second on one core.
"""

from __future__ import annotations

import argparse
import platform
import random
import re
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from services.common.contracts.complaint import ComplaintSubmission
from services.common.rules import SiteRules, classify, due_time, load_rules, stage_deadlines

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "performance.md"
SECTION = "## Rules engine"
RULE_COUNT = 200
CHANNELS = [
    "letter",
    "fax",
    "mail",
    "email",
    "phone",
    "visit",
    "online_form",
    "returned_goods",
    "claim",
    "other_system",
]
CJK = [chr(c) for c in range(0x4E00, 0x4E00 + 2500)]
WORDS = [
    "scratch",
    "crack",
    "rust",
    "noise",
    "leak",
    "burr",
    "warp",
    "stain",
    "short",
    "open",
    "label",
    "reel",
    "late",
    "damaged",
    "missing",
    "bent",
    "loose",
    "smell",
]


def build_rules(directory: Path, rng: random.Random) -> tuple[SiteRules, list[str]]:
    """The default site file with 200 generated classification rules."""
    base = yaml.safe_load((ROOT / "rules" / "default.yaml").read_text(encoding="utf-8"))
    keywords: list[str] = []
    rules: list[dict[str, Any]] = []
    for i in range(RULE_COUNT - 20):
        words = ["".join(rng.choices(CJK, k=rng.randint(2, 4))) for _ in range(2)]
        words.append(f"{rng.choice(WORDS)}-{i}")
        keywords += words
        when: dict[str, Any] = {"keywords": words}
        if i % 5 == 0:
            when["channel"] = rng.sample(CHANNELS, 3)
        if i % 7 == 0:
            when["defect_ratio"] = {"gte": round(rng.random() / 10, 3)}
        outcome = {"category": rng.choice("abcd"), "tags": [f"t{i % 13}"]}
        if i % 3 == 0:
            outcome["severity"] = "serious"
        rules.append({"id": f"r{i:03d}", "when": when, "set": outcome})
    for i in range(20):  # rules on customers and models, no keywords
        rules.append(
            {
                "id": f"cust{i}",
                "when": {"customer": [f"C{i:03d}"]},
                "set": {"tags": ["key_account"]},
            }
        )
    base["classification"]["rules"] = rules
    base["include"] = [
        str(ROOT / "rules" / "shared" / n) for n in ("roles.yaml", "workflow-8d.yaml")
    ]
    path = directory / "bench.yaml"
    path.write_text(yaml.safe_dump(base, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return load_rules(path), keywords


def complaints(rng: random.Random, keywords: list[str], count: int) -> list[ComplaintSubmission]:
    out = []
    start = datetime(2025, 3, 1, tzinfo=UTC)
    for _ in range(count):
        text = "".join(rng.choices(CJK, k=rng.randint(60, 160)))
        if rng.random() < 0.7:  # most complaints mention one or two known keywords
            for word in rng.sample(keywords, rng.randint(1, 2)):
                cut = rng.randint(0, len(text))
                text = text[:cut] + word + text[cut:]
        out.append(
            ComplaintSubmission.model_validate(
                {
                    "site": "demo",
                    "channel": rng.choice(CHANNELS),
                    "customer": {"id": f"C{rng.randint(0, 400):03d}", "name": "Customer"},
                    "products": [
                        {"model": f"M{rng.randint(0, 50)}", "quantity": rng.randint(1, 5000)}
                    ],
                    "description": text,
                    "defect_quantity": rng.randint(0, 200),
                    "received_at": start + timedelta(minutes=rng.randint(0, 60 * 24 * 600)),
                }
            )
        )
    return out


def rate(work: Callable[[int], None], items: int, seconds: float) -> float:
    done, began = 0, time.perf_counter()
    while time.perf_counter() - began < seconds:
        work(done)
        done += items
    return done / (time.perf_counter() - began)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    rng = random.Random(20250301)
    with tempfile.TemporaryDirectory() as tmp:
        rules, keywords = build_rules(Path(tmp), rng)
    batch = complaints(rng, keywords, 2000)
    classify(rules, batch[0])  # compile outside the timing
    results: list[tuple[str, float]] = []

    def classify_batch(_: int) -> None:
        for c in batch:
            classify(rules, c)

    results.append(
        (f"classify ({RULE_COUNT} rules)", rate(classify_batch, len(batch), args.seconds))
    )
    durations = ["3 working days", "1 working day", "7 working days", "48 hours", "7 days"]
    starts = [c.received_at for c in batch]

    def due_batch(_: int) -> None:
        for i, start in enumerate(starts):
            due_time(rules, start, durations[i % len(durations)])

    results.append(("due_time (mixed units)", rate(due_batch, len(starts), args.seconds)))

    def working_batch(_: int) -> None:
        for start in starts:
            due_time(rules, start, "5 working days")

    results.append(("due_time (5 working days)", rate(working_batch, len(starts), args.seconds)))
    classified = [(classify(rules, c), c) for c in batch[:500]]

    def deadlines_batch(_: int) -> None:
        for result, c in classified:
            stage_deadlines(rules, result, {"received": c.received_at, "registered": c.received_at})

    results.append(
        ("stage_deadlines (all stages)", rate(deadlines_batch, len(classified), args.seconds))
    )
    table = render(results)
    print(table)
    if not args.no_write:
        write_section(table)
        print(f"\nwritten to {DOC.relative_to(ROOT)}")


def render(results: list[tuple[str, float]]) -> str:
    lines = ["| operation | per second (one core) |", "|---|---:|"]
    lines += [f"| {name} | {value:,.0f} |" for name, value in results]
    return "\n".join(lines)


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {platform.system()} {platform.release()}, Python {platform.python_version()}"


def write_section(table: str) -> None:
    section = "\n".join(
        [
            SECTION,
            "",
            f"Measured {datetime.now(UTC):%Y-%m-%d} on {machine()} with `bench/bench_rules.py`: "
            f"{RULE_COUNT} generated classification rules (keywords in Chinese and English, "
            "channel and ratio conditions), 2,000 random complaints of 60-160 characters, one "
            "process. Goal: >= 50,000 classifications per second.",
            "",
            table,
            "",
        ]
    )
    text = DOC.read_text(encoding="utf-8") if DOC.exists() else "# Performance\n\n"
    pattern = re.compile(rf"^{re.escape(SECTION)}\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(text):
        text = pattern.sub(lambda _: section + "\n", text).rstrip() + "\n"
    else:
        text = text.rstrip() + "\n\n" + section
    DOC.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
