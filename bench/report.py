"""Writing one section of docs/performance.md, leaving the others as they are."""

from __future__ import annotations

import os
import platform
import re
from datetime import UTC, datetime
from pathlib import Path

DOC = Path(__file__).resolve().parent.parent / "docs" / "performance.md"


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"{datetime.now(UTC):%Y-%m-%d}, {cpu}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, {platform.system()} {platform.release()}"
    )


def update_section(title: str, body: str, doc: Path = DOC) -> None:
    text = doc.read_text(encoding="utf-8") if doc.exists() else "# Performance\n"
    section = f"## {title}\n\n{body.strip()}\n"
    pattern = re.compile(rf"^## {re.escape(title)}\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(text):
        text = pattern.sub(lambda _: section + "\n", text).rstrip() + "\n"
    else:
        text = text.rstrip() + "\n\n" + section
    doc.write_text(text, encoding="utf-8")


def table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


# (service, command, collection) -> (count, seconds), from `qloop_db_command_seconds`.
CommandTotals = dict[tuple[str, str, str], tuple[float, float]]


def command_totals(service: str, metrics_text: str) -> CommandTotals:
    from prometheus_client.parser import text_string_to_metric_families

    totals: dict[tuple[str, str, str], list[float]] = {}
    for family in text_string_to_metric_families(metrics_text):
        if family.name != "qloop_db_command_seconds":
            continue
        for sample in family.samples:
            key = (service, sample.labels["command"], sample.labels["collection"])
            slot = totals.setdefault(key, [0.0, 0.0])
            if sample.name.endswith("_count"):
                slot[0] = sample.value
            elif sample.name.endswith("_sum"):
                slot[1] = sample.value
    return {key: (count, seconds) for key, (count, seconds) in totals.items()}


def command_rows(before: CommandTotals, after: CommandTotals, per: int) -> list[list[str]]:
    """Commands and their time per unit of work (`per` units) between two readings."""
    rows = []
    for key, (count, seconds) in after.items():
        count0, seconds0 = before.get(key, (0.0, 0.0))
        if count > count0:
            rows.append((key, (count - count0) / per, (seconds - seconds0) * 1000 / per))
    rows.sort(key=lambda row: -row[2])
    return [[*key, f"{count:.2f}", f"{ms:.2f}"] for key, count, ms in rows]


COMMAND_HEADER = ["service", "command", "collection", "per unit", "ms per unit"]


def cpu_seconds(services: dict[str, int]) -> dict[str, float]:
    """CPU time used so far by the processes of a benchmark: `services` (name -> pid), the
    database server, the broker and this process (the rest of the machine is not
    counted)."""
    import subprocess

    tick = os.sysconf("SC_CLK_TCK")
    names = {"qloop-ferretdb": "database", "beam.smp": "broker"}
    found: dict[str, float] = {}
    out = subprocess.run(["ps", "-eo", "pid=,comm="], capture_output=True, text=True)
    for line in out.stdout.splitlines():
        pid, comm = (line.split(None, 1) + [""])[:2]
        role = names.get(comm.strip())
        for name, service_pid in services.items():
            if int(pid) == service_pid:
                role = name
        if role is None and int(pid) == os.getpid():
            role = "benchmark process"
        if role is None:
            continue
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        found[role] = found.get(role, 0.0) + (int(fields[11]) + int(fields[12])) / tick
    return found


def cpu_rows(
    before: dict[str, float], after: dict[str, float], per: int, wall: float
) -> list[list[str]]:
    return [
        [role, f"{(used - before.get(role, 0.0)) * 1000 / per:.1f}",
         f"{(used - before.get(role, 0.0)) / wall:.0%}"]
        for role, used in sorted(after.items())
    ]  # fmt: skip


CPU_HEADER = ["process", "CPU ms per unit", "share of one core"]


def delete_queues(amqp_url: str, prefix: str) -> None:
    """Delete a run's queues (left behind, thousands of idle quorum queues once made the
    local RabbitMQ stop answering new connections). Needs the management plugin."""
    from services.common.deadletters import management_url_from
    from tests.support.rabbit import delete_queues as delete

    try:
        delete(management_url_from(amqp_url), prefix)
    except OSError as exc:
        print(f"could not delete the queues {prefix}*: {exc}")  # noqa: T201
