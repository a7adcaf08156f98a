"""Bulk repairs on the real dev server: a broken gateway leaves missions stuck, ops fix it, preview
exactly those missions and bulk-retry them at a bounded rate; every mission completes its step and
gets its audit row. (The run as a workflow, its crashes and its cancellation:
tests/workflows/test_bulk_workflow.py.)"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select

from models import AuditEntry
from tests.conftest import Stack, wait_for
from tests.ops.conftest import audit_rows, set_gateway


async def _bulk(stack: Stack, run_id: int) -> dict[str, Any]:
    r = await stack.http.get(f"/api/ops/bulk/{run_id}", headers=await stack.ops())
    assert r.status_code == 200, r.text
    return dict(r.json())


async def test_broken_gateway_stuck_then_bulk_retry_with_preview(dev_stack: Stack) -> None:
    s = dev_stack
    ops = await s.ops()
    await set_gateway(s, "declaration", 1.0, reason="training: the declaration service is down")
    try:
        member, headers = await s.new_member()
        client = await s.new_client(member["id"])
        stuck_ids = []
        for _ in range(3):
            m = await s.new_mission(headers, member["id"], client["id"], start_in=5)
            stuck_ids.append(m["id"])
        healthy = (await s.new_mission(headers, member["id"], client["id"], start_in=5))["id"]
        for mid in stuck_ids:
            assert (await s.http.post(f"/api/missions/{mid}/sign", headers=headers)).is_success
            r = await s.http.post(
                f"/api/missions/{mid}/client-confirmation", json={"method": "email"}, headers=ops
            )
            assert r.is_success, r.text
        for mid in stuck_ids:
            await s.wait_mission(mid, lambda m: m["needs_attention"])

        r = await s.http.get("/api/ops/stuck", headers=ops)
        assert r.status_code == 200, r.text
        flagged = {c["mission_id"]: c for c in r.json() if c["kind"] == "needs_attention"}
        for mid in stuck_ids:
            case = flagged[mid]
            assert case["step"] == "declaration" and case["attempts"] == 3
            assert "declaration gateway unavailable" in case["last_error"]
            assert "waits for ops" in case["why"]
        # The advisor who made the member sees them too; another advisor does not.
        r = await s.http.get("/api/ops/stuck", headers=await s.advisor())
        assert set(stuck_ids) <= {c["mission_id"] for c in r.json()}
        r = await s.http.get("/api/ops/stuck", headers=await s.staff("advisor"))
        assert not set(stuck_ids) & {c["mission_id"] for c in r.json()}
    finally:
        await set_gateway(s, "declaration", 0.0, reason="training: the service is back")

    r = await s.http.post(
        "/api/ops/bulk/preview",
        json={"filter": {"member_id": member["id"], "needs_attention": True}},
        headers=ops,
    )
    assert r.status_code == 200, r.text
    preview = r.json()
    assert [t["mission_id"] for t in preview["targets"]] == sorted(stuck_ids, reverse=True)
    assert preview["count"] == 3 and all(
        t["attention_step"] == "declaration" for t in preview["targets"]
    )
    # The list shows the very same missions.
    r = await s.http.get(
        "/api/missions", params={"member_id": member["id"], "needs_attention": "true"}, headers=ops
    )
    assert [m["id"] for m in r.json()] == [t["mission_id"] for t in preview["targets"]]

    rate = s.settings.bulk_rate_per_second
    s.settings.bulk_rate_per_second = 4.0
    try:
        r = await s.http.post(
            "/api/ops/bulk",
            json={
                "action": "retry",
                "reason": "declaration service restored",
                "mission_ids": [t["mission_id"] for t in preview["targets"]] + [healthy],
            },
            headers=ops,
        )
    finally:
        s.settings.bulk_rate_per_second = rate
    assert r.status_code == 202, r.text
    run_id = r.json()["id"]
    status = await wait_for(lambda: _bulk(s, run_id), lambda b: b["status"] == "finished", 30)
    assert status["counts"] == {"pending": 0, "done": 3, "refused": 1}
    assert status["progress"] == 1.0
    results = {i["mission_id"]: i for i in status["items"]}
    assert all(results[mid]["status"] == "done" for mid in stuck_ids)
    assert results[healthy]["status"] == "refused"
    assert "does not need attention" in results[healthy]["result"]
    # Bounded rate, 4 per second: item k cannot start before k quarter-seconds into the run.
    created = datetime.fromisoformat(status["created_at"])
    for k, item in enumerate(status["items"]):
        elapsed = (datetime.fromisoformat(item["done_at"]) - created).total_seconds()
        assert elapsed >= k * 0.25, (k, elapsed)

    for mid in stuck_ids:
        m = await s.wait_mission(mid, lambda m: m["stage"] == "in_progress")
        assert m["needs_attention"] is False
        rows = await audit_rows(s, mid)
        assert [(a.action, a.bulk_run_id, a.reason) for a in rows] == [
            ("retry", run_id, "declaration service restored")
        ]
    assert await audit_rows(s, healthy) == []
    async with s.db.session() as session:
        gateway_rows = (
            await session.scalars(
                select(AuditEntry)
                .where(AuditEntry.action == "set_gateway", AuditEntry.target_id == "declaration")
                .order_by(AuditEntry.id.desc())
                .limit(2)
            )
        ).all()
    assert [(g.before or {}).get("failure_rate") for g in gateway_rows] == [1.0, 0.0]
    assert [(g.after or {}).get("failure_rate") for g in gateway_rows] == [0.0, 1.0]
