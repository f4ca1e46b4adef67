"""The `qloop` command line.

    qloop run SERVICE            run one service (intake, workflow, survey, reporting, desk, notify)
    qloop up [--detach]          run the services with demo data and people (after infra up)
    qloop down                   stop services started with --detach
    qloop infra up|down|status   local RabbitMQ and database (deploy/local/infra.sh)
    qloop contracts export|check JSON Schemas + AsyncAPI (docs/events/), OpenAPI (docs/openapi/)
    qloop rules ...              check, explain, band, due, replay (see docs/rules.md)
    qloop intake import FILE --site S   register a complaint history (CSV or JSONL)
    qloop case history ID / qloop audit verify   case records and their hash chains
    qloop dlq list|show|replay   dead-lettered messages
    qloop privacy export|erase|status   a customer's contact details (services/privacy_cli.py)
    qloop users add|list|show|disable|set-password|grant|revoke|import   people (the desk)
    qloop keys add|list|revoke|hash|trust|distrust   systems: API keys, trusted broker users
    qloop broker users FILE      RabbitMQ users per service and system (their permissions)

Services are imported lazily, by name, so that they stay independent of each other.
"""

from __future__ import annotations

import argparse
import importlib
import subprocess
import sys
from pathlib import Path
from typing import Any

SERVICES = ("intake", "workflow", "survey", "reporting", "desk", "notify")
# Modules that add their own sub-commands with `register(subparsers)`.
TOOLS = (
    "services.common.rules.cli",
    "services.common.deadletters_cli",
    "services.common.keys_cli",
    "services.common.broker_users_cli",
    "services.desk.cli",
    "services.intake.cli",
    "services.survey.cli",
    "services.workflow.cli",
    "services.reporting.cli",
    "services.privacy_cli",
)
ROOT = Path(__file__).resolve().parent.parent


def _run(args: argparse.Namespace) -> int:
    import uvicorn

    from services.common import logs

    module = importlib.import_module(f"services.{args.service}.app")
    refusals, settings, app = _prepared(module)
    for refusal in refusals:
        print(f"qloop run {args.service}: {refusal}", file=sys.stderr)
    if refusals:
        return 2
    port = args.port or settings.http_port or module.DEFINITION.default_port
    logs.configure(args.service, settings.log_level)
    config = uvicorn.Config(
        app,
        host=args.host or settings.http_host,
        port=port,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=20,
        loop="uvloop",  # C implementations of the event loop and of HTTP parsing
        http="httptools",
    )
    uvicorn.Server(config).run()
    return 0


def _prepared(module: Any) -> tuple[list[str], Any, Any]:
    """Settings and app, or the reasons they are refused: one line each, naming the
    variable or file, before anything connects (a failure inside the server's start-up
    would show a traceback instead). The service's `preflight(settings)`, when it has
    one, checks what its lifespan would otherwise refuse."""
    from pydantic import ValidationError

    from services.common.rulebook import Rulebook
    from services.common.rules import RuleFileErrors
    from services.common.settings import ServiceSettings

    misspelt = _misspelt_variables()
    if misspelt:
        return misspelt, None, None
    try:
        settings = ServiceSettings()
        app = module.create_app(settings)
        Rulebook.load(settings.rules_dir)
        getattr(module, "preflight", lambda _settings: None)(settings)
    except ValidationError as exc:
        return _settings_refusals(exc), None, None
    except RuleFileErrors as exc:
        return [str(e) for e in exc.errors], None, None
    except (OSError, ValueError) as exc:
        return [str(exc)], None, None
    return [], settings, app


SETTINGS_MODULES = (
    "services.common.settings",
    "services.survey.settings",
    "services.reporting.settings",
    "services.desk.settings",
    "services.notify.settings",
)
# QLOOP_ variables read by tools, not by a service's settings (deploy/local, tests, bench).
TOOL_VARIABLES = frozenset(
    {"QLOOP_DB_PORT", "QLOOP_AMQP_PORT", "QLOOP_STATE_DIR", "QLOOP_CRASH_AT",
     "QLOOP_CRASH_AFTER", "QLOOP_FAULT_COMPLAINTS", "QLOOP_FAULT_MONGOD",
     "QLOOP_FAULT_RESULTS", "QLOOP_SCREENSHOTS"}
)  # fmt: skip


def _misspelt_variables() -> list[str]:
    """A `QLOOP_` variable that is no setting of any service but close to one: refused, as
    pydantic-settings would ignore it and the service would run on the default (say, a
    `QLOOP_MONGO_URL` meant as `QLOOP_MONGODB_URL`)."""
    import difflib
    import os

    from pydantic_settings import BaseSettings

    known = set(TOOL_VARIABLES)
    for name in SETTINGS_MODULES:
        for value in vars(importlib.import_module(name)).values():
            if isinstance(value, type) and issubclass(value, BaseSettings):
                prefix = str(value.model_config.get("env_prefix") or "")
                known |= {(prefix + field).upper() for field in value.model_fields}
    refusals = []
    for name in sorted(n for n in os.environ if n.startswith("QLOOP_") and n not in known):
        close = difflib.get_close_matches(name, sorted(known), n=1, cutoff=0.8)
        if close:
            refusals.append(f"{name}: not a setting; did you mean {close[0]}?")
    return refusals


def _settings_refusals(exc: Any) -> list[str]:
    """One line per invalid setting, named as its environment variable."""
    prefix = _env_prefix(exc.title)
    lines = []
    for err in exc.errors(include_url=False):
        name = (prefix + "_".join(str(p) for p in err["loc"])).upper()
        message = str(err["msg"]).removeprefix("Value error, ")
        lines.append(f"{name}: {message}" if err["loc"] else message)
    return lines


def _env_prefix(settings_class: str) -> str:
    """The env prefix of the pydantic-settings class named `settings_class`."""
    from pydantic_settings import BaseSettings

    classes: list[type[BaseSettings]] = list(BaseSettings.__subclasses__())
    while classes:
        cls = classes.pop()
        if cls.__name__ == settings_class:
            return str(cls.model_config.get("env_prefix") or "")
        classes.extend(cls.__subclasses__())
    return "QLOOP_"


def _infra(args: argparse.Namespace) -> int:
    script = ROOT / "deploy" / "local" / "infra.sh"
    return subprocess.call(["bash", str(script), args.action])


def openapi_documents() -> dict[str, str]:
    """OpenAPI of each service's HTTP API, from its FastAPI app (built, never started)."""
    import json

    from services.common.settings import ServiceSettings

    settings = ServiceSettings(amqp_url="amqp://broker/", mongodb_url="mongodb://database/")
    documents = {}
    for service in SERVICES:
        app = importlib.import_module(f"services.{service}.app").create_app(settings)
        text = json.dumps(app.openapi(), indent=2, sort_keys=True, ensure_ascii=False)
        documents[f"{service}.json"] = text + "\n"
    return documents


def _contracts(args: argparse.Namespace) -> int:
    """Event JSON Schemas + AsyncAPI (docs/events/) and OpenAPI (docs/openapi/)."""
    from services.common.contracts.export import check, event_files, export

    targets = [(Path(args.out), event_files()), (Path(args.openapi_out), openapi_documents())]
    if args.action == "export":
        for out, files in targets:
            for path in export(out, files):
                print(path)
        return 0
    problems = [p for out, files in targets for p in check(out, files)]
    for problem in problems:
        print(problem, file=sys.stderr)
    return 1 if problems else 0


def _up(args: argparse.Namespace) -> int:
    from services.launcher import run_system

    return run_system(demo=not args.no_demo, detach=args.detach)


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="qloop", description="qloop command line")
    sub = top.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run one service")
    run.add_argument("service", choices=SERVICES)
    run.add_argument("--host")
    run.add_argument("--port", type=int)
    run.set_defaults(func=_run)

    up = sub.add_parser("up", help="run the four services (and demo data)")
    up.add_argument("--no-demo", action="store_true")
    up.add_argument("--detach", action="store_true", help="leave them running and return")
    up.set_defaults(func=_up)

    down = sub.add_parser("down", help="stop services started with qloop up --detach")
    down.set_defaults(func=lambda _args: __import__("services.launcher").launcher.stop_detached())

    infra = sub.add_parser("infra", help="local RabbitMQ and database")
    infra.add_argument("action", choices=("up", "down", "status", "env"))
    infra.set_defaults(func=_infra)

    contracts = sub.add_parser("contracts", help="event JSON Schemas")
    contracts.add_argument("action", choices=("export", "check"))
    contracts.add_argument("--out", default=str(ROOT / "docs" / "events"))
    contracts.add_argument("--openapi-out", default=str(ROOT / "docs" / "openapi"))
    contracts.set_defaults(func=_contracts)

    for module in TOOLS:
        importlib.import_module(module).register(sub)
    return top


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    result: int = args.func(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
