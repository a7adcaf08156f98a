"""The one list of a mission's stages, shared by the workflow, the activities, the services,
the pages and (checked by a test) the database's stage-date trigger.

A `StrEnum`: each member *is* its string, so rows, JSON and histories keep the plain value
("in_progress"), while the code names it once (`Stage.IN_PROGRESS`) and a renamed or misspelt
stage fails type checking instead of silently matching nothing."""

from __future__ import annotations

from enum import StrEnum


class Stage(StrEnum):
    CONTRACT = "contract"
    DECLARATION = "declaration"
    IN_PROGRESS = "in_progress"
    WORK_REPORT = "work_report"
    INVOICED = "invoiced"
    DUNNING = "dunning"
    PAID = "paid"
    WRITTEN_OFF = "written_off"
    CANCELLED = "cancelled"


# In the order a mission goes through them.
STAGES: tuple[Stage, ...] = tuple(Stage)
# Still moving: the pipeline a dashboard shows.
FLOW_STAGES: tuple[Stage, ...] = (
    Stage.CONTRACT,
    Stage.DECLARATION,
    Stage.IN_PROGRESS,
    Stage.WORK_REPORT,
    Stage.INVOICED,
    Stage.DUNNING,
)
# Closed: nothing more happens to the mission's invoice (the salary may still be due).
DONE_STAGES: tuple[Stage, ...] = (Stage.PAID, Stage.WRITTEN_OFF, Stage.CANCELLED)
# Before the work report: the contract side of the lifecycle.
BEFORE_WORK: tuple[Stage, ...] = (Stage.CONTRACT, Stage.DECLARATION, Stage.IN_PROGRESS)
# An invoice is out and open.
COLLECTING: tuple[Stage, ...] = (Stage.INVOICED, Stage.DUNNING)
