"""Many waiting missions: N missions (issue 7: 20,000) waiting on their long contract timer.

Loads N missions in the contract stage with COPY, starts their workflows through the
application's own starter (what the worker's sweep does, with 100 starts in flight), and lets them
wait for the signature deadline (the policy's confirmation days). Started is not settled: each
workflow first runs its opening activities (the contract PDF), so the idle figures are taken once
the worker is quiet. Prints the Temporal server's and
the worker's RSS and CPU while everything waits, then the time it takes to resume all of them when
their timers fire together (each is cancelled for want of a signature: one timer, two activities).

    .venv/bin/python bench/waiting.py [--n 2000] [--idle 60] [--quick] [--rev COMMIT | --worktree]

The default is 2,000 so that `make bench` fits in about half an hour: each mission's first
activity renders its contract PDF (~0.5 s of worker CPU here), so 20,000 take hours to settle.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psycopg
from tqdm import tqdm

from bench.book import IBANS, Book, niss
from bench.book import copy as copy_book
from bench.common import Row, append_result, print_table
from bench.stack import Sampler, Stack, add_code_flags, diff, read_clock, running

WORKER_RSS_TARGET_MB = 500
MEMBER_COLS = (
    "name",
    "email",
    "iban",
    "national_number",
    "language",
    "advisor_user_id",
    "created_at",
)
# Real seconds one mission takes from its start to its first wait, on this 2-core machine (the
# first activity renders the contract PDF): places the timers after every mission settled.
SETTLE_GUESS = 0.6
QUIET_CPU = 0.10  # the worker is settled below 10 % of a core

START = """
import asyncio, sys
from core.db import get_database
from core.settings import get_settings
from core.temporal import connect
from services import missions
from services.clock import current_clock
from services.starter import start_mission_workflow

async def main(concurrency):
    settings = get_settings()
    db = get_database()
    client = await connect(settings)
    async with db.session() as session:
        pending = await missions.missions_without_workflow(session)
        clock = await current_clock(session, settings.day_seconds, settings.timezone)
        inputs = [await missions.workflow_input(session, m, clock) for m in pending]
    gate = asyncio.Semaphore(concurrency)

    async def one(inp):
        async with gate:
            await start_mission_workflow(client, db, inp, settings.task_queue)

    await asyncio.gather(*(one(inp) for inp in inputs))
    await db.dispose()

asyncio.run(main(int(sys.argv[1])))
"""


def load_missions(stack: Stack, n: int, members: int = 200) -> None:
    """N contract-stage missions created today (business), without their workflows yet."""
    today = datetime.now(ZoneInfo("Europe/Brussels")).date()
    now = datetime.now(UTC)
    book = Book(today)
    for i in range(1, members + 1):
        book.add(
            "members",
            (
                "name",
                "email",
                "iban",
                "national_number",
                "language",
                "advisor_user_id",
                "created_at",
            ),
            f"Member {i}",
            f"member{i}@wait.example",
            IBANS[i % 3],
            niss(i),
            "fr",
            None,
            now,
        )
        book.add(
            "clients",
            (
                "name",
                "email",
                "email_valid",
                "kind",
                "country",
                "address",
                "vat_number",
                "language",
                "owner_member_id",
                "created_at",
            ),
            f"Client {i}",
            f"client{i}@wait.example",
            True,
            "business",
            "BE",
            "Rue de la Loi 16, 1000 Bruxelles",
            "BE0403170701",
            "fr",
            i,
            now,
        )
    start = today + timedelta(days=60)
    for m in range(1, n + 1):
        owner = 1 + m % members
        book.add(
            "missions",
            (
                "member_id",
                "client_id",
                "title",
                "start_date",
                "end_date",
                "amount_excl_vat",
                "vat_rate",
                "stage",
                "needs_attention",
                "dunning_level",
                "created_on",
                "pay_date",
                "workflow_id",
                "created_at",
                "updated_at",
            ),
            owner,
            owner,
            f"Waiting mission {m}",
            start,
            start + timedelta(days=4),
            150_000,
            2100,
            "contract",
            False,
            0,
            today,
            start + timedelta(days=14),
            f"mission-{m}",
            now,
            now,
        )
    with psycopg.connect(stack.psycopg_dsn) as conn:
        copy_book(conn, book)


def scalar(stack: Stack, sql: str) -> Any:
    with psycopg.connect(stack.psycopg_dsn) as conn:
        row = conn.execute(sql).fetchone()
    return row[0] if row else None


def mb(value: float) -> str:
    return f"{value / 2**20:.0f} MB"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--n",
        type=int,
        default=2_000,
        help="waiting missions (default 2000; the issue's figure is --n 20000: ~3 h to settle)",
    )
    parser.add_argument("--idle", type=float, default=60.0, help="seconds measured while idle")
    parser.add_argument("--concurrency", type=int, default=100, help="workflow starts in flight")
    parser.add_argument(
        "--day-seconds", type=float, default=0.0, help="business day length (default: computed)"
    )
    parser.add_argument("--quick", action="store_true", help="300 missions (< 2 min)")
    add_code_flags(parser)
    parser.add_argument("--no-record", action="store_true", help="do not append to bench/results")
    args = parser.parse_args(argv)
    if args.quick:
        args.n, args.idle = 300, 15.0
    confirmation_days = 14  # the seeded policy's; read back below
    # every timer fires at the same instant: the start of business day created_on + 14
    day = args.day_seconds or max(1.0, (args.n * SETTLE_GUESS + args.idle + 60) / confirmation_days)
    stack = Stack(day_seconds=day, worktree=args.worktree, rev=args.rev)
    print(f"waiting: {args.n} missions, {day:.1f} s per business day", flush=True)
    figures: dict[str, Any] = {"missions": args.n, "day_seconds": day}
    with running(stack):
        stack.export_head()
        stack.start_temporal()
        stack.create_database()
        days = scalar(
            stack,
            "SELECT (value->>'confirmation_days')::int FROM parameters "
            "WHERE key = 'policy.lifecycle' ORDER BY valid_from DESC LIMIT 1",
        )
        if days != confirmation_days:
            raise SystemExit(f"the policy's confirmation days are {days}, expected 14")
        load_missions(stack, args.n)
        stack.start_worker()
        with Sampler(stack, interval=1.0) as sampler:
            t0 = time.perf_counter()
            starter = stack.spawn("starter", [sys.executable, "-c", START, str(args.concurrency)])
            bar = tqdm(total=args.n, desc="starting", unit="workflow", mininterval=1.0)
            started = 0
            while starter.poll() is None:
                time.sleep(1.0)
                if stack.procs["worker"].poll() is not None:
                    stack.check_alive()
                now_started = scalar(
                    stack, "SELECT count(*) FROM missions WHERE workflow_started_at IS NOT NULL"
                )
                bar.update(now_started - started)
                started = now_started
            bar.close()
            if starter.returncode != 0:
                raise RuntimeError(f"the starter failed:\n{stack.log_tail('starter')}")
            stack.procs.pop("starter")
            start_s = time.perf_counter() - t0
            figures["start_s"] = start_s
            figures["starts_per_s"] = args.n / start_s
            clock = read_clock(stack)
            due = clock.anchor_real + timedelta(seconds=confirmation_days * clock.day_seconds)
            # started is not settled: wait until each workflow ran its first steps (quiet worker)
            last = sampler.totals().get("worker", 0.0)
            while (due - datetime.now(UTC)).total_seconds() > 10:
                time.sleep(5.0)
                sampler.sample()
                now_cpu = sampler.totals().get("worker", 0.0)
                if (now_cpu - last) / 5.0 < QUIET_CPU:
                    break
                last = now_cpu
            figures["settle_s"] = time.perf_counter() - t0
            until_due = (due - datetime.now(UTC)).total_seconds()
            figures["idle_window_s"] = 0.0
            if until_due > 10:  # idle: nothing but timers pending
                window = min(args.idle, until_due - 5)
                sampler.sample()
                before = sampler.totals()
                sampler.reset_peaks()
                time.sleep(window)
                sampler.sample()
                idle_cpu = diff(sampler.totals(), before)
                figures["idle_window_s"] = window
                figures["idle_cpu_percent"] = {r: 100 * v / window for r, v in idle_cpu.items()}
                figures["idle_rss_mb"] = {r: v / 2**20 for r, v in sampler.last_rss.items()}
            else:
                print("the timers came due before all workflows started: raise --day-seconds")
            # resume: every timer fires at `due`; each mission is then cancelled
            wait = (due - datetime.now(UTC)).total_seconds()
            if wait > 0:
                time.sleep(wait)
            sampler.sample()
            before = sampler.totals()
            sampler.reset_peaks()
            bar = tqdm(total=args.n, desc="resuming", unit="mission", mininterval=1.0)
            done = 0
            t_due = time.perf_counter()
            deadline = t_due + max(600.0, args.n / 5)
            while done < args.n and time.perf_counter() < deadline:
                time.sleep(1.0)
                stack.check_alive()
                now_done = scalar(stack, "SELECT count(*) FROM missions WHERE stage = 'cancelled'")
                bar.update(now_done - done)
                done = now_done
            bar.close()
            resume_s = time.perf_counter() - t_due
            resume_cpu = diff(sampler.totals(), before)
            figures["resumed"] = done
            figures["resume_s"] = resume_s
            figures["resume_per_s"] = done / resume_s if resume_s else 0.0
            figures["resume_cpu_s"] = resume_cpu
            figures["resume_peak_rss_mb"] = {r: v / 2**20 for r, v in sampler.peak_rss.items()}
    rows = report(figures)
    print_table(f"{args.n} waiting missions", rows, stack.commit)
    if not args.no_record:
        append_result("waiting", figures, vars(args), stack.commit)
    return 0


def report(f: dict[str, Any]) -> list[Row]:
    rows = [
        Row(
            "workflows started",
            f"{f['missions']} in {f['start_s']:.0f} s ({f['starts_per_s']:.0f}/s); all waiting "
            f"after {f['settle_s']:.0f} s",
        )
    ]
    if f.get("idle_rss_mb"):
        rss = f["idle_rss_mb"]
        cpu = f["idle_cpu_percent"]
        worker = rss.get("worker", math.nan)
        rows += [
            Row(
                "worker RSS while idle",
                f"{worker:.0f} MB",
                f"< {WORKER_RSS_TARGET_MB} MB",
                worker < WORKER_RSS_TARGET_MB,
            ),
            Row("Temporal server RSS while idle", f"{rss.get('temporal', math.nan):.0f} MB"),
            Row(
                f"CPU while idle ({f['idle_window_s']:.0f} s window)",
                ", ".join(f"{r} {v:.1f} % of a core" for r, v in cpu.items()),
            ),
        ]
    resumed = f.get("resumed", 0)
    rows.append(
        Row(
            "resume all when the timers fire",
            f"{resumed}/{f['missions']} in {f.get('resume_s', math.nan):.1f} s "
            f"({f.get('resume_per_s', 0):.0f}/s)",
        )
    )
    peak = f.get("resume_peak_rss_mb", {})
    rows.append(
        Row("peak RSS while resuming", ", ".join(f"{r} {v:.0f} MB" for r, v in peak.items()))
    )
    cpu = f.get("resume_cpu_s", {})
    rows.append(Row("CPU while resuming", ", ".join(f"{r} {v:.1f} s" for r, v in cpu.items())))
    return rows


if __name__ == "__main__":
    sys.exit(main())
