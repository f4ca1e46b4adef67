"""The closed loop: a short survey to the complaint's contact after its case closes,
when the site's rules ask for one (`survey.follow_up_after_closure`), sent after the
rule's delay and asking only the rule's items (all when none are listed)."""

from __future__ import annotations

from services.common.contracts.cases import CaseClosed
from services.common.rules import due_time
from services.survey.campaigns import CampaignRequest, open_campaign
from services.survey.domain.schedule import Period
from services.survey.service import SurveyService


async def after_case_closed(svc: SurveyService, site: str, case: CaseClosed) -> bool:
    """Plan the follow-up campaign once per case; False when the rules ask for none or
    it was planned before."""
    rules = svc.rulebook.for_site(site)
    policy = rules.survey.follow_up_after_closure if rules.survey else None
    if policy is None or not policy.enabled:
        return False
    complaint = await svc.store.complaint_contact(site, case.complaint_number)
    if complaint and complaint["contact"].get("email"):
        contacts = [complaint["contact"]]
    else:
        profile = await svc.store.customer(site, case.customer_id) or {}
        contacts = list(profile.get("contacts") or [])
    closed_day = case.closed_at.astimezone(rules.zone).date()
    request = CampaignRequest(
        site=site,
        kind="follow_up",
        period=Period(closed_day, closed_day, f"{closed_day:%Y-%m}"),
        customers=(case.customer_id,),
        customer_name=case.customer_name,
        follow_up_of_case=case.case_id,
        items=policy.items,
        contacts=tuple(contacts),
        dispatch_at=due_time(rules, case.closed_at, policy.delay),
        id=f"{site}-follow_up-{case.case_id}",
    )
    _, created = await open_campaign(svc, request)
    return created
