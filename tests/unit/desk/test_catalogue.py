"""The desk's message catalogues are complete: every text the pages and the desk's code mark
for translation (extracted as `pybabel extract -F services/desk/babel.cfg` does) has a
Chinese translation, and each translation keeps the placeholders of its English text.
A page at a Chinese site must never fall back to English."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from services.desk import i18n

pytestmark = pytest.mark.unit
DESK = Path(i18n.__file__).parent
PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def _marked() -> set[str]:
    methods = [("**.py", "python"), ("**/templates/**.html", "jinja2")]
    options = {"**/templates/**.html": {"extensions": "jinja2.ext.i18n"}}
    found = extract_from_dir(
        str(DESK), methods, options_map=options, keywords={"_": None, "N_": None, "gettext": None}
    )
    return {message if isinstance(message, str) else message[0] for _, _, message, _, _ in found}


def test_every_marked_text_has_a_chinese_translation_with_its_placeholders() -> None:
    with (DESK / "locale" / "zh" / "LC_MESSAGES" / "messages.po").open("rb") as source:
        catalog = read_po(source, locale="zh")
    marked = _marked()
    assert len(marked) > 100  # the extraction really read the pages
    missing = sorted(m for m in marked if not (catalog.get(m) and catalog.get(m).string))
    assert missing == []
    for text in marked:
        translated = catalog.get(text).string
        assert set(PLACEHOLDER.findall(text)) == set(PLACEHOLDER.findall(translated)), text


def test_the_pages_speak_the_persons_language() -> None:
    zh, en = i18n.Speaker("zh"), i18n.Speaker("en")
    assert zh.gettext("The password is not right.") == "密码不正确。"
    assert en.gettext("The password is not right.") == "The password is not right."
    assert "逾期" in zh.left(-7200) and "overdue" in en.left(-7200)
