"""The desk's use cases on the in-memory directory: grants checked against the rule
files, sign-in with lockout and audit, tokens the services verify, sessions that end."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from services.common.auth import Caller
from services.common.clock import ManualClock
from services.common.rulebook import Rulebook
from services.common.tokens import TokenRefused, TokenVerifier
from services.desk.domain import DirectoryError, Grant, SignInPolicy
from services.desk.handlers import Desk, NewPerson, SignInRefused
from services.desk.passwords import cheap
from services.desk.signing import SigningKeys
from services.desk.store import InMemoryDirectory

pytestmark = pytest.mark.unit
ROOT = Path(__file__).resolve().parents[3]
T0 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
PASSWORD = "correct horse battery"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0)


@pytest.fixture
async def desk(clock: ManualClock) -> Desk:
    directory = InMemoryDirectory()
    desk = Desk(
        store=directory,
        rulebook=Rulebook.load(ROOT / "rules"),
        clock=clock,
        passwords=cheap(),
        policy=SignInPolicy(max_failures=3),
        issuer="qloop-desk",
        audience="qloop",
        keys=await SigningKeys.load(directory, T0, timedelta(days=30)),
    )
    return desk


def engineer(**overrides: object) -> NewPerson:
    values: dict[str, object] = {
        "id": "li.qe",
        "name": "Li Quality",
        "email": "li@example.com",
        "language": "zh",
        "grants": (Grant(site="sz", departments=("quality",), roles=("manager",)),),
        "password": PASSWORD,
    }
    return NewPerson(**{**values, **overrides})  # type: ignore[arg-type]


async def test_grants_are_checked_against_the_sites_rule_file(desk: Desk) -> None:
    with pytest.raises(DirectoryError, match="site 'sz' has no department 'qa'"):
        await desk.add_person(engineer(grants=(Grant(site="sz", departments=("qa",)),)))
    with pytest.raises(DirectoryError, match="site 'sz' has no role 'boss'"):
        await desk.add_person(engineer(grants=(Grant(site="sz", roles=("boss",)),)))
    with pytest.raises(DirectoryError, match="unknown site 'xx'"):
        await desk.add_person(engineer(grants=(Grant(site="xx", roles=("quality",)),)))
    person = await desk.add_person(engineer())
    assert person.view()["has_password"] is True and "password_hash" not in person.view()
    with pytest.raises(DirectoryError, match="belongs to someone else"):
        await desk.add_person(engineer(id="other", email="LI@example.com"))
    with pytest.raises(DirectoryError, match="exists already"):
        await desk.add_person(engineer(email="li2@example.com"))


async def test_grant_and_revoke_replace_a_sites_grant(desk: Desk) -> None:
    await desk.add_person(engineer())
    person = await desk.grant("li.qe", Grant(site="nb", roles=("quality",)))
    assert person.sites() == ["sz", "nb"]
    person = await desk.grant("li.qe", Grant(site="sz", roles=("management_rep",)))
    assert person.grant_at("sz") == Grant(site="sz", roles=("management_rep",))
    person = await desk.revoke("li.qe", "nb")
    assert person.sites() == ["sz"]
    with pytest.raises(DirectoryError, match="holds nothing at site 'nb'"):
        await desk.revoke("li.qe", "nb")


async def test_a_token_carries_the_roles_per_site_and_the_services_verify_it(
    desk: Desk, clock: ManualClock
) -> None:
    clock.set(datetime.now(UTC))  # tokens are checked against the wall clock
    person = await desk.add_person(engineer())
    signed_in = await desk.sign_in("LI@example.com", PASSWORD, client="test")
    issued = desk.token_for(signed_in)
    assert desk.keys is not None
    keys = desk.keys

    async def jwks() -> dict[str, object]:
        return keys.jwks()

    verifier = TokenVerifier(issuer="qloop-desk", audience="qloop", fetch_jwks=jwks)
    claims = await verifier.verify(issued.access_token)
    # quality department's role, plus the granted one
    assert claims.sub == person.id and claims.sites == {"sz": ("manager", "quality")}
    caller = Caller.of_person(claims)
    assert caller.roles_at("sz") == ("read", "act", "submit", "manager", "quality")
    assert caller.holding("admin").grants == {}
    assert caller.holding("act").refusal("nb") == (
        "person 'li.qe' does not hold the role 'act' at site 'nb'"
    )
    other = TokenVerifier(issuer="qloop-desk", audience="reporting-only", fetch_jwks=jwks)
    with pytest.raises(TokenRefused, match="Audience doesn.t match"):
        await other.verify(issued.access_token)


async def test_failures_lock_the_login_and_every_outcome_is_audited(
    desk: Desk, clock: ManualClock
) -> None:
    await desk.add_person(engineer())
    for _ in range(3):
        with pytest.raises(SignInRefused) as refused:
            await desk.sign_in("li.qe", "wrong password!", client="test")
        assert not refused.value.locked
    with pytest.raises(SignInRefused, match="too many failed sign-ins") as refused:
        await desk.sign_in("li.qe", PASSWORD, client="test")
    assert refused.value.locked
    clock.advance(timedelta(minutes=16))
    assert (await desk.sign_in("li.qe", PASSWORD, client="test")).id == "li.qe"
    kinds = [e["kind"] for e in await desk.store.audit_entries()]
    assert kinds == [
        "person_added",
        "sign_in_failed",
        "sign_in_failed",
        "sign_in_failed",
        "locked_out",
        "sign_in_refused_locked",
        "sign_in",
    ]


async def test_unknown_logins_and_disabled_people_are_refused_alike(desk: Desk) -> None:
    await desk.add_person(engineer())
    await desk.disable("li.qe")
    for login in ("li.qe", "nobody"):
        with pytest.raises(SignInRefused, match="unknown login or wrong password"):
            await desk.sign_in(login, PASSWORD, client="test")


async def test_sessions_end_when_idle_after_their_limit_and_at_sign_out(
    desk: Desk, clock: ManualClock
) -> None:
    person = await desk.add_person(engineer())
    cookie, _ = await desk.open_session(person)
    clock.advance(timedelta(minutes=29))
    assert await desk.session(cookie) is not None  # restarts the idle timer
    clock.advance(timedelta(minutes=29))
    assert await desk.session(cookie) is not None
    clock.advance(timedelta(minutes=31))
    assert await desk.session(cookie) is None  # idle
    cookie, _ = await desk.open_session(person)
    for _ in range(25):
        clock.advance(timedelta(minutes=29))
        if await desk.session(cookie) is None:
            break
    assert clock.now() - T0 >= timedelta(hours=12)  # absolute limit reached
    cookie, _ = await desk.open_session(person)
    await desk.sign_out(cookie)
    assert await desk.session(cookie) is None


async def test_signing_keys_rotate_and_keep_the_one_before(desk: Desk) -> None:
    assert desk.keys is not None
    first = desk.keys.active.kid
    same = await SigningKeys.load(desk.store, T0 + timedelta(days=29), timedelta(days=30))
    assert same.active.kid == first
    rotated = await SigningKeys.load(desk.store, T0 + timedelta(days=30), timedelta(days=30))
    assert rotated.active.kid != first
    assert [k["kid"] for k in rotated.jwks()["keys"]] == [rotated.active.kid, first]


async def test_one_address_trying_many_logins_is_throttled(desk: Desk, clock: ManualClock) -> None:
    await desk.add_person(engineer())
    for n in range(20):
        with pytest.raises(SignInRefused) as refused:
            await desk.sign_in(f"guess{n}", "wrong password!", client="10.0.0.9")
        assert not refused.value.locked
    with pytest.raises(SignInRefused, match="from this address") as refused:
        await desk.sign_in("li.qe", PASSWORD, client="10.0.0.9")
    assert refused.value.locked
    assert (await desk.sign_in("li.qe", PASSWORD, client="10.0.0.10")).id == "li.qe"
    clock.advance(timedelta(minutes=2))
    assert (await desk.sign_in("li.qe", PASSWORD, client="10.0.0.9")).id == "li.qe"
