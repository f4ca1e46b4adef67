"""What people read, in their language: message catalogues (Babel .po files, compiled in
memory on first use, so a fresh clone needs no build step), dates in a site's time zone and
a person's locale, spans of time, and the rule file's names for what the rules define.

Each service that shows text to people keeps its own catalogue folder
(`services/<name>/locale/<lang>/LC_MESSAGES/messages.po`) and speaks through a `Speaker`.
"""

from __future__ import annotations

import functools
import io
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_datetime, format_timedelta
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

DOMAIN = "messages"
Gettext = Callable[[str], str]


def N_(message: str) -> str:
    """Marks a text for the catalogue; translated where it is shown."""
    return message


@functools.cache
def translations(locale_dir: Path, language: str) -> Translations:
    """The catalogue of `language` in `locale_dir`, compiled from its .po file (English:
    the msgids themselves)."""
    po = locale_dir / language / "LC_MESSAGES" / f"{DOMAIN}.po"
    if not po.exists():
        return Translations()
    with po.open("rb") as source:
        catalog = read_po(source, locale=language)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Translations(compiled, domain=DOMAIN)


def choose(offered: Iterable[str], *wishes: str | None) -> str:
    """The first wish among the `offered` languages, else the first offered one."""
    offered = list(dict.fromkeys(offered)) or ["en"]
    for wish in wishes:
        if wish and wish.split("-")[0] in offered:
            return wish.split("-")[0]
    return offered[0]


def from_header(accept_language: str | None) -> list[str]:
    """The languages of an Accept-Language header, in the order given."""
    return [part.split(";")[0].strip() for part in (accept_language or "").split(",") if part]


def locale_of(language: str) -> Locale:
    return Locale.parse("zh_Hans_CN" if language == "zh" else language)


class Speaker:
    """What a page needs to speak to one person: their language's catalogue, their locale
    for dates and numbers, and the site's time zone for each date."""

    def __init__(self, language: str, locale_dir: Path) -> None:
        self.language = language
        self.locale = locale_of(language)
        self.gettext: Gettext = translations(locale_dir, language).ugettext

    def name(self, names: Mapping[str, str] | None, fallback: str) -> str:
        """A rule-defined thing's name in this language (or another language's name)."""
        if not names:
            return self.gettext(fallback)
        return names.get(self.language) or next(iter(names.values()))

    def when(self, moment: datetime | str | None, zone: str) -> str:
        if moment is None or moment == "":
            return ""
        if isinstance(moment, str):
            moment = datetime.fromisoformat(moment)
        return format_datetime(moment, "medium", tzinfo=ZoneInfo(zone), locale=self.locale)

    def left(self, seconds: float | None) -> str:
        """'3 days left' or '2 hours overdue'."""
        if seconds is None:
            return ""
        span = format_timedelta(timedelta(seconds=abs(seconds)), threshold=1.5, locale=self.locale)
        if seconds < 0:
            return self.gettext("%(span)s overdue") % {"span": span}
        return self.gettext("%(span)s left") % {"span": span}
