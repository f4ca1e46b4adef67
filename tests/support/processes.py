"""Services as real processes (`python -m services.cli run NAME`), for end-to-end tests."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _ready(port: int) -> bool:
    return readiness(port) == "ready"


def readiness(port: int, timeout: float = 1.0) -> str:
    """ "ready", or why not: the /readyz status and body, or the error reaching it."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=timeout) as reply:
            return "ready" if reply.status == 200 else f"{reply.status} {reply.read()[:300]!r}"
    except urllib.error.HTTPError as exc:
        return f"{exc.code} {exc.read()[:300].decode(errors='replace')}"
    except OSError as exc:
        return f"unreachable: {exc!r}"[:300]


@contextlib.contextmanager
def service_process(name: str, env: dict[str, str], log: Path) -> Iterator[int]:
    """Start a service, wait until ready, yield its port; SIGTERM it afterwards."""
    port = free_port()
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "services.cli", "run", name, "--port", str(port)],
            cwd=ROOT,
            env={**os.environ, **env},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + 60
            while not _ready(port):
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"{name} did not become ready:\n{log.read_text()}")
                time.sleep(0.2)
            yield port
        finally:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()


class ServiceProcess:
    """A service process that a test can SIGKILL and start again on the same port."""

    def __init__(self, name: str, env: dict[str, str], log: Path) -> None:
        self.name, self.env, self.log = name, env, log
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, *, wait: bool = True) -> None:
        out = self.log.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "services.cli", "run", self.name, "--port", str(self.port)],
            cwd=ROOT,
            env={**os.environ, **self.env},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        if not wait:  # e.g. a crash test whose process may die before it is ready
            return
        deadline = time.monotonic() + 60
        while not _ready(self.port):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{self.name} did not become ready:\n{self.log.read_text()}")
            time.sleep(0.1)

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def ready(self) -> bool:
        return _ready(self.port)

    def readiness(self, timeout: float = 1.0) -> str:
        return readiness(self.port, timeout)

    def kill(self) -> None:
        assert self.process is not None
        self.process.kill()  # SIGKILL: no graceful shutdown, in-flight work is cut
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
