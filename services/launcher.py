"""`qloop up`: the services as child processes, demo data and people, and where to look.

It expects QLOOP_AMQP_URL and QLOOP_MONGODB_URL (as `qloop infra up` prints them).
In the foreground it stops the services on Ctrl-C; with --detach it leaves them
running and writes their pids to state/pids/.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STATE = ROOT / "state"
MAILDIR = STATE / "mail"  # the SMTP catcher's Maildir (aiosmtpd.handlers.Mailbox)
PORTS = {
    "intake": 8081,
    "workflow": 8082,
    "survey": 8083,
    "reporting": 8084,
    "desk": 8085,
    "notify": 8086,
}
SMTP_CATCHER = 8025  # a local aiosmtpd: the mails notify sends land in MAILDIR
DESK = f"http://127.0.0.1:{PORTS['desk']}"
# The demo people of each site: (id prefix, name, the role whose department they belong
# to, roles granted beside it).
DEMO_PEOPLE = (
    ("clerk", "Complaint clerk", "complaint_owner", ()),
    ("engineer", "Quality engineer", "quality", ()),
    ("rep", "Management representative", None, ("management_rep",)),
    ("manager", "Quality manager", "quality", ("manager",)),
)


def _ready(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=1) as reply:
            return bool(reply.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def _wait_ready(processes: dict[str, subprocess.Popen[bytes]], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    waiting = dict(PORTS)
    while waiting:
        for name, port in list(waiting.items()):
            process = processes.get(name)
            if process is not None and process.poll() is not None:
                raise RuntimeError(
                    f"{name} exited with {process.returncode}; see state/logs/{name}.log"
                )
            if _ready(port):
                del waiting[name]
        if time.monotonic() > deadline:
            raise RuntimeError(f"not ready after {timeout}s: {', '.join(waiting)}")
        time.sleep(0.2)


def _post(url: str, body: object | None = None, headers: dict[str, str] | None = None) -> object:
    data = json.dumps(body).encode() if body is not None else b""
    request = urllib.request.Request(
        url,
        data=data,
        method="POST",
        headers={"content-type": "application/json", **(headers or {})},
    )
    with urllib.request.urlopen(request, timeout=10) as reply:
        return json.loads(reply.read() or b"null")


DEMO_COMPLAINTS = [
    ("sz", "email", "Acme Auto Parts", "外壳断裂，要求索赔 / cracked housings, claim", 120),
    ("sz", "phone", "Delta Motors", "物流延误 logistics late, parts arrived 2 days late", 0),
    ("nb", "online_form", "Northwind Trading", "包装破损 carton damaged in transit", 12),
    ("demo", "visit", "Contoso Builders", "defect rate rising on lot L2026-10", 40),
]


def _demo_complaint(
    site: str, channel: str, customer: str, text: str, defects: int, index: int
) -> dict[str, object]:
    return {
        "site": site,
        "channel": channel,
        "customer": {"id": f"C-{100 + index}", "name": customer},
        "contact": {"name": "Demo Contact", "email": f"contact{index}@example.com"},
        "products": [{"model": "BX-200", "quantity": 10000, "lot_numbers": ["L2026-10"]}],
        "description": text,
        "defect_quantity": defects,
        "external_ref": f"DEMO-{site}-{index}",
        "received_at": datetime.now(UTC).isoformat(),
    }


def demo_keys() -> tuple[Path, str]:
    """A local admin key for every site (state/ only; never for production)."""
    from services.common.auth import hash_key, new_key

    path, plain_path = STATE / "api-keys.yaml", STATE / "demo-api-key.txt"
    if not path.exists() or not plain_path.exists():
        plain = new_key()
        path.write_text(
            "keys:\n"
            f"  - {{name: demo-admin, sha256: {hash_key(plain)}, sites: ['*'], roles: [admin]}}\n",
            encoding="utf-8",
        )
        plain_path.write_text(plain, encoding="utf-8")
        os.chmod(plain_path, 0o600)
    return path, plain_path.read_text(encoding="utf-8").strip()


def _secret(name: str) -> str:
    path = STATE / name
    if not path.exists():
        path.write_text(secrets.token_urlsafe(32), encoding="utf-8")
        os.chmod(path, 0o600)
    return path.read_text(encoding="utf-8").strip()


def demo_people(api_key: str, password: str) -> list[str]:
    """A clerk, a quality engineer, a management representative and a quality manager at
    each site with a rule file, added at the desk (again on a second start: kept)."""
    from services.common.rulebook import Rulebook

    rulebook = Rulebook.load(Path(os.environ.get("QLOOP_RULES_DIR") or ROOT / "rules"))
    added = []
    for site in rulebook.sites:
        rules = rulebook.for_site(site)
        for prefix, name, department_role, roles in DEMO_PEOPLE:
            departments = [d.id for d in rules.departments if department_role in d.roles][:1]
            person_id = f"{prefix}.{site}"
            person = {
                "id": person_id,
                "name": f"{name} ({site})",
                "email": f"{prefix}.{site}@example.com",
                "language": "zh" if "zh" in rules.site.languages else "en",
                "grants": [{"site": site, "departments": departments, "roles": list(roles)}],
                "password": password,
            }
            try:
                _post(f"{DESK}/admin/people", person, headers={"X-API-Key": api_key})
            except urllib.error.HTTPError as exc:
                reason = exc.read().decode(errors="replace")
                if "exists already" not in reason:  # else: kept from an earlier start
                    raise RuntimeError(f"demo person {person_id}: {reason}") from None
            added.append(person_id)
    return added


def load_demo(api_key: str) -> list[str]:
    """Demo data through the public APIs; returns lines to print."""
    lines = []
    intake = f"http://127.0.0.1:{PORTS['intake']}"
    for index, row in enumerate(DEMO_COMPLAINTS):
        reply = _post(
            f"{intake}/complaints", _demo_complaint(*row, index), headers={"X-API-Key": api_key}
        )
        assert isinstance(reply, dict)
        c = reply["classification"]
        lines.append(
            f"complaint {reply['number']}: {c['nature']}/{c['kind']}/"
            f"{c['category']} -> {c['owner_department']}"
        )
    return lines


def run_system(*, demo: bool, detach: bool) -> int:
    missing = [v for v in ("QLOOP_AMQP_URL", "QLOOP_MONGODB_URL") if not os.environ.get(v)]
    if missing:
        print(f'qloop up: set {" and ".join(missing)} (eval "$(qloop infra up)")', file=sys.stderr)
        return 2
    logs = STATE / "logs"
    pids = STATE / "pids"
    logs.mkdir(parents=True, exist_ok=True)
    pids.mkdir(parents=True, exist_ok=True)
    keys_file, api_key = demo_keys()
    env = {
        **os.environ,
        "QLOOP_API_KEYS_FILE": str(keys_file),
        "QLOOP_SURVEY_LINK_SECRET": os.environ.get("QLOOP_SURVEY_LINK_SECRET")
        or _secret("survey-link-secret"),
        "QLOOP_TOKEN_JWKS_URL": os.environ.get("QLOOP_TOKEN_JWKS_URL")
        or f"{DESK}/.well-known/jwks.json",
        # notify reads the directory with the demo admin key (the desk lists people to admins)
        "QLOOP_NOTIFY_DESK_API_KEY": os.environ.get("QLOOP_NOTIFY_DESK_API_KEY") or api_key,
        # the desk's pages work through intake and the workflow
        "QLOOP_DESK_INTAKE_URL": f"http://127.0.0.1:{PORTS['intake']}",
        "QLOOP_DESK_WORKFLOW_URL": f"http://127.0.0.1:{PORTS['workflow']}",
        "QLOOP_DESK_REPORTING_URL": f"http://127.0.0.1:{PORTS['reporting']}",
        "QLOOP_DESK_NOTIFY_URL": f"http://127.0.0.1:{PORTS['notify']}",
        # the local SMTP catcher's mails, shown on the desk (/mail) when it is ours
        **(
            {}
            if "QLOOP_NOTIFY_SMTP_HOST" in os.environ
            else {"QLOOP_DESK_DEMO_MAILDIR": str(MAILDIR)}
        ),
    }
    processes: dict[str, subprocess.Popen[bytes]] = {}
    if "QLOOP_NOTIFY_SMTP_HOST" not in os.environ and not _listening(SMTP_CATCHER):
        processes["smtp"] = subprocess.Popen(
            # Every mail kept in a Maildir that the desk's /mail page shows each person.
            [
                sys.executable,
                "-m",
                "aiosmtpd",
                "-n",
                "-l",
                f"127.0.0.1:{SMTP_CATCHER}",
                "-c",
                "aiosmtpd.handlers.Mailbox",
                str(MAILDIR),
            ],  # fmt: skip
            cwd=ROOT,
            env={**env, "PYTHONUNBUFFERED": "1"},
            stdout=(logs / "mail.log").open("ab"),
            stderr=subprocess.STDOUT,
            start_new_session=detach,
        )
        (pids / "smtp.pid").write_text(str(processes["smtp"].pid))
    for name, port in PORTS.items():
        if _ready(port):
            print(f"{name}: already running on port {port}", file=sys.stderr)
            continue
        log = (logs / f"{name}.log").open("ab")
        processes[name] = subprocess.Popen(
            [sys.executable, "-m", "services.cli", "run", name, "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=detach,
        )
        (pids / f"{name}.pid").write_text(str(processes[name].pid))
    try:
        _wait_ready(processes)
        # The people first: the demo complaints then notify the departments they reach.
        password = _secret("demo-password")
        people = demo_people(api_key, password) if demo else []
        lines = load_demo(api_key) if demo else []
    except Exception as exc:
        print(f"qloop up: {exc}", file=sys.stderr)
        _stop(processes)
        return 1
    print("qloop is running:")
    print(f"  the desk   {DESK}/   people's pages: my work, cases, registering, search, reports")
    for name, port in PORTS.items():
        print(f"  {name:<10} http://127.0.0.1:{port}/docs   metrics: /metrics   health: /readyz")
    print("  rabbitmq   http://127.0.0.1:15672/ (guest/guest)")
    print(f"  logs       {logs}/")
    print(f"  mails      {DESK}/mail   (caught on 127.0.0.1:{SMTP_CATCHER}; each person's own)")
    print(f"  API key    {api_key}   (header X-API-Key; stored in state/demo-api-key.txt)")
    for line in lines:
        print(f"  demo: {line}")
    if people:
        print(f"  sign in    {DESK}/sign-in   as any of: {', '.join(people)}")
        print(f"             password {password}   (stored in state/demo-password)")
        print(
            f"  a token    curl -s {DESK}/auth/token -H 'content-type: application/json' "
            f'-d \'{{"login": "{people[0]}", "password": "{password}"}}\''
        )
        print("             then: -H 'Authorization: Bearer TOKEN' on any service")
    if detach:
        print("stop with: qloop down  (or kill the pids in state/pids/)")
        return 0
    print("Ctrl-C stops the services.")
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
    signal.sigwait({signal.SIGINT, signal.SIGTERM})
    _stop(processes)
    return 0


def _stop(processes: dict[str, subprocess.Popen[bytes]]) -> None:
    for process in processes.values():
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in processes.values():
        try:
            process.wait(timeout=25)
        except subprocess.TimeoutExpired:
            process.kill()


def stop_detached() -> int:
    pids = ROOT / "state" / "pids"
    for path in sorted(pids.glob("*.pid")) if pids.exists() else []:
        try:
            os.kill(int(path.read_text()), signal.SIGTERM)
            print(f"stopped {path.stem}")
        except (ProcessLookupError, ValueError):
            pass
        path.unlink()
    return 0
