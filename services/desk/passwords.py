"""Password hashes: argon2id (argon2-cffi), memory-hard, parameters kept in each hash.

Hashing takes tens of milliseconds of CPU and 64 MiB by design, so it runs in a worker
thread: on the event loop it would hold every other request of the desk for that long.
"""

from __future__ import annotations

import asyncio

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

MIN_LENGTH = 12


class Passwords:
    def __init__(self, hasher: PasswordHasher | None = None) -> None:
        self._hasher = hasher or PasswordHasher()
        self._dummy: str | None = None

    async def hash(self, password: str) -> str:
        if len(password) < MIN_LENGTH:
            raise ValueError(f"a password needs at least {MIN_LENGTH} characters")
        return await asyncio.to_thread(self._hasher.hash, password)

    async def matches(self, stored: str | None, password: str) -> bool:
        return await asyncio.to_thread(self._matches, stored, password)

    def _matches(self, stored: str | None, password: str) -> bool:
        if stored is None:
            # An unknown login costs what a wrong password does: no timing tells them apart.
            self._dummy = self._dummy or self._hasher.hash("not anyone's password")
        try:
            return self._hasher.verify(stored or self._dummy or "", password) and bool(stored)
        except (VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, stored: str) -> bool:
        return self._hasher.check_needs_rehash(stored)


def cheap() -> Passwords:
    """For tests only: the same algorithm with minimal cost."""
    return Passwords(PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))
