"""A B2B dunning rung on a day past the rate table (issue 13 #7), over the real workflow: the
step is flagged at once with which rate is missing and where ops enter it (not a raw ValueError
after N attempts), waits, and goes through when ops enter the rate and retry."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from services import rates
from tests.conftest import Stack
from tests.workflows.conftest import new_run, skip_to, steps, wait_emails


async def test_rung_without_a_rate_waits_flagged_until_ops_enter_it(stack: Stack) -> None:
    async with stack.db.session() as session:
        start = await rates.next_missing_period(session, rates.RATE_TABLES["b2b_interest"])
    assert start is not None
    today = await stack.today()
    # Work ends 30 days before the half-year without a rate: the invoice (30 days) falls due
    # on its first day, and reminder 1 (due + 7) asks for 7 days of its interest.
    end = start - timedelta(days=30)
    run = await new_run(stack, start_in=(end - today).days - 2, length=3)
    m = await run.to_invoiced()
    due = date.fromisoformat(m["invoice"]["due_date"])
    assert start <= due + timedelta(days=1) <= due + timedelta(days=7)

    await skip_to(stack, due + timedelta(days=7))
    m = await run.wait(lambda m: m["needs_attention"])
    assert m["attention_step"] == "reminder_1" and m["dunning_level"] == 0
    reason = m["attention_reason"]
    # The failure's type, then its message (as every flagged step's reason reads).
    assert reason == (
        "ParameterMissing: The B2B legal interest rate (law of 2 August 2002) for the "
        f"half-year from {start.isoformat()} is missing: enter it on the ops console's Rates "
        "page (or POST /api/ops/rates), then retry the step."
    )
    assert "ValueError" not in reason and m["dunning_steps"] == []
    ops = await stack.ops()
    r = await stack.http.get("/api/ops/stuck", headers=ops)
    assert run.mission_id in [c.get("mission_id") for c in r.json()]

    r = await stack.http.post(
        "/api/ops/rates",
        json={
            "table": "b2b_interest",
            "valid_from": start.isoformat(),
            "annual_rate": "11.00",
            "source": "SPF Finances, taux d'intérêt de retard (test)",
            "confidence": "H",
            "reason": "rate published",
        },
        headers=ops,
    )
    assert r.status_code == 201, r.text
    r = await stack.http.post(
        f"/api/missions/{run.mission_id}/retry", json={"reason": "rate entered"}, headers=ops
    )
    assert r.status_code == 200, r.text
    m = await run.wait(lambda m: m["dunning_level"] == 1 and not m["needs_attention"])
    assert steps(m).count("needs_attention") == 1 and steps(m).count("retry") == 1
    (rung,) = m["dunning_steps"]
    assert rung["step"] == "reminder_1" and rung["fixed_compensation"] == "40.00"
    # Interest from due + 1 to due + 7, every day at the rate ops entered.
    first = due + timedelta(days=1)
    days = (due + timedelta(days=7) - first).days + 1
    total = Decimal(m["invoice"]["total_incl_vat"])
    expected = (total * Decimal("11.00") * days / 36500).quantize(Decimal("0.01"))
    assert Decimal(rung["interest"]) == expected and "11.00" in rung["rule"]
    await wait_emails(run, ["invoice", "reminder_1"])

    # Flagged at the first attempt (retrying cannot make a rate appear), then one run on retry.
    history = await stack.handle(run.mission_id).fetch_history()
    scheduled = {
        e.event_id: e.activity_task_scheduled_event_attributes.activity_type.name
        for e in history.events
        if e.HasField("activity_task_scheduled_event_attributes")
    }
    attempts = [
        e.activity_task_started_event_attributes.attempt
        for e in history.events
        if e.HasField("activity_task_started_event_attributes")
        and scheduled[e.activity_task_started_event_attributes.scheduled_event_id]
        == "record_dunning_step"
    ]
    assert attempts == [1, 1]
