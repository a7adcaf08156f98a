"""`coopflow api` with COOPFLOW_API_WORKERS=2: one socket, two uvicorn processes, both serving.

This is how each API container of docker-compose.yml runs; the test starts the real command
against the suite's (migrated) PostgreSQL database, on a free port."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import psutil
import pytest

BIN = Path(sys.executable).parent
START_TIMEOUT = 60.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _health(url: str) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return int(response.status)
    except (urllib.error.URLError, OSError):
        return None


def _workers(parent: psutil.Process) -> list[psutil.Process]:
    """uvicorn's worker processes (the multiprocessing helpers are not Python servers)."""
    found = []
    for child in parent.children():
        try:
            if "multiprocessing.resource_tracker" not in " ".join(child.cmdline()):
                found.append(child)
        except psutil.NoSuchProcess:
            pass
    return found


def _wait(condition: str, check: Callable[[], bool], proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while not check():
        assert proc.poll() is None, f"coopflow api exited ({proc.returncode}) before {condition}"
        assert time.monotonic() < deadline, f"no {condition} within {START_TIMEOUT:.0f} s"
        time.sleep(0.2)


@pytest.fixture
def api_two_workers(migrated: str, tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    port = _free_port()
    log = open(tmp_path / "api.log", "wb")  # closed below, after the process
    env = {
        **os.environ,
        "COOPFLOW_DATABASE_URL": migrated,
        "COOPFLOW_API_HOST": "127.0.0.1",
        "COOPFLOW_API_PORT": str(port),
        "COOPFLOW_API_WORKERS": "2",
        # no Temporal needed for /api/health: the API connects on first need
        "COOPFLOW_TEMPORAL_ADDRESS": f"127.0.0.1:{_free_port()}",
    }
    proc = subprocess.Popen(
        [str(BIN / "coopflow"), "api"],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        yield proc, f"http://127.0.0.1:{port}/api/health"
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=5)
        log.close()
        print((tmp_path / "api.log").read_text(errors="replace")[-3000:])


def test_api_runs_two_worker_processes(
    api_two_workers: tuple[subprocess.Popen[bytes], str],
) -> None:
    proc, url = api_two_workers
    parent = psutil.Process(proc.pid)
    _wait("answer on /api/health", lambda: _health(url) == 200, proc)
    _wait("two worker processes", lambda: len(_workers(parent)) == 2, proc)

    statuses = [_health(url) for _ in range(20)]
    assert statuses == [200] * 20

    # One worker dies: uvicorn's supervisor replaces it and the API keeps answering.
    first, second = _workers(parent)
    first.kill()
    first.wait(timeout=10)
    _wait(
        "a replacement worker",
        lambda: len(ws := _workers(parent)) == 2 and first.pid not in {w.pid for w in ws},
        proc,
    )
    assert second.is_running()
    _wait("answer after the restart", lambda: _health(url) == 200, proc)
    assert [_health(url) for _ in range(10)] == [200] * 10

    # SIGTERM to the parent stops everything, cleanly.
    workers = _workers(parent)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 0
    gone, alive = psutil.wait_procs(workers, timeout=10)
    assert alive == []


def test_payslips_backfill_is_a_command() -> None:
    """`coopflow payslips backfill` makes the payslips of payouts paid before payslips existed
    (services.documents.backfill_payslips, tested in tests/documents)."""
    import cli

    args = cli.build_parser().parse_args(["payslips", "backfill", "--batch", "5"])
    assert args.func is cli.cmd_payslips_backfill and args.batch == 5
