"""Checks of `workflow.reply`: each template is a language of the site, and a readable
Jinja2 file in the rule file's folder (or below it), so a site's reply renders once
loaded. A template's own syntax error is reported at the rule-file line naming it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path as FsPath
from pathlib import PurePosixPath

from jinja2 import TemplateSyntaxError
from jinja2.sandbox import SandboxedEnvironment

from services.common.rules.schema import SiteRules
from services.common.rules.yamltree import Path

Problem = tuple[Path, str]
MEMORY = "<memory>"  # rules not read from a file: no folder to look in


def reply_errors(rules: SiteRules) -> Iterator[Problem]:
    templates = rules.workflow.reply.templates
    for language, name in templates.items():
        where: Path = ("workflow", "reply", "templates", language)
        if language not in rules.site.languages:
            spoken = ", ".join(rules.site.languages)
            yield where, f"{language!r} is not a language of the site ({spoken})"
        problem = _template_problem(rules.source, name)
        if problem:
            yield where, problem


def _template_problem(source: str, name: str) -> str | None:
    relative = PurePosixPath(name)
    if relative.is_absolute() or ".." in relative.parts:
        return f"template {name!r}: give a path inside the rule file's folder"
    if source == MEMORY:
        return None
    file = FsPath(source).parent / relative
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return f"template {name!r} not found (paths are relative to this rule file)"
    try:
        SandboxedEnvironment(extensions=["jinja2.ext.i18n"]).parse(text)
    except TemplateSyntaxError as exc:
        return f"template {name!r}, line {exc.lineno}: {exc.message}"
    return None
