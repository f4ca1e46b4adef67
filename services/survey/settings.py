"""The survey service's settings: the kernel's plus the link secret, public address,
reminders and an SMTP sender (off unless switched on)."""

from __future__ import annotations

from datetime import timedelta

from pydantic import Field, SecretStr, model_validator

from services.common.settings import ServiceSettings


class SurveySettings(ServiceSettings):
    # No default: a link signed with a well-known secret could be forged by anyone.
    survey_link_secret: SecretStr | None = Field(
        default=None, description="QLOOP_SURVEY_LINK_SECRET: HMAC key of invitation links"
    )
    survey_public_url: str = Field(
        default="http://127.0.0.1:8083", description="Base URL customers open the form at"
    )
    survey_link_valid_days: int = Field(
        default=30, ge=1, le=365, description="How long after the window a link still opens"
    )
    survey_job_seconds: float = Field(default=60.0, gt=0, le=3600)
    smtp_enabled: bool = False
    smtp_host: str = "127.0.0.1"
    smtp_port: int = Field(default=25, ge=1, le=65535)
    smtp_sender: str = "surveys@qloop.invalid"
    smtp_starttls: bool = False
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None

    @model_validator(mode="after")
    def _strong_secret(self) -> SurveySettings:
        secret = self.survey_link_secret
        if secret is not None and len(secret.get_secret_value()) < 32:
            raise ValueError("QLOOP_SURVEY_LINK_SECRET must be at least 32 characters")
        return self

    @property
    def link_valid(self) -> timedelta:
        return timedelta(days=self.survey_link_valid_days)

    def link_secret(self) -> bytes:
        if self.survey_link_secret is None:
            raise RuntimeError(
                "QLOOP_SURVEY_LINK_SECRET is not set: the survey service signs invitation "
                "links with it and refuses to start without one (at least 32 characters)"
            )
        return self.survey_link_secret.get_secret_value().encode()


def survey_settings(settings: ServiceSettings) -> SurveySettings:
    """The survey settings for `settings` (extra QLOOP_SURVEY_*/QLOOP_SMTP_* from the
    environment when the caller passed the kernel's settings)."""
    if isinstance(settings, SurveySettings):
        return settings
    return SurveySettings(**settings.model_dump())
