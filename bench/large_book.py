"""A large book: 100,000 missions in every stage with ~1,000,000 ledger lines, bulk-loaded with
COPY into a throwaway PostgreSQL database; then p50/p95/p99 of every read endpoint and console page
that exists, the CSV export of 10,000 rows, and POST /api/missions under 50 concurrent clients.

Pages and endpoints come from the table ENDPOINTS below; one the application does not have (yet)
is reported "not built yet" and skipped. Every query over 50 ms is caught by PostgreSQL's
auto_explain (enabled for this database only) and its EXPLAIN (ANALYZE, BUFFERS) printed.

    .venv/bin/python bench/large_book.py [--missions 100000] [--requests 50] [--quick]
                                         [--rev COMMIT | --worktree]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import re
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx
from tqdm import tqdm

from bench.book import copy as copy_book
from bench.book import generate
from bench.common import Row, append_result, ms, percentile, print_table
from bench.stack import PG, Stack, add_code_flags, running, watched

READ_TARGET = 0.100  # p95, every page and read endpoint
POST_TARGET = 0.150  # p95 of POST /api/missions at 50 concurrent clients
CSV_TARGET = 2.0  # the CSV export of 10,000 rows
SLOW_QUERY_MS = 50
STAFF_PASSWORD = "bench staff password"
ADVISORS = 20
PG_LOG = Path("/var/log/postgresql/postgresql-15-main.log")


@dataclass(frozen=True)
class Endpoint:
    """What to measure: `route` exactly as the application declares it; {names} are filled in."""

    name: str
    route: str
    who: str  # "ops" | "advisor": an API token, or a console session for pages
    query: str = ""
    page: bool = False
    target: float = READ_TARGET


ENDPOINTS = [
    Endpoint(
        "advisor pipeline + ageing + fund exposure (console)", "/console", "advisor", page=True
    ),
    Endpoint("ops dashboard: pipeline, ageing, fund exposure", "/console", "ops", page=True),
    Endpoint(
        "mission list page, filtered", "/console/missions", "ops", "stage=invoiced", page=True
    ),
    Endpoint(
        "mission list page, advisor, overdue",
        "/console/missions",
        "advisor",
        "overdue_min_days=1",
        page=True,
    ),
    Endpoint("mission page", "/console/missions/{mission_id}", "ops", page=True),
    Endpoint(
        "CSV export of the dunning list (10,000 rows in the full book)",
        "/console/missions.csv",
        "ops",
        "stage=dunning",
        page=True,
        target=CSV_TARGET,
    ),
    Endpoint("ageing report page", "/console/ageing", "ops", page=True),
    Endpoint("advisor member list page", "/advisor/members", "advisor", page=True),
    Endpoint("ops console", "/console/ops", "ops", page=True),
    Endpoint("GET /api/missions?stage=invoiced", "/api/missions", "ops", "stage=invoiced"),
    Endpoint("GET /api/missions?member_id=", "/api/missions", "ops", "member_id={member_id}"),
    Endpoint("GET /api/missions?client_id=", "/api/missions", "ops", "client_id={client_id}"),
    Endpoint(
        "GET /api/missions?needs_attention=true", "/api/missions", "ops", "needs_attention=true"
    ),
    Endpoint("GET /api/missions, advisor's own", "/api/missions", "advisor", "stage=dunning"),
    Endpoint("GET /api/missions/{id}", "/api/missions/{mission_id}", "ops"),
    Endpoint("GET /api/missions/{id}/ledger", "/api/missions/{mission_id}/ledger", "ops"),
    Endpoint("GET /api/missions/{id}/documents", "/api/missions/{mission_id}/documents", "ops"),
    Endpoint("GET /api/invoices/{id}", "/api/invoices/{invoice_id}", "ops"),
    Endpoint("GET /api/ledger/balances", "/api/ledger/balances", "ops"),
    Endpoint("GET /api/guarantee-fund (fund exposure)", "/api/guarantee-fund", "ops"),
    Endpoint("GET /api/payments?matched=false", "/api/payments", "ops", "matched=false"),
    Endpoint("GET /api/outbox?mission_id=", "/api/outbox", "ops", "mission_id={mission_id}"),
    Endpoint("GET /api/clients", "/api/clients", "ops"),
    Endpoint("GET /api/ops/stuck", "/api/ops/stuck", "ops"),
]

# Which of these GET paths does the application route? (asks its router, as a request would)
ROUTES = """
import json, sys
from starlette.routing import Match
from api.app import create_app

app = create_app()

def routed(path):
    scope = {"type": "http", "path": path, "method": "GET", "root_path": "", "headers": [],
             "query_string": b""}
    return any(route.matches(scope)[0] == Match.FULL for route in app.routes)

print(json.dumps([p for p in json.loads(sys.argv[1]) if routed(p)]))
"""

USERS = """
import asyncio, sys
from core.db import get_database
from services.people import create_staff_user

async def main(password, advisors):
    db = get_database()
    async with db.session() as session:
        await create_staff_user(session, "ops@book.example", password, "ops")
        for i in range(1, advisors + 1):
            await create_staff_user(session, f"advisor{i}@book.example", password, "advisor")
    await db.dispose()

asyncio.run(main(sys.argv[1], int(sys.argv[2])))
"""


@dataclass
class Measured:
    endpoint: Endpoint
    latencies: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    skipped: str = ""
    size: int = 0
    error: str = ""

    def p(self, q: float) -> float:
        return percentile(self.latencies, q)


def routes(stack: Stack) -> set[str]:
    """The ENDPOINTS routes the application has (each probed with its ids set to 1)."""
    probes = {re.sub(r"\{\w+\}", "1", e.route): e.route for e in ENDPOINTS}
    out = subprocess.run(
        [sys.executable, "-c", ROUTES, json.dumps(sorted(probes))],
        env=stack.env(),
        cwd=stack.code,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return {probes[p] for p in json.loads(out.strip().splitlines()[-1])}


def enable_auto_explain(stack: Stack) -> None:
    """Every statement of this database over SLOW_QUERY_MS goes to the server log with its plan."""
    settings = {
        "session_preload_libraries": "auto_explain",
        "auto_explain.log_min_duration": f"{SLOW_QUERY_MS}ms",
        "auto_explain.log_analyze": "on",
        "auto_explain.log_buffers": "on",
        "auto_explain.log_nested_statements": "on",
    }
    for key, value in settings.items():
        subprocess.run(
            ["psql", *PG, "-q", "-c", f"ALTER DATABASE {stack.db_name} SET {key} = '{value}'"],
            check=True,
        )


def slow_queries(db_name: str, offset: int) -> list[tuple[float, str]]:
    """(ms, plan) logged by auto_explain for this database since `offset` in the server log."""
    try:
        with PG_LOG.open(errors="replace") as log:
            log.seek(offset)
            text = log.read()
    except OSError:
        return []
    stamp = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d")
    found: list[tuple[float, str]] = []
    current: list[str] | None = None
    duration = 0.0
    for line in text.splitlines():
        if stamp.match(line):
            if current is not None:
                found.append((duration, "\n".join(current)))
                current = None
            m = re.search(r"duration: ([\d.]+) ms\s+plan:", line)
            if m and f"@{db_name} " in line:
                duration = float(m.group(1))
                current = []
        elif current is not None:
            current.append(line.rstrip())
    if current is not None:
        found.append((duration, "\n".join(current)))
    return found


def log_size() -> int:
    try:
        return PG_LOG.stat().st_size
    except OSError:
        return 0


class Ids:
    """Random ids of the loaded book, to fill routes' {names}."""

    def __init__(self, missions: int, members: int, clients: int, invoices: int) -> None:
        self.limits = {
            "mission_id": missions,
            "member_id": members,
            "client_id": clients,
            "invoice_id": invoices,
        }
        self.rnd = random.Random(7)

    def fill(self, text: str) -> str:
        for name, top in self.limits.items():
            text = text.replace("{" + name + "}", str(self.rnd.randint(1, top)))
        return text


async def api_token(http: httpx.AsyncClient, email: str) -> dict[str, str]:
    r = await http.post("/api/auth/token", data={"username": email, "password": STAFF_PASSWORD})
    r.raise_for_status()
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


async def console_login(base: str, email: str) -> httpx.AsyncClient | None:
    """A browser-like client logged in to the consoles (session cookie), or None if it cannot."""
    http = httpx.AsyncClient(base_url=base, timeout=60, follow_redirects=False)
    try:
        page = await http.get("/login")
        m = re.search(r'name="csrf_token"\s+value="([^"]+)"', page.text)
        form = {"email": email, "password": STAFF_PASSWORD, "next": "/console"}
        if m:
            form["csrf_token"] = m.group(1)
        r = await http.post("/login", data=form, headers={"Origin": base})
        if r.status_code in (302, 303) and http.cookies:
            return http
    except httpx.HTTPError:
        pass
    await http.aclose()
    return None


async def measure(
    http: httpx.AsyncClient,
    headers: dict[str, str],
    endpoint: Endpoint,
    ids: Ids,
    requests: int,
) -> Measured:
    result = Measured(endpoint)
    for i in range(requests + 3):  # 3 warm-up requests, not counted
        url = ids.fill(endpoint.route) + ("?" + ids.fill(endpoint.query) if endpoint.query else "")
        t0 = time.perf_counter()
        r = await http.get(url, headers=headers)
        elapsed = time.perf_counter() - t0
        if i >= 3:
            result.latencies.append(elapsed)
            result.statuses[r.status_code] = result.statuses.get(r.status_code, 0) + 1
            result.size = max(result.size, len(r.content))
            if r.status_code >= 400 and not result.error:
                result.error = f"{url}: {r.text[:300]}"
    return result


async def post_load(
    http: httpx.AsyncClient,
    headers: dict[str, str],
    ids: Ids,
    clients: int,
    max_requests: int,
    max_seconds: float,
    client_owner: dict[int, int],
) -> Measured:
    """POST /api/missions from `clients` concurrent clients, bounded in requests and time."""
    result = Measured(Endpoint("POST /api/missions, 50 concurrent", "/api/missions", "ops"))
    today = datetime.now(UTC).date()
    sent = 0
    deadline = time.monotonic() + max_seconds
    bar = tqdm(total=max_requests, desc="POST /api/missions", unit="req", mininterval=1.0)

    async def client() -> None:
        nonlocal sent
        while sent < max_requests and time.monotonic() < deadline:
            sent += 1
            client_id = ids.rnd.randint(1, len(client_owner))
            start = today + timedelta(days=ids.rnd.randint(5, 60))
            body = {
                "member_id": client_owner[client_id],
                "client_id": client_id,
                "title": "Bench mission",
                "start_date": start.isoformat(),
                "end_date": (start + timedelta(days=4)).isoformat(),
                "amount_excl_vat": "1500.00",
                "vat_rate": "21",
                "contract_type": "ordinary",
            }
            t0 = time.perf_counter()
            r = await http.post("/api/missions", json=body, headers=headers)
            result.latencies.append(time.perf_counter() - t0)
            result.statuses[r.status_code] = result.statuses.get(r.status_code, 0) + 1
            if r.status_code != 201 and not result.error:
                result.error = r.text[:300]
            bar.update(1)

    t0 = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    bar.close()
    result.size = int(len(result.latencies) / (time.perf_counter() - t0))  # requests/s
    return result


async def start_floor(stack: Stack, clients: int, requests: int) -> Measured:
    """The floor under POST /api/missions: the same server starting bare workflows (a type no
    worker runs, on a queue nobody polls) from `clients` concurrent callers, nothing else."""
    from temporalio.client import Client

    result = Measured(Endpoint("floor: bare start_workflow", "", "ops"))
    client = await Client.connect(stack.temporal_address)
    queue = asyncio.Queue[int]()
    for i in range(requests):
        queue.put_nowait(i)

    async def caller() -> None:
        while not queue.empty():
            i = queue.get_nowait()
            t0 = time.perf_counter()
            await client.start_workflow(
                "BenchStartFloor", id=f"floor-{stack.db_name}-{i}", task_queue="bench-floor"
            )
            result.latencies.append(time.perf_counter() - t0)

    t0 = time.perf_counter()
    await asyncio.gather(*(caller() for _ in range(clients)))
    result.size = int(len(result.latencies) / (time.perf_counter() - t0))
    return result


async def bench(stack: Stack, args: argparse.Namespace, book_size: dict[str, int]) -> Any:
    available = routes(stack)
    ids = Ids(args.missions, args.members, args.clients, book_size.get("invoices", 1))
    limits = httpx.Limits(max_connections=args.concurrency + 10)
    results: list[Measured] = []
    async with httpx.AsyncClient(base_url=stack.api_base, timeout=120, limits=limits) as http:
        tokens = {
            "ops": await api_token(http, "ops@book.example"),
            "advisor": await api_token(http, "advisor1@book.example"),
        }
        consoles = {
            "ops": await console_login(stack.api_base, "ops@book.example"),
            "advisor": await console_login(stack.api_base, "advisor1@book.example"),
        }
        try:
            bar = tqdm(ENDPOINTS, desc="reads", unit="endpoint", mininterval=1.0)
            for endpoint in bar:
                if endpoint.route not in available:
                    results.append(Measured(endpoint, skipped="not built yet"))
                    continue
                if endpoint.page:
                    console = consoles[endpoint.who]
                    if console is None:
                        results.append(Measured(endpoint, skipped="console login failed"))
                        continue
                    n = max(3, args.requests // 5) if endpoint.target > 1 else args.requests
                    results.append(await measure(console, {}, endpoint, ids, n))
                else:
                    results.append(
                        await measure(http, tokens[endpoint.who], endpoint, ids, args.requests)
                    )
            owners = {c: 1 + (c - 1) % args.members for c in range(1, args.clients + 1)}
            post = await post_load(
                http,
                tokens["ops"],
                ids,
                args.concurrency,
                args.post_requests,
                args.post_seconds,
                owners,
            )
        finally:
            for console in consoles.values():
                if console is not None:
                    await console.aclose()
    floor = await start_floor(stack, args.concurrency, max(len(post.latencies), 50))
    return results, post, floor


def report(
    results: list[Measured], post: Measured, load: dict[str, Any], floor: Measured | None = None
) -> tuple[list[Row], dict[str, Any]]:
    rows = [
        Row(
            "book loaded",
            f"{load['missions']} missions, {load['ledger_entries']} ledger lines "
            f"in {load['seconds']:.0f} s",
        )
    ]
    figures: dict[str, Any] = {"load": load, "endpoints": {}}
    for m in results:
        e = m.endpoint
        if m.skipped:
            rows.append(Row(e.name, m.skipped))
            figures["endpoints"][e.name] = {"skipped": m.skipped}
            continue
        p95 = m.p(95)
        bad = {s: n for s, n in m.statuses.items() if s >= 400}
        text = f"{ms(m.p(50))} / {ms(p95)} / {ms(m.p(99))}"
        if bad:
            text += f"  (HTTP {bad})"
        target = f"p95 < {e.target * 1000:.0f} ms" if e.target < 1 else f"< {e.target:.0f} s"
        rows.append(Row(e.name, text, target, p95 < e.target and not bad))
        figures["endpoints"][e.name] = {
            "route": e.route,
            "p50_s": m.p(50),
            "p95_s": p95,
            "p99_s": m.p(99),
            "requests": len(m.latencies),
            "statuses": m.statuses,
            "max_bytes": m.size,
            "error": m.error,
        }
    p95 = post.p(95)
    bad = {s: n for s, n in post.statuses.items() if s != 201}
    text = f"{ms(post.p(50))} / {ms(p95)} / {ms(post.p(99))}, {post.size} req/s"
    if bad:
        text += f"  (HTTP {bad})"
    rows.append(Row(post.endpoint.name, text, "p95 < 150 ms", p95 < POST_TARGET and not bad))
    figures["post_missions"] = {
        "p50_s": post.p(50),
        "p95_s": p95,
        "p99_s": post.p(99),
        "requests": len(post.latencies),
        "requests_per_s": post.size,
        "statuses": post.statuses,
        "error": post.error,
    }
    if floor is not None:
        # Not a target: what the Temporal server alone allows, to read the POST figure against.
        text = f"{ms(floor.p(50))} / {ms(floor.p(95))} / {ms(floor.p(99))}, {floor.size} starts/s"
        rows.append(Row(f"  {floor.endpoint.name}, same server and clients", text))
        figures["start_floor"] = {
            "p50_s": floor.p(50),
            "p95_s": floor.p(95),
            "p99_s": floor.p(99),
            "starts": len(floor.latencies),
            "starts_per_s": floor.size,
        }
    for m in [*results, post]:
        if m.error:
            rows.append(Row(f"  first error of {m.endpoint.name}", m.error[:160]))
    return rows, figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--missions", type=int, default=100_000)
    parser.add_argument("--members", type=int, default=2_000)
    parser.add_argument("--clients", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=50, help="requests per read endpoint")
    parser.add_argument("--concurrency", type=int, default=50, help="POST clients at once")
    parser.add_argument("--post-requests", type=int, default=1000)
    parser.add_argument("--post-seconds", type=float, default=60.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--api-workers",
        type=int,
        default=1,
        help="uvicorn processes of the API (COOPFLOW_API_WORKERS; commits from 79e185c on)",
    )
    parser.add_argument(
        "--quick", action="store_true", help="20,000 missions, fewer requests (< 2 min)"
    )
    add_code_flags(parser)
    parser.add_argument("--no-record", action="store_true", help="do not append to bench/results")
    args = parser.parse_args(argv)
    if args.quick:
        args.missions, args.members, args.clients = 20_000, 400, 2_000
        args.requests, args.post_requests, args.post_seconds = 15, 200, 20.0
    # the real calendar: the book's dates are relative to today
    stack = Stack(
        day_seconds=86400.0,
        worktree=args.worktree,
        rev=args.rev,
        extra_env={"COOPFLOW_API_WORKERS": str(args.api_workers)},
    )
    print(f"large book: {args.missions} missions", flush=True)
    with running(stack):
        stack.export_head()
        stack.start_temporal()  # POST /api/missions starts workflows; no worker runs them
        stack.create_database()
        stack.python(USERS, STAFF_PASSWORD, str(ADVISORS))
        t0 = time.perf_counter()
        book = generate(
            args.missions, args.members, args.clients, list(range(2, 2 + ADVISORS)), args.seed
        )
        import psycopg

        total = sum(book.size.values())
        with (
            psycopg.connect(stack.psycopg_dsn) as conn,
            tqdm(total=total, desc="COPY", unit="row", mininterval=1.0) as bar,
        ):
            copy_book(conn, book, bar)
        load = {
            "seconds": time.perf_counter() - t0,
            "missions": args.missions,
            "ledger_entries": book.size.get("ledger_entries", 0),
            "rows": book.size,
            "stages": dict(book.stage_counts),
        }
        enable_auto_explain(stack)
        stack.start_api()
        offset = log_size()
        results, post, floor = asyncio.run(watched(stack, bench(stack, args, book.size)))
        plans = slow_queries(stack.db_name, offset)
    rows, figures = report(results, post, load, floor)
    figures["slow_queries"] = [
        {"count": count, "worst_ms": worst, "plan": plan[:3000]}
        for count, worst, plan in distinct_slow(plans)[:10]
    ]
    print_slow(plans)
    print_table("Large book: reads, CSV export and POST under load", rows, stack.commit)
    if not args.no_record:
        append_result("large_book", figures, vars(args), stack.commit)
    return 0


def distinct_slow(plans: list[tuple[float, str]]) -> list[tuple[int, float, str]]:
    """(times seen, worst ms, worst plan) per distinct statement, worst first."""
    seen: dict[str, tuple[int, float, str]] = {}
    for duration, plan in plans:
        m = re.search(r"Query Text: (.*)", plan)
        key = (m.group(1) if m else plan)[:200]
        count, worst, _ = seen.get(key, (0, 0.0, ""))
        if duration >= worst:
            seen[key] = (count + 1, duration, plan)
        else:
            seen[key] = (count + 1, worst, seen[key][2])
    return sorted(seen.values(), key=lambda v: -v[1])


def print_slow(plans: list[tuple[float, str]]) -> None:
    if not plans:
        print(f"\nno query over {SLOW_QUERY_MS} ms")
        return
    distinct = distinct_slow(plans)
    print(
        f"\n{len(plans)} statements over {SLOW_QUERY_MS} ms, {len(distinct)} distinct; worst first:"
    )
    for count, worst, plan in distinct[:8]:
        print(f"\n--- {count}x, worst {worst:.0f} ms (EXPLAIN ANALYZE, BUFFERS):\n{plan[:3000]}")


if __name__ == "__main__":
    sys.exit(main())
