"""The permissions `qloop broker users` gives: a system writes only its sites' command
and submission keys to `qloop.events`; a service only its own queues and the exchanges."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from services.common import broker_users

pytestmark = pytest.mark.unit
ROOT = Path(__file__).resolve().parents[3]


def _granted(declared: broker_users.BrokerUsersFile) -> dict[str, broker_users.Permissions]:
    return {grant.user: grant for grant in broker_users.permissions(declared)}


def test_a_system_publishes_its_sites_commands_and_submissions_only() -> None:
    declared = broker_users.BrokerUsersFile.model_validate(
        {"systems": [{"user": "erp-sz", "sites": ["sz", "sz-2"], "password_env": "P"}]}
    )
    grant = _granted(declared)["erp-sz"]
    assert grant.topic_write is not None
    allowed = ("sz.case.command", "sz.complaint.submitted", "sz-2.case.command")
    refused = ("nb.case.command", "sz.case.opened", "sz.case.commandX", "xsz.case.command", "#")
    assert all(re.fullmatch(grant.topic_write, key) for key in allowed)
    assert not any(re.search(grant.topic_write, key) for key in refused)
    assert re.search(grant.write, "qloop.events") and not re.search(grant.write, "amq.default")
    assert grant.configure == grant.read == "^$"


def test_a_service_owns_its_queues_and_nothing_of_the_others() -> None:
    declared = broker_users.BrokerUsersFile.model_validate(
        {
            "queue_prefix": "t1.",
            "services": [{"service": "workflow", "user": "qloop-wf", "password_env": "P"}],
        }
    )
    grant = _granted(declared)["qloop-wf"]
    for name in ("t1.workflow.commands", "t1.workflow.commands.dead", "qloop.events"):
        assert re.search(grant.configure, name) and re.search(grant.read, name)
    assert re.search(grant.write, "amq.default")  # hands messages back to its own queue
    for name in ("t1.intake.submissions", "workflow.commands", "t1.workflowx.events"):
        assert not re.search(grant.configure, name) and not re.search(grant.read, name)


def test_guest_site_wildcards_and_twice_declared_users_are_refused() -> None:
    for document in (
        {"operators": [{"user": "guest", "password_env": "P"}]},
        {"systems": [{"user": "hq", "sites": ["*"], "password_env": "P"}]},
        {"systems": [{"user": "a", "sites": ["sz"], "password_env": "P"}] * 2},
    ):
        with pytest.raises(ValueError):
            broker_users.BrokerUsersFile.model_validate(document)


def test_the_deployment_file_declares_a_user_per_service() -> None:
    declared = broker_users.load(ROOT / "deploy" / "rabbitmq" / "users.yaml")
    assert {s.service for s in declared.services} == set(broker_users.SERVICES)
    # The passwords are not in the file: applying it without them changes nothing.
    with pytest.raises(ValueError, match="BROKER_WORKFLOW_PASSWORD"):
        broker_users.apply(declared, "http://admin:x@127.0.0.1:1/", {})
