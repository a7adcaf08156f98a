from __future__ import annotations

from datetime import timedelta

from tests.conftest import Stack


async def test_paid_before_day_7(stack: Stack) -> None:
    member, mh = await stack.new_member()
    client = await stack.new_client(member["id"])
    mission = await stack.new_mission(mh, member["id"], client["id"], start_in=2, length=3)
    mid = mission["id"]
    r = await stack.http.post(f"/api/missions/{mid}/sign", headers=mh)
    assert r.status_code == 200, r.text
    r = await stack.http.post(f"/api/missions/{mid}/client-confirmation",
                              json={"method": "signed order form"}, headers=await stack.ops())
    assert r.status_code == 200, r.text
    m = await stack.wait_mission(mid, lambda m: m["stage"] == "in_progress")
    await stack.env.sleep(timedelta(days=5))
    m = await stack.wait_mission(mid, lambda m: m["stage"] == "work_report")
    r = await stack.http.post(f"/api/missions/{mid}/work-report",
                              json={"days_worked": 3, "expenses": [{"label": "train", "amount": "45.50"}]},
                              headers=mh)
    assert r.status_code == 200, r.text
    m = await stack.wait_mission(mid, lambda m: m["invoice"] is not None)
    inv = m["invoice"]
    r = await stack.http.post("/api/payments", json={
        "amount": inv["total_incl_vat"], "received_on": (await stack.today()).isoformat(),
        "structured_communication": inv["structured_communication"],
        "bank_transaction_id": "BANK-" + str(mid)}, headers=await stack.ops())
    assert r.status_code == 201, r.text
    await stack.env.sleep(timedelta(days=11))
    try:
        result = await stack.handle(mid).result()
    except Exception as e:
        print("RESULT ERR", repr(e))
        print(await stack.mission(mid))
        print(await stack.handle(mid).query("status"))
        async for ev in stack.handle(mid).fetch_history_events():
            print(ev.event_type, str(ev)[:300].replace("\n"," "))
        raise
    assert result == "paid"
    m = await stack.mission(mid)
    print(m)
    assert m["stage"] == "paid"
    assert m["advance"]["paid_on"] == m["pay_date"]
