"""Advisor scoping, advisor assignment, the append-only audit log, stuck cases read from
Temporal's pending activities (bounded), and the refusals of the ops API (field named, nothing
changed). No workflow runs here: missions are written straight through the services."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from sqlalchemy import delete, select, update
from sqlalchemy.exc import DBAPIError
from temporalio.api.common.v1 import ActivityType
from temporalio.api.failure.v1 import Failure
from temporalio.api.workflow.v1 import PendingActivityInfo

from models import AuditEntry, Mission, User, utcnow
from services import audit, stuck
from services.access import Viewer
from services.clock import current_clock
from services.missions import create_mission
from tests.api.conftest import Account, assert_refused, snapshot
from tests.conftest import Stack


async def _viewer(stack: Stack, headers: dict[str, str]) -> Viewer:
    me = (await stack.http.get("/api/me", headers=headers)).json()
    return Viewer(user_id=me["user_id"], role=me["role"], member_id=me["member_id"])


async def _mission(stack: Stack, account: Account) -> int:
    """A mission row without its workflow (none is needed to check who may see it)."""
    viewer = await _viewer(stack, account.headers)
    today = await stack.today()
    async with stack.db.session() as session:
        clock = await current_clock(session, stack.settings.day_seconds, stack.settings.timezone)
        mission, _ = await create_mission(
            session,
            viewer,
            {
                "member_id": account.id,
                "client_id": account.client["id"],
                "title": "Scope probe",
                "start_date": (today + timedelta(days=3)).isoformat(),
                "end_date": (today + timedelta(days=4)).isoformat(),
                "amount_excl_vat": "500.00",
                "vat_rate": "21",
                "contract_type": "ordinary",
            },
            clock,
        )
        mission.workflow_started_at = utcnow()
        return mission.id


async def _account(stack: Stack, advisor: dict[str, str]) -> Account:
    saved = stack._advisor
    stack._advisor = advisor
    try:
        member, headers = await stack.new_member(iban="BE71096123456769")
        client = await stack.new_client(member["id"])
    finally:
        stack._advisor = saved
    return Account(member, headers, client)


async def test_advisors_see_only_their_members(stack: Stack) -> None:
    adv_a = await stack.staff("advisor")
    adv_b = await stack.staff("advisor")
    a = await _account(stack, adv_a)
    b = await _account(stack, adv_b)
    ma, mb = await _mission(stack, a), await _mission(stack, b)

    r = await stack.http.get("/api/missions", headers=adv_a)
    ids = {m["id"] for m in r.json()}
    assert ma in ids and mb not in ids
    missing = await stack.http.get("/api/missions/999999", headers=adv_a)
    for path in (f"/api/missions/{mb}", f"/api/members/{b.id}", f"/api/clients/{b.client['id']}"):
        r = await stack.http.get(path, headers=adv_a)
        assert r.status_code == 404, (path, r.text)
    assert (await stack.http.get(f"/api/missions/{mb}", headers=adv_a)).json()["detail"][0][
        "msg"
    ] == missing.json()["detail"][0]["msg"]
    assert (await stack.http.get(f"/api/missions/{ma}", headers=adv_a)).status_code == 200
    r = await stack.http.get("/api/clients", headers=adv_a, params={"limit": 200})
    assert b.client["id"] not in {c["id"] for c in r.json()}
    # Ops see everyone.
    ops = await stack.ops()
    assert (await stack.http.get(f"/api/missions/{mb}", headers=ops)).status_code == 200

    # Ops assign B's member to advisor A, with a reason: A now follows them.
    adv_a_id = (await _viewer(stack, adv_a)).user_id
    before = await snapshot(stack.db)
    for body, status, field in (
        ({"advisor_user_id": adv_a_id, "reason": ""}, 422, "reason"),
        ({"advisor_user_id": a.id * 0 + 2**31, "reason": "x"}, 422, "advisor_user_id"),
        (
            {"advisor_user_id": (await _viewer(stack, ops)).user_id, "reason": "x"},
            422,
            "advisor_user_id",
        ),
        ({"advisor_user_id": "1", "reason": "x"}, 422, "advisor_user_id"),
        ({"reason": "x"}, 422, "advisor_user_id"),
    ):
        r = await stack.http.put(f"/api/members/{b.id}/advisor", json=body, headers=ops)
        assert_refused(r, status, field)
    r = await stack.http.put(
        f"/api/members/{b.id}/advisor",
        json={"advisor_user_id": adv_a_id, "reason": "x"},
        headers=adv_a,
    )
    assert_refused(r, 403, None, "ops only")
    assert await snapshot(stack.db) == before
    r = await stack.http.put(
        f"/api/members/{b.id}/advisor",
        json={"advisor_user_id": adv_a_id, "reason": "advisor B left"},
        headers=ops,
    )
    assert r.status_code == 200, r.text
    assert r.json()["advisor_user_id"] == adv_a_id
    assert (await stack.http.get(f"/api/missions/{mb}", headers=adv_a)).status_code == 200
    assert (await stack.http.get(f"/api/missions/{mb}", headers=adv_b)).status_code == 404
    r = await stack.http.get("/api/ops/audit", params={"action": "assign_advisor"}, headers=ops)
    row = next(e for e in r.json()["items"] if e["target"] == {"type": "member", "id": str(b.id)})
    assert row["before"] == {"advisor_user_id": (await _viewer(stack, adv_b)).user_id}
    assert row["after"] == {"advisor_user_id": adv_a_id} and row["reason"] == "advisor B left"
    assert row["role"] == "ops" and row["who"]["label"].startswith("ops:")
    # Advisors read the audit trail of their own missions only.
    r = await stack.http.get("/api/ops/audit", params={"mission_id": mb}, headers=adv_b)
    assert_refused(r, 404, None, "not found")
    r = await stack.http.get("/api/ops/audit", params={"mission_id": mb}, headers=adv_a)
    assert r.status_code == 200, r.text
    r = await stack.http.get("/api/ops/audit", headers=adv_a)
    assert_refused(r, 403, None)


async def test_audit_log_is_append_only(stack: Stack) -> None:
    viewer = await _viewer(stack, await stack.ops())
    async with stack.db.session() as session:
        entry = await audit.record(
            session,
            viewer,
            action="probe",
            target_type="mission",
            target_id=1,
            reason="append-only probe",
            before={"a": 1},
            after={"a": 2},
        )
        entry_id = entry.id
    for statement in (
        update(AuditEntry).where(AuditEntry.id == entry_id).values(reason="rewritten"),
        delete(AuditEntry).where(AuditEntry.id == entry_id),
    ):
        with pytest.raises(DBAPIError, match="append-only"):
            async with stack.db.session() as session:
                await session.execute(statement)
    with pytest.raises(DBAPIError):
        async with stack.db.session() as session:
            session.add(
                AuditEntry(
                    user_id=viewer.user_id,
                    user_label=viewer.label,
                    role="ops",
                    action="probe",
                    target_type="mission",
                    target_id="1",
                    reason="   ",
                )
            )
    async with stack.db.session() as session:
        row = await session.get(AuditEntry, entry_id)
        assert row is not None and row.reason == "append-only probe"
        rows, total = await audit.list_entries(
            session, audit.AuditFilter(action="probe", user_id=viewer.user_id), limit=1
        )
        assert total >= 1 and rows[0].id == entry_id


class _FakeTemporal:
    """Answers describe() with a pending activity for some missions; counts calls in flight."""

    def __init__(self, failing: dict[int, int]) -> None:
        self.failing = failing
        self.calls = 0
        self.in_flight = 0
        self.peak = 0

    def get_workflow_handle(self, workflow_id: str) -> Any:
        mission_id = int(workflow_id.removeprefix("mission-"))
        fake = self

        class Handle:
            async def describe(self) -> Any:
                fake.calls += 1
                fake.in_flight += 1
                fake.peak = max(fake.peak, fake.in_flight)
                try:
                    await asyncio.sleep(0.01)
                    attempt = fake.failing.get(mission_id)
                    pending = []
                    if attempt is not None:
                        next_time = Timestamp()
                        next_time.FromDatetime(utcnow().replace(tzinfo=None))
                        pending.append(
                            PendingActivityInfo(
                                activity_type=ActivityType(name="pay_salary"),
                                attempt=attempt,
                                last_failure=Failure(message="bank payout gateway unavailable"),
                                next_attempt_schedule_time=next_time,
                            )
                        )
                    return SimpleNamespace(
                        raw_description=SimpleNamespace(pending_activities=pending)
                    )
                finally:
                    fake.in_flight -= 1

        return Handle()


async def test_stuck_reads_pending_activities_bounded(
    stack: Stack, accounts: tuple[Account, Account]
) -> None:
    a, _ = accounts
    retrying, fresh = await _mission(stack, a), await _mission(stack, a)
    fake = _FakeTemporal({retrying: 5, fresh: 2})
    ops = await _viewer(stack, await stack.ops())
    async with stack.db.session() as session:
        cases = await stuck.stuck_cases(session, fake, ops, min_attempts=3)  # type: ignore[arg-type]
    failing = [c for c in cases if c.kind == "failing_activity"]
    assert [(c.mission_id, c.step, c.attempts) for c in failing] == [(retrying, "pay_salary", 5)]
    assert failing[0].last_error == "bank payout gateway unavailable"
    assert failing[0].next_retry is not None and "failed 4 times" in failing[0].why
    assert fake.calls <= stuck.MAX_DESCRIBES and fake.peak <= stuck.DESCRIBE_CONCURRENCY
    # Fewer describe calls when asked: the most recently active missions first.
    fake = _FakeTemporal({retrying: 5})
    async with stack.db.session() as session:
        await session.execute(
            update(Mission).where(Mission.id == retrying).values(updated_at=utcnow())
        )
        cases = await stuck.stuck_cases(session, fake, ops, max_describes=1)  # type: ignore[arg-type]
    assert fake.calls == 1
    assert [c.mission_id for c in cases if c.kind == "failing_activity"] == [retrying]
    # An advisor who does not follow the member sees none of it.
    other = await _viewer(stack, await stack.staff("advisor"))
    async with stack.db.session() as session:
        cases = await stuck.stuck_cases(session, _FakeTemporal({retrying: 5}), other)  # type: ignore[arg-type]
    assert cases == []


async def test_overdue_human_steps_are_stuck(
    stack: Stack, accounts: tuple[Account, Account]
) -> None:
    a, _ = accounts
    mid = await _mission(stack, a)
    today = await stack.today()
    async with stack.db.session() as session:
        await session.execute(
            update(Mission).where(Mission.id == mid).values(created_on=today - timedelta(days=8))
        )
    ops = await _viewer(stack, await stack.ops())
    async with stack.db.session() as session:
        cases = await stuck.stuck_cases(session, None, ops, today=today)
    case = next(c for c in cases if c.mission_id == mid)
    assert case.kind == "overdue_human_step" and case.step == "signature"
    assert "signature" in case.why and "cancelled automatically on" in case.why


BAD_OPS_CALLS = [
    ("POST", "/api/ops/bulk/preview", {"filter": {"colour": "red"}}, "filter.colour"),
    ("POST", "/api/ops/bulk/preview", {"filter": {"stage": "lost"}}, "filter.stage"),
    ("POST", "/api/ops/bulk/preview", {"filter": {"amount_min": "1e3"}}, "filter.amount_min"),
    ("POST", "/api/ops/bulk/preview", {"filter": {"member_id": 0}}, "filter.member_id"),
    (
        "POST",
        "/api/ops/bulk/preview",
        {"filter": {"overdue_min_days": -1}},
        "filter.overdue_min_days",
    ),
    (
        "POST",
        "/api/ops/bulk/preview",
        {"filter": {"amount_min": "10.00", "amount_max": "5.00"}},
        "filter.amount_max",
    ),
    ("POST", "/api/ops/bulk", {"action": "explode", "reason": "x", "mission_ids": [1]}, "action"),
    ("POST", "/api/ops/bulk", {"action": "retry", "reason": "", "mission_ids": [1]}, "reason"),
    ("POST", "/api/ops/bulk", {"action": "retry", "reason": "x", "mission_ids": []}, "mission_ids"),
    (
        "POST",
        "/api/ops/bulk",
        {"action": "retry", "reason": "x", "mission_ids": [0]},
        "mission_ids.0",
    ),
    (
        "POST",
        "/api/ops/bulk",
        {"action": "retry", "reason": "x", "mission_ids": [999999]},
        "mission_ids.0",
    ),
    (
        "POST",
        "/api/ops/bulk",
        {"action": "hold", "reason": "x", "mission_ids": [1], "params": {"until": "soon"}},
        "params.until",
    ),
    (
        "POST",
        "/api/ops/bulk",
        {"action": "retry", "reason": "x", "mission_ids": [1], "params": {"force": True}},
        "params.force",
    ),
    (
        "PUT",
        "/api/ops/gateways/declaration",
        {"failure_rate": 1.5, "latency_seconds": 0, "reason": "x"},
        "failure_rate",
    ),
    (
        "PUT",
        "/api/ops/gateways/declaration",
        {"failure_rate": -0.1, "latency_seconds": 0, "reason": "x"},
        "failure_rate",
    ),
    (
        "PUT",
        "/api/ops/gateways/declaration",
        {"failure_rate": "0.5", "latency_seconds": 0, "reason": "x"},
        "failure_rate",
    ),
    (
        "PUT",
        "/api/ops/gateways/email",
        {"failure_rate": 0, "latency_seconds": 31, "reason": "x"},
        "latency_seconds",
    ),
    (
        "PUT",
        "/api/ops/gateways/bank",
        {"failure_rate": 0, "latency_seconds": 0, "reason": " "},
        "reason",
    ),
    ("PUT", "/api/ops/gateways/bank", {"failure_rate": 0, "latency_seconds": 0}, "reason"),
    ("POST", "/api/missions/{mission}/repairs/explode", {"reason": "x"}, "action"),
    ("POST", "/api/missions/{mission}/repairs/retry", {"reason": ""}, "reason"),
    ("POST", "/api/missions/{mission}/repairs/retry", {}, "reason"),
    (
        "POST",
        "/api/missions/{mission}/repairs/skip",
        {"reason": "x", "params": {"reference": ""}},
        "params.reference",
    ),
    (
        "POST",
        "/api/missions/{mission}/repairs/hold",
        {"reason": "x", "params": {"until": "2026-02-29"}},
        "params.until",
    ),
    (
        "POST",
        "/api/missions/{mission}/repairs/hold",
        {"reason": "x", "params": {"until": 20270101}},
        "params.until",
    ),
    ("POST", "/api/missions/{mission}/repairs/hold", {"reason": "x", "stage": "paid"}, "stage"),
]


@pytest.mark.parametrize(("method", "path", "body", "field"), BAD_OPS_CALLS)
async def test_ops_api_refuses_bad_input(
    stack: Stack,
    accounts: tuple[Account, Account],
    method: str,
    path: str,
    body: dict[str, Any],
    field: str,
) -> None:
    a, _ = accounts
    path = path.replace("{mission}", str(await _mission(stack, a)))
    before = await snapshot(stack.db)
    r = await stack.http.request(method, path, json=body, headers=await stack.ops())
    assert_refused(r, 422, field)
    assert await snapshot(stack.db) == before


async def test_ops_api_not_found(stack: Stack) -> None:
    ops = await stack.ops()
    before = await snapshot(stack.db)
    for method, path, body in (
        ("GET", "/api/ops/gateways/teleporter", None),
        (
            "PUT",
            "/api/ops/gateways/teleporter",
            {"failure_rate": 0, "latency_seconds": 0, "reason": "x"},
        ),
        ("GET", "/api/ops/bulk/999999", None),
        ("GET", "/api/ops/bulk/0", None),
        ("POST", "/api/missions/999999/repairs/retry", {"reason": "x"}),
        ("PUT", "/api/members/999999/advisor", {"advisor_user_id": None, "reason": "x"}),
    ):
        r = await stack.http.request(method, path, json=body, headers=ops)
        assert_refused(r, 404, None, "not found")
    r = await stack.http.get("/api/ops/audit", params={"since": "2026-13-01"}, headers=ops)
    assert_refused(r, 422, "since")
    r = await stack.http.get("/api/ops/audit", params={"limit": 1_000_000}, headers=ops)
    assert r.status_code == 422
    assert await snapshot(stack.db) == before
    async with stack.db.session() as session:
        assert await session.scalar(select(User.id).where(User.id == 999999)) is None
