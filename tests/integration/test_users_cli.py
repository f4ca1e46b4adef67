"""`qloop users` on the desk's real database: add, grant, revoke, disable, set a password,
import a CSV; departments and roles checked against the rule files."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from services.cli import main
from services.common.settings import ServiceSettings

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def env(settings: ServiceSettings, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "QLOOP_AMQP_URL": settings.amqp_url,
        "QLOOP_MONGODB_URL": settings.mongodb_url,
        "QLOOP_DATABASE": settings.database,
        "QLOOP_RULES_DIR": str(ROOT / "rules"),
    }.items():
        monkeypatch.setenv(name, value)


def test_people_are_managed_from_the_command_line(
    env: None, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    add = ["users", "add", "li", "--name", "Li", "--email", "li@example.com", "--language", "zh"]
    assert main([*add, "--grant", "sz:quality:manager"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["grants"] == [{"site": "sz", "departments": ["quality"], "roles": ["manager"]}]
    assert main(["users", "grant", "li", "nb", "--roles", "nonsense"]) == 1
    assert "site 'nb' has no role 'nonsense'" in capsys.readouterr().err
    assert main(["users", "grant", "li", "nb", "--roles", "quality"]) == 0
    assert main(["users", "revoke", "li", "sz"]) == 0
    monkeypatch.setattr("sys.stdin", io.StringIO("a sufficiently long one\n"))
    assert main(["users", "set-password", "li"]) == 0
    assert main(["users", "disable", "li"]) == 0
    capsys.readouterr()
    assert main(["users", "show", "li"]) == 0
    person = json.loads(capsys.readouterr().out)
    assert person["disabled"] and person["has_password"]
    assert person["grants"] == [{"site": "nb", "departments": [], "roles": ["quality"]}]
    csv = tmp_path / "people.csv"
    csv.write_text(
        "id,name,email,phone,language,site,departments,roles\n"
        "wang,Wang,wang@example.com,,zh,sz,customer_service,\n"
        "wang,Wang,wang@example.com,,zh,nb,,quality\n"
        "bad,Bad,bad@example.com,,en,sz,nowhere,\n",
        encoding="utf-8",
    )
    assert main(["users", "import", str(csv)]) == 1
    out = capsys.readouterr()
    assert "imported 1 people, 1 refused" in out.out and "no department 'nowhere'" in out.err
    assert main(["users", "list"]) == 0
    listing = capsys.readouterr().out
    assert "wang" in listing and "sz: customer_service; nb: quality" in listing
    assert "li" in listing and "(disabled)" in listing
