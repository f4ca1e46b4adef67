"""The desk's settings: the kernel's plus sign-in, session and token lifetimes."""

from __future__ import annotations

from datetime import timedelta

from pydantic import Field

from services.common.settings import ServiceSettings
from services.desk.domain import SignInPolicy


class DeskSettings(ServiceSettings):
    desk_token_minutes: int = Field(default=10, ge=1, le=60, description="Access token life")
    desk_session_idle_minutes: int = Field(default=30, ge=1, le=24 * 60)
    desk_session_hours: int = Field(default=12, ge=1, le=7 * 24, description="Absolute limit")
    desk_max_failures: int = Field(default=5, ge=1, le=100, description="Before a lockout")
    desk_failure_window_minutes: int = Field(default=15, ge=1, le=24 * 60)
    desk_lockout_minutes: int = Field(default=15, ge=1, le=24 * 60)
    desk_client_max_failures: int = Field(
        default=20, ge=1, le=10_000, description="Failed sign-ins per address and minute"
    )
    desk_key_rotation_days: int = Field(default=30, ge=1, le=365)
    # Cookies are `Secure` when the request came over TLS; set this behind a TLS proxy
    # that forwards plain HTTP.
    desk_secure_cookies: bool = False

    def policy(self) -> SignInPolicy:
        return SignInPolicy(
            max_failures=self.desk_max_failures,
            failure_window=timedelta(minutes=self.desk_failure_window_minutes),
            lockout=timedelta(minutes=self.desk_lockout_minutes),
            session_idle=timedelta(minutes=self.desk_session_idle_minutes),
            session_absolute=timedelta(hours=self.desk_session_hours),
            token_lifetime=timedelta(minutes=self.desk_token_minutes),
            client_max_failures=self.desk_client_max_failures,
        )

    @property
    def key_rotation(self) -> timedelta:
        return timedelta(days=self.desk_key_rotation_days)


def desk_settings(settings: ServiceSettings) -> DeskSettings:
    if isinstance(settings, DeskSettings):
        return settings
    return DeskSettings(**settings.model_dump())
