"""The edge parser of every consumer, fed anything: it returns a typed envelope or raises
`InvalidEvent` with a reason, never another exception (which would escape the consumer and
leave the message unacknowledged instead of dead-lettered)."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.common.contracts.registry import InvalidEvent, parse_event, to_json
from tests.fuzz import messages

pytestmark = pytest.mark.unit

SITE = "fuzz"
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


def refused_or_parsed(raw: bytes) -> None:
    try:
        parse_event(raw)
    except InvalidEvent as exc:
        assert exc.reason.strip()


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=2000))
def test_any_bytes(raw: bytes) -> None:
    refused_or_parsed(raw)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(messages.REQUIRED), json_values, max_size=8), json_values)
def test_envelopes_with_any_attribute_values(overrides: dict[str, object], data: object) -> None:
    document = {**messages.ping_document(SITE), **overrides}
    refused_or_parsed(json.dumps(document).encode())
    refused_or_parsed(json.dumps({**document, "data": data}).encode())


@pytest.mark.parametrize("name", sorted(messages.fixed_corpus(SITE)))
def test_every_named_bad_message_is_refused_with_a_reason(name: str) -> None:
    with pytest.raises(InvalidEvent) as refused:
        parse_event(messages.fixed_corpus(SITE)[name])
    assert refused.value.reason.strip()


@settings(max_examples=200, deadline=None)
@given(messages.bad_bodies(SITE))
def test_every_generated_bad_body_is_refused(raw: bytes) -> None:
    with pytest.raises(InvalidEvent):
        parse_event(raw)


def test_a_valid_event_still_parses() -> None:
    event = messages.ping(SITE)
    assert parse_event(to_json(event)) == event
