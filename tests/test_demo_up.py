"""The demo never stops the back office (issue 13, #8): on a fast business clock its missions
start where the clock cannot overtake them, and `up` keeps running when the demo fails."""

from __future__ import annotations

import math
import sys
from datetime import date, timedelta

import pytest

import cli
import demo

TODAY = date(2026, 12, 7)
NEVER = [sys.executable, "-c", "import time; time.sleep(60)"]


@pytest.mark.parametrize("day_seconds", [0.01, 0.1, 0.2, 0.5, 2.0, 10.0])
def test_on_a_fast_clock_the_start_is_beyond_the_slack(day_seconds: float) -> None:
    start = demo.start_date(TODAY, day_seconds, "invoiced")
    passed = math.ceil(demo.CREATE_SLACK_SECONDS / day_seconds)  # days gone during the request
    assert start >= TODAY + timedelta(days=min(passed, demo.MAX_START_LEAD_DAYS))
    assert start <= TODAY + timedelta(days=demo.MAX_LEAD_DAYS)  # the API takes it (< 2 years)
    cancelled = demo.start_date(TODAY, day_seconds, "cancelled")
    assert cancelled > start  # still in the future when the demo cancels it


@pytest.mark.parametrize("day_seconds", [60.0, 3600.0, 86400.0])
def test_on_a_slow_clock_missions_start_today(day_seconds: float) -> None:
    assert demo.start_date(TODAY, day_seconds, "paid") == TODAY
    assert demo.start_date(TODAY, day_seconds, "cancelled") == TODAY + timedelta(days=10)


def test_a_failed_demo_leaves_the_back_office_running(capsys: pytest.CaptureFixture[str]) -> None:
    sup = cli.Supervisor()
    try:
        api = sup.spawn("api", NEVER)
        failing = [sys.executable, "-c", "import sys; print('demo failed: 422'); sys.exit(1)"]
        assert cli.run_demo(sup, failing) is False
        assert api.poll() is None  # still serving
        assert "demo" not in sup.children
        assert sup.dead_child() is None  # the supervisor's watch finds nothing dead
        assert "keeps running" in capsys.readouterr().err
        assert cli.run_demo(sup, [sys.executable, "-c", "pass"]) is True
    finally:
        sup.stop()


def test_a_service_dying_during_the_demo_still_stops_up() -> None:
    sup = cli.Supervisor()
    try:
        sup.spawn("api", [sys.executable, "-c", "import sys; sys.exit(3)"])
        with pytest.raises(cli._ChildDied):
            cli.run_demo(sup, NEVER)
        assert "demo" not in sup.children  # not left behind
    finally:
        sup.stop()
