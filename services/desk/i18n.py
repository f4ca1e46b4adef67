"""The desk's languages: message catalogues (Babel .po files, compiled in memory when the
desk starts, so a fresh clone needs no build step), dates in a site's time zone and a
person's locale, and the rule file's names for what the rules define.

A person's language is the one they chose (the `qloop_lang` cookie) if one of their
sites speaks it, else their directory language if a site of theirs speaks it, else their
first site's first language. Before sign-in, any language of any site.
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
from jinja2 import Environment, PackageLoader, select_autoescape

LOCALE_DIR = Path(__file__).with_name("locale")
DOMAIN = "messages"
LANGUAGE_COOKIE = "qloop_lang"
AMBER_SECONDS = 24 * 3600  # less than a day left: amber
Gettext = Callable[[str], str]


def N_(message: str) -> str:
    """Marks a text for the catalogue; translated where it is shown."""
    return message


# What sign-in answers (handlers.py, sessions.py, oidc.py), shown through the catalogue.
SIGN_IN_ERRORS = (
    N_("unknown login or wrong password (or the person is disabled)"),
    N_("too many failed sign-ins: wait a while and try again"),
    N_("too many failed sign-ins from this address: wait a minute"),
    N_("The form expired: please sign in again."),
    N_("the sign-in provider does not answer: try again"),
)


@functools.cache
def translations(language: str) -> Translations:
    """The catalogue of `language`, compiled from its .po file (English: the msgids)."""
    po = LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"
    if not po.exists():
        return Translations()
    with po.open("rb") as source:
        catalog = read_po(source, locale=language)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Translations(compiled, domain=DOMAIN)


@functools.cache
def pages(language: str) -> Environment:
    """The templates with `language`'s catalogue installed (one environment per language)."""
    env = Environment(
        loader=PackageLoader("services.desk", "templates"),
        autoescape=select_autoescape(),
        extensions=["jinja2.ext.i18n"],
    )
    env.install_gettext_translations(translations(language), newstyle=True)  # type: ignore[attr-defined]
    return env


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


class Speaker:
    """What a page needs to speak to one person: their language, and the site's time zone
    for each date."""

    def __init__(self, language: str) -> None:
        self.language = language
        self.locale = Locale.parse("zh_Hans_CN" if language == "zh" else language)
        self.gettext = translations(language).ugettext

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


def urgency(seconds: float | None) -> str:
    """red (overdue), amber (less than a day left), green; none without a due time."""
    if seconds is None:
        return "none"
    if seconds < 0:
        return "red"
    return "amber" if seconds < AMBER_SECONDS else "green"
