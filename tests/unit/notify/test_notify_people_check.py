"""`qloop rules check --people FILE`: a department or role named in a notify or copy list
that no person of the directory export holds is reported at its place in the rule file
(FILE:LINE:COLUMN), from the desk's JSON listing or the users CSV."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from services.common.rules.cli import main
from tests.unit.notify.test_notify_email import RULES

pytestmark = pytest.mark.unit
EVERYONE = ["customer_service", "quality", "pmc", "engineering", "production", "logistics",
            "finance"]  # fmt: skip


def person(person_id: str, *, disabled: bool = False, **grant: Any) -> dict[str, Any]:
    return {"id": person_id, "name": person_id, "email": f"{person_id}@abc.test",
            "disabled": disabled, "grants": [{"site": "sz", **grant}]}  # fmt: skip


def site_rules(tmp_path: Path) -> Path:
    shutil.copytree(RULES, tmp_path / "rules")
    return tmp_path / "rules" / "abc-company.yaml"


def position_of(path: Path, line_with: str, name: str) -> str:
    lines = path.read_text(encoding="utf-8").splitlines()
    number = next(n for n, text in enumerate(lines, 1) if line_with in text)
    return f"{path}:{number}:{lines[number - 1].index(name) + 1}"


def test_a_role_no_person_holds_is_reported_at_its_place(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rules = site_rules(tmp_path)
    people = tmp_path / "people.json"
    export = [
        *(person(f"p-{d}", departments=[d]) for d in EVERYONE),
        # The management office holds every management role, but its only member left.
        person("old-gm", departments=["management"], disabled=True),
        person("gm", roles=["general_manager", "manager", "management_rep"]),
    ]
    people.write_text(json.dumps({"items": export, "count": len(export)}), encoding="utf-8")
    assert main(["rules", "check", str(rules), "--people", str(people)]) == 1
    shown = capsys.readouterr().err.splitlines()
    where = position_of(rules, "copy_to: [pmc, production, quality, supervisor]", "supervisor")
    assert shown == [
        f"{where}: routing.rules[3].copy_to[3]: role 'supervisor' is held by no person in {people}"
    ]


def test_a_csv_export_with_every_name_held_passes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rules = site_rules(tmp_path)
    people = tmp_path / "people.csv"
    rows = ["id,name,email,phone,language,site,departments,roles"]
    rows += [f"p-{d},P,p@abc.test,,zh,sz,{d}," for d in EVERYONE]
    rows += ['boss,Boss,b@abc.test,,zh,sz,management,""', "x,X,x@abc.test,,zh,nb,,supervisor"]
    people.write_text("\n".join(rows) + "\n", encoding="utf-8")
    assert main(["rules", "check", str(rules), "--people", str(people)]) == 0
    assert "ok (site sz" in capsys.readouterr().out
    # Without the management office, its roles are held by nobody at sz (nb's does not count).
    people.write_text("\n".join(r for r in rows if not r.startswith("boss")) + "\n", "utf-8")
    assert main(["rules", "check", str(rules), "--people", str(people)]) == 1
    shown = capsys.readouterr().err
    assert "routing.rules[2].copy_to[0]: role 'manager' is held by no person" in shown
    assert "workflow-8d.yaml:" in shown and "workflow.recurrence.notify[0]" in shown


def test_an_unreadable_export_is_bad_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    people = tmp_path / "people.json"
    people.write_text("{not json", encoding="utf-8")
    assert main(["rules", "check", str(site_rules(tmp_path)), "--people", str(people)]) == 2
    assert "not JSON" in capsys.readouterr().err
