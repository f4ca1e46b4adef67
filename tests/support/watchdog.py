"""A last line of defence against a test that hangs past its own timeout.

pytest-timeout (signal method) fails a test whose call overruns, but its alarm fires once:
a teardown that then blocks (a server that stopped answering) would hang the run until CI
kills it, with nothing printed. The watchdog, a thread per test, prints every thread's
stack and every pending asyncio task's stack shortly before the test's timeout (where the
call is stuck), and ends the process if the test is still running well after it, so a
hang costs minutes and says where it was.
"""

from __future__ import annotations

import asyncio
import faulthandler
import gc
import os
import sys
import threading
from collections.abc import Callable
from typing import TextIO

EXIT_CODE = 70


class Watchdog:
    def __init__(
        self,
        name: str,
        dump_after: float,
        exit_after: float,
        before_dump: Callable[[], object] | None = None,
    ) -> None:
        self._name = name
        # pytest captures file descriptor 2 while a test runs: what the watchdog prints
        # would go to the capture file and be lost at exit. This hands the terminal back.
        self._before_dump = before_dump
        self._dump_after = dump_after
        self._exit_after = exit_after
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="test-watchdog", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._done.set()

    def _watch(self) -> None:
        if self._done.wait(self._dump_after):
            return
        if self._before_dump is not None:
            try:
                self._before_dump()
            except Exception as exc:  # print anyway: to the capture file, at worst
                print(f"watchdog: could not suspend capturing: {exc!r}", file=sys.__stderr__)
        out = sys.__stderr__
        assert out is not None
        print(f"\n== watchdog: {self._name} still running after {self._dump_after:.0f} s", file=out)
        dump_stacks(out)
        if self._done.wait(self._exit_after - self._dump_after):
            return
        print(f"== watchdog: {self._name} hung: ending the test run", file=out, flush=True)
        os._exit(EXIT_CODE)


def dump_stacks(out: TextIO) -> None:
    """Every thread's stack, then every pending asyncio task's (read from another thread:
    good enough for a diagnosis, never used to decide anything)."""
    faulthandler.dump_traceback(file=out, all_threads=True)
    tasks = [o for o in gc.get_objects() if isinstance(o, asyncio.Task) and not o.done()]
    print(f"== {len(tasks)} pending asyncio tasks", file=out)
    for task in tasks:
        try:
            task.print_stack(file=out)
        except Exception as exc:  # a task changing under us: skip it
            print(f"(could not print {task!r}: {exc!r})", file=out)
    out.flush()
