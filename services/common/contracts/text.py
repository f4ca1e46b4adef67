"""Text that can be stored and sent on: JSON may carry a lone UTF-16 surrogate
(`"\\ud800"`), which Python decodes into a `str` that cannot be encoded as UTF-8, so the
database, the broker and every JSON answer would fail on it later. Found at the edge."""

from __future__ import annotations

import re
from typing import Any

_SURROGATE = re.compile("[\ud800-\udfff]")


def lone_surrogate_at(value: Any, path: tuple[str | int, ...] = ()) -> tuple[str | int, ...] | None:
    """The path of the first string (or key) in a decoded JSON value that holds a lone
    surrogate, or None."""
    if isinstance(value, str):
        return path if _SURROGATE.search(value) else None
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(key, str) and _SURROGATE.search(key):
                return (*path, key)
            found = lone_surrogate_at(item, (*path, key))
            if found is not None:
                return found
    if isinstance(value, list):
        for index, item in enumerate(value):
            found = lone_surrogate_at(item, (*path, index))
            if found is not None:
                return found
    return None


def describe(path: tuple[str | int, ...]) -> str:
    return ".".join(str(p) for p in path) or "body"


REASON = "text is not valid Unicode (a lone surrogate such as \\ud800)"
