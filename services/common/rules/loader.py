"""Read a site rule file: YAML with positions, includes, schema validation, semantic checks.

Every problem becomes a ``RuleError`` at FILE:LINE:COLUMN naming the field path; all of them
are raised together as ``RuleFileErrors``. The loaded rules carry ``rules_version``: the
declared ``version`` plus a hash of the file and every fragment it includes.
"""

from __future__ import annotations

import hashlib
from pathlib import Path as FsPath
from typing import Any

from pydantic import ValidationError

from services.common.rules import yamltree
from services.common.rules.checks import semantic_errors
from services.common.rules.errors import RuleError, RuleFileErrors
from services.common.rules.schema import SiteRules
from services.common.rules.yamltree import Located, Path

INCLUDE_KEY = "include"


def load_rules(path: str | FsPath) -> SiteRules:
    """Load and check one rule file; raise ``RuleFileErrors`` listing every problem."""
    file = str(path)
    digest = hashlib.sha256()
    tree = _read_with_includes(FsPath(path), file, digest, seen=())
    rules = _validate(tree)
    rules._source = file  # checks of files the rule file names look beside it
    errors = [_error_at(tree, where, message) for where, message in semantic_errors(rules)]
    if errors:
        raise RuleFileErrors(errors)
    rules._content_hash = "sha256:" + digest.hexdigest()[:12]
    return rules


def errors_at(path: str | FsPath, problems: list[tuple[Path, str]]) -> list[RuleError]:
    """Problems found on a loaded rule file (paths in its YAML), at FILE:LINE:COLUMN of
    the file or fragment that wrote each (checks that need more than the file, such as
    a directory export)."""
    tree = _read_with_includes(FsPath(path), str(path), hashlib.sha256(), seen=())
    return [_error_at(tree, where, message) for where, message in problems]


def _read_with_includes(path: FsPath, shown: str, digest: Any, seen: tuple[FsPath, ...]) -> Located:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise RuleFileErrors([RuleError(shown, 1, 1, "", f"cannot read: {exc.strerror}")]) from None
    digest.update(raw)
    try:
        tree = yamltree.parse(raw.decode("utf-8"), shown)
    except UnicodeDecodeError:
        raise RuleFileErrors([RuleError(shown, 1, 1, "", "not UTF-8 text")]) from None
    except yamltree.YamlSyntaxError as exc:
        raise RuleFileErrors([RuleError(exc.file, exc.line, exc.column, "", exc.message)]) from None
    if tree is None or not isinstance(tree.value, dict):
        line, col = (tree.line, tree.column) if tree else (1, 1)
        raise RuleFileErrors([RuleError(shown, line, col, "", "a rule file is a YAML mapping")])
    return _apply_includes(tree, path, digest, (*seen, path.resolve()))


def _apply_includes(tree: Located, path: FsPath, digest: Any, seen: tuple[FsPath, ...]) -> Located:
    include = tree.value.pop(INCLUDE_KEY, None)
    if include is None:
        return tree
    tree.key_marks.pop(INCLUDE_KEY, None)
    items = include.value if isinstance(include.value, list) else [include]
    merged: Located | None = None
    for item in items:
        if not isinstance(item.value, str):
            raise RuleFileErrors(
                [RuleError(item.file, item.line, item.column, INCLUDE_KEY, "list file paths")]
            )
        target = path.parent / item.value
        if target.resolve() in seen:
            err = RuleError(item.file, item.line, item.column, INCLUDE_KEY, "include cycle")
            raise RuleFileErrors([err])
        if not target.is_file():
            msg = f"included file {item.value!r} not found (paths are relative to this file)"
            raise RuleFileErrors([RuleError(item.file, item.line, item.column, INCLUDE_KEY, msg)])
        shown = str(FsPath(tree.file).parent / item.value)
        fragment = _read_with_includes(target, shown, digest, seen)
        merged = fragment if merged is None else yamltree.merge(merged, fragment)
    return tree if merged is None else yamltree.merge(merged, tree)


def _validate(tree: Located) -> SiteRules:
    try:
        return SiteRules.model_validate(yamltree.to_plain(tree))
    except ValidationError as exc:
        errors = [_from_pydantic(tree, e) for e in exc.errors(include_url=False)]
        unique = {(e.file, e.line, e.column, e.path): e for e in reversed(errors)}
        raise RuleFileErrors(list(unique.values())) from None


def _from_pydantic(tree: Located, error: Any) -> RuleError:
    loc: Path = tuple(error["loc"])
    kind = error["type"]
    known = _resolved_prefix(tree, loc)
    if kind == "missing":
        file, line, col = yamltree.locate(tree, known)
        return RuleError(file, line, col, _fmt(loc[: len(known) + 1]), "required field is missing")
    if kind == "extra_forbidden":
        file, line, col = yamltree.locate_key(tree, loc)
        return RuleError(file, line, col, _fmt(loc), f"unknown field {loc[-1]!r}")
    file, line, col = yamltree.locate(tree, known)
    message = str(error["msg"]).removeprefix("Value error, ")
    return RuleError(file, line, col, _fmt(known), message)


def _resolved_prefix(tree: Located, loc: Path) -> Path:
    """The part of a pydantic location that names real nodes of the YAML tree."""
    node, out = tree, []
    for part in loc:
        value = node.value
        if isinstance(value, dict) and isinstance(part, str) and part in value:
            node = value[part]
        elif isinstance(value, list) and isinstance(part, int) and 0 <= part < len(value):
            node = value[part]
        else:
            break
        out.append(part)
    return tuple(out)


def _error_at(tree: Located, where: Path, message: str) -> RuleError:
    file, line, col = yamltree.locate(tree, where)
    return RuleError(file, line, col, _fmt(where), message)


def _fmt(path: Path) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out
