"""bench/cost.py counts billable actions the way Temporal Cloud does; it runs on the committed
histories. A smoke test, not a timed one: benchmarks never fail the suite on speed."""

from __future__ import annotations

from bench import cost


def _event(event_id: int, kind: str, **attrs: object) -> dict[str, object]:
    event: dict[str, object] = {"eventId": str(event_id), "eventType": f"EVENT_TYPE_{kind}"}
    event.update(attrs)
    return event


def test_actions_count_every_activity_attempt_and_no_workflow_task() -> None:
    history = {
        "events": [
            _event(1, "WORKFLOW_EXECUTION_STARTED"),
            _event(2, "WORKFLOW_TASK_SCHEDULED"),
            _event(3, "WORKFLOW_TASK_STARTED"),
            _event(4, "WORKFLOW_TASK_COMPLETED"),
            _event(
                5,
                "ACTIVITY_TASK_SCHEDULED",
                activityTaskScheduledEventAttributes={"activityType": {"name": "pay_salary"}},
            ),
            _event(
                6,
                "ACTIVITY_TASK_STARTED",
                activityTaskStartedEventAttributes={"scheduledEventId": "5", "attempt": 3},
            ),
            _event(7, "TIMER_STARTED"),
            _event(8, "WORKFLOW_EXECUTION_SIGNALED"),
            _event(9, "WORKFLOW_EXECUTION_UPDATE_ACCEPTED"),
            _event(10, "MARKER_RECORDED"),
        ]
    }
    result = cost.history_cost("synthetic", history, json_bytes=0)
    assert result.by_category == {
        "start": 1,
        "activities": 3,
        "timers": 1,
        "signals": 1,
        "updates": 1,
        "markers": 1,
        "search_attributes": 0,
    }
    assert result.actions == 8
    assert result.events == 10


def test_cost_runs_on_the_committed_histories(capsys: object) -> None:
    assert cost.main(["--no-record"]) == 0
    costs = cost.load(sorted(cost.HISTORIES.glob("*.json")))
    picked = cost.roles(costs)
    assert any(role.startswith("happy path") for role in picked)
    assert all(c.actions > 0 and c.proto_bytes for c in costs)
