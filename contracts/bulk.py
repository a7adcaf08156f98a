"""Inputs and results of BulkRepairWorkflow and its activities (one workflow per bulk run).

Every field added after release gets a default so that recorded histories still decode.
"""

from __future__ import annotations

from datetime import datetime

from contracts.mission import Contract

# Item outcomes as written in `bulk_items.status` (and counted by the `progress` query).
ITEM_STATUSES = ("pending", "done", "refused", "cancelled")


def bulk_workflow_id(run_id: int) -> str:
    """The workflow id is the business id: one workflow per bulk run, duplicates rejected."""
    return f"bulk-{run_id}"


class BulkInput(Contract):
    run_id: int


class BulkItemRef(Contract):
    position: int
    mission_id: int


class BulkPlan(Contract):
    """What the run still has to do, read from `bulk_runs` / `bulk_items` when the workflow
    starts: the pending items in order, and what earlier attempts already settled."""

    rate_per_second: float
    pending: list[BulkItemRef]
    settled: dict[str, int] = {}  # status -> items already done/refused/cancelled
    cancelled: bool = False  # cancelled (by ops) before the workflow could start


class BulkItemRequest(Contract):
    run_id: int
    position: int
    mission_id: int
    # Not to be acted on before (the rate, when the wait is shorter than a workflow timer can
    # keep: Temporal fires timers with up to a second's delay).
    not_before: datetime | None = None


class BulkItemOutcome(Contract):
    status: str  # done | refused (or whatever an earlier attempt recorded)
    result: str


class BulkFinish(Contract):
    run_id: int
    cancelled: bool


class CancelBulk(Contract):
    actor: str
    reason: str


class BulkProgress(Contract):
    run_id: int
    status: str  # running | cancelling | finishing (closing the run) | finished | cancelled
    total: int
    pending: int
    done: int
    refused: int
    cancelled: int
