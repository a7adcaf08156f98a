"""Bank in through the API and the CLI: POST /api/bank/statements tells the paid mission's
workflow as POST /api/payments does; a file that is not valid camt is a 422 on `file` naming the
element and writes nothing; `coopflow bank import FILE` books a statement."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select

import cli
from core.db import Database
from models import BankEntry, BankStatement
from tests.api.conftest import assert_refused, snapshot
from tests.bank.camt import Line, statement
from tests.bank.test_camt import _iban
from tests.conftest import Stack, unique, wait_for
from tests.workflows.conftest import new_run, skip_to


def _upload(data: bytes, name: str = "statement.xml") -> dict[str, tuple[str, bytes, str]]:
    return {"file": (name, data, "application/xml")}


async def test_imported_statement_tells_the_workflow_and_the_mission_is_paid(
    stack: Stack,
) -> None:
    run = await new_run(stack)
    m = await run.to_invoiced()
    invoice = m["invoice"]
    today = await stack.today()
    account = _iban()
    data = statement(
        [
            Line(
                unique("E2E"),
                Decimal(invoice["total_incl_vat"]),
                today,
                structured=invoice["structured_communication"],
            )
        ],
        account=account,
        statement_id=unique("S"),
        on=today,
    )
    r = await stack.http.post(
        "/api/bank/statements", files=_upload(data), headers=await stack.ops()
    )
    assert r.status_code == 201, r.text
    (out,) = r.json()["statements"]
    assert (out["created"], out["applied"], out["suspense"]) == (1, 1, 0)
    assert out["already_imported"] is False
    # The signal, not the next step's read: the workflow's balance is 0 with no time skipped.
    handle = stack.handle(run.mission_id)
    status = await wait_for(
        lambda: handle.query("status"),
        lambda s: s["balance"] is not None and Decimal(str(s["balance"])) == 0,
        20,
    )
    assert status["stage"] in ("invoiced", "paid")
    await run.wait(lambda m: m["stage"] == "paid")
    # Again: the earlier result, nothing new.
    r = await stack.http.post(
        "/api/bank/statements", files=_upload(data), headers=await stack.ops()
    )
    assert r.status_code == 201, r.text
    assert r.json()["statements"][0]["already_imported"] is True
    assert r.json()["statements"][0]["id"] == out["id"]
    await skip_to(stack, date.fromisoformat(m["pay_date"]))
    assert await run.result() == "paid"


@pytest.mark.parametrize(
    ("spoil", "words"),
    [
        (lambda d: b"", ["empty"]),
        (lambda d: b"%PDF-1.4 not a statement", ["not an XML file"]),
        (lambda d: d.replace(b"<CdtDbtInd>CRDT</CdtDbtInd><Sts>", b"<Sts>", 1), ["element Sts"]),
    ],
    ids=["empty", "pdf-named-xml", "xsd-invalid"],
)
async def test_invalid_file_is_422_and_writes_nothing(
    stack: Stack, spoil: object, words: list[str]
) -> None:
    today = await stack.today()
    good = statement(
        [Line(unique("BAD"), Decimal("5.00"), today, free_text="x")],
        account=_iban(),
        statement_id=unique("S"),
        on=today,
    )
    ops = await stack.ops()
    before = await snapshot(stack.db)
    r = await stack.http.post(
        "/api/bank/statements",
        files=_upload(spoil(good)),  # type: ignore[operator]
        headers=ops,
    )
    assert_refused(r, 422, "file", *words)
    assert await snapshot(stack.db) == before


async def test_cli_imports_a_statement(db: Database, tmp_path: Path) -> None:
    account = _iban()
    stmt = unique("S")
    on = date.today() - timedelta(days=400)  # before any business date the suite may be at
    data = statement(
        [
            Line(unique("CLI"), Decimal("7.00"), on, free_text="unknown"),
            Line(unique("CLI"), Decimal("3.00"), on, debit=True),
        ],
        version="02",
        account=account,
        statement_id=stmt,
        on=on,
    )
    path = tmp_path / "statement.xml"
    path.write_bytes(data)
    assert await asyncio.to_thread(cli.main, ["bank", "import", str(path), "--no-notify"]) == 0
    assert (
        await asyncio.to_thread(cli.main, ["bank", "import", str(path), "--no-notify"]) == 0
    )  # again: nothing new
    async with db.session() as session:
        rows = (
            await session.scalars(select(BankStatement).where(BankStatement.account == account))
        ).all()
        assert [(r.statement_id, r.created, r.suspense, r.debits) for r in rows] == [
            (stmt, 2, 1, 1)
        ]
        entries = (
            await session.scalars(select(BankEntry).where(BankEntry.account == account))
        ).all()
        assert sorted(e.outcome for e in entries) == ["debit", "suspense"]
    bad = tmp_path / "bad.xml"
    bad.write_bytes(b"<Document/>")
    assert await asyncio.to_thread(cli.main, ["bank", "import", str(bad), "--no-notify"]) == 2
