"""Who a person signed in at an OpenID Connect provider is in qloop, and what they hold.

The deployment's mapping file says which ID-token claim names the person (their qloop id),
which claim lists their groups, and which groups grant which departments and roles at
which site. The provider is the source of truth for the sites the mapping names: at every
sign-in the person's grants there are replaced by what their groups map to (a group taken
away at the provider takes the role away at the next sign-in); grants at other sites, made
in the directory, stay. Pure: no I/O.

    login_claim: preferred_username     # default; the value must be a valid person id
    groups_claim: groups                # default
    grants:
      - {group: qloop-sz-quality, site: sz, departments: [quality]}
      - {group: qloop-sz-mr, site: sz, roles: [management_rep]}
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from services.desk.domain import EMAIL, PERSON_ID, Grant, Person


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class GroupGrant(_Frozen):
    group: str = Field(min_length=1)
    site: str = Field(min_length=1)
    departments: tuple[str, ...] = ()
    roles: tuple[str, ...] = ()


class ClaimMapping(_Frozen):
    login_claim: str = "preferred_username"
    groups_claim: str = "groups"
    grants: tuple[GroupGrant, ...] = ()

    @property
    def sites(self) -> set[str]:
        return {g.site for g in self.grants}


class ProviderIdentity(_Frozen):
    """The verified ID token's claims that qloop uses."""

    person_id: str
    name: str
    email: str
    language: str
    groups: tuple[str, ...]
    subject: str
    issuer: str


class FederationRefused(Exception):
    """The provider's answer cannot become a qloop sign-in; the message says why."""


def load_mapping(path: Path) -> ClaimMapping:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        return ClaimMapping.model_validate(raw)
    except (OSError, yaml.YAMLError, ValidationError) as exc:
        raise ValueError(f"{path}: not a valid OIDC claim mapping: {exc}") from None


def identity(claims: Mapping[str, Any], mapping: ClaimMapping) -> ProviderIdentity:
    login = str(claims.get(mapping.login_claim) or "").strip().lower()
    if not re.match(PERSON_ID, login):
        raise FederationRefused(
            f"the provider's {mapping.login_claim!r} claim ({login!r}) is not a qloop person "
            "id (lower-case letters, digits, . _ -): set login_claim in the mapping"
        )
    email = str(claims.get("email") or "")
    if not re.match(EMAIL, email):
        raise FederationRefused("the provider gave no valid e-mail address (scope 'email')")
    groups = claims.get(mapping.groups_claim) or ()
    if isinstance(groups, str):
        groups = (groups,)
    locale = str(claims.get("locale") or "en").split("-")[0].split("_")[0].lower()
    return ProviderIdentity(
        person_id=login,
        name=str(claims.get("name") or login),
        email=email,
        language=locale if re.match(r"^[a-z]{2,3}$", locale) else "en",
        groups=tuple(str(g) for g in groups),
        subject=str(claims["sub"]),
        issuer=str(claims["iss"]),
    )


def mapped_grants(who: ProviderIdentity, mapping: ClaimMapping) -> tuple[Grant, ...]:
    """One grant per site from the groups the person holds (departments and roles merged)."""
    merged: dict[str, tuple[list[str], list[str]]] = {}
    for rule in mapping.grants:
        if rule.group in who.groups:
            departments, roles = merged.setdefault(rule.site, ([], []))
            departments += [d for d in rule.departments if d not in departments]
            roles += [r for r in rule.roles if r not in roles]
    return tuple(
        Grant(site=site, departments=tuple(d), roles=tuple(r)) for site, (d, r) in merged.items()
    )


def updated(
    person: Person,
    who: ProviderIdentity,
    grants: tuple[Grant, ...],
    mapping: ClaimMapping,
    now: datetime,
) -> Person:
    """`person` with the provider's name, language and grants at the mapped sites."""
    kept = tuple(g for g in person.grants if g.site not in mapping.sites)
    return person.model_copy(
        update={
            "name": who.name,
            "language": who.language,
            "grants": (*kept, *grants),
            "updated_at": now,
        }
    )
