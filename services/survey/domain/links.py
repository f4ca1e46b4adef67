"""Signed, expiring invitation links: `<invitation id>.<expiry unix time>.<signature>`.

The signature is HMAC-SHA256 over the id and the expiry with the service's secret, so
a link can be neither forged for another invitation nor extended. The token carries no
personal data.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from datetime import UTC, datetime
from typing import Literal

_ID = re.compile(r"^[A-Za-z0-9_-]{1,80}$")


class LinkRefused(Exception):
    """A link that cannot be used: `tampered` (not ours, or altered) or `expired`."""

    def __init__(self, reason: Literal["tampered", "expired"]) -> None:
        super().__init__(reason)
        self.reason = reason


def _signature(secret: bytes, payload: str) -> str:
    digest = hmac.new(secret, payload.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def sign(secret: bytes, invitation_id: str, expires_at: datetime) -> str:
    if not _ID.match(invitation_id):
        raise ValueError("invitation ids are letters, digits, '-' and '_'")
    payload = f"{invitation_id}.{int(expires_at.timestamp())}"
    return f"{payload}.{_signature(secret, payload)}"


def verify(secret: bytes, token: str, now: datetime) -> str:
    """The invitation id of a genuine, unexpired token; else `LinkRefused`."""
    parts = token.split(".")
    if len(parts) != 3 or not _ID.match(parts[0]) or not parts[1].isdigit():
        raise LinkRefused("tampered")
    payload = f"{parts[0]}.{parts[1]}"
    if not hmac.compare_digest(_signature(secret, payload), parts[2]):
        raise LinkRefused("tampered")
    # Checked only after the signature: an expiry can be trusted once it is known to be ours.
    if now >= datetime.fromtimestamp(int(parts[1]), UTC):
        raise LinkRefused("expired")
    return parts[0]
