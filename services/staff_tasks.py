"""Staff tasks: made once per business key by whatever job needs a person, closed when done.

The generic part of the task inbox (issue 15): a task has a kind, a unique key, an English title
with %(name)s placeholders and their values (the pages translate it), a due date and a link to
where the work is done. `ensure_task` may run on every worker at once, again and again: the
UNIQUE key keeps one row.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from domain.errors import FieldError
from models import StaffTask, utcnow
from models.tasks import TASK_STATUSES


async def ensure_task(
    session: AsyncSession,
    *,
    kind: str,
    key: str,
    title: str,
    params: dict[str, Any],
    due_on: date,
    link: str | None = None,
) -> tuple[StaffTask, bool]:
    """The task with this key, made now if it does not exist yet; and whether it was made."""
    found = await session.scalar(select(StaffTask).where(StaffTask.key == key))
    if found is not None:
        return found, False
    task = StaffTask(
        kind=kind, key=key, title=title, params=params, due_on=due_on, status="open", link=link
    )
    try:
        async with session.begin_nested():  # another worker may make it at the same moment
            session.add(task)
            await session.flush()
    except IntegrityError:
        made = await session.scalar(select(StaffTask).where(StaffTask.key == key))
        assert made is not None
        return made, False
    return task, True


async def close_task(session: AsyncSession, key: str, user_id: int | None) -> StaffTask | None:
    """Mark the open task with this key done, by this user (nothing to do if none is open)."""
    task = await session.scalar(select(StaffTask).where(StaffTask.key == key).with_for_update())
    if task is None or task.status == "done":
        return task
    task.status = "done"
    task.done_at = utcnow()
    task.done_by = user_id
    await session.flush()
    return task


def parse_status(value: object) -> str | None:
    """`open`, `done`, or nothing (every task)."""
    if value is None:
        return None
    if value not in TASK_STATUSES:
        raise FieldError("status", f"must be one of {', '.join(TASK_STATUSES)}")
    return str(value)


async def list_tasks(
    session: AsyncSession, status: str | None, *, limit: int = 100, offset: int = 0
) -> list[StaffTask]:
    """The tasks, the most urgent first (due date, then age)."""
    query = select(StaffTask).order_by(StaffTask.due_on, StaffTask.id).limit(limit).offset(offset)
    if status is not None:
        query = query.where(StaffTask.status == status)
    return list((await session.scalars(query)).all())


def task_out(task: StaffTask) -> dict[str, Any]:
    return {
        "id": task.id,
        "kind": task.kind,
        "key": task.key,
        "title": task.title % task.params,
        "title_template": task.title,
        "params": task.params,
        "due_on": task.due_on.isoformat(),
        "status": task.status,
        "link": task.link,
        "created_at": task.created_at.isoformat(),
        "done_at": None if task.done_at is None else task.done_at.isoformat(),
        "done_by": task.done_by,
    }
