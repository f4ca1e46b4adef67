"""The rule files a service runs with: one per site, loaded from a directory.

A service refuses to start on a bad file (the errors name FILE:LINE:COLUMN). `reload`
swaps in a new set only when every file is valid, so a bad rollout keeps the last good
rules.
"""

from __future__ import annotations

from pathlib import Path

from services.common.rules import RuleFileErrors, SiteRules, load_rules


class UnknownSite(LookupError):
    def __init__(self, site: str, known: list[str]) -> None:
        super().__init__(
            f"unknown site {site!r}: no rule file declares it (known: {', '.join(known) or 'none'})"
        )
        self.site = site


def rule_files(directory: Path) -> list[Path]:
    """Top-level *.yaml files; sub-folders hold shared fragments that files include."""
    return sorted(p for p in directory.glob("*.yaml") if p.is_file())


def load_directory(directory: Path) -> dict[str, SiteRules]:
    if not directory.is_dir():
        raise FileNotFoundError(f"rules directory {directory} does not exist (QLOOP_RULES_DIR)")
    sites: dict[str, SiteRules] = {}
    errors = []
    for path in rule_files(directory):
        try:
            rules = load_rules(path)
        except RuleFileErrors as exc:
            errors.extend(exc.errors)
            continue
        if rules.site.id in sites:
            raise ValueError(f"{path}: site {rules.site.id!r} is declared by two rule files")
        sites[rules.site.id] = rules
    if errors:
        raise RuleFileErrors(errors)
    return sites


def fingerprint(directory: Path) -> tuple[tuple[str, int, int], ...]:
    """What changes when any rule file or shared fragment under `directory` changes."""
    found = []
    for path in sorted(directory.rglob("*.yaml")):
        stat = path.stat()
        found.append((str(path), stat.st_mtime_ns, stat.st_size))
    return tuple(found)


class Rulebook:
    def __init__(self, sites: dict[str, SiteRules], directory: Path | None = None) -> None:
        self._sites = dict(sites)
        self.directory = directory
        self.loaded_from = fingerprint(directory) if directory else ()

    @classmethod
    def load(cls, directory: Path) -> Rulebook:
        return cls(load_directory(directory), directory)

    def for_site(self, site: str) -> SiteRules:
        try:
            return self._sites[site]
        except KeyError:
            raise UnknownSite(site, sorted(self._sites)) from None

    @property
    def sites(self) -> list[str]:
        return sorted(self._sites)

    def reload(self) -> None:
        """Load every file again; on any error raise and keep the current rules."""
        if self.directory is None:
            raise ValueError("this rulebook was not loaded from a directory")
        seen = fingerprint(self.directory)
        self._sites = load_directory(self.directory)
        self.loaded_from = seen

    def changed_on_disk(self) -> bool:
        return self.directory is not None and fingerprint(self.directory) != self.loaded_from

    def versions(self) -> dict[str, str]:
        return {site: rules.rules_version for site, rules in sorted(self._sites.items())}
