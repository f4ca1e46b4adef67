"""Choices about how figures are read from the procedure, set per deployment."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Policy:
    # Stage whose deadline is the 24 h acknowledgement, and the 48 h investigation.
    acknowledge_stage: str = "acknowledge"
    investigate_stage: str = "investigate"
    # The 8D reply is the first of these stages that has a deadline for the complaint:
    # sites put the 8D clock on the corrective-action stage or on the reply.
    eight_d_stages: tuple[str, ...] = ("corrective_action", "reply")
    # Leaving one of these stages means the customer has been answered.
    answer_stages: tuple[str, ...] = ("reply", "customer_explanation")
