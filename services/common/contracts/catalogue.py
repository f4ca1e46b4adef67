"""Every event qloop publishes or consumes. Importing this module fills the registry."""

from services.common.contracts import (  # noqa: F401
    cases,
    complaints,
    deliveries,
    diagnostic,
    privacy,
    surveys,
)
