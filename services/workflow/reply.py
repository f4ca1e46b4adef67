"""The reply to the customer laid out: the site's template for the language (the rule
file's `workflow.reply.templates`, a path beside the rule file) or qloop's default
(`templates/reply-<lang>.html`, else `templates/reply.html`), as HTML or as PDF.

A site's template comes from the customer site, so it runs in Jinja2's sandbox with
autoescape, sees only the letter (domain/reply.py: everything already in words) and the
workflow's catalogue (`_()`), and may include or extend only templates of its own folder
(`site/...`) and qloop's (`qloop/reply.html`). The PDF fetches nothing: an image or
stylesheet must be inline (a `data:` URL), so rendering reads no file and calls no host.
"""

from __future__ import annotations

import functools
import re
from datetime import datetime
from pathlib import Path

from jinja2 import FileSystemLoader, PrefixLoader, TemplateError
from jinja2.sandbox import SandboxedEnvironment
from PIL import ImageFile

from services.common.i18n import Speaker, translations
from services.common.rules import SiteRules
from services.workflow.domain.case import Case
from services.workflow.domain.reply import Letter, letter

LOCALE_DIR = Path(__file__).with_name("locale")
# What a browser may do with the HTML reply: show it, its inline styles and inline images;
# a site's template cannot make it run a script or call a host.
PAGE_POLICY = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
DEFAULTS = Path(__file__).with_name("templates")


class ReplyTemplateError(Exception):
    """The site's reply template cannot render: fix the template the message names."""


class PdfUnavailable(Exception):
    """This machine cannot make PDFs (a library WeasyPrint needs is missing)."""


def speaker(language: str) -> Speaker:
    """The workflow's catalogue in `language` (the letter's fixed texts)."""
    return Speaker(language, LOCALE_DIR)


def template_of(rules: SiteRules, language: str) -> str:
    """The name of the template a language's reply is laid out with."""
    own = rules.workflow.reply.templates.get(language)
    if own:
        return f"site/{own}"
    if (DEFAULTS / f"reply-{language}.html").is_file():
        return f"qloop/reply-{language}.html"
    return "qloop/reply.html"


def reply_page(case: Case, rules: SiteRules, language: str, now: datetime) -> str:
    """The case's reply in `language` (a language of the site) as HTML."""
    return reply_html(letter(case, rules, language, speaker(language).gettext, now), rules)


def reply_html(said: Letter, rules: SiteRules) -> str:
    name = template_of(rules, said.language)
    env = _environment(str(Path(rules.source).parent), said.language)
    try:
        return env.get_template(name).render(letter=said)
    except TemplateError as error:
        raise ReplyTemplateError(f"the reply template {name!r}: {error}") from None


def reply_pdf(html: str) -> bytes:
    """The letter as PDF (WeasyPrint). CPU-bound: call it off the event loop."""
    # Imported here: WeasyPrint loads pango when imported, and a machine without it still
    # runs the rest of the workflow (the HTML reply included).
    # WeasyPrint's import turns on Pillow's LOAD_TRUNCATED_IMAGES for the whole process,
    # after which a broken uploaded picture would pass as whole (domain/attachments.py):
    # the flag is put back as it was. The letter embeds no picture that is not whole.
    truncated = ImageFile.LOAD_TRUNCATED_IMAGES
    try:
        from weasyprint import HTML
        from weasyprint.urls import URLFetcher
    except (ImportError, OSError) as missing:
        raise PdfUnavailable(
            f"the reply as PDF needs pango on this machine ({missing}); the HTML reply works: "
            "install pango and a CJK font (Debian: libpango-1.0-0 libpangoft2-1.0-0 "
            "fonts-wqy-microhei)"
        ) from None
    finally:
        ImageFile.LOAD_TRUNCATED_IMAGES = truncated
    fetcher = URLFetcher(allowed_protocols=("data",))
    pdf: bytes = HTML(string=html, url_fetcher=fetcher).write_pdf()
    return pdf


def file_name(complaint_number: str, language: str) -> str:
    """`reply-<number>-<lang>.pdf`, the number in characters any file system keeps."""
    return f"reply-{re.sub(r'[^A-Za-z0-9._-]+', '_', complaint_number)}-{language}.pdf"


@functools.cache
def _environment(folder: str, language: str) -> SandboxedEnvironment:
    loader = PrefixLoader({"site": FileSystemLoader(folder), "qloop": FileSystemLoader(DEFAULTS)})
    env = SandboxedEnvironment(loader=loader, autoescape=True, extensions=["jinja2.ext.i18n"])
    env.install_gettext_translations(  # type: ignore[attr-defined]
        translations(LOCALE_DIR, language), newstyle=True
    )
    return env
