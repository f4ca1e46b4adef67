"""Opt-in crash points for fault tests: kill the process at a chosen line.

`crashpoint("consumer.after_handler")` does nothing unless the environment says so:

- `QLOOP_CRASH_AT`: the points armed, comma-separated, each `name` or `name@text` to crash
  only where `detail` contains `text` (e.g. one message's subject: a poison message that
  kills its consumer on every delivery). Unset in production: then each call is one
  environment lookup and returns.
- `QLOOP_CRASH_AFTER`: crash on the Nth time an armed point is reached (default 1), so a
  test can let some work through first.

The crash is `os._exit(137)`, as a SIGKILL looks to a supervisor: no `finally`, no
flush, no graceful close of connections. Reliability tests restart the process and check
that nothing was lost or doubled (tests/reliability/).
"""

from __future__ import annotations

import os

_reached: dict[str, int] = {}
EXIT_CODE = 137


def crashpoint(name: str, detail: str = "") -> None:
    armed = os.environ.get("QLOOP_CRASH_AT")
    if not armed or name not in armed:
        return
    for entry in armed.split(","):
        point, _, text = entry.partition("@")
        if point == name and text in detail:
            _reached[name] = _reached.get(name, 0) + 1
            if _reached[name] >= int(os.environ.get("QLOOP_CRASH_AFTER", "1")):
                os._exit(EXIT_CODE)
            return
