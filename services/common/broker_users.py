"""Broker users and their permissions, declared in one file and applied to RabbitMQ.

    vhost: /
    services:                   # one user per service: its own queues, the two exchanges
      - {service: workflow, user: qloop-workflow, password_env: BROKER_WORKFLOW_PASSWORD}
    systems:                    # integrating systems: publish their sites' keys, nothing else
      - user: erp-sz
        sites: [sz]
        publishes: [case.command, complaint.submitted]   # the default
        password_env: BROKER_ERP_SZ_PASSWORD
    operators:                  # people's tools (qloop dlq): every queue of the vhost
      - {user: qloop-operator, password_env: BROKER_OPERATOR_PASSWORD}

A system may write only to `qloop.events`, and RabbitMQ's topic authorisation keeps it
to `<its site>.<type>` routing keys; it can neither read nor declare anything. Which
broker users the workflow trusts to give `case.command`, with which roles, is said in the
key file (`broker_users`, services/common/auth.py). Passwords come from the environment
variables named, never from the file. `qloop broker users FILE` applies the file through
the management API; applying it again is harmless (users, passwords and permissions are
set to what the file says; users it does not name are left alone).
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import httpx
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from services.common.messaging.topology import DEAD_LETTER_EXCHANGE, EVENTS_EXCHANGE

USER = r"^[A-Za-z0-9_.:-]{1,64}$"
ENV = r"^[A-Z_][A-Z0-9_]*$"
SERVICES = ("intake", "workflow", "survey", "reporting", "desk", "notify")
NOTHING = "^$"


class ServiceUser(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    service: str
    user: str = Field(pattern=USER)
    password_env: str = Field(pattern=ENV)

    @model_validator(mode="after")
    def _known(self) -> ServiceUser:
        if self.service not in SERVICES:
            raise ValueError(f"unknown service {self.service!r}: one of {', '.join(SERVICES)}")
        return self


class SystemUser(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    user: str = Field(pattern=USER)
    sites: tuple[str, ...] = Field(min_length=1)
    publishes: tuple[str, ...] = Field(default=("case.command", "complaint.submitted"))
    password_env: str = Field(pattern=ENV)

    @model_validator(mode="after")
    def _no_wildcards(self) -> SystemUser:
        for site in self.sites:
            if not re.fullmatch(r"[A-Za-z0-9_-]+", site):
                raise ValueError(f"site {site!r}: one site id (no '*', no dots)")
        for event_type in self.publishes:
            if not re.fullmatch(r"[a-z_]+(\.[a-z_]+)+", event_type):
                raise ValueError(f"publishes {event_type!r}: an event type like case.command")
        return self


class OperatorUser(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    user: str = Field(pattern=USER)
    password_env: str = Field(pattern=ENV)


class BrokerUsersFile(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    vhost: str = "/"
    # Prepended to the queue names a service declares (QLOOP_QUEUE_PREFIX).
    queue_prefix: str = Field(default="", pattern=r"^[a-z0-9_.-]{0,40}$")
    services: tuple[ServiceUser, ...] = ()
    systems: tuple[SystemUser, ...] = ()
    operators: tuple[OperatorUser, ...] = ()

    @model_validator(mode="after")
    def _unique_and_not_guest(self) -> BrokerUsersFile:
        names = [
            *(u.user for u in self.services),
            *(u.user for u in self.systems),
            *(u.user for u in self.operators),
        ]
        for name in names:
            if name == "guest":
                raise ValueError("user 'guest' is for loopback connections only: name another")
            if names.count(name) > 1:
                raise ValueError(f"user {name!r} is declared twice")
        return self


@dataclass(frozen=True)
class Permissions:
    """One user's grants in the vhost: regular expressions over resource names (RabbitMQ's
    configure, write, read) and, when `topic_write` is set, over the routing keys it may
    publish to `qloop.events`."""

    user: str
    password_env: str
    configure: str
    write: str
    read: str
    topic_write: str | None = None
    topic_read: str | None = None


def _any_of(*names: str) -> str:
    return "^(" + "|".join(names) + ")$"


def permissions(declared: BrokerUsersFile) -> list[Permissions]:
    """What each declared user may do (RabbitMQ's regular expressions)."""
    events, dead = re.escape(EVENTS_EXCHANGE), re.escape(DEAD_LETTER_EXCHANGE)
    granted = []
    for service in declared.services:
        # Its own queues `<prefix><service>.*` (and their `.dead`), declared, bound and
        # consumed by it; the exchanges it declares and publishes to, and the default
        # exchange, through which it hands a message back to its own queue.
        own = re.escape(f"{declared.queue_prefix}{service.service}.") + ".+"
        granted.append(
            Permissions(
                service.user,
                service.password_env,
                configure=_any_of(events, dead, own),
                write=_any_of(events, dead, re.escape("amq.default"), own),
                read=_any_of(events, dead, own),
            )
        )
    for system in declared.systems:
        sites = "|".join(re.escape(s) for s in system.sites)
        types = "|".join(re.escape(t) for t in system.publishes)
        granted.append(
            Permissions(
                system.user,
                system.password_env,
                configure=NOTHING,
                write=_any_of(events),
                read=NOTHING,
                topic_write=f"^({sites})\\.({types})$",
                topic_read=NOTHING,
            )
        )
    for operator in declared.operators:
        granted.append(Permissions(operator.user, operator.password_env, ".*", ".*", ".*"))
    return granted


def load(path: Path) -> BrokerUsersFile:
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        return BrokerUsersFile.model_validate(document)
    except (OSError, yaml.YAMLError, ValidationError) as exc:
        reason = " ".join(str(exc).split())
        raise ValueError(f"{path}: cannot load broker users: {reason}") from None


class BrokerRefused(Exception):
    """The management API refused a change: the message says which and why."""


def apply(declared: BrokerUsersFile, management_url: str, environ: Mapping[str, str]) -> list[str]:
    """Create or update every declared user, its password and permissions, through
    RabbitMQ's management API at `management_url` (with an administrator's credentials).
    Returns one line per change made."""
    granted = permissions(declared)
    missing = sorted({p.password_env for p in granted if not environ.get(p.password_env)})
    if missing:
        raise ValueError(f"passwords not set: {', '.join(missing)}")
    parts = urllib.parse.urlsplit(management_url)
    base = f"{parts.scheme}://{parts.hostname}:{parts.port or 15672}{parts.path.rstrip('/')}"
    auth = (urllib.parse.unquote(parts.username or ""), urllib.parse.unquote(parts.password or ""))
    vhost = urllib.parse.quote(declared.vhost, safe="")
    done = []
    with httpx.Client(base_url=base, auth=auth, timeout=30.0) as api:
        _put(api, f"/api/vhosts/{vhost}", {})
        for grant in granted:
            user = urllib.parse.quote(grant.user, safe="")
            _put(api, f"/api/users/{user}", {"password": environ[grant.password_env], "tags": ""})
            rights = {"configure": grant.configure, "write": grant.write, "read": grant.read}
            _put(api, f"/api/permissions/{vhost}/{user}", rights)
            if grant.topic_write is not None:
                topic = {
                    "exchange": EVENTS_EXCHANGE,
                    "write": grant.topic_write,
                    "read": grant.topic_read or NOTHING,
                }
                _put(api, f"/api/topic-permissions/{vhost}/{user}", topic)
            done.append(f"{grant.user}: write {grant.write} topics {grant.topic_write or 'any'}")
    return done


def _put(api: httpx.Client, path: str, body: dict[str, str]) -> None:
    where = path.split("/")[2]
    try:
        reply = api.put(path, json=body)
    except httpx.HTTPError as exc:
        raise BrokerRefused(f"cannot reach RabbitMQ's management API: {exc}") from None
    if reply.status_code not in (200, 201, 204):
        raise BrokerRefused(f"RabbitMQ refused {where} ({reply.status_code}): {reply.text[:300]}")
