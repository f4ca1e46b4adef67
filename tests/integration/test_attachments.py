"""Attachments on the real database, through the workflow's HTTP API: a photo uploaded for
a complaint being registered and a PDF on a case's stage read back byte for byte, listed
for the case (the complaint's first) and in its 8D; a chunk changed in the database is
detected on read; a file too large, of a type not accepted or not of its declared type is
refused with the field; roles and sites are checked."""

from __future__ import annotations

import io
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from bson import Binary
from PIL import Image

from services.common.runtime import ServiceContext
from services.common.settings import ServiceSettings
from services.workflow.app import create_app
from services.workflow.handlers import CaseService
from services.workflow.store_attachments import CHUNKS, RECORDS
from tests.support.people import TestIssuer
from tests.support.services import running
from tests.unit.workflow.builders import registered, rules_for

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
ISSUER = TestIssuer()
CLERK = {"Authorization": f"Bearer {ISSUER.token('li.na', {'sz': ['complaint_owner']})}"}
OTHER = {"Authorization": f"Bearer {ISSUER.token('nb.clerk', {'nb': ['complaint_owner']})}"}


def photo() -> bytes:
    """A PNG of about 700 KB (noise does not compress): three chunks."""
    image = Image.frombytes("RGB", (480, 480), uuid.uuid4().bytes * (480 * 480 * 3 // 16))
    out = io.BytesIO()
    image.save(out, "PNG", compress_level=0)
    return out.getvalue()


@pytest.fixture
async def workflow(
    settings: ServiceSettings,
) -> AsyncIterator[tuple[httpx.AsyncClient, ServiceContext]]:
    configured = settings.model_copy(
        update={"rules_dir": ROOT / "rules", "attachment_max_bytes": 2 * 1024 * 1024}
    )
    app = create_app(configured)
    app.state.tokens = ISSUER.verifier()
    async with running(app) as (client, ctx):
        yield client, ctx


async def _case(ctx: ServiceContext, references: list[dict[str, object]]) -> str:
    service: CaseService = ctx.state["cases"]
    number = f"SZ-{uuid.uuid4().hex[:8]}"
    event = registered(rules_for("sz"), datetime.now(UTC), number=number, attachments=references)
    await service.open_for_complaint(event, correlation_id="c", causation_id="c")
    return f"sz:{number}"


def _upload(client: httpx.AsyncClient, data: bytes, name: str, kind: str, **fields: str) -> object:
    return client.post(
        "/attachments",
        data={"site": "sz", **fields},
        files={"file": (name, data, kind)},
        headers=CLERK,
    )


async def test_uploaded_files_read_back_identical_listed_and_in_the_8d(
    workflow: tuple[httpx.AsyncClient, ServiceContext],
) -> None:
    client, ctx = workflow
    picture = photo()
    sent = await _upload(client, picture, "裂纹.png", "image/png")  # type: ignore[misc]
    assert sent.status_code == 201, sent.text
    photo_id = sent.json()["id"]
    assert sent.json()["sha256"] and sent.json()["thumbnail"] is True
    reference = {"url_or_key": photo_id, "content_type": "image/png", "size": len(picture)}
    case_id = await _case(ctx, [reference])
    pdf = b"%PDF-1.4\n" + b"0" * 300_000 + b"\n%%EOF\n"
    on_case = await _upload(client, pdf, "report.pdf", "application/pdf", case=case_id)  # type: ignore[misc]
    assert on_case.status_code == 201, on_case.text
    assert on_case.json()["stage"] and on_case.json()["thumbnail"] is False

    got = await client.get(f"/attachments/{photo_id}", headers=CLERK)
    assert got.status_code == 200 and got.content == picture
    assert got.headers["content-type"] == "image/png"
    assert "filename*=UTF-8''%E8%A3%82%E7%BA%B9.png" in got.headers["content-disposition"]
    small = await client.get(f"/attachments/{photo_id}/thumbnail", headers=CLERK)
    assert small.status_code == 200 and max(Image.open(io.BytesIO(small.content)).size) == 240
    got_pdf = await client.get(f"/attachments/{on_case.json()['id']}", headers=CLERK)
    assert got_pdf.content == pdf and got_pdf.headers["content-type"] == "application/pdf"
    no_thumbnail = await client.get(f"/attachments/{on_case.json()['id']}/thumbnail", headers=CLERK)
    assert no_thumbnail.status_code == 404

    listed = await client.get(f"/cases/{case_id}/attachments", headers=CLERK)
    assert [i["name"] for i in listed.json()["items"]] == ["裂纹.png", "report.pdf"]
    stored = {"site": "sz", "outcome": "stored"}
    assert ctx.registry.get_sample_value("qloop_workflow_attachments_total", stored) == 2
    sent_bytes = ctx.registry.get_sample_value(
        "qloop_workflow_attachment_bytes_total", {"site": "sz"}
    )
    assert sent_bytes == len(picture) + len(pdf)
    report = await client.get(f"/cases/{case_id}/8d?format=json&lang=zh", headers=CLERK)
    assert report.json()["attachments_label"] == "附件"
    assert [a["name"] for a in report.json()["attachments"]] == ["裂纹.png", "report.pdf"]
    html = await client.get(f"/cases/{case_id}/8d?format=html", headers=CLERK)
    assert "report.pdf" in html.text and "裂纹.png" in html.text

    # Another site's person sees none of it.
    assert (await client.get(f"/attachments/{photo_id}", headers=OTHER)).status_code == 404
    refused = await client.post(
        "/attachments", data={"site": "sz"}, files={"file": ("a.pdf", pdf, "application/pdf")},
        headers=OTHER,
    )  # fmt: skip
    assert refused.status_code == 403 and "'submit' at site 'sz'" in refused.json()["detail"]


async def test_a_changed_chunk_is_detected_on_read(
    workflow: tuple[httpx.AsyncClient, ServiceContext],
) -> None:
    client, ctx = workflow
    sent = await _upload(client, photo(), "a.png", "image/png")  # type: ignore[misc]
    attachment_id = sent.json()["id"]
    record = await ctx.db[RECORDS].find_one({"_id": attachment_id})
    assert record is not None and record["file"]["chunks"] == 3
    chunk = await ctx.db[CHUNKS].find_one({"_id": f"{attachment_id}|1"})
    assert chunk is not None and len(chunk["data"]) == 255 * 1024
    damaged = bytearray(chunk["data"])
    damaged[100] ^= 0xFF
    await ctx.db[CHUNKS].update_one(
        {"_id": f"{attachment_id}|1"}, {"$set": {"data": Binary(bytes(damaged))}}
    )
    got = await client.get(f"/attachments/{attachment_id}", headers=CLERK)
    assert got.status_code == 500 and "damaged" in got.json()["detail"]
    await ctx.db[CHUNKS].delete_one({"_id": f"{attachment_id}|2"})
    got = await client.get(f"/attachments/{attachment_id}", headers=CLERK)
    assert got.status_code == 500 and "chunk 2 of 3 is missing" in got.json()["detail"]


@pytest.mark.parametrize(
    ("data", "name", "kind", "code"),
    [
        (b"%PDF-1.4\n" + b"0" * (2 * 1024 * 1024), "big.pdf", "application/pdf", "too_large"),
        (
            b"MZ\x90\x00" + b"\x00" * 200,
            "setup.exe",
            "application/octet-stream",
            "type_not_allowed",
        ),
        (b"%PDF-1.4\n%%EOF\n", "photo.png", "image/png", "type_mismatch"),
    ],
)
async def test_refused_files_name_the_field(
    workflow: tuple[httpx.AsyncClient, ServiceContext], data: bytes, name: str, kind: str, code: str
) -> None:
    client, ctx = workflow
    refused = await _upload(client, data, name, kind)  # type: ignore[misc]
    assert refused.status_code == 422, refused.text
    body = refused.json()
    assert body["code"] == code and body["errors"][0]["field"] == "file"
    assert await ctx.db[RECORDS].count_documents({}) == 0
    counted = {"site": "sz", "outcome": code}
    assert ctx.registry.get_sample_value("qloop_workflow_attachments_total", counted) == 1


async def test_a_file_named_by_complaint_number_is_listed_for_its_case(
    workflow: tuple[httpx.AsyncClient, ServiceContext],
) -> None:
    client, ctx = workflow
    case_id = await _case(ctx, [])
    number = case_id.partition(":")[2]
    csv = "批号,数量\nL1,3\n".encode()
    sent = await _upload(client, csv, "lots.csv", "text/csv", complaint=number)  # type: ignore[misc]
    assert sent.status_code == 201, sent.text
    assert sent.json()["complaint"] == number and sent.json()["content_type"] == "text/csv"
    listed = await client.get(f"/cases/{case_id}/attachments", headers=CLERK)
    assert [i["name"] for i in listed.json()["items"]] == ["lots.csv"]
    # A case of another site, or none, is not found; a missing file is named.
    elsewhere = await _upload(client, csv, "a.csv", "text/csv", case="nb:NB-1")  # type: ignore[misc]
    assert elsewhere.status_code == 404
    empty = await client.post("/attachments", data={"site": "sz"}, headers=CLERK)
    assert empty.status_code == 422 and empty.json()["errors"][0]["field"] == "file"
