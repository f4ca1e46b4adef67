"""Who calls: API keys read again when their file changes, `qloop keys` writing that file,
a person's roles per site narrowed by the role a route needs, and the token verifier's
cached keys."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from services.cli import main
from services.common import auth
from services.common.auth import ApiKey, Caller, KeyRing
from services.common.tokens import PersonClaims, TokenRefused, TokenVerifier
from tests.support.people import TestIssuer

pytestmark = pytest.mark.unit


def test_keys_added_and_revoked_with_the_cli_are_picked_up_without_a_restart(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(auth, "RELOAD_CHECK_SECONDS", 0.0)
    path = tmp_path / "keys.yaml"
    assert (
        main(["keys", "--file", str(path), "add", "erp-sz", "--sites", "sz", "--roles", "submit"])
        == 0
    )
    plain = capsys.readouterr().out.strip()
    ring = KeyRing.from_file(path)
    key = ring.identify(plain)
    assert key is not None and key.sites == ("sz",) and key.roles == ("submit",)
    assert plain not in path.read_text()  # only the hash is stored
    assert main(["keys", "--file", str(path), "add", "crm", "--sites", "*", "--roles", "read"]) == 0
    second = capsys.readouterr().out.strip()
    assert ring.identify(second) is not None  # the running ring read the file again
    assert main(["keys", "--file", str(path), "revoke", "erp-sz"]) == 0
    assert ring.identify(plain) is None
    main(["keys", "--file", str(path), "list"])
    assert "crm" in capsys.readouterr().out


def test_trusted_broker_users_are_read_again_and_kept_when_keys_change(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(auth, "RELOAD_CHECK_SECONDS", 0.0)
    path = tmp_path / "keys.yaml"
    assert (
        main(["keys", "--file", str(path), "add", "crm", "--sites", "sz", "--roles", "read"]) == 0
    )
    ring = KeyRing.from_file(path)
    assert ring.broker_user("erp-sz") is None
    trust = ["keys", "--file", str(path), "trust", "erp-sz", "--sites", "sz"]
    assert main([*trust, "--roles", "read,complaint_owner"]) == 0
    user = ring.broker_user("erp-sz")  # the running ring read the file again
    assert ring.identify(capsys.readouterr().out.splitlines()[0]) is not None  # key kept
    assert user is not None and Caller.of_key(user).roles_at("sz") == ("read", "complaint_owner")
    assert main(["keys", "--file", str(path), "revoke", "crm"]) == 0
    assert ring.broker_user("erp-sz") is not None  # editing the keys kept the broker users
    main(["keys", "--file", str(path), "list"])
    assert "erp-sz" in capsys.readouterr().out
    assert main(["keys", "--file", str(path), "distrust", "erp-sz"]) == 0
    assert ring.broker_user("erp-sz") is None


def test_a_broken_key_file_keeps_the_keys_read_before(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(auth, "RELOAD_CHECK_SECONDS", 0.0)
    path = tmp_path / "keys.yaml"
    plain = "qk_test"
    path.write_text(
        f"keys:\n  - {{name: a, sha256: {auth.hash_key(plain)}, sites: [sz], roles: [read]}}\n"
    )
    ring = KeyRing.from_file(path)
    path.write_text("keys: [{name: broken}]\n")
    assert ring.identify(plain) is not None


def test_require_narrows_a_person_to_the_sites_where_they_hold_the_role() -> None:
    claims = PersonClaims(
        sub="li", sites={"sz": ("quality", "admin"), "nb": ("quality",)}, exp=0, iat=0
    )
    person = Caller.of_person(claims)
    assert person.roles_at("nb") == ("read", "act", "submit", "quality")
    admin = person.holding("admin")
    assert admin.visible_sites(["nb", "sz", "wx"]) == ["sz"]
    assert admin.refusal("nb") == "person 'li' does not hold the role 'admin' at site 'nb'"
    assert person.holding("privacy").refusal() == "person 'li' holds the role 'privacy' at no site"
    key = Caller.of_key(ApiKey(name="erp", sha256="0" * 64, sites=("*",), roles=("read",)))
    assert key.holding("read").may_access("any") and key.roles_at("sz") == ("read",)
    assert key.holding("act").refusal() == "this API key lacks the role 'act'"


async def test_the_verifier_fetches_keys_again_for_an_unknown_kid_at_most_so_often() -> None:
    issuer, later = TestIssuer(), TestIssuer()
    fetched: list[int] = []
    published = [issuer.jwks()]
    now = [0.0]

    async def fetch() -> Mapping[str, Any]:
        fetched.append(1)
        return published[-1]

    verifier = TokenVerifier(
        issuer="qloop-desk",
        audience="qloop",
        fetch_jwks=fetch,
        refetch_seconds=10,
        monotonic=lambda: now[0],
    )
    assert (await verifier.verify(issuer.token("li", {"sz": ["quality"]}))).sub == "li"
    assert (await verifier.verify(issuer.token("li", {"sz": ["quality"]}))).sub == "li"
    assert len(fetched) == 1  # cached
    published.append({"keys": [*issuer.jwks()["keys"], *later.jwks()["keys"]]})  # rotated
    rotated = later.token("wang", {"nb": ["pmc"]})
    now[0] = 5.0
    with pytest.raises(TokenRefused, match="unknown signing key"):
        await verifier.verify(rotated)  # too soon to ask the desk again
    now[0] = 11.0
    assert (await verifier.verify(rotated)).sub == "wang"
    assert len(fetched) == 2
    with pytest.raises(TokenRefused, match="issuer"):
        await verifier.verify(issuer.token("li", {}, iss="someone-else"))
