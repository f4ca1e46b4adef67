"""A corpus of broken environment settings: `qloop run NAME` refuses each before it
connects to anything, with exit code 2 and one line per problem naming the variable (or
the file), never a traceback. No server is needed: nothing may be contacted."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from services import cli
from tests.support.surveys import SECRET

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
BROKEN_RULES = ROOT / "tests" / "unit" / "rules" / "broken"
BAD_KEYS = "keys:\n  - name: erp\n    sites: [sz]\n    roles: [submit]\n"  # no sha256
# (service, variable, value or None to leave it unset, what the message must contain)
CORPUS: list[tuple[str, str, str | None, str]] = [
    ("intake", "QLOOP_AMQP_URL", None, "QLOOP_AMQP_URL: Field required"),
    ("workflow", "QLOOP_MONGODB_URL", None, "QLOOP_MONGODB_URL: Field required"),
    ("intake", "QLOOP_AMQP_URL", "http://broker:5672/", "must start with amqp://"),
    ("survey", "QLOOP_MONGODB_URL", "postgres://db/", "must start with mongodb://"),
    ("intake", "QLOOP_DATABASE", "my db!", "QLOOP_DATABASE: String should match"),
    ("reporting", "QLOOP_HTTP_PORT", "70000", "QLOOP_HTTP_PORT: Input should be less"),
    ("intake", "QLOOP_HTTP_PORT", "eighty", "QLOOP_HTTP_PORT: Input should be a valid integer"),
    ("workflow", "QLOOP_PREFETCH", "0", "QLOOP_PREFETCH: Input should be greater"),
    ("intake", "QLOOP_DELIVERY_LIMIT", "-1", "QLOOP_DELIVERY_LIMIT: Input should be greater"),
    ("survey", "QLOOP_LOG_LEVEL", "LOUD", "QLOOP_LOG_LEVEL: Input should be 'DEBUG'"),
    ("intake", "QLOOP_OUTBOX_POLL_SECONDS", "0", "QLOOP_OUTBOX_POLL_SECONDS: Input should be"),
    ("workflow", "QLOOP_RULES_RELOAD_SECONDS", "nan", "QLOOP_RULES_RELOAD_SECONDS:"),
    ("intake", "QLOOP_QUEUE_PREFIX", "Prod/", "QLOOP_QUEUE_PREFIX: String should match"),
    ("intake", "QLOOP_TRANSIENT_RETRY_SECONDS", "-1", "QLOOP_TRANSIENT_RETRY_SECONDS:"),
    ("workflow", "QLOOP_RECOVERY_SCAN_SECONDS", "1e9", "QLOOP_RECOVERY_SCAN_SECONDS:"),
    ("intake", "QLOOP_RULES_DIR", "/nonexistent/rules", "(QLOOP_RULES_DIR)"),
    ("workflow", "QLOOP_RULES_DIR", "{broken_rules}", "bad_timezone.yaml:6:"),
    ("intake", "QLOOP_API_KEYS_FILE", "/nonexistent/keys.yaml", "QLOOP_API_KEYS_FILE"),
    ("reporting", "QLOOP_API_KEYS_FILE", "{bad_keys}", "QLOOP_API_KEYS_FILE"),
    ("survey", "QLOOP_SURVEY_LINK_SECRET", None, "QLOOP_SURVEY_LINK_SECRET is not set"),
    ("survey", "QLOOP_SURVEY_LINK_SECRET", "short", "at least 32 characters"),
    ("survey", "QLOOP_SURVEY_LINK_VALID_DAYS", "0", "QLOOP_SURVEY_LINK_VALID_DAYS:"),
    ("survey", "QLOOP_SMTP_PORT", "0", "QLOOP_SMTP_PORT: Input should be greater"),
    ("survey", "QLOOP_SMTP_ENABLED", "perhaps", "QLOOP_SMTP_ENABLED: Input should be a valid"),
    ("reporting", "QLOOP_REPORTING_ON_TIME_TARGET", "150", "QLOOP_REPORTING_ON_TIME_TARGET:"),
    ("reporting", "QLOOP_REPORTING_GAUGE_REFRESH_SECONDS", "0", "GAUGE_REFRESH_SECONDS:"),
    # Misspelt: no setting, but close to one (pydantic-settings alone would ignore them).
    (
        "workflow",
        "QLOOP_PREFECTH",
        "4",
        "QLOOP_PREFECTH: not a setting; did you mean QLOOP_PREFETCH?",
    ),
    ("intake", "QLOOP_MONGO_URL", "mongodb://db/", "did you mean QLOOP_MONGODB_URL?"),
    ("survey", "QLOOP_SURVEY_LINK_SECRETS", "x" * 40, "did you mean QLOOP_SURVEY_LINK_SECRET?"),
    ("reporting", "QLOOP_REPORTING_ON_TIME_TARGT", "95", "QLOOP_REPORTING_ON_TIME_TARGET?"),
]


@pytest.fixture
def environment(tmp_path: Path) -> dict[str, str]:
    """A good environment for every service: each case spoils one variable of it."""
    broken = tmp_path / "broken-rules"
    broken.mkdir()
    shutil.copy(BROKEN_RULES / "bad_timezone.yaml", broken)
    (tmp_path / "keys.yaml").write_text(BAD_KEYS, encoding="utf-8")
    return {
        # Ports nothing listens on: a refused start never gets as far as connecting.
        "QLOOP_AMQP_URL": "amqp://guest:guest@127.0.0.1:9/",
        "QLOOP_MONGODB_URL": "mongodb://127.0.0.1:9/",
        "QLOOP_RULES_DIR": str(ROOT / "rules"),
        "QLOOP_SURVEY_LINK_SECRET": SECRET,
        "broken_rules": str(broken),
        "bad_keys": str(tmp_path / "keys.yaml"),
    }


@pytest.fixture
def never_serve(monkeypatch: pytest.MonkeyPatch) -> None:
    """A refused start must stop before the server runs (else this test would serve)."""
    import uvicorn

    def refuse(self: object) -> None:
        raise AssertionError("the service started despite a bad setting")

    monkeypatch.setattr(uvicorn.Server, "run", refuse)


def _use(environment: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    """Only the good environment's QLOOP_ variables, none of the machine's."""
    for name in [n for n in os.environ if n.startswith("QLOOP_")]:
        monkeypatch.delenv(name)
    for name, good in environment.items():
        if name.startswith("QLOOP_"):
            monkeypatch.setenv(name, good)


@pytest.mark.parametrize(("service", "variable", "value", "expected"), CORPUS)
def test_a_bad_setting_is_refused_with_one_line_naming_it(
    service: str,
    variable: str,
    value: str | None,
    expected: str,
    environment: dict[str, str],
    never_serve: None,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _use(environment, monkeypatch)
    if value is None:
        monkeypatch.delenv(variable)
    else:
        monkeypatch.setenv(variable, value.format(**environment))

    assert cli.main(["run", service]) == 2
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"qloop run {service}: "), lines
    assert expected in lines[0], lines


def test_an_unrelated_qloop_variable_is_not_refused(
    environment: dict[str, str], never_serve: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    _use(environment, monkeypatch)
    monkeypatch.setenv("QLOOP_DB_PORT", "27018")  # read by deploy/local/infra.sh
    monkeypatch.setenv("QLOOP_TEAM_NOTE", "hello")  # close to nothing qloop reads
    with pytest.raises(AssertionError, match="started despite"):  # got as far as serving
        cli.main(["run", "intake"])


def test_the_command_itself_prints_no_traceback(environment: dict[str, str]) -> None:
    """The same through the installed `qloop` command, in its own process."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("QLOOP_")}
    env.update({k: v for k, v in environment.items() if k.startswith("QLOOP_")})
    env["QLOOP_REPORTING_ON_TIME_TARGET"] = "150"
    qloop = Path(sys.executable).with_name("qloop")
    done = subprocess.run(
        [str(qloop), "run", "reporting"], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert done.stderr.splitlines() == [
        "qloop run reporting: QLOOP_REPORTING_ON_TIME_TARGET: "
        "Input should be less than or equal to 100"
    ]
