"""Anonymous internal (employee) surveys on a random sample of staff."""

from __future__ import annotations

import math
import random
from collections.abc import Sequence


def sample_size(staff: int, min_share: float) -> int:
    """The smallest sample covering at least `min_share` of `staff`."""
    return min(staff, math.ceil(staff * min_share - 1e-9))


def draw_sample(staff: Sequence[str], min_share: float, *, seed: int | None = None) -> list[str]:
    unique = sorted(set(staff))
    return random.Random(seed).sample(unique, sample_size(len(unique), min_share))
