"""The chaos campaign: N missions through the API of a real stack while it is hurt, then the
invariants of ../shared/reliability.md (services/invariants.py), held or broken.

    make chaos SEED=7 N=50            # or: .venv/bin/python -m bench.chaos --seed 7 --n 50

A stack of its own (bench/stack.py, the working tree's code): a Temporal dev server on a SQLite
file (`--db-filename`), a throwaway PostgreSQL database, the worker and the API as processes, a
fast business clock. The worker and the API reach PostgreSQL through a small TCP proxy run by this
script (the shared PostgreSQL on 5432 is never stopped: other sessions use it). Every choice is
drawn from `random.Random(seed)`: each mission's path (paid at once, paid after the salary advance,
paid in two parts, never paid so dunned and written off, cancelled before the work), the stray
bank lines (a payment no invoice takes: suspense), and the faults: at seeded moments
- `kill -9` of the worker's process group, restarted after a pause;
- `kill -9` of the Temporal dev server, restarted on the same `--db-filename` and port;
- PostgreSQL cut: the proxy drops every open connection and refuses new ones for a few seconds.
The driver plays member and ops like people would: an action answered 503 or lost in a cut is
read back and tried again (payments with an `Idempotency-Key`). Once every mission is finished
(or the deadline passed), the system is left quiet and `check_invariants` runs on the book.
It prints what it did and what held, appends a line to bench/results/chaos.jsonl, and exits 1
if an invariant broke (2 if the run itself could not finish).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import random
import signal
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import httpx

from bench.common import append_result
from bench.lifecycle import PREPARE, STAFF_PASSWORD, niss
from bench.stack import FAST_POLICY, Stack, _killpg, free_port, read_clock, running

TERMINAL = ("paid", "written_off", "cancelled")
# A person told "accepted and being processed" (202) looks again this much later.
ACCEPTED_WITHIN = 60.0
MEMBER_PASSWORD = "chaos member password"
IBANS = ["BE71096123456769", "BE62510007547061", "BE43068999999501"]
PATHS = ("pay_now", "pay_after_advance", "pay_in_two", "never_pay", "cancel")
PATH_WEIGHTS = (4, 2, 1, 2, 1)
# Production's step retries (migration 0002: 5 attempts, waits from 1 s growing to 30 s; the
# timeout is Config.step_timeout, production's 60 s by default): a PostgreSQL cut of a few seconds
# is ridden out by them, and what still fails waits for ops, who retry it (Driver.ops_watch).
CHAOS_POLICY = {
    **FAST_POLICY,
    "step_max_attempts": 5,
    "step_retry_initial_seconds": 1.0,
    "step_retry_max_seconds": 30.0,
    "invoice_due_days": 2,
    # a short ladder (business days after the due date), as tests/workflows/test_restart.py
    "dunning_ladder": [
        {"step": "reminder_1", "days_after_due": 8},
        {"step": "reminder_2", "days_after_due": 9},
        {"step": "formal_notice", "days_after_due": 10},
        {"step": "write_off", "days_after_due": 11},
    ],
}


# ---------------------------------------------------------------- PostgreSQL behind a proxy


class PgProxy:
    """A TCP proxy in front of PostgreSQL that can be cut: open connections dropped, new ones
    refused (accepted and closed at once), until restored. Runs its own loop in a thread."""

    def __init__(self, upstream_port: int = 5432) -> None:
        self.upstream = ("127.0.0.1", upstream_port)
        self.port = free_port()
        self.cut = False
        self.dropped = 0
        self._writers: set[asyncio.StreamWriter] = set()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._ready = threading.Event()

    def start(self) -> PgProxy:
        self._thread.start()
        self._ready.wait(10)
        return self

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        server = self._loop.run_until_complete(
            asyncio.start_server(self._serve, "127.0.0.1", self.port)
        )
        self._ready.set()
        self._loop.run_forever()
        server.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.cut:
            writer.transport.abort()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.upstream)
        except OSError:
            writer.transport.abort()
            return
        self._writers.update((writer, up_writer))

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            try:
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            except (OSError, asyncio.IncompleteReadError):
                pass
            finally:
                dst.transport.abort()
                self._writers.discard(dst)

        try:
            await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
        except asyncio.CancelledError:  # the proxy stops
            pass

    def _drop_all(self) -> None:
        self.dropped += len(self._writers) // 2
        for w in list(self._writers):
            w.transport.abort()
        self._writers.clear()

    def set_cut(self, cut: bool) -> None:
        self.cut = cut
        if cut:
            self._loop.call_soon_threadsafe(self._drop_all)

    def stop(self) -> None:
        async def close() -> None:
            self._drop_all()
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            self._loop.stop()

        if self._thread.is_alive():
            asyncio.run_coroutine_threadsafe(close(), self._loop)
            self._thread.join(5)


class ChaosStack(Stack):
    """The bench stack with the worker and the API connected through the proxy."""

    proxy: PgProxy | None = None

    def env(self) -> dict[str, str]:
        env = super().env()
        if self.proxy is not None:
            env["COOPFLOW_DATABASE_URL"] = (
                f"postgresql+psycopg://postgres@127.0.0.1:{self.proxy.port}/{self.db_name}"
            )
        return env

    def kill(self, name: str) -> None:
        proc = self.procs.pop(name, None)
        if proc is None:
            return
        _killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)

    def check_alive(self) -> None:
        """Only the Temporal server must stay up by itself: the worker and the API are
        brought back by `supervise` (a worker that finds no Temporal at its start exits)."""
        proc = self.procs.get("temporal")
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"temporal exited with code {proc.returncode}")

    def respawn(self, name: str) -> None:
        command = "worker" if name == "worker" else "api"
        self.spawn(
            name, [sys.executable, "-c", f"import sys, cli; sys.exit(cli.main([{command!r}]))"]
        )

    def stop(self) -> None:
        """No graceful drain at the end of a chaos run: everything it started is thrown away."""
        for name in list(self.procs):
            self.kill(name)
        super().stop()


# ---------------------------------------------------------------- the run


@dataclass
class Config:
    seed: int = 1
    n: int = 40
    worker_kills: int = 3
    temporal_kills: int = 2
    pg_cuts: int = 2
    day_seconds: float = 1.5
    window: float = 0.0  # seconds over which the faults are spread (0: from the mission count)
    concurrency: int = 0  # missions driven at once (0: all of them)
    deadline: float = 900.0  # seconds for every mission to finish after the last fault
    stray_lines: int = 0  # bank lines no invoice takes (default: n // 10)
    # an activity in flight on a killed worker is retried once this passes (no heartbeats)
    step_timeout: float = 60.0
    spread: float = -1.0  # seconds over which the missions arrive (-1: 2 s per mission)
    ops_every: float = 10.0  # how often ops look at the stuck cases and retry what waits for them


@dataclass
class Fault:
    kind: str
    at: float  # seconds after the missions started
    down: float  # seconds before the restart / restore
    done_at: float = 0.0
    note: str = ""


@dataclass
class Outcome:
    seed: int
    missions: dict[int, str] = field(default_factory=dict)  # id -> path
    final: dict[int, str] = field(default_factory=dict)  # id -> stage seen at the end
    faults: list[Fault] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    retries: Counter[str] = field(default_factory=Counter)
    refusals: dict[str, str] = field(default_factory=dict)  # the last reply of each kind
    marks: dict[int, list[tuple[str, float]]] = field(default_factory=dict)  # mission -> steps
    ops_retries: Counter[str] = field(default_factory=Counter)  # attention step -> retries
    revived: list[tuple[str, float, int]] = field(default_factory=list)  # exited by itself
    accepted: int = 0  # actions answered 202 "accepted and being processed"
    lost_actions: list[str] = field(default_factory=list)  # ... and never recorded

    @property
    def extra_missions(self) -> list[int]:
        """Missions in the book the driver never got an id for (a create made twice: none
        since POST /api/missions takes the driver's Idempotency-Key)."""
        return sorted(set(self.report.mission_ids if self.report else ()) - set(self.missions))

    stray_lines: int = 0
    duration: float = 0.0
    load: tuple[float, float, float] = (0.0, 0.0, 0.0)
    phases: dict[str, float] = field(default_factory=dict)  # phase -> seconds
    business_days: tuple[date, date] | None = None  # the business clock's first and last day
    report: Any = None

    @property
    def ok(self) -> bool:
        return (
            self.report is not None
            and self.report.held
            and not self.errors
            and not self.lost_actions
        )


def plan_faults(rng: random.Random, cfg: Config, window: float) -> list[Fault]:
    faults = []
    for kind, count, downs in (
        ("worker kill -9", cfg.worker_kills, (0.5, 3.0)),
        ("temporal kill -9", cfg.temporal_kills, (0.5, 3.0)),
        ("postgresql cut", cfg.pg_cuts, (2.0, 5.0)),
    ):
        for _ in range(count):
            faults.append(
                Fault(kind, round(rng.uniform(1.0, window), 2), round(rng.uniform(*downs), 2))
            )
    return sorted(faults, key=lambda f: f.at)


class Driver:
    """Members and ops at the API, patient with an API that answers 503 or not at all."""

    def __init__(self, stack: ChaosStack, http: httpx.AsyncClient, out: Outcome) -> None:
        self.stack = stack
        self.http = http
        self.out = out
        self.ops: dict[str, str] = {}
        self.advisor: dict[str, str] = {}
        self.clock: Any = None
        self.run_id = uuid.uuid4().hex[:6]
        self.t0 = time.monotonic()
        self.first_mission = asyncio.Event()  # the faults' clock starts with the first mission

    def mark(self, mission_id: int, step: str) -> None:
        at = round(time.monotonic() - self.t0, 1)
        self.out.marks.setdefault(mission_id, []).append((step, at))

    async def call(
        self,
        method: str,
        path: str,
        ok: tuple[int, ...] = (200, 201),
        within: float = 120.0,
        **kw: Any,
    ) -> httpx.Response:
        """The request until it answers one of `ok`; 5xx, 429 and lost connections are retried
        (what a person does when the page says "try again"); anything else is returned."""
        deadline = time.monotonic() + within
        while True:
            try:
                r = await self.http.request(method, path, **kw)
                if r.status_code in ok or (r.status_code < 500 and r.status_code != 429):
                    return r
                self.out.retries[f"{r.status_code}"] += 1
            except httpx.HTTPError as err:
                self.out.retries[type(err).__name__] += 1
            if time.monotonic() > deadline:
                raise RuntimeError(f"{method} {path}: no answer within {within:.0f} s")
            await asyncio.sleep(0.5)

    async def login(self, email: str, password: str) -> dict[str, str]:
        r = await self.call(
            "POST", "/api/auth/token", data={"username": email, "password": password}
        )
        _ok(r)
        return {"Authorization": f"Bearer {r.json()['access_token']}"}

    async def setup(self) -> None:
        self.ops = await self.login("ops@bench.example", STAFF_PASSWORD)
        self.advisor = await self.login("advisor@bench.example", STAFF_PASSWORD)
        _ok(await self.call("GET", "/api/clock"))
        self.clock = read_clock(self.stack)

    def today(self) -> date:
        from datetime import UTC, datetime

        d: date = self.clock.date_at(datetime.now(UTC))
        return d

    async def until(self, day: date) -> None:
        from datetime import UTC, datetime

        wait = self.clock.seconds_until(day, datetime.now(UTC))
        await asyncio.sleep(wait + 0.1 * self.stack.day_seconds)

    async def mission(self, i: int, path: str, rng: random.Random) -> int:
        email = f"member{i}-{self.run_id}@chaos.example"
        r = await self.call(
            "POST",
            "/api/members",
            json={
                "name": f"Chaos Member {i}",
                "email": email,
                "password": MEMBER_PASSWORD,
                "iban": IBANS[i % len(IBANS)],
                "national_number": niss(i + 1),
            },
            headers=self.advisor,
        )
        _ok(r, 201)
        member_id = r.json()["id"]
        member = await self.login(email, MEMBER_PASSWORD)
        r = await self.call(
            "POST",
            "/api/clients",
            json={
                "name": f"Chaos Client {i}",
                "email": f"client{i}-{self.run_id}@chaos.example",
                "kind": "business",
                "country": "BE",
                "address": "Rue de la Loi 16, 1000 Bruxelles",
                "vat_number": "BE0403170701",
                "member_id": member_id,
            },
            headers=self.advisor,
        )
        _ok(r, 201)
        client_id = r.json()["id"]
        # a few real seconds to sign and confirm before the start date
        lead = max(3, math.ceil(3 / self.stack.day_seconds))
        amount = f"{rng.randint(500, 3000)}.00"
        contract_type = rng.choice(("ordinary", "ordinary", "artistic"))
        for attempt in range(5):  # an outage long enough moves "today" past the start: again
            start = self.today() + timedelta(days=lead)
            # One key per form filled: a create retried after its reply was lost is answered
            # the first reply, not made twice.
            key = f"chaos-{self.run_id}-mission-{i}-{attempt}"
            r = await self.call(
                "POST",
                "/api/missions",
                json={
                    "member_id": member_id,
                    "client_id": client_id,
                    "title": f"Chaos mission {i}",
                    "start_date": start.isoformat(),
                    "end_date": (start + timedelta(days=1)).isoformat(),
                    "amount_excl_vat": amount,
                    "vat_rate": "21",
                    "contract_type": contract_type,
                },
                headers={**member, "Idempotency-Key": key},
            )
            if not (r.status_code == 422 and "start_date" in r.text):
                break
            self.out.retries["mission start date passed"] += 1
        _ok(r, 201)
        mission_id: int = r.json()["id"]
        self.out.missions[mission_id] = path
        self.first_mission.set()
        self.mark(mission_id, "created")
        if path == "cancel":  # the member changes their mind before signing
            await self.act(
                mission_id,
                "cancel",
                member,
                lambda m: m["stage"] == "cancelled",
                json={"reason": "the festival was called off"},
            )
            self.mark(mission_id, "cancelled")
            return mission_id
        await self.act(mission_id, "sign", member, lambda m: m["signed_at"] is not None)
        self.mark(mission_id, "signed")
        await self.act(
            mission_id,
            "client-confirmation",
            self.ops,
            lambda m: m["client_confirmed_at"] is not None,
            json={"method": "signed order form"},
        )
        self.mark(mission_id, "confirmed")
        await self.until(start + timedelta(days=1))
        await self.act(
            mission_id,
            "work-report",
            member,
            lambda m: m["days_worked"] is not None,
            json={"days_worked": 2},
        )
        self.mark(mission_id, "reported")
        m = await self.wait(mission_id, lambda m: m["invoice"] is not None)
        self.mark(mission_id, "invoiced")
        invoice = m["invoice"]
        total = Decimal(invoice["total_incl_vat"])
        if path == "pay_now":
            await self.pay(invoice, total)
        elif path == "pay_after_advance":
            await self.wait(mission_id, lambda m: m.get("advance") is not None)
            await self.pay(invoice, total)
        elif path == "pay_in_two":
            half = (total / 2).quantize(Decimal("0.01"))
            await self.pay(invoice, half)
            await asyncio.sleep(rng.uniform(0.5, 2.0))
            m = await self.mission_json(mission_id)
            rest = Decimal(m["invoice"]["balance"])
            if rest > 0:
                await self.pay(invoice, rest)
        self.mark(mission_id, "driven")
        return mission_id

    async def act(
        self,
        mission_id: int,
        action: str,
        headers: dict[str, str],
        done: Any,
        json: dict[str, Any] | None = None,
        within: float = 300.0,
    ) -> None:
        """A person's action until the mission shows it done: a 503 or a lost reply may or may
        not have gone through (the README's COOPFLOW_ACTION_TIMEOUT_SECONDS), so read it back.

        A 202 ("accepted and being processed") is looked at again ACCEPTED_WITHIN later; if it
        has not shown up, the person tries again. The workflow refuses a second attempt while
        the first is in flight or done (409: only slow); if it takes it (200/202), the first
        one was dropped after its 202: a lost action."""
        deadline = time.monotonic() + within
        pending: float | None = None  # when an earlier attempt was answered 202
        while True:
            if done(await self.mission_json(mission_id)):
                return
            try:
                r = await self.http.post(
                    f"/api/missions/{mission_id}/{action}", json=json, headers=headers
                )
                if r.status_code in (200, 202) and pending is not None:
                    self.out.lost_actions.append(
                        f"mission {mission_id}: {action} answered 202 at {pending} s, dropped"
                        f" (taken again {round(time.monotonic() - self.t0, 1)} s)"
                    )
                    pending = None
                if r.status_code == 200:
                    await self.wait(mission_id, done)
                    return
                if r.status_code == 202:  # "accepted and being processed": it must show up
                    self.out.accepted += 1
                    pending = round(time.monotonic() - self.t0, 1)
                    try:
                        await self.wait(mission_id, done, within=ACCEPTED_WITHIN)
                        return
                    except RuntimeError:
                        continue  # not there yet: the person tries again
                self.out.retries[f"{action} {r.status_code}"] += 1
                self.out.refusals[f"{action} {r.status_code}"] = r.text[:200]
            except httpx.HTTPError as err:
                self.out.retries[f"{action} {type(err).__name__}"] += 1
            if time.monotonic() > deadline:
                raise RuntimeError(f"mission {mission_id}: {action} not done within {within} s")
            await asyncio.sleep(max(0.3, self.stack.day_seconds / 2))

    async def bank_line(self, amount: str, communication: str | None, bank_tx: str) -> None:
        """One bank line booked by hand, with its Idempotency-Key: the same request is sent again
        while the first is still in flight (409), until it has its answer."""
        body = {
            "amount": amount,
            "received_on": self.today().isoformat(),
            "structured_communication": communication,
            "bank_transaction_id": bank_tx,
        }
        for _ in range(60):
            r = await self.call(
                "POST",
                "/api/payments",
                json=body,
                headers={**self.ops, "Idempotency-Key": bank_tx},
                ok=(201,),
            )
            if r.status_code != 409:
                _ok(r, 201)
                return
            await asyncio.sleep(1.0)
        raise RuntimeError(f"payment {bank_tx} still in flight after a minute")

    async def pay(self, invoice: dict[str, Any], amount: Decimal) -> None:
        bank_tx = f"CHAOS-{self.run_id}-{uuid.uuid4().hex[:10]}"
        await self.bank_line(f"{amount:.2f}", invoice["structured_communication"], bank_tx)

    async def stray_line(self, i: int) -> None:
        """A bank line no invoice takes (no communication): it must land in suspense."""
        await self.bank_line(f"{17 + i}.50", None, f"CHAOS-{self.run_id}-stray-{i}")

    async def ops_watch(self, every: float) -> None:
        """Ops at the console: the missions waiting for them (a step that kept failing through an
        outage) are retried, with a reason, as the repair page does (audited)."""
        while True:
            await asyncio.sleep(every)
            try:
                r = await self.http.get("/api/ops/stuck", headers=self.ops)
                if r.status_code != 200:
                    continue
                waiting = {
                    c["mission_id"]: c.get("step") or c["kind"]
                    for c in r.json()
                    if c["kind"] == "needs_attention" and c["mission_id"] in self.out.missions
                }
                for mission_id, step in waiting.items():
                    r = await self.http.post(
                        f"/api/missions/{mission_id}/repairs/retry",
                        json={"reason": "chaos campaign: retried after an outage", "params": {}},
                        headers=self.ops,
                    )
                    if r.status_code in (200, 202):
                        self.out.ops_retries[str(step)] += 1
            except httpx.HTTPError:
                continue

    async def mission_json(self, mission_id: int) -> dict[str, Any]:
        r = await self.call("GET", f"/api/missions/{mission_id}", headers=self.ops)
        _ok(r)
        return dict(r.json())

    async def wait(self, mission_id: int, done: Any, within: float = 300.0) -> dict[str, Any]:
        deadline = time.monotonic() + within
        while True:
            m = await self.mission_json(mission_id)
            if done(m):
                return m
            if time.monotonic() > deadline:
                raise RuntimeError(f"mission {mission_id} stuck at {m['stage']} after {within} s")
            await asyncio.sleep(max(0.3, self.stack.day_seconds / 2))


def _ok(r: httpx.Response, status: int = 200) -> None:
    if r.status_code != status:
        raise RuntimeError(f"{r.request.method} {r.request.url.path}: {r.status_code} {r.text}")


async def inject(stack: ChaosStack, proxy: PgProxy, faults: list[Fault], driver: Driver) -> None:
    """Each fault at its time after the first mission was created: the process killed or the
    database cut, then brought back. Times are then reported from the campaign's start."""
    await driver.first_mission.wait()
    start = time.monotonic()
    t0 = driver.t0
    for fault in faults:
        await asyncio.sleep(max(0.0, start + fault.at - time.monotonic()))
        fault.at = round(time.monotonic() - t0, 2)
        if fault.kind.startswith("worker"):
            stack.kill("worker")
            await asyncio.sleep(fault.down)
            stack.start_worker()  # from this (main) thread: see Stack.spawn_temporal
        elif fault.kind.startswith("temporal"):
            stack.kill("temporal")
            await asyncio.sleep(fault.down)
            stack.spawn_temporal()
            await asyncio.to_thread(stack.wait_temporal)
        else:
            proxy.set_cut(True)
            await asyncio.sleep(fault.down)
            proxy.set_cut(False)
        fault.done_at = round(time.monotonic() - t0, 2)


async def campaign(
    stack: ChaosStack,
    proxy: PgProxy,
    cfg: Config,
    after: Callable[[ChaosStack, Any, Outcome], Awaitable[None]] | None = None,
) -> Outcome:
    """Run the missions and the faults on a started stack, then check the invariants;
    `after(stack, temporal_client, outcome)` runs last, on the stack still up (tests)."""
    from temporalio.client import Client
    from temporalio.contrib.pydantic import pydantic_data_converter

    rng = random.Random(cfg.seed)
    out = Outcome(cfg.seed)
    paths = rng.choices(PATHS, PATH_WEIGHTS, k=cfg.n)
    seeds = [rng.randrange(2**32) for _ in range(cfg.n)]
    stray = cfg.stray_lines if cfg.stray_lines else cfg.n // 10
    # a mission takes ~25 business days from creation to write-off; the faults fall in the run
    spread = 2.0 * cfg.n if cfg.spread < 0 else cfg.spread
    arrivals = sorted(rng.uniform(0, spread) for _ in range(cfg.n))
    # the faults fall while missions run: over their arrivals and a lifecycle after the last
    window = cfg.window or max(10.0, spread + 25 * cfg.day_seconds)
    out.faults = plan_faults(rng, cfg, window)
    t0 = time.monotonic()
    async with httpx.AsyncClient(base_url=stack.api_base, timeout=30) as http:
        driver = Driver(stack, http, out)
        await driver.setup()
        sem = asyncio.Semaphore(cfg.concurrency or cfg.n)

        async def one(i: int) -> None:
            await asyncio.sleep(arrivals[i])
            async with sem:
                try:
                    await driver.mission(i, paths[i], random.Random(seeds[i]))
                except Exception as err:
                    out.errors.append(f"mission #{i} ({paths[i]}): {err}"[:300])

        t0 = driver.t0 = time.monotonic()
        chaos = asyncio.ensure_future(inject(stack, proxy, out.faults, driver))
        progress = asyncio.ensure_future(_progress(stack, out, t0))
        ops = asyncio.ensure_future(driver.ops_watch(cfg.ops_every))
        supervisor = asyncio.ensure_future(supervise(stack, out, t0))
        await asyncio.gather(
            *(one(i) for i in range(cfg.n)), *(driver.stray_line(i) for i in range(stray))
        )
        out.stray_lines = stray
        await chaos
        out.phases["missions driven"] = time.monotonic() - t0
        # every mission to a terminal stage (or the deadline)
        deadline = time.monotonic() + cfg.deadline
        for mission_id in out.missions:
            while True:
                m = await driver.mission_json(mission_id)
                out.final[mission_id] = m["stage"]
                if m["stage"] in TERMINAL or time.monotonic() > deadline:
                    driver.mark(mission_id, m["stage"])
                    break
                await asyncio.sleep(0.5)
        out.phases["all terminal"] = time.monotonic() - t0
        progress.cancel()
        ops.cancel()
        out.business_days = (driver.clock.date_at(_utc(driver.t0)), driver.today())
    # quiet: let the workflows close (a paid mission still pays its salary on its pay date)
    temporal = await Client.connect(stack.temporal_address, data_converter=pydantic_data_converter)
    await _wait_closed(temporal, list(out.missions), deadline=time.monotonic() + 120)
    out.phases["workflows closed"] = time.monotonic() - t0
    out.report = await check(stack, temporal)
    out.phases["invariants checked"] = time.monotonic() - t0
    supervisor.cancel()
    out.duration = time.monotonic() - t0
    out.load = os.getloadavg()
    if after is not None:
        await after(stack, temporal, out)
    return out


async def supervise(stack: ChaosStack, out: Outcome, t0: float) -> None:
    """What docker-compose's `restart: unless-stopped` does: a worker or API that exited by
    itself (not one the campaign killed: that one is out of `procs` until its restart) is
    started again a second later. The worker exits when Temporal is not there at its start."""
    while True:
        await asyncio.sleep(1.0)
        for name in ("worker", "api"):
            proc = stack.procs.get(name)
            if proc is not None and proc.poll() is not None:
                out.revived.append((name, round(time.monotonic() - t0, 1), proc.returncode))
                stack.procs.pop(name)
                stack.respawn(name)


def _utc(monotonic: float) -> Any:
    """The wall-clock time of a `time.monotonic()` reading."""
    from datetime import UTC, datetime

    return datetime.now(UTC) - timedelta(seconds=time.monotonic() - monotonic)


def _stages(stack: ChaosStack) -> str:
    import psycopg

    with psycopg.connect(stack.psycopg_dsn, connect_timeout=5) as conn:
        rows = conn.execute("SELECT stage, count(*) FROM missions GROUP BY stage ORDER BY 1")
        stages = ", ".join(f"{stage} {n}" for stage, n in rows.fetchall())
        today = conn.execute("SELECT max(issue_date) FROM invoices").fetchone()
    return f"{stages or 'no mission yet'}; latest invoice dated {today[0] if today else None}"


async def _progress(stack: ChaosStack, out: Outcome, t0: float, every: float = 30.0) -> None:
    """A line on stderr now and then: a long run shows it is alive."""
    while True:
        await asyncio.sleep(every)
        done = sum(1 for f in out.faults if f.done_at)
        try:
            stages = await asyncio.to_thread(_stages, stack)
        except Exception as err:
            stages = f"(not read: {err})"
        print(
            f"[{time.monotonic() - t0:6.0f} s] faults {done}/{len(out.faults)}; {stages}",
            file=sys.stderr,
            flush=True,
        )


async def _wait_closed(temporal: Any, mission_ids: list[int], deadline: float) -> None:
    from temporalio.client import WorkflowExecutionStatus

    for mission_id in mission_ids:
        handle = temporal.get_workflow_handle(f"mission-{mission_id}")
        while time.monotonic() < deadline:
            try:
                if (await handle.describe()).status != WorkflowExecutionStatus.RUNNING:
                    break
            except Exception:
                pass
            await asyncio.sleep(0.5)


async def check(stack: ChaosStack, temporal: Any, settle_seconds: float = 2.0) -> Any:
    """`check_invariants` on the stack's database, straight (not through the proxy)."""
    from core.db import Database, make_engine
    from core.settings import Settings
    from services.invariants import check_invariants

    settings = Settings(database_url=stack.database_url, day_seconds=stack.day_seconds)
    db = Database(make_engine(settings))
    try:
        async with db.session() as session:
            return await check_invariants(session, temporal, settle_seconds=settle_seconds)
    finally:
        await db.dispose()


def start(cfg: Config) -> tuple[ChaosStack, PgProxy]:
    stack = ChaosStack(
        day_seconds=cfg.day_seconds,
        worktree=True,
        extra_env={"COOPFLOW_SWEEP_SECONDS": "2", "COOPFLOW_ACTION_TIMEOUT_SECONDS": "5"},
    )
    return stack, PgProxy()


def bring_up(stack: ChaosStack, proxy: PgProxy, cfg: Config) -> None:
    """Temporal starts while the database is made (migrated straight, not through the proxy)."""
    stack.export_head()
    stack.spawn_temporal()
    stack.create_database()
    policy = {**CHAOS_POLICY, "step_timeout_seconds": cfg.step_timeout}
    stack.python("import json\n" + PREPARE, json.dumps(policy), STAFF_PASSWORD)
    stack.wait_temporal()
    proxy.start()
    stack.proxy = proxy
    stack.start_worker()
    stack.start_api()


def report(cfg: Config, out: Outcome) -> list[str]:
    lines = [
        f"chaos campaign (bench/chaos.py): seed {cfg.seed}, {cfg.n} missions "
        f"({', '.join(f'{p} {n}' for p, n in sorted(Counter(out.missions.values()).items()))}),"
        f" {out.stray_lines} stray bank lines, business day {cfg.day_seconds} s",
        "faults injected (seconds after the campaign's start):",
    ]
    for f in out.faults:
        lines.append(f"  {f.at:7.2f} s  {f.kind:<18} back at {f.done_at:7.2f} s")
    finals = Counter(out.final.values())
    lines.append(
        "missions by final stage: " + ", ".join(f"{s} {n}" for s, n in sorted(finals.items()))
    )
    if os.environ.get("CHAOS_VERBOSE") == "1":
        for mission_id, marks in sorted(out.marks.items()):
            steps = ", ".join(f"{step} {at}" for step, at in marks)
            lines.append(f"  mission {mission_id} ({out.missions[mission_id]}): {steps}")
    if out.retries:
        lines.append(
            "driver retries (503s, lost connections): "
            + ", ".join(f"{k} {v}" for k, v in sorted(out.retries.items()))
        )
    if out.revived:
        lines.append(
            "exited by themselves and restarted (as docker's restart policy would): "
            + ", ".join(f"{name} at {at} s (exit code {code})" for name, at, code in out.revived)
        )
    if out.ops_retries:
        lines.append(
            "ops retries of steps that waited for them: "
            + ", ".join(f"{k} {v}" for k, v in sorted(out.ops_retries.items()))
        )
    for kind, reply in sorted(out.refusals.items()):
        lines.append(f"  last {kind}: {reply}")
    for err in out.errors:
        lines.append(f"DRIVER ERROR: {err}")
    load = ", ".join(f"{x:.2f}" for x in out.load)
    lines.append(
        "phases (s after the campaign's start): "
        + ", ".join(f"{k} {v:.1f}" for k, v in out.phases.items())
    )
    if out.business_days:
        first, last = out.business_days
        lines.append(
            f"business clock: {first} to {last} ({(last - first).days} days of {cfg.day_seconds} s)"
        )
    lines.append(f"duration {out.duration:.1f} s, load average {load} on {os.cpu_count()} cores")
    if out.report is not None:
        book = ", ".join(f"{s} {n}" for s, n in sorted(out.report.by_stage.items()))
        lines.append(f"the book: {out.report.missions} missions ({book})")
    if out.report is not None and out.extra_missions:
        lines.append(
            f"missions the driver did not create (a create retried after a lost reply): "
            f"{out.extra_missions}"
        )
    lines.append("invariants:")
    if out.report is not None:
        lines += [f"  {line}" for line in out.report.lines()]
    verdict_202 = "BROKEN" if out.lost_actions else "held"
    lines.append(
        f"  {'202':<6} {'every action answered 202 (accepted) is recorded':<52} {verdict_202}"
        f" ({out.accepted} answered 202)"
    )
    lines += [f"         - {lost}" for lost in out.lost_actions]
    verdict = (
        "ALL HELD"
        if out.ok
        else "BROKEN: "
        + ", ".join(
            (out.report.broken_codes() if out.report else []) + (["driver"] if out.errors else [])
        )
    )
    lines.append(verdict)
    return lines


def run(
    cfg: Config, after: Callable[[ChaosStack, Any, Outcome], Awaitable[None]] | None = None
) -> Outcome:
    """The whole campaign: its own stack up, the missions and faults, the check, all stopped."""
    stack, proxy = start(cfg)
    with running(stack):
        try:
            t = time.monotonic()
            bring_up(stack, proxy, cfg)
            up = time.monotonic() - t
            out = asyncio.run(campaign(stack, proxy, cfg, after))
            out.phases = {"stack up (before)": up, **out.phases}
            return out
        finally:
            proxy.stop()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--n", type=int, default=40, help="missions")
    p.add_argument("--worker-kills", type=int, default=3)
    p.add_argument("--temporal-kills", type=int, default=2)
    p.add_argument("--pg-cuts", type=int, default=2)
    # The rate tables end on 2027-12-31 (migrations 0004, 0021): a run must stay within about
    # 380 business days, 9.5 min at 1.5 s a day.
    p.add_argument("--day-seconds", type=float, default=1.5)
    p.add_argument("--window", type=float, default=0.0, help="seconds the faults spread over")
    p.add_argument("--concurrency", type=int, default=0, help="missions at once (0: all)")
    p.add_argument(
        "--spread", type=float, default=-1.0, help="seconds the arrivals spread over (2 s each)"
    )
    p.add_argument("--step-timeout", type=float, default=60.0, help="activity timeout, seconds")
    args = p.parse_args(argv)
    cfg = Config(
        seed=args.seed,
        n=args.n,
        worker_kills=args.worker_kills,
        temporal_kills=args.temporal_kills,
        pg_cuts=args.pg_cuts,
        day_seconds=args.day_seconds,
        window=args.window,
        concurrency=args.concurrency,
        step_timeout=args.step_timeout,
        spread=args.spread,
    )
    try:
        out = run(cfg)
    except Exception as err:
        print(f"chaos campaign could not run: {type(err).__name__}: {err}", file=sys.stderr)
        return 2
    lines = report(cfg, out)
    print("\n".join(lines))
    append_result(
        "chaos",
        {
            "held": out.ok,
            "broken": out.report.broken_codes() if out.report else None,
            "final": dict(Counter(out.final.values())),
            "faults": [(f.kind, f.at, f.down) for f in out.faults],
            "duration_s": round(out.duration, 1),
            "driver_errors": out.errors,
            "accepted_202": out.accepted,
            "lost_actions": out.lost_actions,
            "extra_missions": out.extra_missions,
        },
        vars(args),
    )
    return 0 if out.ok else 1


if __name__ == "__main__":
    sys.exit(main())
