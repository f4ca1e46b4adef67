"""Bad broker messages, by construction never valid, and valid events to replay.

Each bad body breaks the envelope in one known way (bytes that are not UTF-8, JSON that is
not an object or is cut short, a required attribute missing or of the wrong type, an unknown
event type, a body of 2 MB, numbers and nesting that blow up a naive parser), so every one
of them must end in the queue's dead-letter queue with its reason.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

from hypothesis import strategies as st

from services.common.contracts.complaint import ComplaintSubmission
from services.common.contracts.complaints import (
    ClassificationRecord,
    ComplaintRegistered,
    ComplaintSubmitted,
)
from services.common.contracts.deliveries import DeliveryRecorded
from services.common.contracts.diagnostic import DiagnosticPing
from services.common.contracts.envelope import Envelope
from services.common.contracts.registry import new_event, to_json
from tests.support.complaints import complaint

# Bodies that FastStream's own JSON decoding (run before our consumer when a message has
# no content type or a JSON one) fails on with an exception it does not catch; see
# test_consumers.py::test_bodies_faststream_cannot_decode_are_dead_lettered.
FASTSTREAM_CHOKES_ON = ("huge-integer", "deep-nesting")
REQUIRED = ("id", "source", "type", "time", "dataschema", "site", "correlationid", "data")
# Values of a JSON type each attribute can never take.
WRONG_TYPES: dict[str, list[Any]] = {
    "id": [42, [], {}, True, None, "not-a-uuid"],
    "source": [42, [], {}, None, ""],
    "type": [42, [], None, "Not An Event Type"],
    "time": [[], {}, True, None, "yesterday", "2026-01-01T00:00:00"],  # the last has no zone
    "site": [42, [], None, "Has.Dots", "x" * 40],
    "correlationid": [42, None, "", "c" * 200],
    "data": [42, "text", [], None],
}


def ping(site: str, note: str = "probe") -> Envelope[Any]:
    return new_event(
        DiagnosticPing(note=note, origin="fuzz"), site=site, source="/fuzz", time=datetime.now(UTC)
    )


def ping_document(site: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(to_json(ping(site)))
    return document


def fixed_corpus(site: str) -> dict[str, bytes]:
    """The named bad messages every consumer queue is sent (besides the generated ones)."""
    good = ping_document(site)
    big = {**good, "padding": "x" * (2 * 1024 * 1024)}
    return {
        "malformed-json": b'{"type": "diagnostic.ping", "id": ',
        "invalid-utf8": b"\xff\xfe\xfd not text at all",
        "invalid-utf8-in-json": to_json(ping(site)).replace(b'"probe"', b'"pr\xc3\x28be"'),
        "not-an-object": b'["diagnostic.ping"]',
        "lone-surrogate": to_json(ping(site)).replace(b'"probe"', b'"pr\\ud800be"'),
        "wrong-type": json.dumps({**good, "data": {"note": 42, "origin": "fuzz"}}).encode(),
        "unknown-event-type": json.dumps({**good, "type": "diagnostic.pong"}).encode(),
        "huge-2mb": json.dumps(big).encode(),
        "huge-integer": b'{"type": "diagnostic.ping", "n": ' + b"9" * 5000 + b"}",
        "huge-schema-version": json.dumps(
            {**good, "dataschema": "urn:qloop:event:diagnostic.ping:" + "9" * 5000}
        ).encode(),
        "deep-nesting": b'{"type": "diagnostic.ping", "data": '
        + b"[" * 100_000
        + b"]" * 100_000
        + b"}",
    }


def _missing(document: dict[str, Any]) -> st.SearchStrategy[bytes]:
    return st.sampled_from(REQUIRED).map(
        lambda name: json.dumps({k: v for k, v in document.items() if k != name}).encode()
    )


def _wrong_type(document: dict[str, Any]) -> st.SearchStrategy[bytes]:
    pairs = st.sampled_from(sorted(WRONG_TYPES)).flatmap(
        lambda name: st.tuples(st.just(name), st.sampled_from(WRONG_TYPES[name]))
    )
    return pairs.map(lambda pair: json.dumps({**document, pair[0]: pair[1]}).encode())


def _unknown_field(document: dict[str, Any]) -> st.SearchStrategy[bytes]:
    names = st.text(min_size=1, max_size=20).filter(lambda n: n not in document)
    return st.tuples(names, st.integers()).map(
        lambda pair: json.dumps({**document, pair[0]: pair[1]}).encode()
    )


def _cut_short(document: dict[str, Any]) -> st.SearchStrategy[bytes]:
    text = json.dumps(document).encode()  # no proper prefix of a JSON object is JSON
    return st.integers(min_value=0, max_value=len(text) - 1).map(lambda n: text[:n])


def _not_utf8() -> st.SearchStrategy[bytes]:
    return st.tuples(st.binary(max_size=200), st.binary(max_size=200)).map(
        lambda parts: parts[0] + b"\xff" + parts[1]  # 0xFF never occurs in UTF-8
    )


def _not_an_object() -> st.SearchStrategy[bytes]:
    scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text()
    values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4), max_leaves=10)
    return values.map(lambda value: json.dumps(value).encode())


def bad_bodies(site: str) -> st.SearchStrategy[bytes]:
    """One bad body, of any of the kinds above."""
    document = ping_document(site)
    return st.one_of(
        _missing(document),
        _wrong_type(document),
        _unknown_field(document),
        _cut_short(document),
        _not_utf8(),
        _not_an_object(),
    )


def submitted(site: str) -> Envelope[Any]:
    fact = ComplaintSubmitted(complaint=ComplaintSubmission.model_validate(complaint(site)))
    return new_event(fact, site=site, source="/fuzz/crm", time=datetime.now(UTC))


def registered(site: str) -> Envelope[Any]:
    now = datetime.now(UTC)
    fact = ComplaintRegistered(
        number=f"FZ-{uuid.uuid4().hex[:8]}",
        sequence=1,
        complaint=ComplaintSubmission.model_validate(complaint(site)),
        classification=ClassificationRecord(
            nature="quality",
            kind="appeal",
            category=None,
            severity="general",
            owner_department="quality",
            matched_rule=None,
        ),
        rules_version="fuzz",
        source="/fuzz",
        registered_at=now,
    )
    return new_event(fact, site=site, source="/qloop/intake", time=now)


def delivered(site: str) -> Envelope[Any]:
    today = datetime.now(UTC).date()
    fact = DeliveryRecorded(
        delivery_id=f"D-{uuid.uuid4().hex[:8]}",
        customer_id="C-100",
        customer_name="Acme Auto Parts",
        delivered_on=today,
        quantity=10,
        lot="L1",
    )
    return new_event(fact, site=site, source="/fuzz/erp", time=datetime.now(UTC))
