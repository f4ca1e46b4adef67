"""Provider claims -> a qloop person and their grants (services/desk/federation.py)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.desk import federation
from services.desk.domain import Grant, Person
from services.desk.federation import ClaimMapping, FederationRefused, GroupGrant

pytestmark = pytest.mark.unit
NOW = datetime(2026, 12, 4, tzinfo=UTC)
MAPPING = ClaimMapping(
    grants=(
        GroupGrant(group="sz-qa", site="sz", departments=("quality",)),
        GroupGrant(group="sz-mr", site="sz", roles=("management_rep",)),
        GroupGrant(group="nb-qa", site="nb", departments=("quality",)),
    )
)
CLAIMS = {
    "iss": "https://op", "sub": "s-1", "preferred_username": "Li.Wei",
    "email": "li.wei@example.com", "name": "李伟", "locale": "zh-CN",
    "groups": ["sz-qa", "sz-mr", "other"],
}  # fmt: skip


def test_groups_become_one_grant_per_site_with_departments_and_roles_merged() -> None:
    who = federation.identity(CLAIMS, MAPPING)
    assert (who.person_id, who.language, who.name) == ("li.wei", "zh", "李伟")
    assert federation.mapped_grants(who, MAPPING) == (
        Grant(site="sz", departments=("quality",), roles=("management_rep",)),
    )


def test_the_provider_replaces_grants_only_at_the_sites_the_mapping_names() -> None:
    person = Person(
        id="li.wei", name="Li", email="li.wei@example.com", created_at=NOW, updated_at=NOW,
        grants=(Grant(site="nb", departments=("quality",)), Grant(site="xm", roles=("quality",))),
    )  # fmt: skip
    who = federation.identity(CLAIMS, MAPPING)
    after = federation.updated(person, who, federation.mapped_grants(who, MAPPING), MAPPING, NOW)
    # nb is the provider's to say (the group is gone: so is the grant); xm stays.
    assert [g.site for g in after.grants] == ["xm", "sz"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"preferred_username": "李伟"}, "not a qloop person id"),
        ({"email": "nobody"}, "no valid e-mail"),
    ],
)
def test_claims_that_cannot_name_a_person_are_refused(change: dict[str, str], message: str) -> None:
    with pytest.raises(FederationRefused, match=message):
        federation.identity({**CLAIMS, **change}, MAPPING)
