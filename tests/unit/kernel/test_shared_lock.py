"""SharedLock: shared holders together, an exclusive holder alone and never starved."""

from __future__ import annotations

import asyncio

from services.common.storage.locks import SharedLock


async def test_shared_holders_hold_together_and_exclusive_alone() -> None:
    lock = SharedLock()
    inside: list[str] = []
    most = {"shared": 0}
    gate = asyncio.Event()

    async def reader(name: str) -> None:
        async with lock.shared():
            inside.append(name)
            most["shared"] = max(most["shared"], sum(1 for n in inside if n.startswith("r")))
            await gate.wait()
            inside.remove(name)

    async def writer() -> None:
        async with lock.exclusive():
            assert inside == []
            inside.append("w")
            await asyncio.sleep(0)
            inside.remove("w")

    readers = [asyncio.create_task(reader(f"r{i}")) for i in range(3)]
    await asyncio.sleep(0)
    w = asyncio.create_task(writer())
    late = asyncio.create_task(reader("late"))
    await asyncio.sleep(0.01)
    assert most["shared"] == 3
    assert "late" not in inside  # a waiting writer holds back shared holders that come later
    gate.set()
    await asyncio.gather(*readers, w, late)
    assert inside == []


async def test_a_cancelled_exclusive_waiter_lets_shared_holders_go_on() -> None:
    lock = SharedLock()
    release = asyncio.Event()

    async def hold_shared() -> None:
        async with lock.shared():
            await release.wait()

    first = asyncio.create_task(hold_shared())
    await asyncio.sleep(0)
    waiter = asyncio.create_task(_exclusive(lock))
    await asyncio.sleep(0)
    waiter.cancel()
    await asyncio.gather(waiter, return_exceptions=True)
    async with asyncio.timeout(1):
        async with lock.shared():  # not held back by the writer that gave up
            pass
    release.set()
    await first
    async with asyncio.timeout(1):
        async with lock.exclusive():
            pass


async def _exclusive(lock: SharedLock) -> None:
    async with lock.exclusive():
        pass
