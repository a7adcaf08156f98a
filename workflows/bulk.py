"""BulkRepairWorkflow: one ops bulk repair (one `bulk_runs` row) from its first item to its last.

The run's durable state is this workflow's history: the items still to do are read once by an
activity, each item is one activity (the mission's Update, sent with an Update id so that a
repeat is answered from the mission's history, and the item's row written with the audit row),
and the rate is kept by workflow timers. A crash of a worker, of the API or of the database
between two items resumes where the history stands; an item already recorded is not redone. Ops
cancel it with the `cancel` Update: it stops before the next item, the rest is marked cancelled.

Deterministic orchestration only: time from workflow.now(), every side effect an activity.
Changes to released behaviour go behind `workflow.patched()` (tests/workflows/test_replay.py
replays the recorded histories of this workflow too).
"""

from __future__ import annotations

import contextlib
from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.bulk import BulkActivities
    from contracts.bulk import (
        BulkFinish,
        BulkInput,
        BulkItemOutcome,
        BulkItemRequest,
        BulkPlan,
        BulkProgress,
        CancelBulk,
    )

# Bookkeeping activities (read the plan, close the run): database writes that must happen
# eventually; an outage of the database only delays them.
BOOKKEEPING_TIMEOUT = timedelta(seconds=30)
BOOKKEEPING_RETRY = RetryPolicy(maximum_interval=timedelta(seconds=30))
# One item: the Update has its own deadline (COOPFLOW_ACTION_TIMEOUT_SECONDS) inside the activity;
# the activity records a refusal itself after a few attempts, and retries without end only while
# it cannot write to the database at all.
ITEM_TIMEOUT = timedelta(seconds=120)
# Waits between items shorter than this are kept by the item's activity, not a timer.
SHORTEST_TIMER = timedelta(seconds=1)
# The item's activity beats every second: a worker that died mid-item is noticed in seconds.
ITEM_HEARTBEAT = timedelta(seconds=5)
ITEM_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=30)
)


def rejected(message: str) -> ApplicationError:
    """A refused Update: the API turns it into a 409 with the reason (as for missions)."""
    return ApplicationError(
        message, {"field": None, "status": 409}, type="StepRejected", non_retryable=True
    )


@workflow.defn(name="BulkRepairWorkflow")
class BulkRepairWorkflow:
    @workflow.init
    def __init__(self, inp: BulkInput) -> None:
        self.run_id = inp.run_id
        self.status = "running"
        self.total = 0
        self.counts = {"pending": 0, "done": 0, "refused": 0, "cancelled": 0}
        self.cancel_request: CancelBulk | None = None

    @workflow.run
    async def run(self, inp: BulkInput) -> str:
        plan: BulkPlan = await workflow.execute_activity_method(
            BulkActivities.load_bulk_run,
            inp.run_id,
            start_to_close_timeout=BOOKKEEPING_TIMEOUT,
            retry_policy=BOOKKEEPING_RETRY,
        )
        for status, n in plan.settled.items():
            self.counts[status] = self.counts.get(status, 0) + n
        self.counts["pending"] = len(plan.pending)
        self.total = sum(self.counts.values())
        interval = timedelta(seconds=1.0 / plan.rate_per_second)
        last_began: datetime | None = None
        cancelled = plan.cancelled
        for item in plan.pending:
            not_before = await self._pace(last_began, interval)
            if self.cancel_request is not None or cancelled:
                cancelled = True
                break
            last_began = max(workflow.now(), not_before) if not_before else workflow.now()
            outcome: BulkItemOutcome = await workflow.execute_activity_method(
                BulkActivities.apply_bulk_item,
                BulkItemRequest(
                    run_id=inp.run_id,
                    position=item.position,
                    mission_id=item.mission_id,
                    not_before=not_before,
                ),
                start_to_close_timeout=ITEM_TIMEOUT,
                heartbeat_timeout=ITEM_HEARTBEAT,
                retry_policy=ITEM_RETRY,
            )
            self.counts["pending"] -= 1
            self.counts[outcome.status] = self.counts.get(outcome.status, 0) + 1
        self.status = "finishing"  # a cancel now would come after the last item: refused
        await workflow.execute_activity_method(
            BulkActivities.finish_bulk_run,
            BulkFinish(run_id=inp.run_id, cancelled=cancelled),
            start_to_close_timeout=BOOKKEEPING_TIMEOUT,
            retry_policy=BOOKKEEPING_RETRY,
        )
        if cancelled:
            self.counts["cancelled"] += self.counts["pending"]
            self.counts["pending"] = 0
        self.status = "cancelled" if cancelled else "finished"
        return self.status

    async def _pace(self, last_began: datetime | None, interval: timedelta) -> datetime | None:
        """The rate: no item begins sooner than an interval after the one before. A wait of a
        second or more is a workflow timer (a cancellation wakes it); a shorter one is left to
        the item's activity (returned: not before then), as Temporal fires a timer up to about
        a second late and a run at 5 a second would go at 1."""
        if last_began is None:
            return None
        not_before = last_began + interval
        left = not_before - workflow.now()
        if left >= SHORTEST_TIMER:
            with contextlib.suppress(TimeoutError):  # the interval is over
                await workflow.wait_condition(lambda: self.cancel_request is not None, timeout=left)
            return None
        return not_before if left > timedelta(0) else None

    @workflow.query
    def progress(self) -> BulkProgress:
        """Counts as this workflow knows them (ops tools; the pages read `bulk_items`)."""
        status = self.status
        if status == "running" and self.cancel_request is not None:
            status = "cancelling"
        return BulkProgress(
            run_id=self.run_id,
            status=status,
            total=self.total,
            pending=self.counts["pending"],
            done=self.counts["done"],
            refused=self.counts["refused"],
            cancelled=self.counts["cancelled"],
        )

    @workflow.update
    def cancel(self, request: CancelBulk) -> str:
        """Stop before the next item; the items not yet acted on are marked cancelled."""
        self.cancel_request = request
        return "cancelling"

    @cancel.validator
    def _validate_cancel(self, request: CancelBulk) -> None:
        if self.status != "running":
            raise rejected("the bulk run is already over")
        if self.cancel_request is not None:
            raise rejected("the bulk run is already being cancelled")
