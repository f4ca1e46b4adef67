"""Private servers for fault tests: a RabbitMQ node and a FerretDB process of the test's
own, which it may stop, restart, alarm or slow. The shared servers (5672, 27017) serve
other tests at the same time and are never touched.

- `PrivateRabbit`: a second node of the Debian package (`name@localhost`) with its own
  ports, Mnesia and log directories and no plugins; driven with `rabbitmqctl -n`.
- `PrivateFerret`: `state/bin/qloop-ferretdb -listen 127.0.0.1:PORT -data DIR` (built by
  deploy/local/infra.sh), or `QLOOP_FAULT_MONGOD` (a mongod binary) if set.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

from tests.support.processes import ROOT, free_port

FERRET = ROOT / "state" / "bin" / "qloop-ferretdb"


def port_open(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def wait_port(port: int, *, open_: bool, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while port_open(port) != open_:
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what}: port {port} still {'closed' if open_ else 'open'}")
        time.sleep(0.1)


def available() -> str | None:
    """Why private servers cannot run here, or None when they can."""
    if shutil.which("rabbitmq-server") is None and not Path("/usr/sbin/rabbitmq-server").exists():
        return "rabbitmq-server (Debian package) is not installed"
    if not FERRET.exists() and not os.environ.get("QLOOP_FAULT_MONGOD"):
        return f"{FERRET} is missing: run deploy/local/infra.sh up"
    return None


class PrivateRabbit:
    """A RabbitMQ node of one test: start, stop, restart, memory and disk alarms."""

    def __init__(self) -> None:
        # Not under pytest's tmp_path: the node runs as the `rabbitmq` user (the package's
        # wrapper switches to it), which may not enter root's 0700 pytest directories.
        self.base = base = Path(tempfile.mkdtemp(prefix="qloop-fault-rabbit-"))
        self.node = f"qloopfault{uuid.uuid4().hex[:8]}@localhost"
        self.port = free_port()
        self.dist_port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        (base / "plugins").write_text("[].\n")
        # Default memory watermark would be shared with everyone's load on this machine.
        (base / "rabbitmq.conf").write_text("loopback_users = none\n")
        shutil.chown(base, "rabbitmq", "rabbitmq")
        for path in base.iterdir():
            shutil.chown(path, "rabbitmq", "rabbitmq")

    @property
    def url(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.port}/"

    def _env(self) -> dict[str, str]:
        return {
            **os.environ,
            "RABBITMQ_NODENAME": self.node,
            "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "RABBITMQ_MNESIA_BASE": str(self.base / "mnesia"),
            "RABBITMQ_LOG_BASE": str(self.base / "log"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(self.base / "plugins"),
            "RABBITMQ_CONFIG_FILE": str(self.base / "rabbitmq"),
            "RABBITMQ_PID_FILE": str(self.base / "pid"),
        }

    def ctl(self, *args: str, timeout: float = 60) -> str:
        done = subprocess.run(
            ["rabbitmqctl", "-q", "-n", self.node, *args],
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if done.returncode != 0:
            raise RuntimeError(f"rabbitmqctl {' '.join(args)}: {done.stderr or done.stdout}")
        return done.stdout

    def start(self) -> None:
        out = (self.base / "server.out").open("ab")
        self.process = subprocess.Popen(
            ["rabbitmq-server"], env=self._env(), stdout=out, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + 120
        while True:
            try:
                self.ctl("await_startup", "--timeout", "5", timeout=15)
                break
            except (RuntimeError, subprocess.TimeoutExpired):
                if self.process.poll() is not None or time.monotonic() > deadline:
                    log = (self.base / "server.out").read_text(errors="replace")[-3000:]
                    raise RuntimeError(f"private RabbitMQ did not start:\n{log}") from None
                time.sleep(0.5)
        wait_port(self.port, open_=True, timeout=30, what="private RabbitMQ")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        try:
            self.ctl("stop", timeout=60)
        except (RuntimeError, subprocess.TimeoutExpired):
            self.process.kill()
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
        wait_port(self.port, open_=False, timeout=30, what="private RabbitMQ")

    def restart(self) -> None:
        self.stop()
        self.start()

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.base, ignore_errors=True)

    def memory_alarm(self, on: bool) -> None:
        """Blocks publishers (connection.blocked) while on, as a real memory alarm does."""
        self.ctl("set_vm_memory_high_watermark", "0.000001" if on else "0.6")

    def disk_alarm(self, on: bool) -> None:
        self.ctl("set_disk_free_limit", str(10**15) if on else str(50 * 10**6))

    def alarms(self) -> str:
        return self.ctl("eval", "rabbit_alarm:get_alarms().")

    def queue_depths(self) -> dict[str, int]:
        out = self.ctl("list_queues", "name", "messages")
        depths = {}
        for line in out.splitlines():
            parts = line.split("\t")
            if len(parts) == 2 and parts[1].isdigit():
                depths[parts[0]] = int(parts[1])
        return depths


class PrivateFerret:
    """A FerretDB (SQLite) process of one test, on its own port and data directory."""

    def __init__(self, base: Path) -> None:
        self.base = base
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        (base / "data").mkdir(parents=True, exist_ok=True)

    @property
    def url(self) -> str:
        return f"mongodb://127.0.0.1:{self.port}/"

    def start(self) -> None:
        out = (self.base / "ferretdb.log").open("ab")
        mongod = os.environ.get("QLOOP_FAULT_MONGOD")
        command = (
            [mongod, "--port", str(self.port), "--bind_ip", "127.0.0.1", "--dbpath"]
            if mongod
            else [str(FERRET), "-listen", f"127.0.0.1:{self.port}", "-data"]
        )
        self.process = subprocess.Popen(
            [*command, str(self.base / "data")], stdout=out, stderr=subprocess.STDOUT
        )
        wait_port(self.port, open_=True, timeout=30, what="private FerretDB")

    def stop(self, *, kill: bool = False) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        if kill:
            self.process.kill()
        else:
            self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
        wait_port(self.port, open_=False, timeout=30, what="private FerretDB")

    def restart(self, *, kill: bool = False) -> None:
        self.stop(kill=kill)
        self.start()
