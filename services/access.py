"""Who may see what: the viewer of a request and the scoping of missions, clients and members.

Members are confined to their own missions, advisors to the members assigned to them
(members.advisor_user_id), ops see everyone. Every service that reads for a person goes through
these; a missing row and someone else's row answer the same 404."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.errors import NotFound
from models import Client, Member, Mission, User

S = TypeVar("S", bound=Select[Any])


@dataclass(frozen=True)
class Viewer:
    """Who is asking: members are confined to their own missions, advisors to the members
    assigned to them (members.advisor_user_id), ops see everyone."""

    user_id: int
    role: str
    member_id: int | None

    @property
    def is_staff(self) -> bool:
        return self.role in ("advisor", "ops")

    @property
    def sees_everyone(self) -> bool:
        return self.role == "ops"

    @property
    def label(self) -> str:
        return f"{self.role}:{self.user_id}"


def viewer_of(user: User) -> Viewer:
    return Viewer(user_id=user.id, role=user.role, member_id=user.member_id)


async def sees_member(session: AsyncSession, viewer: Viewer, member_id: int | None) -> bool:
    """May the viewer see this member's missions, clients and details?"""
    if viewer.sees_everyone:
        return True
    if member_id is None:
        return False
    if viewer.role == "advisor":
        advisor = await session.scalar(select(Member.advisor_user_id).where(Member.id == member_id))
        return advisor is not None and advisor == viewer.user_id
    return viewer.member_id is not None and member_id == viewer.member_id


def scope_missions(query: S, viewer: Viewer) -> S:
    """Restrict a query over missions to those the viewer may see."""
    if viewer.sees_everyone:
        return query
    if viewer.role == "advisor":
        assigned = select(Member.id).where(Member.advisor_user_id == viewer.user_id)
        return query.where(Mission.member_id.in_(assigned))
    return query.where(Mission.member_id == viewer.member_id)


def scope_clients(query: S, viewer: Viewer) -> S:
    """Clients the viewer may see: an advisor also sees clients owned by no member."""
    if viewer.sees_everyone:
        return query
    if viewer.role == "advisor":
        assigned = select(Member.id).where(Member.advisor_user_id == viewer.user_id)
        return query.where(Client.owner_member_id.in_(assigned) | Client.owner_member_id.is_(None))
    return query.where(Client.owner_member_id == viewer.member_id)


async def visible_client(session: AsyncSession, viewer: Viewer, client_id: int) -> Client:
    client = await session.get(Client, client_id)
    if client is None:
        raise NotFound("client", "client_id")
    if viewer.role == "advisor" and client.owner_member_id is None:
        return client
    if not await sees_member(session, viewer, client.owner_member_id):
        raise NotFound("client", "client_id")
    return client


async def get_mission(session: AsyncSession, mission_id: int, *, lock: bool = False) -> Mission:
    query = select(Mission).where(Mission.id == mission_id)
    if lock:
        query = query.with_for_update()
    mission = await session.scalar(query)
    if mission is None:
        raise NotFound("mission")
    return mission


async def visible_mission(session: AsyncSession, viewer: Viewer, mission_id: int) -> Mission:
    """The mission if the viewer may see it; 404 for a missing or someone else's mission alike."""
    if not 1 <= mission_id <= 2**31 - 1:
        raise NotFound("mission")
    mission = await session.get(Mission, mission_id)
    if mission is None or not await sees_member(session, viewer, mission.member_id):
        raise NotFound("mission")
    return mission
