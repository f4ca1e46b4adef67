"""E-mail over STARTTLS with login, against aiosmtpd requiring TLS and authentication,
with a certificate the test makes (and the client trusts only that one)."""

from __future__ import annotations

import asyncio
import datetime as dt
import ssl
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from services.notify.directory import StaticDirectory
from services.notify.email import SmtpChannel
from tests.unit.notify.test_notify_email import (
    PEOPLE,
    Catcher,
    build,
    free_port,
    registered_envelope,
)

pytestmark = pytest.mark.unit


def certificate(tmp_path: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=1))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def authenticate(server: Any, session: Any, envelope: Any, mechanism: str, auth: Any) -> Any:
    return AuthResult(success=auth.login == b"qloop" and auth.password == b"s3cret")


def test_starttls_and_login(tmp_path: Path) -> None:
    cert, key = certificate(tmp_path)
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(cert, key)
    catcher = Catcher()
    controller = Controller(
        catcher, hostname="localhost", port=free_port(), tls_context=server_tls,
        require_starttls=True, authenticator=authenticate, auth_require_tls=True,
    )  # fmt: skip
    controller.start()
    try:
        notifier, sender, store, _ = build(controller.port, StaticDirectory(PEOPLE[:1]))
        client_tls = ssl.create_default_context(cafile=str(cert))
        sender.email = SmtpChannel(
            "localhost", controller.port, "qloop@abc.test", security="starttls",
            username="qloop", password="s3cret", timeout=5, tls_context=client_tls,
        )  # fmt: skip
        assert asyncio.run(notifier.record(registered_envelope(notifier.rulebook))) == 1
        assert asyncio.run(sender.send_due()) == 1
        assert [r for r, _ in catcher.mails] == [["qe@abc.test"]]
        sender.email = SmtpChannel(
            "localhost", controller.port, "qloop@abc.test", security="starttls",
            username="qloop", password="wrong", timeout=5, tls_context=client_tls,
        )  # fmt: skip
        assert asyncio.run(notifier.record(registered_envelope(notifier.rulebook))) == 1
        assert asyncio.run(sender.send_due()) == 0
        # A refused login is the deployment's to fix: kept and retried, never dropped.
        waiting = [n for n in store.items.values() if n.status == "pending"]
        assert [n.attempts for n in waiting] == [1] and len(catcher.mails) == 1
    finally:
        controller.stop()
