"""Would batching single-document writes save database time? A probe, not part of
`make bench`: `python -m bench.batched_writes [--documents 400] [--batch 16]`.

The same `$inc`/`$set` updates by `_id` on complaint-sized documents (3 KB, an outbox
entry), once one command per document and once `bulk_write` batches, with the database
server's CPU per update read from /proc (the server must run on this machine; its pid from
state/ferretdb.pid, or --pid). Answered on FerretDB 1.24 (docs/performance.md): batching
saves about a quarter of the server's CPU per update, so batching the outbox removals
(2 of the pipeline's 10 commands per complaint) would save about 3% of it."""

from __future__ import annotations

import argparse
import asyncio
import os
import time
from typing import Any

from pymongo import AsyncMongoClient, UpdateOne

from tests.support.processes import ROOT


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


CHANGE = {"$inc": {"n": 1}, "$set": {"outbox": []}}  # an outbox entry removed, say


async def probe(url: str, pid: int, documents: int, batch: int) -> None:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(url, retryWrites=False)
    db = client["bench_batched_writes"]
    try:
        body = "x" * 3000
        await db.docs.insert_many(
            [
                {"_id": f"c{i}", "body": body, "n": 0, "outbox": [{"event": body[:500]}]}
                for i in range(documents)
            ]
        )
        await asyncio.sleep(2)  # the local FerretDB build indexes `_id` within a second
        for label in ("one per command", f"batches of {batch}") * 2:
            cpu, wall = cpu_seconds(pid), time.perf_counter()
            if label == "one per command":
                for i in range(documents):
                    await db.docs.update_one({"_id": f"c{i}"}, CHANGE)
            else:
                for start in range(0, documents, batch):
                    ops = [
                        UpdateOne({"_id": f"c{i}"}, CHANGE)
                        for i in range(start, min(start + batch, documents))
                    ]
                    await db.docs.bulk_write(ops, ordered=False)
            cpu_ms = 1000 * (cpu_seconds(pid) - cpu) / documents
            wall_ms = 1000 * (time.perf_counter() - wall) / documents
            print(f"{label:>16}: server CPU {cpu_ms:.2f} ms, wall {wall_ms:.2f} ms per update")
    finally:
        await client.drop_database("bench_batched_writes")
        await client.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=400)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--pid", type=int, help="the database server's pid")
    parser.add_argument(
        "--url", default=os.environ.get("QLOOP_MONGODB_URL", "mongodb://127.0.0.1:27017/")
    )
    args = parser.parse_args()
    pid = args.pid or int((ROOT / "state" / "ferretdb.pid").read_text())
    asyncio.run(probe(args.url, pid, args.documents, args.batch))


if __name__ == "__main__":
    main()
