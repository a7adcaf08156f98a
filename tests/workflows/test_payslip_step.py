"""The final payslip is made by the step that pays: one per payout, even when that step is retried,
and the workflow's history gains no step (no new activity, no patch marker)."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlalchemy import func, select

from models import Document, Payout
from services import documents
from tests.conftest import Stack, wait_for
from tests.workflows.conftest import new_run, skip_to


async def _payslips(stack: Stack, mission_id: int) -> list[dict[str, Any]]:
    r = await stack.http.get(f"/api/missions/{mission_id}/documents", headers=await stack.ops())
    assert r.status_code == 200, r.text
    return [d for d in r.json() if d["kind"] == "payslip"]


async def test_the_salary_step_stores_the_payslip_once_even_when_retried(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = documents.ensure_payslips
    calls: list[int] = []

    async def flaky(db: Any, mission_id: int) -> list[Document]:
        # The first attempt fails after the payout and the bank order: the retry must neither
        # pay again nor store a second payslip.
        calls.append(mission_id)
        if len(calls) == 1:
            raise RuntimeError("render process died")
        return await real(db, mission_id)

    monkeypatch.setattr(documents, "ensure_payslips", flaky)
    run = await new_run(stack)
    m = await run.to_invoiced()
    await skip_to(stack, date.fromisoformat(m["pay_date"]))
    m = await run.wait(lambda m: m["advance"] is not None)
    slips = await wait_for(lambda: _payslips(stack, run.mission_id), lambda s: len(s) == 1)
    assert len(calls) >= 2
    async with stack.db.session() as session:
        payout = await session.scalar(select(Payout).where(Payout.mission_id == run.mission_id))
        count = await session.scalar(
            select(func.count()).select_from(Payout).where(Payout.mission_id == run.mission_id)
        )
    assert payout is not None and count == 1
    (slip,) = slips
    assert slip["key"] == f"payslip:{payout.id}" and slip["audience"] == "member"
    assert slip["template_version"].startswith("payslip@")
    # The member downloads it from their own documents, beside the estimate.
    r = await stack.http.get(slip["url"], headers=run.member_headers)
    assert r.status_code == 200 and r.content.startswith(b"%PDF-")
    kinds = {
        d["kind"]
        for d in (
            await stack.http.get(
                f"/api/missions/{run.mission_id}/documents", headers=run.member_headers
            )
        ).json()
    }
    assert {"payslip_estimate", "payslip"} <= kinds
    # No step was added to the workflow: its activities are the ones it always scheduled.
    history = await stack.handle(run.mission_id).fetch_history()
    scheduled = [
        e.activity_task_scheduled_event_attributes.activity_type.name
        for e in history.events
        if e.HasField("activity_task_scheduled_event_attributes")
    ]
    assert "prepare_documents" in scheduled and scheduled.count("prepare_documents") == 1
    assert not any(e.HasField("marker_recorded_event_attributes") for e in history.events)
