"""Alembic owns the schema on PostgreSQL (production, tests) and SQLite (embedded default).

Each test works on its own throwaway database: a fresh PostgreSQL database created and dropped
here (the session's shared one is never touched), or a SQLite file in a temporary directory.
"""

from __future__ import annotations

import secrets
import subprocess
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, func, inspect, pool, select
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.ext.asyncio import AsyncSession

from alembic import command
from core.db import make_engine
from models import Base, Parameter
from services import parameters
from tests.conftest import alembic_config

SEEDED = {"policy.lifecycle", "payroll.simplified", "vat.rates"}
APP_TABLES = set(Base.metadata.tables)


def _postgres_server(url: str) -> tuple[str, int, str]:
    parsed = make_url(url)
    return parsed.host or "127.0.0.1", parsed.port or 5432, parsed.username or "postgres"


@pytest.fixture
def postgres_url(settings: Any) -> Iterator[str]:
    """A new, empty PostgreSQL database on the test server, dropped afterwards."""
    host, port, user = _postgres_server(settings.sync_database_url)
    name = f"coopflow_migr_{secrets.token_hex(4)}"
    base = ["-h", host, "-p", str(port), "-U", user]
    subprocess.run(["createdb", *base, name], check=True)
    try:
        yield str(make_url(settings.sync_database_url).set(database=name))
    finally:
        subprocess.run(["dropdb", *base, "--if-exists", "--force", name], check=False)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'coopflow.db'}"


def _engine(url: str) -> Engine:
    return create_engine(url, poolclass=pool.NullPool)


def _tables(url: str) -> set[str]:
    engine = _engine(url)
    try:
        with engine.connect() as conn:
            return set(inspect(conn).get_table_names())
    finally:
        engine.dispose()


def _seeded_keys(url: str) -> set[str]:
    engine = _engine(url)
    try:
        with engine.connect() as conn:
            return set(conn.scalars(select(Parameter.key)).all())
    finally:
        engine.dispose()


def _current(url: str) -> str | None:
    engine = _engine(url)
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()


def _diff(url: str) -> list[Any]:
    engine = _engine(url)
    try:
        with engine.connect() as conn:
            # The options of alembic/env.py: an empty diff = autogenerate writes no migration.
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            return list(compare_metadata(context, Base.metadata))
    finally:
        engine.dispose()


def _head() -> str:
    head = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
    assert head is not None
    return head


def _round_trip(url: str) -> None:
    """Empty -> head -> base -> head, checking the schema and the seed at every stop."""
    cfg = alembic_config(url)
    assert _tables(url) == set()

    command.upgrade(cfg, "heads")
    assert _current(url) == _head()
    assert _tables(url) == APP_TABLES | {"alembic_version"}
    assert _seeded_keys(url) >= SEEDED

    command.downgrade(cfg, "base")
    assert _current(url) is None
    assert _tables(url) <= {"alembic_version"}, _tables(url)

    command.upgrade(cfg, "heads")
    assert _current(url) == _head()
    assert _tables(url) == APP_TABLES | {"alembic_version"}
    assert _seeded_keys(url) >= SEEDED


def _stairway(url: str) -> None:
    """Each revision in order: up, down one step, up again (catches a downgrade that forgets)."""
    cfg = alembic_config(url)
    revisions = list(reversed(list(ScriptDirectory.from_config(cfg).walk_revisions())))
    assert revisions, "no migrations found"
    for revision in revisions:
        command.upgrade(cfg, revision.revision)
        below = revision.down_revision
        if isinstance(below, tuple | list):
            # A merge: stepping down to one parent also unapplies the other branch.
            below = below[0]
        command.downgrade(cfg, below or "base")
        command.upgrade(cfg, revision.revision)
        assert _current(url) == revision.revision
    assert _current(url) == _head()


def test_postgresql_round_trip(postgres_url: str) -> None:
    _round_trip(postgres_url)


def test_postgresql_models_match_migrations(postgres_url: str) -> None:
    command.upgrade(alembic_config(postgres_url), "heads")
    assert _diff(postgres_url) == []


def test_postgresql_stairway(postgres_url: str) -> None:
    _stairway(postgres_url)
    assert _diff(postgres_url) == []


async def _seed_in_force(url: str) -> None:
    """The parameters the app reads exist and are in force today (read by the app's own code)."""
    engine = make_engine(url=url.replace("sqlite://", "sqlite+aiosqlite://", 1))
    today = date.today()
    try:
        async with AsyncSession(engine) as session:
            policy = await parameters.lifecycle_policy(session, today)
            rates = await parameters.vat_rates(session, today)
            payroll = await parameters.payroll_parameters(session, today)
            keys = set((await session.scalars(select(Parameter.key))).all())
            unsourced = (
                await session.execute(
                    select(Parameter.key, Parameter.valid_from).where(
                        func.coalesce(func.trim(Parameter.source), "") == ""
                    )
                )
            ).all()
    finally:
        await engine.dispose()
    assert keys >= SEEDED
    assert unsourced == [], "every dated parameter row cites its source"
    assert policy.confirmation_days == 14
    assert policy.invoice_due_days == 30
    assert policy.advance_working_days == 7
    assert sorted(rates) == [Decimal(0), Decimal(6), Decimal(12), Decimal(21)]
    assert Decimal(0) < payroll.fee_rate < Decimal(1)


async def test_postgresql_seeded_parameters(postgres_url: str) -> None:
    command.upgrade(alembic_config(postgres_url), "heads")
    await _seed_in_force(postgres_url)


async def test_sqlite_seeded_parameters(sqlite_url: str) -> None:
    command.upgrade(alembic_config(sqlite_url), "heads")
    await _seed_in_force(sqlite_url)


def test_sqlite_round_trip(sqlite_url: str) -> None:
    _round_trip(sqlite_url)


def test_sqlite_stairway(sqlite_url: str) -> None:
    _stairway(sqlite_url)
    assert _seeded_keys(sqlite_url) >= SEEDED
