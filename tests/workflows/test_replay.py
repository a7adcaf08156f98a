"""Replay every committed history of MissionWorkflow: a code change that breaks determinism fails.

The histories in `histories/` are recorded by the lifecycle path tests when run with
COOPFLOW_RECORD_HISTORIES=1 (otherwise those tests never touch the files). Re-record them only
for a deliberate, versioned change of the workflow (`workflow.patched()`), never to make this pass.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from temporalio import workflow
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer, UnsandboxedWorkflowRunner

from contracts.mission import MissionInput
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
    # The guarantee fund's rules: an advance refused, the salary paid from the client's money.
    "salary_waits_for_non_eu_client",
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
    replayer = Replayer(workflows=[MissionWorkflow], data_converter=pydantic_data_converter)
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
