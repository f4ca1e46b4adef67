"""The desk's languages: its message catalogue (services/common/i18n.py compiles it), the
page templates with it installed, and the red/amber/green of time left.

A person's language is the one they chose (the `qloop_lang` cookie) if one of their
sites speaks it, else their directory language if a site of theirs speaks it, else their
first site's first language. Before sign-in, any language of any site.
"""

from __future__ import annotations

import functools
from pathlib import Path

from jinja2 import Environment, PackageLoader, select_autoescape

from services.common import i18n as common
from services.common.i18n import N_, Gettext, choose, from_header

__all__ = ["N_", "Gettext", "choose", "from_header", "Speaker", "pages", "urgency"]
LOCALE_DIR = Path(__file__).with_name("locale")
LANGUAGE_COOKIE = "qloop_lang"
AMBER_SECONDS = 24 * 3600  # less than a day left: amber


# What sign-in answers (handlers.py, sessions.py, oidc.py), shown through the catalogue.
SIGN_IN_ERRORS = (
    N_("unknown login or wrong password (or the person is disabled)"),
    N_("too many failed sign-ins: wait a while and try again"),
    N_("too many failed sign-ins from this address: wait a minute"),
    N_("The form expired: please sign in again."),
    N_("the sign-in provider does not answer: try again"),
)


class Speaker(common.Speaker):
    """A person's language with the desk's catalogue."""

    def __init__(self, language: str) -> None:
        super().__init__(language, LOCALE_DIR)


@functools.cache
def pages(language: str) -> Environment:
    """The templates with `language`'s catalogue installed (one environment per language)."""
    env = Environment(
        loader=PackageLoader("services.desk", "templates"),
        autoescape=select_autoescape(),
        extensions=["jinja2.ext.i18n"],
    )
    env.install_gettext_translations(  # type: ignore[attr-defined]
        common.translations(LOCALE_DIR, language), newstyle=True
    )
    return env


def urgency(seconds: float | None) -> str:
    """red (overdue), amber (less than a day left), green; none without a due time."""
    if seconds is None:
        return "none"
    if seconds < 0:
        return "red"
    return "amber" if seconds < AMBER_SECONDS else "green"
