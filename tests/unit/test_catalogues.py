"""The message catalogues of the services people read (desk, reporting, workflow) are
complete: every text their code and pages mark for translation (extracted as `make
catalogues` does, with the shared services/common/i18n.py) has a Chinese translation that
keeps the placeholders of its English text. A page at a Chinese site must never fall back
to English."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir, extract_from_file
from babel.messages.pofile import read_po

from services.common import i18n

pytestmark = pytest.mark.unit
SERVICES = Path(i18n.__file__).parents[1]
PLACEHOLDER = re.compile(r"%\((\w+)\)s")
KEYWORDS = {"_": None, "N_": None, "gettext": None, "say": None}


def _marked(service: str) -> set[str]:
    methods = [("**.py", "python"), ("**/templates/**.html", "jinja2")]
    options = {"**/templates/**.html": {"extensions": "jinja2.ext.i18n"}}
    found = list(
        extract_from_dir(str(SERVICES / service), methods, options_map=options, keywords=KEYWORDS)
    )
    found += [(0, *m) for m in extract_from_file("python", i18n.__file__, keywords=KEYWORDS)]
    return {m if isinstance(m, str) else m[0] for _, _, m, *_ in found}


FEWEST = {"desk": 100, "reporting": 100, "workflow": 50}  # the extraction really read the pages


@pytest.mark.parametrize("service", sorted(FEWEST))
def test_every_marked_text_has_a_chinese_translation_with_its_placeholders(
    service: str,
) -> None:
    po = SERVICES / service / "locale" / "zh" / "LC_MESSAGES" / "messages.po"
    with po.open("rb") as source:
        catalog = read_po(source, locale="zh")
    marked = _marked(service)
    assert len(marked) > FEWEST[service]
    missing = sorted(m for m in marked if not (catalog.get(m) and catalog.get(m).string))
    assert missing == []
    for text in marked:
        translated = catalog.get(text).string
        assert set(PLACEHOLDER.findall(text)) == set(PLACEHOLDER.findall(translated)), text


def test_a_speaker_speaks_the_persons_language() -> None:
    desk = SERVICES / "desk" / "locale"
    zh, en = i18n.Speaker("zh", desk), i18n.Speaker("en", desk)
    assert zh.gettext("The password is not right.") == "密码不正确。"
    assert en.gettext("The password is not right.") == "The password is not right."
    assert "逾期" in zh.left(-7200) and "overdue" in en.left(-7200)
    assert i18n.choose(["zh", "en"], None, "en-GB") == "en"
    assert i18n.choose(["zh", "en"], "fr") == "zh"  # a language no site speaks: the first
