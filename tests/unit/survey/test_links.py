"""Signed, expiring invitation links: tampered and expired tokens are refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.survey.domain.links import LinkRefused, sign, verify

pytestmark = pytest.mark.unit
SECRET = b"s" * 32
NOW = datetime(2025, 3, 3, 2, 0, tzinfo=UTC)
EXPIRES = NOW + timedelta(days=30)


def _refused(token: str, secret: bytes = SECRET, now: datetime = NOW) -> str:
    with pytest.raises(LinkRefused) as caught:
        verify(secret, token, now)
    return caught.value.reason


def test_a_genuine_link_names_its_invitation() -> None:
    token = sign(SECRET, "abc123", EXPIRES)
    assert token.startswith("abc123.")
    assert verify(SECRET, token, NOW) == "abc123"


def test_altered_signature_id_or_expiry_is_tampered() -> None:
    token = sign(SECRET, "abc123", EXPIRES)
    invitation, expiry, signature = token.split(".")
    flipped = signature[:-1] + ("A" if signature[-1] != "A" else "B")
    assert _refused(f"{invitation}.{expiry}.{flipped}") == "tampered"
    assert _refused(f"abc124.{expiry}.{signature}") == "tampered"
    assert _refused(f"{invitation}.{int(expiry) + 86400}.{signature}") == "tampered"


def test_another_secret_or_garbage_is_tampered() -> None:
    token = sign(SECRET, "abc123", EXPIRES)
    assert _refused(token, secret=b"t" * 32) == "tampered"
    for garbage in ("", "abc", "a.b.c", "abc123..x", "../etc.1.x"):
        assert _refused(garbage) == "tampered"


def test_expired_link_is_refused_as_expired_at_its_expiry() -> None:
    token = sign(SECRET, "abc123", EXPIRES)
    assert verify(SECRET, token, EXPIRES - timedelta(seconds=1)) == "abc123"
    assert _refused(token, now=EXPIRES) == "expired"


def test_expiry_of_a_forged_token_is_not_believed() -> None:
    """An expired-looking forged token says tampered, not expired: expiry is read only
    once the signature holds."""
    assert _refused("abc123.1.invalidsignature") == "tampered"


def test_ids_with_separators_cannot_be_signed() -> None:
    with pytest.raises(ValueError):
        sign(SECRET, "a.b", EXPIRES)
