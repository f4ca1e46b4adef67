"""The test-run watchdog ends a hung process and says where it hung."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from tests.support.watchdog import EXIT_CODE

pytestmark = pytest.mark.unit

HANGS = textwrap.dedent(
    """
    import asyncio
    from tests.support.watchdog import Watchdog

    async def stuck_in_teardown():
        await asyncio.sleep(60)

    watchdog = Watchdog(
        "tests/x.py::test_hangs",
        dump_after=0.3,
        exit_after=0.8,
        before_dump=lambda: print("capture suspended", flush=True),
    )
    watchdog.start()
    asyncio.run(stuck_in_teardown())
    """
)

FINISHES = textwrap.dedent(
    """
    import time
    from tests.support.watchdog import Watchdog

    watchdog = Watchdog("tests/x.py::test_ok", dump_after=0.3, exit_after=0.6)
    watchdog.start()
    watchdog.stop()
    time.sleep(1.0)
    print("finished")
    """
)


def _run(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=30, check=False
    )


def test_a_hung_test_is_reported_with_its_stacks_and_the_run_ends() -> None:
    result = _run(HANGS)
    assert result.returncode == EXIT_CODE
    assert result.stdout.strip() == "capture suspended"  # pytest hands the terminal back first
    assert "tests/x.py::test_hangs still running" in result.stderr
    assert "1 pending asyncio tasks" in result.stderr
    assert "stuck_in_teardown" in result.stderr  # the task's own stack, not only the loop's
    assert "hung: ending the test run" in result.stderr


def test_a_test_that_finishes_in_time_is_left_alone() -> None:
    result = _run(FINISHES)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "finished"
    assert "watchdog" not in result.stderr
