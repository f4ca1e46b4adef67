"""Site facts for the projection, from the rule files: timezone (months are the site's
months) and score bands. A site without a rule file is reported in UTC, without bands."""

from __future__ import annotations

from datetime import UTC, tzinfo

from services.common.rulebook import Rulebook, UnknownSite


class RuleSites:
    def __init__(self, rulebook: Rulebook) -> None:
        self.rulebook = rulebook

    def zone(self, site: str) -> tzinfo:
        try:
            return self.rulebook.for_site(site).zone
        except UnknownSite:
            return UTC

    def band(self, site: str, score: float) -> str | None:
        try:
            return self.rulebook.for_site(site).band_for(score).id
        except (UnknownSite, LookupError, ValueError):
            return None
