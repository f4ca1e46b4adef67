"""The notify service's settings: the kernel's plus the desk (directory and case links)
and the SMTP server (QLOOP_NOTIFY_*)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from services.common.settings import ServiceSettings


class RobotSetting(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["wecom", "dingtalk", "feishu", "webhook"]
    url: SecretStr  # a robot URL carries its key
    secret: SecretStr | None = None
    # A named robot (a department's group) gets only what a rule file's channel
    # `robot:<id>` sends it; one without an id gets every cause of its site.
    id: str | None = Field(default=None, pattern=r"^[A-Za-z][A-Za-z0-9_.\-]{0,63}$")


class NotifySettings(ServiceSettings):
    notify_desk_url: str = Field(
        default="http://127.0.0.1:8085", description="The desk: its directory and case pages"
    )
    # No default: the notify service reads the directory as a machine identity of its own.
    notify_desk_api_key: SecretStr | None = None
    notify_smtp_host: str = "127.0.0.1"
    notify_smtp_port: int = Field(default=8025, ge=1, le=65535)
    notify_smtp_sender: str = "qloop@qloop.invalid"
    notify_smtp_security: Literal["none", "starttls", "ssl"] = "none"
    notify_smtp_username: str | None = None
    notify_smtp_password: SecretStr | None = None
    # Group robots per site, as JSON:
    # {"sz": [{"kind": "dingtalk", "url": ..., "secret": ..., "id": "production-group"}]}
    notify_robots: dict[str, tuple[RobotSetting, ...]] = Field(default_factory=dict)
    notify_send_seconds: float = Field(default=2.0, gt=0, le=600)


def notify_settings(settings: ServiceSettings) -> NotifySettings:
    if isinstance(settings, NotifySettings):
        return settings
    return NotifySettings(**settings.model_dump())
