"""The back office as separate processes, for benchmarks that read CPU and memory per process.

The code under test is the committed HEAD, exported (`git archive`) into a temp dir, so figures
name one commit even while the working tree is being edited; `worktree=True` runs the working
tree instead. A Temporal dev server (SQLite file in a temp dir, WAL), a throwaway PostgreSQL
database migrated with Alembic, the real worker (`coopflow worker`) and API (`coopflow api`) as
subprocesses, all on free loopback ports. `running(stack)`: whatever happens, every process it
started is stopped and the database dropped (BENCH_KEEP_LOGS=1 keeps the temp dir's logs).
"""

from __future__ import annotations

import math
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import psutil

from bench.common import ROOT, VENV_BIN, git_commit

T = TypeVar("T")
PG = ["-h", "127.0.0.1", "-p", "5432", "-U", "postgres"]
START_TIMEOUT = 90.0
STOP_GRACE = 10.0

# Step retries fast and a short ladder (as the lifecycle tests do): a data change, not code.
FAST_POLICY = {
    "step_max_attempts": 3,
    "step_retry_initial_seconds": 0.1,
    "step_retry_max_seconds": 0.5,
    "step_timeout_seconds": 30.0,
    "update_wait_seconds": 10.0,
    "advance_working_days": 3,
    # a loaded machine must not turn the happy path into another one: the signature deadline and
    # the work-report reminder stay far beyond the few business days the benchmark takes
    "confirmation_days": 60,
    "report_reminder_days": 30,
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Stack:
    """Ports, names and processes of one benchmark back office."""

    day_seconds: float = 1.0
    extra_env: dict[str, str] = field(default_factory=dict)
    tmp: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="coopflow-bench-")))
    db_name: str = field(default_factory=lambda: f"coopflow_bench_{secrets.token_hex(4)}")
    temporal_port: int = field(default_factory=free_port)
    api_port: int = field(default_factory=free_port)
    task_queue: str = field(default_factory=lambda: f"bench-missions-{secrets.token_hex(4)}")
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    db_created: bool = False
    worktree: bool = False
    rev: str = "HEAD"  # the commit to export and run, unless worktree
    code: Path = ROOT  # where the application's code is imported from

    resolved: str = ""

    @property
    def commit(self) -> str:
        """The commit the figures belong to (resolved once: HEAD may move during a run)."""
        if self.worktree:
            return git_commit()
        if self.resolved:
            return self.resolved
        self.resolved = subprocess.run(
            ["git", "rev-parse", "--short=12", self.rev],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        return self.resolved

    def export_head(self) -> None:
        """Put the committed HEAD's files in tmp/src: the code every process will run."""
        if self.worktree:
            return
        self.code = self.tmp / "src"
        self.code.mkdir()
        archive = subprocess.run(
            ["git", "archive", "--format=tar", self.commit],
            cwd=ROOT,
            capture_output=True,
            check=True,
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(self.code)], input=archive, check=True)

    def python(self, code: str, *args: str) -> None:
        """Run a snippet of the application's code (the exported commit) to completion."""
        subprocess.run(
            [sys.executable, "-c", code, *args], env=self.env(), cwd=self.code, check=True
        )

    @property
    def database_url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:5432/{self.db_name}"

    @property
    def psycopg_dsn(self) -> str:
        return f"postgresql://postgres@127.0.0.1:5432/{self.db_name}"

    @property
    def temporal_address(self) -> str:
        return f"127.0.0.1:{self.temporal_port}"

    @property
    def api_base(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            {
                "PYTHONPATH": os.pathsep.join(
                    p for p in (str(self.code), env.get("PYTHONPATH")) if p
                ),
                "COOPFLOW_ENV": "dev",
                "COOPFLOW_DATABASE_URL": self.database_url,
                "COOPFLOW_DAY_SECONDS": repr(self.day_seconds),
                "COOPFLOW_VAR_DIR": str(self.tmp),
                "COOPFLOW_TEMPORAL_ADDRESS": self.temporal_address,
                "COOPFLOW_TASK_QUEUE": self.task_queue,
                "COOPFLOW_API_PORT": str(self.api_port),
                "COOPFLOW_SWEEP_SECONDS": "3600",
            }
        )
        env.update(self.extra_env)
        return env

    # ---------------------------------------------------------------- processes

    def spawn(
        self,
        name: str,
        cmd: list[str],
        env: dict[str, str] | None = None,
        cwd: Path | None = None,
    ) -> subprocess.Popen[bytes]:
        log = open(self.tmp / f"{name}.log", "ab")  # noqa: SIM115 - closed with the process
        proc = subprocess.Popen(
            cmd,
            env=env or self.env(),
            cwd=cwd or self.code,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )
        log.close()
        self.procs[name] = proc
        return proc

    def log_tail(self, name: str, lines: int = 20) -> str:
        try:
            text = (self.tmp / f"{name}.log").read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def check_alive(self) -> None:
        for name, proc in self.procs.items():
            if proc.poll() is not None:
                raise RuntimeError(
                    f"{name} exited with code {proc.returncode}:\n{self.log_tail(name)}"
                )

    def start_temporal(self) -> None:
        self.spawn_temporal()
        self.wait_temporal()

    def spawn_temporal(self) -> None:
        """Start the dev server (on the same file and port again after a crash); does not wait.
        Processes are spawned from the main thread: PR_SET_PDEATHSIG follows the spawning
        thread, so a child spawned from a worker thread is stopped when that thread ends."""
        temporal = VENV_BIN / "temporal"
        self.spawn(
            "temporal",
            [
                str(temporal),
                "server",
                "start-dev",
                "--db-filename",
                str(self.tmp / "temporal.db"),
                "--sqlite-pragma",
                "journal_mode=WAL",
                "--sqlite-pragma",
                "synchronous=normal",
                "--ip",
                "127.0.0.1",
                "--port",
                str(self.temporal_port),
                "--http-port",
                str(free_port()),
                "--metrics-port",
                str(free_port()),
                "--headless",
                "--log-level",
                "warn",
            ],
        )

    def wait_temporal(self) -> None:
        """Until the dev server answers (blocking: may run in a thread)."""
        temporal = VENV_BIN / "temporal"
        describe = [
            str(temporal),
            "operator",
            "namespace",
            "describe",
            "--namespace",
            "default",
            "--address",
            self.temporal_address,
            "--command-timeout",
            "2s",
        ]
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            self.check_alive()
            done = subprocess.run(describe, capture_output=True, timeout=10).returncode == 0
            if done:
                return
            time.sleep(0.3)
        raise RuntimeError(f"the Temporal dev server was not ready:\n{self.log_tail('temporal')}")

    def create_database(self) -> None:
        subprocess.run(["createdb", *PG, self.db_name], check=True)
        self.db_created = True
        self.python("import sys, cli; cli.migrate(sys.argv[1])", self.database_url)

    def start_worker(self, name: str = "worker") -> None:
        self.spawn(name, [sys.executable, "-c", "import sys, cli; sys.exit(cli.main(['worker']))"])

    def start_api(self) -> None:
        self.spawn("api", [sys.executable, "-c", "import sys, cli; sys.exit(cli.main(['api']))"])
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            self.check_alive()
            try:
                with urllib.request.urlopen(f"{self.api_base}/api/health", timeout=2) as r:
                    if r.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.3)
        raise RuntimeError(f"the API did not answer:\n{self.log_tail('api')}")

    def stop_process(self, name: str) -> None:
        proc = self.procs.pop(name, None)
        if proc is None:
            return
        if proc.poll() is None:
            _killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=STOP_GRACE)
            except subprocess.TimeoutExpired:
                pass
        _killpg(proc.pid, signal.SIGKILL)
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass

    def stop(self) -> None:
        """Apps first (the worker drains against Temporal), then Temporal, then the database."""
        for name in [n for n in self.procs if n != "temporal"]:
            self.stop_process(name)
        self.stop_process("temporal")
        if self.db_created:
            subprocess.run(
                ["dropdb", *PG, "--if-exists", "--force", self.db_name],
                check=False,
                capture_output=True,
            )
            self.db_created = False
        if os.environ.get("BENCH_KEEP_LOGS") == "1":
            print(f"logs kept in {self.tmp}", file=sys.stderr)
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)

    # ---------------------------------------------------------------- measurement

    def pids(self) -> dict[str, list[int]]:
        """Process ids per role; the database is every backend serving this database."""
        out = {name: [p.pid] for name, p in self.procs.items() if p.poll() is None}
        out["database"] = postgres_backends(self.db_name)
        return out


def _die_with_parent() -> None:
    """In the child (Linux): SIGTERM when the benchmark dies without cleaning up."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except Exception:
        pass


def _killpg(pgid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def postgres_backends(db_name: str) -> list[int]:
    """The PostgreSQL backends connected to one database (their title names it)."""
    found = []
    for proc in psutil.process_iter(["name", "cmdline"]):
        try:
            cmd = " ".join(proc.info["cmdline"] or [])
        except (psutil.Error, TypeError):
            continue
        if cmd.startswith("postgres:") and f" {db_name} " in f"{cmd} ":
            found.append(proc.pid)
    return found


def _terminate(signum: int, frame: Any) -> None:
    raise SystemExit(128 + signum)


@contextmanager
def running(stack: Stack) -> Iterator[Stack]:
    """Stop everything on the way out, also on SIGTERM/SIGINT (the finally clause runs)."""
    signal.signal(signal.SIGTERM, _terminate)
    try:
        yield stack
    except BaseException:
        for name in list(stack.procs):  # what the processes said before it went wrong
            print(f"--- end of {name}'s log:\n{stack.log_tail(name, 15)}", file=sys.stderr)
        raise
    finally:
        stack.stop()


class Sampler:
    """Samples CPU seconds and RSS of every role's processes, every `interval` seconds.

    CPU per role is the sum over its processes of (last seen - first seen) CPU time, so backends
    that come and go between two marks still count what they used while sampled. `mark(label)`
    snapshots the totals so phases can be told apart.
    """

    def __init__(self, stack: Stack, interval: float = 0.5, extra: dict[str, int] | None = None):
        self.stack = stack
        self.interval = interval
        self.extra = extra or {}
        self.cpu: dict[str, dict[int, float]] = {}  # role -> pid -> last cpu seconds
        self.first: dict[str, dict[int, float]] = {}
        self.peak_rss: dict[str, int] = {}
        self.last_rss: dict[str, int] = {}
        self._procs: dict[int, psutil.Process] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._lock = threading.Lock()

    def __enter__(self) -> Sampler:
        self.sample()
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.sample()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()

    def _proc(self, pid: int) -> psutil.Process:
        proc = self._procs.get(pid)
        if proc is None:
            proc = self._procs[pid] = psutil.Process(pid)
        return proc

    def sample(self) -> None:
        roles = self.stack.pids()
        roles.update({name: [pid] for name, pid in self.extra.items()})
        with self._lock:
            for role, pids in roles.items():
                rss = 0
                for pid in pids:
                    try:
                        proc = self._proc(pid)
                        with proc.oneshot():
                            t = proc.cpu_times()
                            used = t.user + t.system
                            rss += proc.memory_info().rss
                    except psutil.Error:
                        continue
                    self.cpu.setdefault(role, {})[pid] = used
                    self.first.setdefault(role, {}).setdefault(pid, used)
                self.last_rss[role] = rss
                self.peak_rss[role] = max(self.peak_rss.get(role, 0), rss)

    def totals(self) -> dict[str, float]:
        """CPU seconds per role since the sampler started."""
        with self._lock:
            return {
                role: sum(used - self.first[role][pid] for pid, used in pids.items())
                for role, pids in self.cpu.items()
            }

    def reset_peaks(self) -> None:
        with self._lock:
            self.peak_rss = dict(self.last_rss)


def diff(after: dict[str, float], before: dict[str, float]) -> dict[str, float]:
    return {role: after[role] - before.get(role, 0.0) for role in after}


@dataclass(frozen=True)
class Clock:
    """The business clock the API anchored in the database (same arithmetic, read-only)."""

    anchor_real: datetime
    anchor_date: date
    day_seconds: float

    def date_at(self, now: datetime) -> date:
        elapsed = (now - self.anchor_real).total_seconds()
        return self.anchor_date + timedelta(days=math.floor(elapsed / self.day_seconds))

    def seconds_until(self, day: date, now: datetime) -> float:
        start = (day - self.anchor_date).days * self.day_seconds
        return max(0.0, start - (now - self.anchor_real).total_seconds())


def read_clock(stack: Stack) -> Clock:
    import psycopg

    with psycopg.connect(stack.psycopg_dsn) as conn:
        row = conn.execute(
            "SELECT anchor_real, anchor_date, day_seconds FROM clock_anchor"
            " ORDER BY id DESC LIMIT 1"
        ).fetchone()
    if row is None:
        raise RuntimeError("the API has not anchored the business clock yet (GET /api/clock)")
    anchor_real = row[0] if row[0].tzinfo else row[0].replace(tzinfo=UTC)
    return Clock(anchor_real, row[1], float(row[2]))


def add_code_flags(parser: Any) -> None:
    parser.add_argument("--rev", default="HEAD", help="the commit to run (default HEAD)")
    parser.add_argument(
        "--worktree", action="store_true", help="run the working tree instead of a commit"
    )


async def watched(stack: Stack, work: Coroutine[Any, Any, T]) -> T:
    """Run `work`, but stop at once (with the dead process's log) if a process of the stack dies."""
    import asyncio

    task = asyncio.ensure_future(work)
    while not task.done():
        await asyncio.wait([task], timeout=1.0)
        if not task.done():
            try:
                stack.check_alive()
            except RuntimeError:
                task.cancel()
                raise
    return task.result()
