"""Where the test servers come from, in this order:

1. QLOOP_AMQP_URL and QLOOP_MONGODB_URL from the environment (CI sets them);
2. testcontainers (MongoDB, RabbitMQ) when a Docker engine answers;
3. the local servers of deploy/local/infra.sh (RabbitMQ package, FerretDB), started
   if they are not running.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Infra:
    amqp_url: str
    mongodb_url: str
    origin: str


def _docker_answers() -> bool:
    try:
        import docker  # type: ignore[import-untyped]

        docker.from_env(timeout=2).ping()
    except Exception:
        return False
    return True


@contextmanager
def _containers() -> Iterator[Infra]:
    from testcontainers.mongodb import MongoDbContainer
    from testcontainers.rabbitmq import RabbitMqContainer

    with ExitStack() as stack:
        mongo = stack.enter_context(MongoDbContainer("mongo:7"))
        rabbit = stack.enter_context(RabbitMqContainer("rabbitmq:3.13"))
        params = rabbit.get_connection_params()
        amqp = f"amqp://guest:guest@{params.host}:{params.port}/"
        yield Infra(amqp, mongo.get_connection_url(), "testcontainers")


def _local() -> Infra:
    out = subprocess.run(
        ["bash", str(ROOT / "deploy/local/infra.sh"), "up"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    values = dict(line.split("=", 1) for line in out.splitlines() if "=" in line)
    return Infra(values["QLOOP_AMQP_URL"], values["QLOOP_MONGODB_URL"], "local")


def declare_exchanges(amqp_url: str) -> None:
    """Declare qloop's exchanges as a service would at start.

    A test that binds its own queue to the events exchange before any service ran on a
    fresh broker would otherwise meet `NOT_FOUND - no exchange 'qloop.events'`.
    """
    import asyncio

    import aio_pika

    from services.common.messaging.topology import dead_letter_exchange, events_exchange

    async def declare() -> None:
        connection = await aio_pika.connect(amqp_url)
        async with connection:
            channel = await connection.channel()
            for exchange in (events_exchange(), dead_letter_exchange()):
                await channel.declare_exchange(
                    exchange.name, type=exchange.type.value, durable=exchange.durable
                )

    asyncio.run(declare())


@contextmanager
def _servers() -> Iterator[Infra]:
    amqp, mongo = os.environ.get("QLOOP_AMQP_URL"), os.environ.get("QLOOP_MONGODB_URL")
    if amqp and mongo:
        yield Infra(amqp, mongo, "environment")
    elif _docker_answers():
        with _containers() as infra:
            yield infra
    else:
        yield _local()


@contextmanager
def provide() -> Iterator[Infra]:
    with _servers() as infra:
        declare_exchanges(infra.amqp_url)
        yield infra
