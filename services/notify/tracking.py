"""What notify remembers of the facts it reads, to address later ones: each case's owning
department (a reopened case tells its team) and the open campaigns' invitations and
answers (a response rate below target is judged before the window ends).

Both Mongo collections are read by `_id` only; `notify_campaigns` holds open campaigns
alone (removed at close), so reading it whole on each pass stays cheap.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from services.common.storage.mongo import Database

CASES = "notify_cases"
CAMPAIGNS = "notify_campaigns"


@dataclass
class Campaign:
    id: str
    site: str
    invitations: int
    check_at: datetime
    returned: set[str] = field(default_factory=set)
    checked: bool = False


class Tracking(Protocol):
    async def remember_case(self, case_id: str, owner_department: str) -> None: ...

    async def case_owner(self, case_id: str) -> str | None: ...

    async def watch(self, campaign: Campaign) -> None:
        """Start watching a campaign (again: keeps its answers and whether it was judged)."""
        ...

    async def answered(self, campaign_id: str, invitation_id: str) -> None: ...

    async def judged(self, campaign_id: str) -> None: ...

    async def closed(self, campaign_id: str) -> None: ...

    async def campaigns(self) -> list[Campaign]:
        """The open campaigns watched (those whose opening was seen)."""
        ...


class InMemoryTracking:
    def __init__(self) -> None:
        self.owners: dict[str, str] = {}
        self.items: dict[str, Campaign] = {}

    async def remember_case(self, case_id: str, owner_department: str) -> None:
        self.owners.setdefault(case_id, owner_department)

    async def case_owner(self, case_id: str) -> str | None:
        return self.owners.get(case_id)

    async def watch(self, campaign: Campaign) -> None:
        seen = self.items.get(campaign.id)
        if seen is not None:
            campaign.returned |= seen.returned
            campaign.checked = seen.checked
        self.items[campaign.id] = campaign

    async def answered(self, campaign_id: str, invitation_id: str) -> None:
        stub = Campaign(campaign_id, "", -1, datetime.max.replace(tzinfo=UTC))
        self.items.setdefault(campaign_id, stub).returned.add(invitation_id)

    async def judged(self, campaign_id: str) -> None:
        if campaign_id in self.items:
            self.items[campaign_id].checked = True

    async def closed(self, campaign_id: str) -> None:
        self.items.pop(campaign_id, None)

    async def campaigns(self) -> list[Campaign]:
        return [c for c in self.items.values() if c.invitations >= 0]


class MongoTracking:
    def __init__(self, db: Database) -> None:
        self.cases = db[CASES]
        self.watched = db[CAMPAIGNS]

    async def remember_case(self, case_id: str, owner_department: str) -> None:
        await self.cases.update_one(
            {"_id": case_id}, {"$setOnInsert": {"owner_department": owner_department}}, upsert=True
        )

    async def case_owner(self, case_id: str) -> str | None:
        found = await self.cases.find_one({"_id": case_id})
        return None if found is None else str(found["owner_department"])

    async def watch(self, campaign: Campaign) -> None:
        opened = {"site": campaign.site, "invitations": campaign.invitations}
        await self.watched.update_one(
            {"_id": campaign.id},
            {"$set": {**opened, "check_at": campaign.check_at}, "$setOnInsert": {"checked": False}},
            upsert=True,
        )

    async def answered(self, campaign_id: str, invitation_id: str) -> None:
        await self.watched.update_one(
            {"_id": campaign_id}, {"$addToSet": {"returned": invitation_id}}, upsert=True
        )

    async def judged(self, campaign_id: str) -> None:
        await self.watched.update_one({"_id": campaign_id}, {"$set": {"checked": True}})

    async def closed(self, campaign_id: str) -> None:
        await self.watched.delete_one({"_id": campaign_id})

    async def campaigns(self) -> list[Campaign]:
        return [_campaign(d) async for d in self.watched.find({}) if "check_at" in d]


def _campaign(document: dict[str, Any]) -> Campaign:
    check_at: datetime = document["check_at"]
    return Campaign(
        id=str(document["_id"]),
        site=document["site"],
        invitations=int(document["invitations"]),
        check_at=check_at if check_at.tzinfo else check_at.replace(tzinfo=UTC),
        returned=set(document.get("returned", ())),
        checked=bool(document.get("checked", False)),
    )
