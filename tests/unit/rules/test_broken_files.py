"""A corpus of broken rule files: each is refused at the right line with the right message.

Each file's first line says what is expected: ``# expect: LINE: text in the error``.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from services.common.rules import RuleFileErrors, load_rules

pytestmark = pytest.mark.unit

BROKEN = Path(__file__).parent / "broken"
CASES = sorted(BROKEN.glob("*.yaml"))


def _expectation(path: Path) -> tuple[int, str]:
    first = path.read_text(encoding="utf-8").splitlines()[0]
    match = re.match(r"# expect: (\d+): (.+)$", first)
    assert match, f"{path.name} must start with '# expect: LINE: message'"
    return int(match.group(1)), match.group(2)


def test_corpus_is_large_enough() -> None:
    assert len(CASES) >= 20


@pytest.mark.parametrize("path", CASES, ids=lambda p: p.stem)
def test_broken_file_is_refused_at_line(path: Path) -> None:
    line, text = _expectation(path)
    with pytest.raises(RuleFileErrors) as refused:
        load_rules(path)
    matching = [e for e in refused.value.errors if text in str(e)]
    assert matching, [str(e) for e in refused.value.errors]
    error = matching[0]
    assert error.line == line
    assert error.file.endswith(path.name)
    assert str(error).startswith(f"{error.file}:{error.line}:{error.column}: ")


def test_error_names_the_field_path() -> None:
    with pytest.raises(RuleFileErrors) as refused:
        load_rules(BROKEN / "unknown_department.yaml")
    (error,) = refused.value.errors
    assert error.path == "routing.default_owner"
    assert error.column == 18


def test_missing_file_is_an_error_not_a_crash(tmp_path: Path) -> None:
    with pytest.raises(RuleFileErrors, match="cannot read"):
        load_rules(tmp_path / "absent.yaml")


def test_empty_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "empty.yaml"
    path.write_text("")
    with pytest.raises(RuleFileErrors, match="a rule file is a YAML mapping"):
        load_rules(path)
