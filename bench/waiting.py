"""Many waiting missions: N missions (issue 7: 20,000) waiting on their long contract timer.

Loads N missions in the contract stage with COPY, starts their workflows through the
application's own starter (what the worker's sweep does, with 100 starts in flight), and lets them
wait for the signature deadline (the policy's confirmation days). Prints the Temporal server's,
the worker's and its render process's RSS and CPU while everything waits, then the time it takes
to resume all of them when their timers fire together (each is cancelled for want of a signature:
one timer, two activities).

Start documents are pre-loaded. Each workflow first runs `prepare_documents` (order form,
contract, payslip estimate; ~0.5 s of CPU each with WeasyPrint), which would make 20,000 starts
take hours here. A mission that exists in the book already has them, so the loader COPY-loads
their `documents` rows too (same keys, kinds, template versions as `ensure_pdf`; the bytes are
rendered once per kind by the real renderer, from mission 1's data, and shared, with their true
SHA-256): the activity finds them and renders nothing. The first RENDERED missions (default 10)
are left without them, so the worker really renders theirs (its render process starts, and is
measured); the run checks that exactly those 3 x RENDERED rows were added. Render cost is what
`lifecycle.py` measures.

    .venv/bin/python bench/waiting.py [--n 2000] [--idle 60] [--quick] [--rev COMMIT | --worktree]
"""

from __future__ import annotations

import argparse
import base64
import json
import math
import re
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psutil
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
# Real seconds one mission takes from its start to its first wait, on this 2-core machine (its
# documents pre-loaded): places the timers after every mission settled. --day-seconds overrides.
SETTLE_GUESS = 0.09
QUIET_CPU = 0.10  # the worker is settled below 10 % of a core
RENDERED = 10  # missions left without pre-loaded documents: the worker renders theirs

# Renders the start documents once, with the exported commit's own code and data (mission 1's),
# and writes what `ensure_pdf` would store for each kind, to be COPY-loaded for every mission.
RENDER = """
import asyncio, base64, json, sys
from datetime import date
from core.db import get_database
from documents import render
from services import documents
from services.document_data import document_data
from workflows.mission import START_DOCUMENTS

async def main(mission_id, on, out):
    db = get_database()
    made = []
    async with db.session() as session:
        for kind in START_DOCUMENTS:
            data = await document_data(session, mission_id, kind, business_date=on)
            content = render.render_pdf(kind, data.data)
            made.append({
                "kind": kind,
                "key": documents.document_key(kind),
                "audience": data.audience,
                "language": data.language,
                "filename": render.filename(kind, data.data),
                "media_type": documents.PDF,
                "template_version": render.TEMPLATE_VERSIONS[kind],
                "sha256": documents.sha256(content),
                "content": base64.b64encode(content).decode(),
            })
    await db.dispose()
    with open(out, "w") as f:
        json.dump(made, f)

asyncio.run(main(int(sys.argv[1]), date.fromisoformat(sys.argv[2]), sys.argv[3]))
"""
DOCUMENT_COLS = (
    "mission_id",
    "kind",
    "key",
    "audience",
    "language",
    "filename",
    "media_type",
    "template_version",
    "sha256",
    "size",
    "content",
    "created_at",
)


class WaitingStack(Stack):
    """The stack, with the worker's render process (and multiprocessing's tracker) as roles."""

    def pids(self) -> dict[str, list[int]]:
        out = super().pids()
        worker = self.procs.get("worker")
        out["render"], out["mp_tracker"] = [], []
        if worker is not None and worker.poll() is None:
            try:
                children = psutil.Process(worker.pid).children(recursive=True)
            except psutil.Error:
                children = []
            for child in children:
                try:
                    cmd = " ".join(child.cmdline())
                except psutil.Error:
                    continue
                role = "mp_tracker" if "resource_tracker" in cmd else "render"
                out[role].append(child.pid)
        return out


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


def load_missions(stack: Stack, n: int, members: int = 200) -> date:
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
    return today


def load_start_documents(stack: Stack, n: int, today: date, rendered: int) -> dict[str, Any]:
    """COPY the start documents of missions rendered+1..n, as `prepare_documents` would store
    them: rendered once per kind (mission 1's data, the commit's renderer), bytes shared."""
    out = stack.tmp / "start_documents.json"
    t0 = time.perf_counter()
    stack.python(RENDER, "1", today.isoformat(), str(out))
    render_s = time.perf_counter() - t0
    made = json.loads(out.read_text())
    now = datetime.now(UTC)
    t0 = time.perf_counter()
    with psycopg.connect(stack.psycopg_dsn) as conn, conn.cursor() as cur:
        with cur.copy(f"COPY documents ({', '.join(DOCUMENT_COLS)}) FROM STDIN") as cp:
            for doc in made:
                doc["bytes"] = base64.b64decode(doc["content"])
            for m in range(rendered + 1, n + 1):
                for doc in made:
                    content = doc["bytes"]
                    cp.write_row(
                        (
                            m,
                            doc["kind"],
                            doc["key"],
                            doc["audience"],
                            doc["language"],
                            # the file name carries the mission's reference (OF-000001 …)
                            doc["filename"].replace("000001", f"{m:06d}"),
                            doc["media_type"],
                            doc["template_version"],
                            doc["sha256"],
                            len(content),
                            content,
                            now,
                        )
                    )
        conn.commit()
        conn.autocommit = True
        cur.execute("ANALYZE documents")
    return {
        "kinds": [d["kind"] for d in made],
        "bytes_per_mission": sum(len(d["bytes"]) for d in made),
        "render_s": render_s,
        "copy_s": time.perf_counter() - t0,
    }


def document_counts(stack: Stack, rendered: int) -> dict[str, int]:
    """Rows in `documents`: of the missions left to render, and of the pre-loaded ones."""
    with psycopg.connect(stack.psycopg_dsn) as conn:
        row = conn.execute(
            "SELECT count(*) FILTER (WHERE mission_id <= %s),"
            " count(*) FILTER (WHERE mission_id > %s), count(*) FROM documents",
            (rendered, rendered),
        ).fetchone()
    assert row is not None
    return {"rendered_missions": row[0], "preloaded_missions": row[1], "total": row[2]}


def worker_cache_size(stack: Stack) -> int | None:
    """The sticky cache size in the code under test's worker.py (None if not found)."""
    found = re.search(r"^CACHED_WORKFLOWS = (\d+)", (stack.code / "worker.py").read_text(), re.M)
    if found is None:
        found = re.search(r"max_cached_workflows=(\d+)", (stack.code / "worker.py").read_text())
    return int(found.group(1)) if found else None


def maps_weasyprint(pid: int) -> bool | None:
    """Whether a process has WeasyPrint's Pango loaded (its shared libraries are mapped)."""
    try:
        maps = Path(f"/proc/{pid}/maps").read_text()
    except OSError:
        return None
    return "libpango" in maps


def scalar(stack: Stack, sql: str) -> Any:
    with psycopg.connect(stack.psycopg_dsn) as conn:
        row = conn.execute(sql).fetchone()
    return row[0] if row else None


def mb(value: float) -> str:
    return f"{value / 2**20:.0f} MB"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--n", type=int, default=2_000, help="waiting missions (default 2000; the issue's: 20000)"
    )
    parser.add_argument("--idle", type=float, default=60.0, help="seconds measured while idle")
    parser.add_argument("--concurrency", type=int, default=100, help="workflow starts in flight")
    parser.add_argument(
        "--day-seconds", type=float, default=0.0, help="business day length (default: computed)"
    )
    parser.add_argument(
        "--rendered",
        type=int,
        default=RENDERED,
        help=f"missions whose start documents the worker renders (default {RENDERED})",
    )
    parser.add_argument(
        "--cached-workflows",
        type=int,
        default=0,
        help="the worker's sticky cache size (COOPFLOW_MAX_CACHED_WORKFLOWS; default: worker.py's)",
    )
    parser.add_argument(
        "--resume-timeout", type=float, default=0.0, help="give up resuming after (default: n/5 s)"
    )
    parser.add_argument("--quick", action="store_true", help="300 missions (< 2 min)")
    add_code_flags(parser)
    parser.add_argument("--no-record", action="store_true", help="do not append to bench/results")
    args = parser.parse_args(argv)
    if args.quick:
        args.n, args.idle = 300, 15.0
    args.rendered = min(args.rendered, args.n)
    confirmation_days = 14  # the seeded policy's; read back below
    # every timer fires at the same instant: the start of business day created_on + 14
    day = args.day_seconds or max(1.0, (args.n * SETTLE_GUESS + args.idle + 60) / confirmation_days)
    extra_env = {}
    if args.cached_workflows:
        extra_env["COOPFLOW_MAX_CACHED_WORKFLOWS"] = str(args.cached_workflows)
    stack = WaitingStack(day_seconds=day, worktree=args.worktree, rev=args.rev, extra_env=extra_env)
    print(f"waiting: {args.n} missions, {day:.1f} s per business day", flush=True)
    figures: dict[str, Any] = {
        "missions": args.n,
        "day_seconds": day,
        "start_documents": "preloaded",
        "rendered_missions": args.rendered,
        "cached_workflows": args.cached_workflows or "worker default",
    }
    with running(stack):
        stack.export_head()
        figures["cache_size"] = args.cached_workflows or worker_cache_size(stack)
        stack.start_temporal()
        stack.create_database()
        days = scalar(
            stack,
            "SELECT (value->>'confirmation_days')::int FROM parameters "
            "WHERE key = 'policy.lifecycle' ORDER BY valid_from DESC LIMIT 1",
        )
        if days != confirmation_days:
            raise SystemExit(f"the policy's confirmation days are {days}, expected 14")
        # The worker first, on an empty book: its crash-repair sweep (which runs at start, then
        # hourly here) would otherwise find all N missions "left unstarted" and start them one by
        # one beside the starter, holding N workflow inputs and keeping the worker busy for an
        # hour at 20,000. The starter below does the sweep's job, 100 starts in flight.
        stack.start_worker()
        time.sleep(5.0)  # connected and polling; its sweep found nothing to start
        t0 = time.perf_counter()
        today = load_missions(stack, args.n)
        figures["load_missions_s"] = time.perf_counter() - t0
        figures["preload"] = load_start_documents(stack, args.n, today, args.rendered)
        before_docs = document_counts(stack, args.rendered)
        figures["documents_before"] = before_docs
        print(f"loaded: {args.n} missions, start documents {before_docs}", flush=True)
        with Sampler(stack, interval=1.0) as sampler:
            sampler.sample()
            figures["empty_worker_rss_mb"] = sampler.last_rss.get("worker", 0) / 2**20
            t0 = time.perf_counter()
            starter = stack.spawn("starter", [sys.executable, "-c", START, str(args.concurrency)])
            bar = tqdm(total=args.n, desc="starting", unit="workflow", mininterval=5.0)
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
            print(f"started {args.n} in {start_s:.0f} s", flush=True)
            clock = read_clock(stack)
            due = clock.anchor_real + timedelta(seconds=confirmation_days * clock.day_seconds)
            # started is not settled: wait until each workflow ran its first steps (the worker
            # quiet for two samples running)
            last = sampler.totals().get("worker", 0.0)
            quiet = 0
            while (due - datetime.now(UTC)).total_seconds() > 10 and quiet < 2:
                time.sleep(5.0)
                sampler.sample()
                now_cpu = sampler.totals().get("worker", 0.0)
                busy = (now_cpu - last) / 5.0
                quiet = quiet + 1 if busy < QUIET_CPU else 0
                last = now_cpu
                print(
                    f"settling: worker {100 * busy:.0f} % of a core, "
                    f"{(due - datetime.now(UTC)).total_seconds():.0f} s until the timers",
                    flush=True,
                )
            figures["settle_s"] = time.perf_counter() - t0
            worker_log = (stack.tmp / "worker.log").read_text(errors="replace")
            figures["started_by_worker_sweep"] = worker_log.count("left unstarted")
            after_docs = document_counts(stack, args.rendered)
            figures["documents_after_start"] = after_docs
            figures["rendered_again"] = (
                after_docs["preloaded_missions"] - (before_docs["preloaded_missions"])
            )
            print(f"settled after {figures['settle_s']:.0f} s; documents {after_docs}", flush=True)
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
                alive = set(stack.pids())
                figures["idle_window_s"] = window
                figures["idle_cpu_percent"] = {
                    r: 100 * v / window for r, v in idle_cpu.items() if r in alive
                }
                figures["idle_rss_mb"] = {
                    r: v / 2**20 for r, v in sampler.last_rss.items() if r in alive
                }
                pids = stack.pids()
                figures["weasyprint_loaded"] = {
                    "worker": maps_weasyprint(stack.procs["worker"].pid),
                    "render": any(maps_weasyprint(p) for p in pids.get("render", [])),
                }
            else:
                print("the timers came due before all workflows started: raise --day-seconds")
            # resume: every timer fires at `due`; each mission is then cancelled
            wait = (due - datetime.now(UTC)).total_seconds()
            print(f"idle measured; the timers fire in {max(wait, 0):.0f} s", flush=True)
            if wait > 0:
                time.sleep(wait)
            sampler.sample()
            before = sampler.totals()
            sampler.reset_peaks()
            bar = tqdm(total=args.n, desc="resuming", unit="mission", mininterval=5.0)
            done = 0
            t_due = time.perf_counter()
            deadline = t_due + (args.resume_timeout or max(600.0, args.n / 5))
            next_print = t_due + 30.0
            while done < args.n and time.perf_counter() < deadline:
                time.sleep(1.0)
                stack.check_alive()
                now_done = scalar(stack, "SELECT count(*) FROM missions WHERE stage = 'cancelled'")
                bar.update(now_done - done)
                done = now_done
                if time.perf_counter() >= next_print:
                    next_print += 30.0
                    elapsed = time.perf_counter() - t_due
                    print(f"resuming: {done}/{args.n} after {elapsed:.0f} s", flush=True)
            bar.close()
            resume_s = time.perf_counter() - t_due
            resume_cpu = diff(sampler.totals(), before)
            figures["resumed"] = done
            figures["resume_s"] = resume_s
            figures["resume_per_s"] = done / resume_s if resume_s else 0.0
            figures["resume_cpu_s"] = resume_cpu
            alive = set(stack.pids())
            figures["resume_peak_rss_mb"] = {
                r: v / 2**20 for r, v in sampler.peak_rss.items() if r in alive
            }
            figures["documents_after_resume"] = document_counts(stack, args.rendered)
    rows = report(figures)
    print_table(f"{args.n} waiting missions", rows, stack.commit)
    if not args.no_record:
        append_result("waiting", figures, vars(args), stack.commit)
    return 0


def report(f: dict[str, Any]) -> list[Row]:
    pre = f["preload"]
    before, after = f["documents_before"], f["documents_after_start"]
    rows = [
        Row(
            "start documents",
            f"PRE-LOADED for {f['missions'] - f['rendered_missions']} missions "
            f"({', '.join(pre['kinds'])}: {pre['bytes_per_mission'] / 1024:.0f} KiB each, "
            f"rendered once, COPY {pre['copy_s']:.0f} s); render cost: see lifecycle.py",
        ),
        Row(
            "rendered by the worker",
            f"{after['rendered_missions'] - before['rendered_missions']} documents for the "
            f"{f['rendered_missions']} missions left without; pre-loaded missions rendered again: "
            f"{f['rendered_again']}",
            "0 again",
            f["rendered_again"] == 0,
        ),
        Row(
            "workflows started",
            f"{f['missions']} in {f['start_s']:.0f} s ({f['starts_per_s']:.0f}/s); all waiting "
            f"after {f['settle_s']:.0f} s (by the worker's sweep: "
            f"{f.get('started_by_worker_sweep', '?')})",
        ),
    ]
    if f.get("idle_rss_mb"):
        rss = f["idle_rss_mb"]
        cpu = f["idle_cpu_percent"]
        worker = rss.get("worker", math.nan)
        cached = min(f["missions"], f.get("cache_size") or f["missions"])
        per_wf = (worker - f["empty_worker_rss_mb"]) * 1024 / cached
        loaded = f.get("weasyprint_loaded", {})
        rows += [
            Row(
                "worker RSS while idle (main process)",
                f"{worker:.0f} MB ({f['empty_worker_rss_mb']:.0f} MB before any workflow: "
                f"{per_wf:.0f} KiB per cached workflow; cache {f.get('cache_size')}; "
                f"WeasyPrint loaded: {loaded.get('worker')})",
                f"< {WORKER_RSS_TARGET_MB} MB",
                worker < WORKER_RSS_TARGET_MB,
            ),
            Row(
                "its render process while idle",
                f"{rss.get('render', 0):.0f} MB (WeasyPrint loaded: {loaded.get('render')}); "
                f"multiprocessing tracker {rss.get('mp_tracker', 0):.0f} MB",
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
        Row("peak RSS while resuming", ", ".join(f"{r} {v:.0f} MB" for r, v in peak.items() if v))
    )
    cpu = f.get("resume_cpu_s", {})
    rows.append(Row("CPU while resuming", ", ".join(f"{r} {v:.1f} s" for r, v in cpu.items() if v)))
    return rows


if __name__ == "__main__":
    sys.exit(main())
