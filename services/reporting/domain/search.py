"""Search over a site's complaints, for people: by number, customer, product, model,
lot or serial, order number and words of the description, with filters by stage,
nature, category, owning department, status, overdue and the month received.

An inverted index the projector keeps up to date from the complaint entity (pure here,
stored by search_store.py): each complaint has a set of terms, and each term a posting
list of entries `<received time>|<entity id>`, so that a posting sorts newest first as
text. Postings are split by the month received (a shard), which keeps each document
small at a plant's history of years and lets a received range read only its months.

Terms: words of Latin letters and digits (whole identifiers such as `sz-2026-000123` and
their parts), Chinese as overlapping pairs of characters (a search for 外壳开裂 is a
search for 外壳, 壳开, 开裂: no segmenter needed, and no word is missed for want of a
dictionary), and facets such as `stage:investigate` for the filters.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from typing import Any

from services.reporting.domain import complaint_figures as cf

State = dict[str, Any]
WORD = re.compile(r"[0-9a-z][0-9a-z._/-]*")
PART = re.compile(r"[0-9a-z]+")
HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
FACETS = ("stage", "nature", "category", "department")
MAX_TEXT = 2000  # characters of free text indexed per complaint


def _normal(text: str) -> str:
    return unicodedata.normalize("NFKC", text).lower()


def words(text: str) -> set[str]:
    """The terms of a text: Latin words and identifiers with their parts, Chinese pairs."""
    text = _normal(text)[:MAX_TEXT]
    found: set[str] = set()
    for word in WORD.findall(text):
        word = word.strip("._/-")
        if word:
            found.add(word)
            found.update(p for p in PART.findall(word) if len(p) > 1 or p.isdigit())
    for run in HAN.findall(text):
        found.update(run[i : i + 2] for i in range(len(run) - 1))
        if len(run) == 1:
            found.add(run)
    return found


def text_of(state: Mapping[str, Any]) -> str:
    """What a complaint is found by: its number, customer, products and identifiers, and
    what the customer said (never a contact person: personal data stays out of the index)."""
    parts: list[Any] = [
        state.get("number"),
        state.get("customer_id"),
        state.get("customer_name"),
        state.get("product"),
        state.get("description"),
        state.get("phenomenon"),
        *(state.get("identifiers") or ()),
    ]
    return " ".join(str(p) for p in parts if p)


def facets(state: Mapping[str, Any]) -> set[str]:
    found = {f"{name}:{state[key]}" for name, key in (
        ("stage", "stage"), ("nature", "nature"), ("category", "category"),
        ("department", "department"),
    ) if state.get(key)}  # fmt: skip
    found.add("any")  # every complaint: a search by filters of the month alone
    found.add("is:open" if cf.is_open(dict(state)) else "is:closed")
    if cf.is_overdue(dict(state)):
        found.add("is:overdue")
    return found


def terms(state: Mapping[str, Any]) -> set[str]:
    return words(text_of(state)) | facets(state)


def query_terms(text: str, filters: Mapping[str, str | None], status: str | None,
                overdue: bool) -> set[str]:  # fmt: skip
    """The terms a search asks for: every word of `text` and every filter (AND)."""
    wanted = words(text)
    wanted |= {f"{name}:{value}" for name, value in filters.items() if value}
    if status in ("open", "closed"):
        wanted.add(f"is:{status}")
    if overdue:
        wanted.add("is:overdue")
    return wanted or {"any"}


def entry(state: Mapping[str, Any], entity_id: str) -> str:
    """A posting entry: sorts by the time received, then by id."""
    received = state.get("received_at")
    return f"{received.isoformat() if received else ''}|{entity_id}"


def entity_of(entry_text: str) -> str:
    return entry_text.split("|", 1)[1]


def summary(state: Mapping[str, Any]) -> dict[str, Any]:
    """What a result row shows."""
    return {
        "number": state.get("number"),
        "case_id": state.get("case_id"),
        "customer_name": state.get("customer_name") or state.get("customer_id"),
        "product": state.get("product"),
        "received_at": state.get("received_at"),
        "stage": state.get("stage"),
        "nature": state.get("nature"),
        "category": state.get("category"),
        "department": state.get("department"),
        "open": cf.is_open(dict(state)),
        "overdue": cf.is_overdue(dict(state)),
    }


def matching(postings: Iterable[set[str] | None]) -> set[str]:
    """The entries in every posting (an absent posting matches nothing)."""
    found: set[str] | None = None
    for posting in postings:
        if not posting:
            return set()
        found = set(posting) if found is None else found & posting
        if not found:
            return set()
    return found or set()
