"""Lifecycle throughput, side by side: N happy-path missions through the real back office, and N
bare Temporal workflows of exactly the same shape, on the same dev server in the same run.

Starts a Temporal dev server (SQLite file, WAL), a throwaway PostgreSQL database, the real worker
and API as subprocesses, and a bare worker. Creates members and clients through the API, then
drives each mission as people would: create, sign (member), confirm (ops), report the work once
its end date comes, pay the invoice right after it is issued (ops), wait for the workflow to end.
The bare workflow gets the same starts, updates, signal, timers and business waits.

Prints missions/s, Temporal actions/s, the ratio Coopflow/bare, p50/p99 end-to-end latency, CPU
seconds per mission for each process (Temporal server, worker, API, database backends, this
driver) and peak RSS per process.

    .venv/bin/python bench/lifecycle.py [--n 300] [--concurrency 100] [--day-seconds 0.5] [--quick]
                                        [--rev COMMIT | --worktree]

The database figure is the sum over this database's PostgreSQL backends (their RSS counts the
shared buffers they touched, so it overstates memory); the driver is this process.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import math
import os
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx
from tqdm import tqdm

from bench.common import ROOT, Row, append_result, ms, percentile, print_table
from bench.cost import history_cost
from bench.stack import (
    FAST_POLICY,
    Sampler,
    Stack,
    add_code_flags,
    diff,
    read_clock,
    running,
    watched,
)

RATIO_TARGET = 0.8
RECORDED = ROOT / "bench" / "results" / "lifecycle_happy_path.json"
MISSION_TIMEOUT = 300.0
START_LEAD_SECONDS = 4.0  # see Driver.lead_days
ROLES = ["temporal", "worker", "api", "database", "bare_worker", "driver"]
STAFF_PASSWORD = "bench staff password"
MEMBER_PASSWORD = "bench member password"
IBANS = ["BE71096123456769", "BE62510007547061", "BE43068999999501"]


def niss(seq: int) -> str:
    """A valid Belgian national number (born 1985-01-01, serial `seq`)."""
    base = f"850101{seq:03d}"
    return f"{base}{97 - int(base) % 97:02d}"


@dataclass
class Phase:
    name: str
    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    wall: float = 0.0
    cpu: dict[str, float] = field(default_factory=dict)
    peak_rss: dict[str, int] = field(default_factory=dict)
    actions_per_mission: int = 0
    shape: dict[str, int] = field(default_factory=dict)

    @property
    def done(self) -> int:
        return len(self.latencies)

    @property
    def per_second(self) -> float:
        return self.done / self.wall if self.wall else 0.0


class Driver:
    """Plays the member and ops through the API, and the same part against the bare workflow."""

    def __init__(self, stack: Stack, http: httpx.AsyncClient, temporal: Any, bare_tq: str):
        self.stack = stack
        self.http = http
        self.temporal = temporal
        self.bare_tq = bare_tq
        self.clock: Any = None
        self.ops: dict[str, str] = {}
        self.members: list[tuple[int, int, dict[str, str]]] = []  # member id, client id, auth
        self.pay_offset_days = 5
        self.bank_ids = itertools.count(1)
        self.run_id = os.urandom(3).hex()
        self.last_mission_id = 0
        self.extra: dict[str, int] = {}

    # ------------------------------------------------------------ setup
    async def login(self, email: str, password: str) -> dict[str, str]:
        r = await self.http.post("/api/auth/token", data={"username": email, "password": password})
        r.raise_for_status()
        return {"Authorization": f"Bearer {r.json()['access_token']}"}

    async def setup(self, members: int) -> None:
        self.ops = await self.login("ops@bench.example", STAFF_PASSWORD)
        advisor = await self.login("advisor@bench.example", STAFF_PASSWORD)
        for i in range(1, members + 1):
            email = f"member{i}@bench.example"
            r = await self.http.post(
                "/api/members",
                json={
                    "name": f"Bench Member {i}",
                    "email": email,
                    "password": MEMBER_PASSWORD,
                    "iban": IBANS[i % len(IBANS)],
                    "national_number": niss(i),
                },
                headers=advisor,
            )
            r.raise_for_status()
            member_id = r.json()["id"]
            r = await self.http.post(
                "/api/clients",
                json={
                    "name": f"Bench Client {i}",
                    "email": f"client{i}@bench.example",
                    "kind": "business",
                    "country": "BE",
                    "address": "Rue de la Loi 16, 1000 Bruxelles",
                    "vat_number": "BE0403170701",
                    "member_id": member_id,
                },
                headers=advisor,
            )
            r.raise_for_status()
            auth = await self.login(email, MEMBER_PASSWORD)
            self.members.append((member_id, r.json()["id"], auth))
        (await self.http.get("/api/clock")).raise_for_status()  # anchors it if need be
        self.clock = read_clock(self.stack)

    # ------------------------------------------------------------ business time
    @property
    def lead_days(self) -> int:
        """How far ahead the work starts: at least 2 business days, and at least START_LEAD_SECONDS
        of real time, so that a creation that queues on a loaded machine is not refused because
        its start date has become "today" in the meantime (the same lead on both sides)."""
        return max(2, math.ceil(START_LEAD_SECONDS / self.stack.day_seconds))

    def now(self) -> datetime:
        return datetime.now(UTC)

    def today(self) -> date:
        d: date = self.clock.date_at(self.now())
        return d

    async def sleep_until(self, day: date, into: float = 0.05) -> None:
        seconds = self.clock.seconds_until(day, self.now()) + into * self.stack.day_seconds
        if seconds > 0:
            await asyncio.sleep(seconds)

    # ------------------------------------------------------------ one Coopflow mission
    async def mission(self, i: int) -> float:
        t0 = time.perf_counter()
        member_id, client_id, member = self.members[i % len(self.members)]
        start = self.today() + timedelta(days=self.lead_days)
        r = await self.http.post(
            "/api/missions",
            json={
                "member_id": member_id,
                "client_id": client_id,
                "title": f"Bench mission {i}",
                "start_date": start.isoformat(),
                "end_date": start.isoformat(),
                "amount_excl_vat": "1000.00",
                "vat_rate": "21",
                "contract_type": "ordinary",
            },
            headers=member,
        )
        _ok(r, 201)
        mission_id = r.json()["id"]
        self.last_mission_id = mission_id
        _ok(await self.http.post(f"/api/missions/{mission_id}/sign", headers=member))
        _ok(
            await self.http.post(
                f"/api/missions/{mission_id}/client-confirmation",
                json={"method": "signed order form"},
                headers=self.ops,
            )
        )
        await self.sleep_until(start)
        for _ in range(200):  # the workflow may not have seen the end date yet: refused, retry
            r = await self.http.post(
                f"/api/missions/{mission_id}/work-report",
                json={"days_worked": 1},
                headers=member,
            )
            if r.status_code != 409:
                break
            await asyncio.sleep(self.stack.day_seconds / 5)
        _ok(r)
        invoice = None
        while invoice is None:
            await asyncio.sleep(0.2)
            r = await self.http.get(f"/api/missions/{mission_id}", headers=self.ops)
            _ok(r)
            invoice = r.json()["invoice"]
        r = await self.http.post(
            "/api/payments",
            json={
                "amount": invoice["total_incl_vat"],
                "received_on": self.today().isoformat(),
                "structured_communication": invoice["structured_communication"],
                "bank_transaction_id": f"BENCH-{self.run_id}-{next(self.bank_ids)}",
            },
            headers=self.ops,
        )
        _ok(r, 201)
        result = await self.temporal.get_workflow_handle(f"mission-{mission_id}").result()
        if result != "paid":
            raise RuntimeError(f"mission {mission_id} ended {result}")
        return time.perf_counter() - t0

    # ------------------------------------------------------------ one bare workflow
    async def bare(self, i: int) -> float:
        from bench.bare import BareInput, BareMission

        t0 = time.perf_counter()
        now = self.now()
        today = self.clock.date_at(now)
        start = today + timedelta(days=self.lead_days)

        def at(day: date) -> float:
            return float(self.clock.seconds_until(day, now))

        inp = BareInput(
            contract_deadline=at(today + timedelta(days=14)),
            start_at=at(start),
            end_at=at(start),
            report_deadline=at(start + timedelta(days=10)),
            pay_at=at(start + timedelta(days=self.pay_offset_days)),
            collection_deadline=at(start + timedelta(days=40)),
            **self.extra,
        )
        handle = await self.temporal.start_workflow(
            BareMission.run, inp, id=f"bare-{self.run_id}-{i}", task_queue=self.bare_tq
        )
        await handle.execute_update(BareMission.sign_contract)
        await handle.execute_update(BareMission.confirm_client)
        await self.sleep_until(start)
        await handle.execute_update(BareMission.submit_work_report)
        # polled like the API's mission page above, for the same number of round trips
        while not await handle.query(BareMission.is_invoiced):  # noqa: ASYNC110
            await asyncio.sleep(0.2)
        await handle.signal(BareMission.payment_recorded)
        result = await handle.result()
        if result != "paid":
            raise RuntimeError(f"bare workflow {i} ended {result}")
        return time.perf_counter() - t0


def _ok(r: httpx.Response, status: int = 200) -> None:
    if r.status_code != status:
        raise RuntimeError(f"{r.request.method} {r.request.url.path}: {r.status_code} {r.text}")


PREPARE = """
import asyncio, sys
from datetime import date
from decimal import Decimal
from sqlalchemy import select, update
from core.db import get_database
from models import Parameter
from services.fund import top_up
from services.people import create_staff_user

async def main(policy, password):
    db = get_database()
    async with db.session() as session:
        row = await session.scalar(select(Parameter).where(Parameter.key == "policy.lifecycle"))
        await session.execute(
            update(Parameter).where(Parameter.id == row.id).values(value={**row.value, **policy})
        )
        await top_up(session, amount=Decimal("10000000.00"), reference="BENCH-ENDOWMENT",
                     reason="benchmark opening balance", business_date=date(2026, 1, 1),
                     recorded_by_user_id=None)
        for role in ("ops", "advisor"):
            await create_staff_user(session, f"{role}@bench.example", password, role)
    await db.dispose()

asyncio.run(main(json.loads(sys.argv[1]), sys.argv[2]))
"""


def prepare_database(stack: Stack) -> None:
    """What ops do before the first mission: logins, a fast policy row, a funded guarantee fund.

    Runs the exported commit's own services, in a child process like the worker and the API."""
    stack.python("import json\n" + PREPARE, json.dumps(FAST_POLICY), STAFF_PASSWORD)


async def run_phase(
    name: str,
    n: int,
    concurrency: int,
    one: Callable[[int], Awaitable[float]],
    sampler: Sampler,
) -> Phase:
    phase = Phase(name)
    sem = asyncio.Semaphore(concurrency)
    bar = tqdm(total=n, desc=f"{name:>8}", unit="mission", mininterval=1.0, dynamic_ncols=True)

    async def guarded(i: int) -> None:
        async with sem:
            try:
                phase.latencies.append(await asyncio.wait_for(one(i), MISSION_TIMEOUT))
            except Exception as err:  # counted and shown: one failure must not end the run
                phase.errors.append(f"{type(err).__name__}: {err}"[:300])
            bar.update(1)
            bar.set_postfix(errors=len(phase.errors))

    sampler.reset_peaks()
    before = sampler.totals()
    t0 = time.perf_counter()
    await asyncio.gather(*(guarded(i) for i in range(n)))
    phase.wall = time.perf_counter() - t0
    bar.close()
    sampler.sample()
    phase.cpu = diff(sampler.totals(), before)
    phase.peak_rss = dict(sampler.peak_rss)
    return phase


async def history_of(temporal: Any, workflow_id: str) -> dict[str, Any]:
    history = await temporal.get_workflow_handle(workflow_id).fetch_history()
    data: dict[str, Any] = history.to_json_dict()
    return data


async def bench(stack: Stack, args: argparse.Namespace, sampler: Sampler) -> list[Phase]:
    from temporalio.client import Client
    from temporalio.contrib.pydantic import pydantic_data_converter

    temporal = await Client.connect(stack.temporal_address, data_converter=pydantic_data_converter)
    limits = httpx.Limits(max_connections=args.concurrency + 10)
    async with httpx.AsyncClient(base_url=stack.api_base, timeout=60, limits=limits) as http:
        driver = Driver(stack, http, temporal, args.bare_task_queue)
        await driver.setup(args.members)
        # warm-up, and the shape of a real mission: its history is the reference for the bare one
        await asyncio.wait_for(driver.mission(10_000_000), MISSION_TIMEOUT)
        warm_id = driver.last_mission_id
        m = (await http.get(f"/api/missions/{warm_id}", headers=driver.ops)).json()
        offset = date.fromisoformat(m["pay_date"]) - date.fromisoformat(m["end_date"])
        driver.pay_offset_days = offset.days
        recorded = await history_of(temporal, f"mission-{warm_id}")
        mission_cost = history_cost("mission", recorded, 0)
        # a fresh happy-path history of the commit under test, for `cost.py --history`
        RECORDED.parent.mkdir(parents=True, exist_ok=True)
        RECORDED.write_text(json.dumps(recorded, indent=1))
        # the bare base shape, then whatever the mission does beyond it, then the check
        await asyncio.wait_for(driver.bare(10_000_000), MISSION_TIMEOUT)
        base = history_cost("bare", await history_of(temporal, f"bare-{driver.run_id}-10000000"), 0)
        driver.extra = {
            "extra_activities": max(
                0, mission_cost.by_category["activities"] - base.by_category["activities"]
            ),
            "extra_timers": max(0, mission_cost.by_category["timers"] - base.by_category["timers"]),
            "extra_patches": mission_cost.by_category["markers"],
        }
        await asyncio.wait_for(driver.bare(10_000_001), MISSION_TIMEOUT)
        bare_cost = history_cost(
            "bare", await history_of(temporal, f"bare-{driver.run_id}-10000001"), 0
        )

        phases = []
        order = [("coopflow", driver.mission), ("bare", driver.bare)]
        for name, one in order:
            phase = await run_phase(name, args.n, args.concurrency, one, sampler)
            cost = mission_cost if name == "coopflow" else bare_cost
            phase.actions_per_mission = cost.actions
            phase.shape = cost.by_category
            phases.append(phase)
    return phases


def report(phases: list[Phase], args: argparse.Namespace) -> tuple[list[Row], dict[str, Any]]:
    coop, bare = phases
    ratio = coop.per_second / bare.per_second if bare.per_second else 0.0
    rows = [
        Row("missions/s coopflow", f"{coop.per_second:.2f}"),
        Row("missions/s bare Temporal, same shape", f"{bare.per_second:.2f}"),
        Row(
            "ratio coopflow / bare",
            f"{ratio:.2f}",
            f">= {RATIO_TARGET}",
            ratio >= RATIO_TARGET,
        ),
        Row(
            "Temporal actions/s coopflow | bare",
            f"{coop.per_second * coop.actions_per_mission:.1f} | "
            f"{bare.per_second * bare.actions_per_mission:.1f}",
        ),
        Row(
            "actions per mission coopflow | bare",
            f"{coop.actions_per_mission} | {bare.actions_per_mission}",
            "same shape",
            coop.shape == bare.shape,
        ),
        Row("  coopflow shape", ", ".join(f"{k} {v}" for k, v in coop.shape.items() if v)),
        Row("  bare shape", ", ".join(f"{k} {v}" for k, v in bare.shape.items() if v)),
    ]
    for p in phases:
        rows.append(
            Row(
                f"latency p50 / p99 {p.name}",
                f"{percentile(p.latencies, 50):.2f} s / {percentile(p.latencies, 99):.2f} s",
            )
        )
    for p in phases:
        per = {role: p.cpu.get(role, 0.0) / max(p.done, 1) for role in ROLES}
        text = ", ".join(f"{role} {ms(v)}" for role, v in per.items() if p.cpu.get(role))
        rows.append(Row(f"CPU per mission {p.name}", text))
        busy = sum(p.cpu.values()) / p.wall / (os.cpu_count() or 1) if p.wall else 0.0
        rows.append(Row(f"  machine busy during {p.name}", f"{busy:.0%} of all cores"))
        rss = ", ".join(
            f"{role} {v / 2**20:.0f} MB" for role, v in p.peak_rss.items() if p.cpu.get(role)
        )
        rows.append(Row(f"peak RSS {p.name}", rss))
    for p in phases:
        if p.errors:
            rows.append(Row(f"errors {p.name}", f"{len(p.errors)}: {p.errors[0]}"))
    figures: dict[str, Any] = {"ratio": ratio}
    for p in phases:
        figures[p.name] = {
            "missions": p.done,
            "errors": len(p.errors),
            "error_samples": p.errors[:3],
            "wall_s": p.wall,
            "missions_per_s": p.per_second,
            "actions_per_mission": p.actions_per_mission,
            "shape": p.shape,
            "actions_per_s": p.per_second * p.actions_per_mission,
            "latency_p50_s": percentile(p.latencies, 50),
            "latency_p99_s": percentile(p.latencies, 99),
            "cpu_s_per_mission": {r: v / max(p.done, 1) for r, v in p.cpu.items()},
            "peak_rss_mb": {r: v / 2**20 for r, v in p.peak_rss.items()},
        }
    return rows, figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=300, help="missions per side (default 300)")
    parser.add_argument(
        "--concurrency",
        type=int,
        default=100,
        help="missions in flight: enough to keep both cores busy through the business waits",
    )
    parser.add_argument("--members", type=int, default=10, help="members (each with a client)")
    parser.add_argument(
        "--day-seconds", type=float, default=0.5, help="real seconds per business day"
    )
    parser.add_argument("--quick", action="store_true", help="60 missions a side (< 2 min)")
    add_code_flags(parser)
    parser.add_argument("--no-record", action="store_true", help="do not append to bench/results")
    args = parser.parse_args(argv)
    if args.quick:
        args.n, args.concurrency, args.members = 60, 40, 5
    stack = Stack(day_seconds=args.day_seconds, worktree=args.worktree, rev=args.rev)
    args.bare_task_queue = f"bench-bare-{stack.db_name[-8:]}"
    params = {k: v for k, v in vars(args).items() if k != "bare_task_queue"}
    print(
        f"lifecycle: {args.n} missions a side, {args.concurrency} in flight, "
        f"{args.day_seconds} s per business day",
        flush=True,
    )
    with running(stack):
        stack.export_head()
        stack.start_temporal()
        stack.create_database()
        prepare_database(stack)
        stack.start_worker()
        stack.start_api()
        bare_env = {**stack.env(), "PYTHONPATH": str(ROOT)}
        stack.spawn(
            "bare_worker",
            [
                sys.executable,
                "-c",
                "import asyncio, sys; from bench.bare import run_worker; "
                "asyncio.run(run_worker(sys.argv[1], sys.argv[2]))",
                stack.temporal_address,
                args.bare_task_queue,
            ],
            env=bare_env,
            cwd=ROOT,
        )
        with Sampler(stack, extra={"driver": os.getpid()}) as sampler:
            phases = asyncio.run(watched(stack, bench(stack, args, sampler)))
        stack.check_alive()
    rows, figures = report(phases, args)
    title = "Lifecycle throughput: Coopflow vs bare Temporal, same shape, same run"
    print_table(title, rows, stack.commit)
    if not args.no_record:
        append_result("lifecycle", figures, params, stack.commit)
    return 0


if __name__ == "__main__":
    sys.exit(main())
