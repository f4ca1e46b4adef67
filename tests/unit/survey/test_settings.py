"""No default link secret: the service refuses to start without a strong one."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from services.survey.settings import SurveySettings

pytestmark = pytest.mark.unit
URLS = {"amqp_url": "amqp://broker/", "mongodb_url": "mongodb://database/"}


def test_without_a_secret_links_cannot_be_signed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("QLOOP_SURVEY_LINK_SECRET", raising=False)
    settings = SurveySettings(**URLS)
    with pytest.raises(RuntimeError, match="QLOOP_SURVEY_LINK_SECRET is not set"):
        settings.link_secret()


def test_a_short_secret_is_refused() -> None:
    with pytest.raises(ValidationError, match="at least 32 characters"):
        SurveySettings(**URLS, survey_link_secret="short")


def test_secret_and_smtp_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QLOOP_SURVEY_LINK_SECRET", "k" * 40)
    monkeypatch.setenv("QLOOP_SMTP_ENABLED", "true")
    settings = SurveySettings(**URLS)
    assert settings.link_secret() == b"k" * 40 and settings.smtp_enabled
    assert "k" * 40 not in repr(settings)  # a secret never shows in logs
