"""Anonymous internal (employee) satisfaction surveys on a random sample of staff.

Anonymity by construction: the sample's links are handed out once, to whoever
distributes them, and the stored survey keeps only counts, never who was drawn or which
link went to whom. An answer is stored under its link's random id (one answer per link)
with the day only.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from fractions import Fraction
from typing import Any

from services.survey.domain import internal, links
from services.survey.domain.scoring import reported
from services.survey.service import Refused, SurveyService

VALID = timedelta(days=30)


async def start(
    svc: SurveyService, site: str, staff: list[str], seed: int | None
) -> dict[str, Any]:
    rules, survey = svc.rules(site)
    if survey.internal is None:
        raise Refused(f"site {site!r} has no internal survey in its rule file")
    sample = internal.draw_sample(staff, survey.internal.min_sample_share, seed=seed)
    if not sample:
        raise Refused("no staff given")
    survey_id = secrets.token_hex(8)
    now = svc.clock.now()
    expires = now + VALID
    await svc.store.insert_internal(
        {
            "_id": survey_id,
            "site": site,
            "staff": len(set(staff)),
            "sample": len(sample),
            "min_share": survey.internal.min_sample_share,
            "anonymous": survey.internal.anonymous,
            "started_at": now,
            "expires_at": expires,
        }
    )
    base = svc.public_url.rstrip("/")
    handout = []
    for person in sample:
        token = links.sign(svc.link_secret, f"{survey_id}_{secrets.token_hex(8)}", expires)
        handout.append({"staff_id": person, "link": f"{base}/i/{token}"})
    return {
        "survey_id": survey_id,
        "staff": len(set(staff)),
        "sample": len(sample),
        "coverage": round(len(sample) / len(set(staff)), 4),
        "handout": handout,
    }


async def answer(svc: SurveyService, token: str, score: float, comments: str | None) -> bool:
    """Raises links.LinkRefused; Refused for a score outside the scale."""
    answer_id = links.verify(svc.link_secret, token, svc.clock.now())
    survey_id = answer_id.split("_", 1)[0]
    found = await svc.store.internal(survey_id)
    if found is None:
        raise links.LinkRefused("tampered")
    _, survey = svc.rules(found["site"])
    if not survey.scale.min <= score <= survey.scale.max:
        raise Refused(f"score {score} is outside the scale")
    today = svc.clock.now().date().isoformat()
    return await svc.store.insert_internal_answer(
        {
            "_id": answer_id,
            "survey_id": survey_id,
            "score": score,
            "comments": comments,
            "day": today,
        }
    )


async def results(svc: SurveyService, survey_id: str) -> dict[str, Any] | None:
    found = await svc.store.internal(survey_id)
    if found is None:
        return None
    rules, _ = svc.rules(found["site"])
    answers = await svc.store.internal_answers(survey_id)
    total = sum((Fraction(str(a["score"])) for a in answers), Fraction(0))
    mean = reported(total / len(answers)) if answers else None
    return {
        "survey_id": survey_id,
        "site": found["site"],
        "staff": found["staff"],
        "sample": found["sample"],
        "coverage": round(found["sample"] / found["staff"], 4),
        "answers": len(answers),
        "response_rate": round(len(answers) * 100 / found["sample"], 2),
        "score": mean,
        "band": rules.band_for(mean).id if mean is not None else None,
        "comments": sorted(a["comments"] for a in answers if a.get("comments")),
    }
