"""What every benchmark shares: the machine's description, the results file, the figures table.

Benchmarks print figures; they never fail on speed. Each run appends one JSON line to
bench/results/<script>.jsonl with the commit, the machine and the load it ran under.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
VENV_BIN = Path(sys.executable).parent


def git_commit() -> str:
    """The commit the figures belong to, with "+dirty" when the tree has local changes."""
    try:
        sha = subprocess.run(
            ["git", "rev-parse", "--short=12", "HEAD"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return f"{sha}+dirty" if dirty else sha


def machine() -> dict[str, Any]:
    """Cores, memory and the load average: figures from a busy machine are not comparable."""
    mem_kb = 0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_kb = int(line.split()[1])
    except OSError:
        pass
    load = os.getloadavg()
    return {
        "cores": os.cpu_count(),
        "memory_gb": round(mem_kb / 1024 / 1024, 1),
        "load_avg": [round(x, 2) for x in load],
        "python": sys.version.split()[0],
    }


def append_result(
    script: str, figures: dict[str, Any], params: dict[str, Any], commit: str | None = None
) -> Path:
    """One JSON line per run: when, which commit, which machine, with which flags, every figure."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{script}.jsonl"
    line = {
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "commit": commit or git_commit(),
        "machine": machine(),
        "params": params,
        "figures": figures,
    }
    with path.open("a") as out:
        out.write(json.dumps(line, sort_keys=True, default=str) + "\n")
    return path


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100); NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


@dataclass
class Row:
    """One line of a figures table: what, the measured value, and the target if there is one."""

    metric: str
    measured: str
    target: str = ""
    met: bool | None = None  # None: no target

    @property
    def verdict(self) -> str:
        if self.met is None:
            return ""
        return "ok" if self.met else "MISSED"


def print_table(title: str, rows: Sequence[Row], commit: str | None = None) -> None:
    widths = [
        max([len("metric")] + [len(r.metric) for r in rows]),
        max([len("measured")] + [len(r.measured) for r in rows]),
        max([len("target")] + [len(r.target) for r in rows]),
    ]
    head = f"{'metric':<{widths[0]}}  {'measured':<{widths[1]}}  {'target':<{widths[2]}}  verdict"
    print(f"\n{title}\n{head}\n{'-' * len(head)}")
    for r in rows:
        print(
            f"{r.metric:<{widths[0]}}  {r.measured:<{widths[1]}}  {r.target:<{widths[2]}}  "
            f"{r.verdict}"
        )
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"(load average {load} on {os.cpu_count()} cores, commit {commit or git_commit()})")


def ms(seconds: float) -> str:
    return "n/a" if math.isnan(seconds) else f"{seconds * 1000:.1f} ms"
