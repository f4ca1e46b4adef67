"""Reporting's own settings (env prefix QLOOP_REPORTING_): targets the rule files do not
set, and how figures are read from the procedure."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.common.rules import SiteRules
from services.reporting.domain.policy import Policy
from services.reporting.domain.targets import Target


class ReportingSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="QLOOP_REPORTING_", extra="ignore", frozen=True)

    on_time_target: float = Field(default=100.0, ge=0, le=100)
    answered_target: float = Field(default=100.0, ge=0, le=100)  # "100% answered"
    repeat_rate_max: float = Field(default=1.0, ge=0, le=100)  # "similar complaints <= 1%"
    satisfaction_target: float = Field(default=96.0, ge=0)  # unless survey.target_score
    response_rate_target: float = Field(default=80.0, ge=0, le=100)  # unless the rule file's
    delivery_target: float = Field(default=98.0, ge=0, le=100)
    eight_d_stages: tuple[str, ...] = ("corrective_action", "reply")
    gauge_refresh_seconds: float = Field(default=15.0, gt=0, le=3600)
    token_sweep_seconds: float = Field(default=2.0, gt=0, le=3600)  # projector.py Sweeper

    def policy(self) -> Policy:
        return Policy(eight_d_stages=self.eight_d_stages)

    def targets(self, rules: SiteRules | None) -> list[Target]:
        satisfaction = Target("satisfaction", "Satisfaction index", self.satisfaction_target)
        response = Target("response_rate", "Survey response rate %", self.response_rate_target)
        survey = rules.survey if rules else None
        if survey is not None and survey.target_score is not None:
            satisfaction = Target(
                "satisfaction", satisfaction.label, survey.target_score, source="rule file"
            )
        if survey is not None:
            rate = round(survey.response.target_rate * 100, 2)
            response = Target("response_rate", response.label, rate, source="rule file")
        on_time = self.on_time_target
        return [
            Target("acknowledgement", "On-time acknowledgement (24 h) %", on_time),
            Target("investigation", "On-time investigation (48 h) %", on_time),
            Target("eight_d", "On-time 8D reply %", on_time),
            Target("closure", "On-time closure %", on_time),
            Target("answered", "Complaints answered %", self.answered_target),
            Target("repeat_rate", "Repeat rate %", self.repeat_rate_max, at_most=True),
            satisfaction,
            response,
            Target("delivery", "On-time delivery %", self.delivery_target),
        ]
