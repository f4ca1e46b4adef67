"""The survey service's business metrics (explicit registry, low-cardinality labels)."""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge


@dataclass(frozen=True)
class SurveyMetrics:
    answers: Counter
    invitations: Counter
    response_rate: Gauge
    response_target: Gauge
    dimension_score: Gauge
    overall_score: Gauge
    actions: Counter
    mail: Counter


def survey_metrics(registry: CollectorRegistry) -> SurveyMetrics:
    return SurveyMetrics(
        answers=Counter(
            "qloop_survey_answers_received_total",
            "Answers received, on time or late (late ones may count as not returned).",
            ["site", "on_time"],
            registry=registry,
        ),
        invitations=Counter(
            "qloop_survey_invitations_total",
            "Invitations and reminders dispatched.",
            ["site", "kind"],
            registry=registry,
        ),
        response_rate=Gauge(
            "qloop_survey_response_rate_percent",
            "Response rate of the site's last closed campaign (returned / sent x 100).",
            ["site"],
            registry=registry,
        ),
        response_target=Gauge(
            "qloop_survey_response_target_percent",
            "Response-rate target of the site's rules, for alerting on rate < target.",
            ["site"],
            registry=registry,
        ),
        dimension_score=Gauge(
            "qloop_survey_dimension_score",
            "Score per dimension of the site's last closed campaign (site's scale).",
            ["site", "dimension"],
            registry=registry,
        ),
        overall_score=Gauge(
            "qloop_survey_overall_score",
            "Overall score of the site's last closed campaign (site's scale).",
            ["site"],
            registry=registry,
        ),
        actions=Counter(
            "qloop_survey_actions_required_total",
            "survey.action_required raised, by trigger.",
            ["site", "trigger"],
            registry=registry,
        ),
        mail=Counter(
            "qloop_survey_mail_total",
            "Invitation e-mails by outcome (SMTP sender).",
            ["outcome"],
            registry=registry,
        ),
    )
