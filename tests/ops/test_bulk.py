"""Bulk repairs on the real dev server: a broken gateway leaves missions stuck, ops fix it, preview
exactly those missions and bulk-retry them at a bounded rate; every mission completes its step and
gets its audit row. And a run interrupted by a crash is resumed without doing anything twice."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update

from contracts.mission import MissionStatus
from models import AuditEntry, BulkRun, utcnow
from services import bulk
from services.access import Viewer
from tests.conftest import Stack, wait_for
from tests.ops.conftest import audit_rows, repair, set_gateway


async def _ops_viewer(stack: Stack) -> Viewer:
    me = (await stack.http.get("/api/me", headers=await stack.ops())).json()
    return Viewer(user_id=me["user_id"], role="ops", member_id=None)


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


async def test_interrupted_run_is_resumed_without_doing_anything_twice(dev_stack: Stack) -> None:
    s = dev_stack
    viewer = await _ops_viewer(s)
    member, headers = await s.new_member()
    client = await s.new_client(member["id"])
    ids = [
        (await s.new_mission(headers, member["id"], client["id"], start_in=5))["id"]
        for _ in range(2)
    ]
    today = await s.today()
    until = (today + timedelta(days=10)).isoformat()
    async with s.db.session() as session:
        run = await bulk.create_run(
            session,
            viewer,
            "hold",
            "client closed for the holidays",
            ids,
            {"until": until},
            rate_per_second=10,
            today=today,
        )
        run_id = run.id
        fresh = await bulk.create_run(
            session,
            viewer,
            "resume",
            "another process runs this one",
            ids,
            {},
            rate_per_second=10,
            today=today,
        )
        fresh_id = fresh.id
        # The crash: the run stopped beating a while ago ...
        await session.execute(
            update(BulkRun)
            .where(BulkRun.id == run_id)
            .values(heartbeat_at=utcnow() - timedelta(minutes=5))
        )
    # ... right after the first mission's Update went through, before its item was marked.
    r = await repair(s, ids[0], "hold", "client closed for the holidays", until=until)
    assert r.status_code == 200, r.text

    resumed = await bulk.resume_interrupted(s.db, s.env.client)
    assert run_id in resumed and fresh_id not in resumed
    await bulk.wait(run_id)
    status = await _bulk(s, run_id)
    assert status["status"] == "finished"
    first, second = status["items"]
    assert first["status"] == "refused" and "already held" in first["result"]
    assert second["status"] == "done"
    for mid in ids:
        st = await s.handle(mid).query("status", result_type=MissionStatus)
        assert st.held_until is not None and st.held_until.isoformat() == until
        assert [a.action for a in await audit_rows(s, mid)] == ["hold"]
    assert await bulk.resume_interrupted(s.db, s.env.client) == []
    async with s.db.session() as session:
        await session.execute(
            update(BulkRun).where(BulkRun.id == fresh_id).values(status="finished")
        )
