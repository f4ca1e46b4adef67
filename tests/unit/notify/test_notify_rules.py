"""The rule file's `notifications` section: checked with FILE:LINE:COLUMN, and obeyed."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from services.common.rules import RuleFileErrors, load_rules
from services.notify.triggers import cause_of
from tests.unit.notify.test_notify_email import RULES, registered_envelope

pytestmark = pytest.mark.unit


def abc_with(tmp_path: Path, section: str) -> Path:
    shutil.copytree(RULES, tmp_path / "rules")
    path = tmp_path / "rules" / "abc-company.yaml"
    path.write_text(path.read_text(encoding="utf-8") + section, encoding="utf-8")
    return path


def test_a_recipient_nobody_holds_is_an_error_at_its_place(tmp_path: Path) -> None:
    path = abc_with(
        tmp_path,
        "\nnotifications:\n  complaint_registered:\n    also: [quality, clerk, nobody]\n",
    )
    with pytest.raises(RuleFileErrors) as caught:
        load_rules(path)
    shown = [str(e) for e in caught.value.errors]
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert any(f"abc-company.yaml:{lines}:" in s and "'nobody'" in s for s in shown), shown
    assert any("unknown department or role 'clerk'" in s for s in shown), shown


def test_a_copied_role_no_department_holds_is_an_error(tmp_path: Path) -> None:
    path = abc_with(tmp_path, "")
    text = path.read_text(encoding="utf-8")
    held = "roles: [management_rep, general_manager, manager, supervisor]"
    assert held in text
    path.write_text(text.replace(held, "roles: [management_rep, general_manager]"), "utf-8")
    with pytest.raises(RuleFileErrors) as caught:
        load_rules(path)
    shown = " ".join(str(e) for e in caught.value.errors)
    assert "routing.rules[2].copy_to[0]: role 'manager' is held by no department" in shown
    assert "role 'supervisor' is held by no department" in shown


def test_the_section_replaces_adds_and_silences(tmp_path: Path) -> None:
    path = abc_with(
        tmp_path,
        "\nnotifications:\n  complaint_registered:\n    to: quality\n    also: [finance]\n"
        "  case_reopened: {enabled: false}\n",
    )
    rules = load_rules(path)
    from services.common.rulebook import Rulebook

    envelope = registered_envelope(Rulebook.load(RULES))
    cause = cause_of(envelope.data, rules)
    assert cause is not None and cause.names == ("quality", "finance")
    default = cause_of(envelope.data, load_rules(RULES / "abc-company.yaml"))
    assert default is not None and default.names == ("quality", "manager", "general_manager")
