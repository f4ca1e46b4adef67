"""Accessibility checks of a page in the browser with axe-core (the engine shipped inside
axe-playwright-python): the WCAG 2.1 A and AA rules, every violation named with the
elements it was found on."""

from __future__ import annotations

from typing import Any

from axe_playwright_python.async_playwright import Axe

RULES = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}}


async def violations(page: Any) -> list[str]:
    """What axe-core finds wrong with the page as it stands: '<rule>: <help> @ <targets>'."""
    results = await Axe().run(page, options={**RULES, "resultTypes": ["violations"]})
    return [
        f"{v['id']}: {v['help']} @ {[n['target'] for n in v['nodes']][:3]}"
        for v in results.response["violations"]
    ]
