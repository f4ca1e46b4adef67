"""Group-robot webhooks: WeCom (企业微信), DingTalk (钉钉), Feishu/Lark (飞书) and a
generic signed webhook. Each builds its vendor's JSON body and signature (docs/notify.md
says which public document each follows); `post` sends it and sorts the answer into
sent, temporary (retry) or permanent failure. A robot URL carries its key: never logged.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote_plus

import httpx

from services.notify.domain import Notification
from services.notify.email import PermanentFailure, TemporaryFailure


def dingtalk_sign(timestamp_ms: int, secret: str) -> str:
    """HMAC-SHA256 keyed by the secret over `timestamp + "\\n" + secret`, base64, then
    url-encoded (DingTalk custom robot, "加签")."""
    to_sign = f"{timestamp_ms}\n{secret}".encode()
    digest = hmac.new(secret.encode(), to_sign, hashlib.sha256).digest()
    return quote_plus(base64.b64encode(digest).decode())


def feishu_sign(timestamp_s: int, secret: str) -> str:
    """HMAC-SHA256 keyed by `timestamp + "\\n" + secret` over an empty message, base64
    (Feishu/Lark custom bot, "签名校验")."""
    key = f"{timestamp_s}\n{secret}".encode()
    return base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()


def generic_sign(timestamp_s: int, body: bytes, secret: str) -> str:
    """`sha256=` + hex HMAC-SHA256 keyed by the secret over `timestamp + "." + body`."""
    signed = f"{timestamp_s}.".encode() + body
    return "sha256=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Robot:
    kind: str  # wecom | dingtalk | feishu | webhook
    url: str
    secret: str | None = None
    name: str | None = None  # a named robot is a channel `robot:<name>` (docs/notify.md)

    def request(self, notification: Notification, now_s: int) -> tuple[str, bytes, dict[str, str]]:
        """URL, body and headers of the message for `notification` at time `now_s`."""
        text = notification.text
        headers = {"content-type": "application/json"}
        url = self.url
        body: dict[str, Any]
        if self.kind == "wecom":
            body = {"msgtype": "markdown", "markdown": {"content": _markdown(notification)}}
        elif self.kind == "dingtalk":
            body = {
                "msgtype": "markdown",
                "markdown": {"title": notification.subject, "text": _markdown(notification)},
            }
            if self.secret:
                ms = now_s * 1000
                sep = "&" if "?" in url else "?"
                url = f"{url}{sep}timestamp={ms}&sign={dingtalk_sign(ms, self.secret)}"
        elif self.kind == "feishu":
            body = {"msg_type": "text", "content": {"text": text}}
            if self.secret:
                body = {"timestamp": str(now_s), "sign": feishu_sign(now_s, self.secret), **body}
        else:
            body = {
                "id": notification.id, "site": notification.site, "cause": notification.cause,
                "event_id": notification.event_id, "subject": notification.subject, "text": text,
            }  # fmt: skip
        raw = json.dumps(body, ensure_ascii=False).encode()
        if self.kind == "webhook" and self.secret:
            headers["X-Qloop-Timestamp"] = str(now_s)
            headers["X-Qloop-Signature"] = generic_sign(now_s, raw, self.secret)
        return url, raw, headers

    async def post(self, notification: Notification, now_s: int) -> None:
        url, raw, headers = self.request(notification, now_s)
        try:
            async with httpx.AsyncClient(timeout=10.0) as client:
                answer = await client.post(url, content=raw, headers=headers)
        except httpx.HTTPError as exc:
            raise TemporaryFailure(type(exc).__name__) from None
        if answer.status_code >= 500 or answer.status_code == 429:
            raise TemporaryFailure(f"HTTP {answer.status_code}")
        if answer.status_code >= 400:
            raise PermanentFailure(f"HTTP {answer.status_code}")
        if self.kind != "webhook":
            _vendor_answer(answer)


def _vendor_answer(answer: httpx.Response) -> None:
    """WeCom and DingTalk answer `errcode`, Feishu `code`: 0 is success."""
    try:
        reply = answer.json()
    except ValueError:
        raise PermanentFailure("answer is not JSON") from None
    code = reply.get("errcode", reply.get("code", 0))
    if code != 0:
        raise PermanentFailure(f"robot refused (code {code})")


def _markdown(notification: Notification) -> str:
    return f"**{notification.subject}**\n\n" + notification.text.split("\n", 2)[-1]
