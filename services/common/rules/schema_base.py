"""Building blocks shared by the rule-file schema modules."""

from __future__ import annotations

from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer, PlainValidator

from services.common.rules.durations import Duration, coerce_duration

T = TypeVar("T")


class Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def _as_tuple(value: Any) -> Any:
    if value is None or isinstance(value, list | tuple):
        return value
    return (value,)


# A list that may be written as a single value: `channel: email` == `channel: [email]`.
OneOrMany = Annotated[tuple[T, ...], BeforeValidator(_as_tuple)]

Id = Annotated[str, Field(pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.\-]*$", max_length=64)]

# Names per language: {en: Quality department, zh: 品质部}.
Names = Annotated[dict[str, str], Field(min_length=1)]

DurationField = Annotated[Duration, PlainValidator(coerce_duration), PlainSerializer(str)]


class NumberRange(Frozen):
    """Bounds on a number; all given bounds must hold."""

    gte: float | None = None
    gt: float | None = None
    lte: float | None = None
    lt: float | None = None

    def contains(self, value: float) -> bool:
        return not (
            (self.gte is not None and value < self.gte)
            or (self.gt is not None and value <= self.gt)
            or (self.lte is not None and value > self.lte)
            or (self.lt is not None and value >= self.lt)
        )

    def is_empty(self) -> bool:
        return self.gte is None and self.gt is None and self.lte is None and self.lt is None
