"""An Update that arrives with the workflow's start is handled before run() begins.

A member who signs the instant the mission is created can have the Update delivered in the
workflow's very first task: its handler must find the clock and the plan already set (they come
from the input, in `@workflow.init`). Update-with-Start makes that timing certain.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio.client import WithStartWorkflowOperation
from temporalio.common import WorkflowIDConflictPolicy

from contracts.mission import SignContract
from services import people
from services.access import viewer_of
from services.clock import business_today, current_clock
from services.missions import create_mission
from tests.conftest import Stack, unique
from workflows.mission import MissionWorkflow


async def test_sign_delivered_with_the_start(dev_stack: Stack) -> None:
    stack = dev_stack
    member, _ = await stack.new_member()
    client = await stack.new_client(member["id"])
    async with stack.db.session() as session:
        staff = await people.create_staff_user(
            session, f"{unique('ops')}@coop.example", "staff password 123", "ops"
        )
        clock = await current_clock(session, stack.settings.day_seconds, stack.settings.timezone)
        today = business_today(clock)
        mission, inp = await create_mission(
            session,
            viewer_of(staff),
            {
                "member_id": member["id"],
                "client_id": client["id"],
                "title": "Signed at once",
                "start_date": (today + timedelta(days=3)).isoformat(),
                "end_date": (today + timedelta(days=5)).isoformat(),
                "amount_excl_vat": "800.00",
                "vat_rate": "21",
                "contract_type": "ordinary",
            },
            clock,
        )
    stack.mission_ids.append(mission.id)
    start = WithStartWorkflowOperation(
        MissionWorkflow.run,
        inp,
        id=f"mission-{mission.id}",
        task_queue=stack.settings.task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
    )
    result = await asyncio.wait_for(
        stack.env.client.execute_update_with_start_workflow(
            MissionWorkflow.sign_contract,
            SignContract(actor=f"member:{member['id']}"),
            start_workflow_operation=start,
        ),
        timeout=30,
    )
    assert result == "signed"
    m = await stack.wait_mission(
        mission.id, lambda m: "signed" in [t["step"] for t in m["timeline"]], 30
    )
    assert m["stage"] == "contract"
