"""Cost per mission: Temporal billable actions, history events and history size per recorded path.

Reads JSON histories (the committed ones in tests/workflows/histories/ by default, or any given
with --history, e.g. one recorded by bench/lifecycle.py) and counts what a Temporal Cloud bill is
made of, after https://docs.temporal.io/cloud/actions:

    workflow started (client start, continue-as-new, child start)     1 each
    activity started or retried                                        1 per attempt
    timer started                                                      1 each
    signal received or sent to another workflow                        1 each
    update accepted                                                    1 each
    marker recorded (side effect, local activity, version/patch)       1 each
    search attributes upserted / workflow properties modified          1 each

Not in a history, so not counted: queries, activity heartbeats, validator-rejected updates (all
billed too). Every figure printed here is per workflow execution.

    .venv/bin/python bench/cost.py [--history FILE ...] [--quick]
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import ROOT, Row, append_result, print_table

HISTORIES = ROOT / "tests" / "workflows" / "histories"
HAPPY_TARGET = 20  # issue 7: a happy-path mission costs at most 20 Temporal actions

# event type (without EVENT_TYPE_) -> action category; activities are counted per attempt
ONE_ACTION = {
    "WORKFLOW_EXECUTION_STARTED": "start",
    "WORKFLOW_EXECUTION_CONTINUED_AS_NEW": "start",
    "START_CHILD_WORKFLOW_EXECUTION_INITIATED": "start",
    "TIMER_STARTED": "timers",
    "WORKFLOW_EXECUTION_SIGNALED": "signals",
    "SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED": "signals",
    "WORKFLOW_EXECUTION_UPDATE_ACCEPTED": "updates",
    "MARKER_RECORDED": "markers",
    "UPSERT_WORKFLOW_SEARCH_ATTRIBUTES": "search_attributes",
    "WORKFLOW_PROPERTIES_MODIFIED": "search_attributes",
}
CATEGORIES = ["start", "activities", "timers", "signals", "updates", "markers", "search_attributes"]
DUNNING_ACTIVITIES = {"record_dunning_step", "write_off_invoice"}


@dataclass
class Cost:
    name: str
    actions: int
    by_category: dict[str, int]
    events: int
    json_bytes: int
    proto_bytes: int | None
    activity_types: dict[str, int] = field(default_factory=dict)
    dunning_steps: int = 0
    outcome: str = ""


def _short(event_type: str) -> str:
    return event_type.removeprefix("EVENT_TYPE_")


def history_cost(name: str, data: dict[str, Any], json_bytes: int) -> Cost:
    """Billable actions, events and size of one workflow execution's history."""
    events: list[dict[str, Any]] = data["events"]
    by_category = Counter({c: 0 for c in CATEGORIES})
    scheduled: dict[str, str] = {}  # scheduled event id -> activity type
    attempts: dict[str, int] = {}  # scheduled event id -> attempts seen
    outcome = ""
    for event in events:
        kind = _short(event["eventType"])
        if kind in ONE_ACTION:
            by_category[ONE_ACTION[kind]] += 1
        if kind == "ACTIVITY_TASK_SCHEDULED":
            attrs = event["activityTaskScheduledEventAttributes"]
            scheduled[event["eventId"]] = attrs["activityType"]["name"]
            attempts[event["eventId"]] = 1
        elif kind == "ACTIVITY_TASK_STARTED":
            attrs = event["activityTaskStartedEventAttributes"]
            # the server keeps only the last attempt's start: its number says how many ran
            attempts[attrs["scheduledEventId"]] = int(attrs.get("attempt", 1))
        elif kind == "WORKFLOW_EXECUTION_COMPLETED":
            result = event["workflowExecutionCompletedEventAttributes"].get("result", {})
            outcome = _decode_result(result)
    by_category["activities"] = sum(attempts.values())
    types = Counter(scheduled.values())
    return Cost(
        name=name,
        actions=sum(by_category.values()),
        by_category=dict(by_category),
        events=len(events),
        json_bytes=json_bytes,
        proto_bytes=_proto_bytes(data),
        activity_types=dict(types),
        dunning_steps=sum(n for t, n in types.items() if t in DUNNING_ACTIVITIES),
        outcome=outcome,
    )


def _decode_result(result: dict[str, Any]) -> str:
    import base64

    try:
        payload = result["payloads"][0]["data"]
        return str(json.loads(base64.b64decode(payload)))
    except (KeyError, IndexError, ValueError):
        return ""


def _proto_bytes(data: dict[str, Any]) -> int | None:
    """The history's size as the server stores and bills it (protobuf), if temporalio is here."""
    try:
        from google.protobuf import json_format
        from temporalio.api.history.v1 import History
    except ImportError:
        return None
    history = History()
    json_format.ParseDict(data, history, ignore_unknown_fields=True)
    return int(history.ByteSize())


def load(paths: list[Path]) -> list[Cost]:
    costs = []
    for path in paths:
        raw = path.read_bytes()
        costs.append(history_cost(path.stem, json.loads(raw), len(raw)))
    return costs


def _revision(name: str) -> int:
    """`revision_2_written_off` -> 2; a history recorded before revisions existed -> 0."""
    head, _, rest = name.partition("_")
    number = rest.partition("_")[0]
    return int(number) if head == "revision" and number.isdigit() else 0


def roles(costs: list[Cost]) -> dict[str, Cost]:
    """The three paths the issue asks about, picked from what the histories show."""
    # What a mission started today costs: the histories recorded at the newest workflow revision
    # (`revision_<N>_<path>`, see contracts.mission.REVISION_PATCHES) where there are some.
    newest = max((_revision(c.name) for c in costs), default=0)
    current = [c for c in costs if _revision(c.name) == newest]

    def pool(keep: Callable[[Cost], bool]) -> list[Cost]:
        return [c for c in current if keep(c)] or [c for c in costs if keep(c)]

    picked: dict[str, Cost] = {}
    happy = pool(lambda c: c.name.endswith("paid_before_day_7")) or pool(
        lambda c: c.name == "lifecycle_happy_path"
    )
    if happy:
        picked["happy path (paid right after the invoice)"] = happy[0]
    written_off = pool(lambda c: c.outcome == "written_off")
    if written_off:
        picked["written-off path"] = max(written_off, key=lambda c: c.actions)
    # the written-off path climbs the whole ladder; the longest one a payment still stops:
    dunning = pool(lambda c: bool(c.dunning_steps) and c.outcome != "written_off")
    if dunning:
        longest = max(dunning, key=lambda c: (c.dunning_steps, c.events))
        picked["longest dunning path, then paid"] = longest
    return picked


def report(costs: list[Cost]) -> tuple[list[Row], dict[str, Any]]:
    rows: list[Row] = []
    picked = roles(costs)
    for role, cost in picked.items():
        target = f"<= {HAPPY_TARGET}" if role.startswith("happy") else ""
        met = cost.actions <= HAPPY_TARGET if target else None
        rows.append(Row(f"{role}: actions", str(cost.actions), target, met))
        cats = ", ".join(f"{k} {v}" for k, v in cost.by_category.items() if v)
        rows.append(Row(f"  {cost.name}", cats))
        size = f"{cost.json_bytes / 1024:.1f} KiB json"
        if cost.proto_bytes is not None:
            size += f" / {cost.proto_bytes / 1024:.1f} KiB proto"
        rows.append(Row("  events / size", f"{cost.events} / {size}"))
    figures = {
        "paths": {role: cost.name for role, cost in picked.items()},
        "histories": {c.name: asdict(c) for c in costs},
    }
    return rows, figures


def print_all(costs: list[Cost]) -> None:
    name_w = max(len(c.name) for c in costs)
    cols = ["actions", *CATEGORIES, "events", "proto KiB"]
    print(f"\n{'history':<{name_w}}  " + "  ".join(f"{c:>8}" for c in cols))
    for c in sorted(costs, key=lambda c: c.actions):
        values = [c.actions, *(c.by_category[k] for k in CATEGORIES), c.events]
        size = f"{c.proto_bytes / 1024:.1f}" if c.proto_bytes is not None else "n/a"
        print(f"{c.name:<{name_w}}  " + "  ".join(f"{v:>8}" for v in [*values, size]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--history",
        type=Path,
        action="append",
        help="a JSON history to count (repeatable); default: every committed history",
    )
    parser.add_argument("--quick", action="store_true", help="same as the full run (it is quick)")
    parser.add_argument("--no-record", action="store_true", help="do not append to bench/results")
    args = parser.parse_args(argv)
    paths = args.history or sorted(HISTORIES.glob("*.json"))
    if not paths:
        print(f"no histories in {HISTORIES}", file=sys.stderr)
        return 1
    costs = load(paths)
    print_all(costs)
    rows, figures = report(costs)
    print_table("Cost per mission (Temporal Cloud billable actions)", rows)
    if not args.no_record:
        append_result("cost", figures, {"histories": [str(p) for p in paths]})
    return 0


if __name__ == "__main__":
    sys.exit(main())
