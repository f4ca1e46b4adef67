"""YAML read into plain values while remembering where every value came from.

A ``Located`` tree keeps the file, line and column of each value (and of each mapping key), so
that schema and semantic errors can be reported as FILE:LINE:COLUMN. Includes merge trees from
several files; each node keeps its own file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

Path = tuple[str | int, ...]


@dataclass
class Located:
    value: Any  # dict[str, Located] | list[Located] | scalar
    file: str
    line: int
    column: int
    key_marks: dict[str, tuple[int, int]] = field(default_factory=dict)


class YamlSyntaxError(Exception):
    def __init__(self, file: str, line: int, column: int, message: str) -> None:
        super().__init__(message)
        self.file, self.line, self.column, self.message = file, line, column, message


def parse(text: str, file: str) -> Located | None:
    """Parse one YAML document; None for an empty file."""
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        return None if node is None else _convert(node, loader, file)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        raise YamlSyntaxError(file, line, col, f"YAML syntax: {exc.problem}") from None
    finally:
        loader.dispose()


def _convert(node: yaml.Node, loader: yaml.SafeLoader, file: str) -> Located:
    line, col = node.start_mark.line + 1, node.start_mark.column + 1
    if isinstance(node, yaml.MappingNode):
        loader.flatten_mapping(node)
        out: dict[str, Located] = {}
        marks: dict[str, tuple[int, int]] = {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            kline, kcol = key_node.start_mark.line + 1, key_node.start_mark.column + 1
            if not isinstance(key, str | int | float | bool):
                raise YamlSyntaxError(file, kline, kcol, "mapping keys must be plain scalars")
            skey = str(key)
            if skey in out:
                raise YamlSyntaxError(file, kline, kcol, f"duplicate key {skey!r}")
            out[skey] = _convert(value_node, loader, file)
            marks[skey] = (kline, kcol)
        return Located(out, file, line, col, marks)
    if isinstance(node, yaml.SequenceNode):
        return Located([_convert(n, loader, file) for n in node.value], file, line, col)
    return Located(loader.construct_object(node, deep=True), file, line, col)


def merge(base: Located, override: Located) -> Located:
    """Deep-merge ``override`` onto ``base``: mappings merge, lists concatenate, scalars replace."""
    if isinstance(base.value, dict) and isinstance(override.value, dict):
        merged = dict(base.value)
        marks = dict(base.key_marks)
        for key, node in override.value.items():
            merged[key] = merge(merged[key], node) if key in merged else node
            marks[key] = override.key_marks[key]
        return Located(merged, override.file, override.line, override.column, marks)
    if isinstance(base.value, list) and isinstance(override.value, list):
        return Located(base.value + override.value, override.file, override.line, override.column)
    return override


def to_plain(node: Located) -> Any:
    if isinstance(node.value, dict):
        return {k: to_plain(v) for k, v in node.value.items()}
    if isinstance(node.value, list):
        return [to_plain(v) for v in node.value]
    return node.value


def locate(root: Located, path: Path) -> tuple[str, int, int]:
    """Position of the deepest node on ``path``; a missing child points at its key or parent."""
    node = root
    where = (node.file, node.line, node.column)
    for part in path:
        value = node.value
        if isinstance(value, dict) and isinstance(part, str) and part in value:
            node = value[part]
            where = (node.file, node.line, node.column)
        elif isinstance(value, list) and isinstance(part, int) and 0 <= part < len(value):
            node = value[part]
            where = (node.file, node.line, node.column)
        else:
            break
    return where


def locate_key(root: Located, path: Path) -> tuple[str, int, int]:
    """Position of the key that names the last element of ``path`` (for unknown fields)."""
    parent = root
    for part in path[:-1]:
        value = parent.value
        if isinstance(value, dict) and isinstance(part, str) and part in value:
            parent = value[part]
        elif isinstance(value, list) and isinstance(part, int) and 0 <= part < len(value):
            parent = value[part]
        else:
            return locate(root, path)
    last = path[-1] if path else None
    if isinstance(last, str) and last in parent.key_marks:
        line, col = parent.key_marks[last]
        return parent.file, line, col
    return locate(root, path)
