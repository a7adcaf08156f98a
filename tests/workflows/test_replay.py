"""Replay every committed history of MissionWorkflow and BulkRepairWorkflow: a code change that
breaks determinism fails.

The histories in `histories/` are recorded by the lifecycle path tests (and the bulk run tests,
tests/ops/test_bulk_workflow.py, the `bulk_*` ones) when run with COOPFLOW_RECORD_HISTORIES=1
(otherwise those tests never touch the files). Re-record them only
for a deliberate, versioned change of the workflow (`workflow.patched()`), never to make this pass.
"""

from __future__ import annotations

import base64
import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from temporalio import workflow
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer, UnsandboxedWorkflowRunner

from contracts.bulk import BulkInput
from contracts.mission import CURRENT_REVISION, MissionInput
from workflows.bulk import BulkRepairWorkflow
from workflows.mission import MissionWorkflow

HISTORIES = Path(__file__).resolve().parent / "histories"

# One history per lifecycle path: a missing one fails rather than shrinking the test silently.
PATHS = [
    "paid_before_day_7",
    "paid_after_advance",
    "paid_after_reminder_2",
    "partial_then_full_payment",
    "written_off",
    "never_confirmed",
    "gateway_retry",
    "cancelled_before_start",
    # Further branches: a cancellation while ops are asked to look, a late work report.
    "cancelled_while_needing_attention",
    "late_work_report",
    # The guarantee fund's rules before issue 12: an advance refused, the salary paid from the
    # client's money (kept: workflows recorded then must still replay).
    "salary_waits_for_non_eu_client",
    # Issue 12: the fund at its floor on payday, the client never pays: paid on its date, the
    # treasury covers; a non-EU client approved by the advisor before signing.
    "salary_paid_with_the_fund_at_its_floor",
    "non_eu_client_approved_then_paid",
    # Issue 13 #2: a letter held a month by an email outage shifts the ladder behind it
    # ("dunning-dated-when-sent"), then the client pays before the shifted write-off.
    "dunning_letter_sent_late",
    # Issue 14: bulk runs are workflows. A run whose worker was killed mid-run, and a
    # run ops cancelled between two items.
    "bulk_finished_after_a_worker_crash",
    "bulk_cancelled_after_some_items",
]


def committed() -> list[str]:
    return sorted({*PATHS, *(p.stem for p in HISTORIES.glob("*.json"))})


def load(name: str) -> WorkflowHistory:
    path = HISTORIES / f"{name}.json"
    assert path.is_file(), f"no recorded history {path} (record with COOPFLOW_RECORD_HISTORIES=1)"
    return WorkflowHistory.from_json(f"mission-replay-{name}", path.read_text())


def test_every_path_has_a_history() -> None:
    found = sorted(p.stem for p in HISTORIES.glob("*.json"))
    assert found, f"no history in {HISTORIES}: the replay test would prove nothing"
    assert set(PATHS) <= set(found), f"missing histories: {sorted(set(PATHS) - set(found))}"


@pytest.mark.parametrize("name", committed())
async def test_history_replays(name: str) -> None:
    history = load(name)
    events = json.loads((HISTORIES / f"{name}.json").read_text())["events"]
    assert events[0]["eventType"] in (
        "EVENT_TYPE_WORKFLOW_EXECUTION_STARTED",
        "WorkflowExecutionStarted",
    )
    assert events[-1]["eventType"] in (
        "EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED",
        "WorkflowExecutionCompleted",
    ), "a history of a whole path"
    replayer = Replayer(
        workflows=[MissionWorkflow, BulkRepairWorkflow], data_converter=pydantic_data_converter
    )
    result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
    assert result.replay_failure is None, f"{name}: {result.replay_failure!r}"


@workflow.defn(name="MissionWorkflow")
class ReorderedMissionWorkflow(MissionWorkflow):
    """The same workflow with one step added: what an unguarded code change looks like."""

    @workflow.run
    async def run(self, inp: MissionInput) -> str:
        return await super().run(inp)

    async def _contract_phase(self) -> None:
        await self._record("contract_started", "contract")
        await super()._contract_phase()


async def test_replay_catches_a_nondeterministic_change() -> None:
    """The check above can fail: an unguarded change is reported as nondeterminism."""
    replayer = Replayer(
        workflows=[ReorderedMissionWorkflow],
        data_converter=pydantic_data_converter,
        workflow_runner=UnsandboxedWorkflowRunner(),  # this test module is not sandbox-safe
    )
    result = await replayer.replay_workflow(load(PATHS[0]), raise_on_replay_failure=False)
    assert isinstance(result.replay_failure, workflow.NondeterminismError), result.replay_failure


@workflow.defn(name="BulkRepairWorkflow")
class FasterBulkRepairWorkflow(BulkRepairWorkflow):
    """The bulk workflow with its rate dropped: an unguarded change of a released bulk run."""

    @workflow.run
    async def run(self, inp: BulkInput) -> str:
        return await super().run(inp)

    async def _pace(self, last_began: datetime | None, interval: timedelta) -> datetime | None:
        return None


async def test_replay_catches_a_nondeterministic_change_of_a_bulk_run() -> None:
    replayer = Replayer(
        workflows=[FasterBulkRepairWorkflow],
        data_converter=pydantic_data_converter,
        workflow_runner=UnsandboxedWorkflowRunner(),
    )
    result = await replayer.replay_workflow(
        load("bulk_cancelled_after_some_items"),  # 2 s between items: a timer
        raise_on_replay_failure=False,
    )
    assert isinstance(result.replay_failure, workflow.NondeterminismError), result.replay_failure


# ---------------------------------------------------------------- workflow code revisions


def _events(name: str) -> list[dict[str, Any]]:
    return list(json.loads((HISTORIES / f"{name}.json").read_text())["events"])


def _types(name: str) -> list[str]:
    return [e["eventType"].removeprefix("EVENT_TYPE_") for e in _events(name)]


def _activities(name: str) -> list[str]:
    return [
        e["activityTaskScheduledEventAttributes"]["activityType"]["name"]
        for e in _events(name)
        if e["eventType"].endswith("ACTIVITY_TASK_SCHEDULED")
    ]


def _input(name: str) -> MissionInput:
    started = _events(name)[0]["workflowExecutionStartedEventAttributes"]
    payload = started["input"]["payloads"][0]
    return MissionInput.model_validate_json(base64.b64decode(payload["data"]))


CURRENT = sorted(p.stem for p in HISTORIES.glob(f"revision_{CURRENT_REVISION}_*.json"))


def test_the_current_revision_has_recorded_histories() -> None:
    assert {
        f"revision_{CURRENT_REVISION}_{p}" for p in ("paid_before_day_7", "written_off")
    } <= set(CURRENT), "record the main paths again when CURRENT_REVISION changes"


@pytest.mark.parametrize("name", CURRENT)
def test_a_current_mission_runs_its_released_patches_without_markers(name: str) -> None:
    """A mission started today takes every released branch without paying a patch marker and a
    TemporalChangeVersion upsert (two billed actions) for it."""
    assert _input(name).revision == CURRENT_REVISION
    assert "MARKER_RECORDED" not in _types(name)
    assert "UPSERT_WORKFLOW_SEARCH_ATTRIBUTES" not in _types(name)
    assert _activities(name)[0] == "prepare_documents", "the documents-at-start branch is taken"


def test_a_mission_started_before_revisions_still_decides_by_its_patch_marker() -> None:
    """Revision 0 with the documents marker, and revision 0 from before the documents step."""
    assert _input("happy_path_documents_patch").revision == 0
    assert "MARKER_RECORDED" in _types("happy_path_documents_patch")
    assert _activities("happy_path_documents_patch")[0] == "prepare_documents"
    assert _input("paid_before_day_7").revision == 0
    assert "prepare_documents" not in _activities("paid_before_day_7")


def test_the_happy_path_costs_at_most_20_actions() -> None:
    """Issue 7's budget, counted from the recorded history (a count, not a timing)."""
    from bench.cost import HAPPY_TARGET, history_cost

    name = f"revision_{CURRENT_REVISION}_paid_before_day_7"
    raw = (HISTORIES / f"{name}.json").read_bytes()
    cost = history_cost(name, json.loads(raw), len(raw))
    # In the recorded test both parties sign before the contract phase begins to wait, so it has
    # no signature-deadline timer; a member who signs a day later adds that one timer.
    assert cost.actions + 1 <= HAPPY_TARGET, cost.by_category
