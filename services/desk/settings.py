"""The desk's settings: the kernel's plus sign-in, session and token lifetimes."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from pydantic import Field, SecretStr, model_validator

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
    # The services the pages work with (services/desk/pages.py); a page whose service is
    # not set says so.
    desk_intake_url: str | None = Field(default=None, description="e.g. http://intake:8081")
    desk_workflow_url: str | None = Field(default=None, description="e.g. http://workflow:8082")
    # A demonstration's SMTP catcher keeps the mails here (a Maildir); /mail shows each
    # person theirs. Unset in production.
    desk_demo_maildir: Path | None = None
    desk_notify_url: str | None = Field(default=None, description="e.g. http://notify:8086")
    desk_reporting_url: str | None = Field(default=None, description="e.g. http://reporting:8084")
    # OpenID Connect (production sign-in at the company's provider: Keycloak, Entra ID,
    # Authing, ...). Unset issuer: passwords only. services/desk/oidc.py.
    desk_oidc_issuer: str | None = Field(default=None, description="The provider's issuer URL")
    desk_oidc_client_id: str | None = None
    desk_oidc_client_secret: SecretStr | None = None
    desk_oidc_redirect_url: str | None = Field(
        default=None,
        description="This desk's callback, e.g. https://desk.example/sign-in/oidc/callback",
    )
    desk_oidc_mapping_file: Path | None = Field(
        default=None, description="Claims and groups -> person id and grants (federation.py)"
    )
    desk_oidc_name: str = Field(default="single sign-on", description="The provider, as shown")
    desk_oidc_scopes: str = Field(
        default="openid email profile", description="Scopes asked for (add the groups scope)"
    )
    desk_oidc_ca_file: Path | None = Field(
        default=None, description="CA bundle to trust for the provider (default: the system's)"
    )

    @model_validator(mode="after")
    def _oidc_complete(self) -> DeskSettings:
        needed = {
            "QLOOP_DESK_OIDC_CLIENT_ID": self.desk_oidc_client_id,
            "QLOOP_DESK_OIDC_CLIENT_SECRET": self.desk_oidc_client_secret,
            "QLOOP_DESK_OIDC_REDIRECT_URL": self.desk_oidc_redirect_url,
            "QLOOP_DESK_OIDC_MAPPING_FILE": self.desk_oidc_mapping_file,
        }
        missing = [name for name, value in needed.items() if value is None]
        if self.desk_oidc_issuer is not None and missing:
            raise ValueError(f"QLOOP_DESK_OIDC_ISSUER is set: also set {', '.join(missing)}")
        return self

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
