"""EventPublisher: whatever the client library does, the caller gets PublishFailed (tried
again) or a confirmed publish, and only its own cancellation ends it."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest
from pamqp.commands import Basic

from services.common.messaging.publisher import EventPublisher, PublishNotConfirmed
from services.common.storage.outbox import OutgoingMessage, PublishFailed

MESSAGE = OutgoingMessage("e-1", "t", "s.t", "c", datetime(2025, 3, 3, tzinfo=UTC), b"{}")


class FakeBroker:
    def __init__(self, outcome: Any) -> None:
        self.outcome = outcome

    async def publish(self, *args: Any, **kwargs: Any) -> Any:
        if self.outcome == "hang":
            await asyncio.Event().wait()
        if isinstance(self.outcome, BaseException):
            raise self.outcome
        return self.outcome


def _publisher(outcome: Any, timeout: float = 5.0) -> EventPublisher:
    return EventPublisher(FakeBroker(outcome), timeout=timeout)  # type: ignore[arg-type]


async def test_a_confirmed_publish_returns() -> None:
    await _publisher(Basic.Ack()).publish(MESSAGE)


@pytest.mark.parametrize(
    "outcome",
    [
        Basic.Nack(),
        None,
        RuntimeError("<RobustChannel> closed"),  # aiormq's ChannelInvalidStateError
        ConnectionResetError(),
        # aiormq sets pending confirmations to CancelledError when its connection closes:
        asyncio.CancelledError("CONNECTION_FORCED"),
    ],
)
async def test_anything_but_a_confirm_is_a_failed_publish(outcome: Any) -> None:
    with pytest.raises(PublishFailed) as raised:
        await _publisher(outcome).publish(MESSAGE)
    assert "e-1" in str(raised.value)
    if isinstance(outcome, Basic.Nack):
        assert isinstance(raised.value, PublishNotConfirmed)


async def test_no_confirm_within_the_timeout_is_a_failed_publish() -> None:
    with pytest.raises(PublishFailed, match="no confirm"):
        await _publisher("hang", timeout=0.01).publish(MESSAGE)


async def test_cancelling_the_caller_still_cancels_it() -> None:
    task = asyncio.create_task(_publisher("hang").publish(MESSAGE))
    await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
