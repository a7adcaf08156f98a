"""Stage entry dates per mission and the book's stays counted, kept by triggers

Found by bench/large_book.py (100,000 missions, ~0.7 M timeline events): the dashboard's stage
durations grouped every `timeline_events` row by mission on each request (`WITH entries AS …`,
up to 1.9 s). `mission_stage_dates` holds, per mission, what that grouping computed (the same
min / max / count over the same keys), so the durations read one row per mission:

- `contract` first `created`; `declaration_at` latest of `signed`, `client_confirmed` and
  `contract_parts` how many of them; `in_progress` first `declaration:in`; `work_report` first
  `work_report_due`; `invoiced` first `invoiced`; `dunning` first `dunning:*`; `ended` first of
  `paid`, `written_off`, `cancelled`, `credited`; `last_at` the latest of all these but
  `created` (no stay ends after it: indexed for the durations' period filter).

A trigger keeps it, on PostgreSQL (plpgsql, `INSERT … ON CONFLICT DO UPDATE`) and SQLite
(`INSERT OR IGNORE` + `UPDATE`), because timeline events are written by more than the services
(tests, the bench loader's COPY): an INSERT folds the new event into its mission's row, in any
order. Nothing updates or deletes timeline events, but nothing forbids it either: an UPDATE or
DELETE recomputes the rows of the missions concerned from their timeline (a TRUNCATE empties the
table on PostgreSQL), so the table always says what the timeline says.

Even one row per mission is 60,000 rows for the whole book's last 90 days (150-500 ms on a loaded
machine): `stage_stay_counts` counts the stays of those rows per (end date, stage, days), kept by
a trigger on `mission_stage_dates` that moves only the stays a change ended or moved (an event in
order ends one stay: one counter row). Ops' durations read a few thousand counters; an advisor's
are still computed from their own missions' rows.

The upgrade backfills both tables from the events already there (`backfill()`, which the bench
loader runs after its COPY too).

And the indexes the dashboard's other per-request aggregates needed on that book (each read
index-only, PostgreSQL's INCLUDE; plain indexes on SQLite):

- `missions (member_id, stage) INCLUDE (id, amount_excl_vat, dunning_level)`: an advisor's
  pipeline, dunning ladder and missions (their members' missions) without reading the missions;
- `invoices (mission_id) INCLUDE (due_date, balance)` on the open invoices (`kind = 'invoice'
  AND status = 'open' AND balance > 0`): the receivables ageing reads 30,000 index entries
  instead of the invoices' heap;
- `invoices (mission_id) INCLUDE (balance)` on `kind = 'invoice'`: the dunning ladder's balances.

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-29

"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

# revision identifiers, used by Alembic.
revision: str = '0016'
down_revision: str | Sequence[str] | None = '0015'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CONTRACT_PARTS = "('signed', 'client_confirmed')"
TERMINAL = "('paid', 'written_off', 'cancelled', 'credited')"
# (column, how events fold into it, which events: a condition on the event's key `{k}`)
COLUMNS = (
    ("contract", "min", "{k} = 'created'"),
    ("declaration_at", "max", f"{{k}} IN {CONTRACT_PARTS}"),
    ("contract_parts", "count", f"{{k}} IN {CONTRACT_PARTS}"),
    ("in_progress", "min", "{k} = 'declaration:in'"),
    ("work_report", "min", "{k} = 'work_report_due'"),
    ("invoiced", "min", "{k} = 'invoiced'"),
    ("dunning", "min", "{k} LIKE 'dunning:%'"),
    ("ended", "min", f"{{k}} IN {TERMINAL}"),
    ("last_at", "max", "{k} <> 'created'"),
)
# the events that enter a stage (the others leave the table alone)
RELEVANT = (
    "({k} IN ('created', 'signed', 'client_confirmed', 'declaration:in', 'work_report_due', "
    f"'invoiced', 'paid', 'written_off', 'cancelled', 'credited') OR {{k}} LIKE 'dunning:%')"
)
NAMES = ", ".join(["mission_id", *(c for c, _, _ in COLUMNS)])

# A mission's stays: (stage, entered, left), from its row `{r}` (services/dashboard.py's too).
_DECLARATION = "CASE WHEN {r}contract_parts >= 2 THEN {r}declaration_at END"
_LATER = [
    _DECLARATION,
    "{r}in_progress",
    "{r}work_report",
    "{r}invoiced",
    "{r}dunning",
    "{r}ended",
]
STAYS = [
    (stage, start, f"coalesce({', '.join(_LATER[i:])})" if i < 5 else _LATER[5])
    for i, (stage, start) in enumerate(
        [
            ("contract", "{r}contract"),
            ("declaration", _DECLARATION),
            ("in_progress", "{r}in_progress"),
            ("work_report", "{r}work_report"),
            ("invoiced", "{r}invoiced"),
            ("dunning", "{r}dunning"),
        ]
    )
]


def _stays(r: str, days: str) -> str:
    """The stays of row `r` that have ended: (stage, ended_on, days), one SELECT per stage."""
    parts = []
    for stage, start, stop in STAYS:
        start, stop = start.format(r=r), stop.format(r=r)
        parts.append(
            f"SELECT '{stage}' AS stage, {stop} AS ended_on, {days.format(a=stop, b=start)} AS days"
            + (f" FROM mission_stage_dates WHERE " if r == "" else " WHERE ")
            + f"{start} IS NOT NULL AND {stop} IS NOT NULL"
        )
    return " UNION ALL ".join(parts)


PG_DAYS = "({a}) - ({b})"
SQLITE_DAYS = "CAST(julianday({a}) - julianday({b}) AS INTEGER)"


def backfill(dialect: str = "postgresql") -> list[str]:
    """Both tables from the timeline (the upgrade; bench/book.py after its COPY)."""
    days = PG_DAYS if dialect == "postgresql" else SQLITE_DAYS
    return [
        f"INSERT INTO mission_stage_dates ({NAMES}) {_select()}",
        "INSERT INTO stage_stay_counts (ended_on, stage, days, stays) "
        f"SELECT ended_on, stage, days, count(*) FROM ({_stays('', days)}) AS s "
        "GROUP BY ended_on, stage, days",
    ]


def _aggregate(how: str, cond: str) -> str:
    if how == "count":
        return f"sum(CASE WHEN {cond.format(k='key')} THEN 1 ELSE 0 END)"
    return f"{how}(CASE WHEN {cond.format(k='key')} THEN business_date END)"


def _select(mission: str | None = None) -> str:
    """Each mission's row from its timeline (the backfill, and the recomputation of one)."""
    where = RELEVANT.format(k="key")
    if mission is not None:
        where += f" AND mission_id = {mission}"
    aggregates = ", ".join(_aggregate(how, cond) for _, how, cond in COLUMNS)
    return (
        f"SELECT mission_id, {aggregates} FROM timeline_events WHERE {where} GROUP BY mission_id"
    )


def _recompute(mission: str) -> str:
    return (
        f"DELETE FROM mission_stage_dates WHERE mission_id = {mission};\n"
        f"INSERT INTO mission_stage_dates ({NAMES}) {_select(mission)};\n"
    )


def _postgresql_up() -> None:
    values = ", ".join(
        f"CASE WHEN {cond.format(k='NEW.key')} THEN 1 ELSE 0 END"
        if how == "count"
        else f"CASE WHEN {cond.format(k='NEW.key')} THEN NEW.business_date END"
        for _, how, cond in COLUMNS
    )
    fold = {"min": "least", "max": "greatest"}  # both ignore NULLs in PostgreSQL
    updates = ", ".join(
        f"{c} = s.{c} + EXCLUDED.{c}" if how == "count" else f"{c} = {fold[how]}(s.{c}, EXCLUDED.{c})"
        for c, how, _ in COLUMNS
    )
    op.execute(
        f"""
        CREATE FUNCTION coopflow_stage_dates() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP = 'INSERT' THEN
                INSERT INTO mission_stage_dates AS s ({NAMES})
                VALUES (NEW.mission_id, {values})
                ON CONFLICT (mission_id) DO UPDATE SET {updates};
                RETURN NULL;
            END IF;
            {_recompute("OLD.mission_id")}
            IF TG_OP = 'UPDATE' AND NEW.mission_id <> OLD.mission_id THEN
                {_recompute("NEW.mission_id")}
            END IF;
            RETURN NULL;
        END;
        $$
        """
    )
    op.execute(
        "CREATE TRIGGER timeline_events_stage_dates AFTER INSERT ON timeline_events "
        f"FOR EACH ROW WHEN {RELEVANT.format(k='NEW.key')} "
        "EXECUTE FUNCTION coopflow_stage_dates()"
    )
    op.execute(
        "CREATE TRIGGER timeline_events_stage_dates_again AFTER UPDATE OR DELETE ON timeline_events "
        "FOR EACH ROW EXECUTE FUNCTION coopflow_stage_dates()"
    )
    op.execute(
        "CREATE FUNCTION coopflow_stage_stays(r mission_stage_dates) "
        "RETURNS TABLE (stage text, ended_on date, days integer) LANGUAGE sql STABLE AS $$ "
        f"{_stays('r.', PG_DAYS)} $$"
    )
    op.execute(
        """
        CREATE FUNCTION coopflow_stage_stay_counts() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            -- only the stays that changed (an event in order ends one stay: one counter row)
            UPDATE stage_stay_counts c SET stays = c.stays - 1
            FROM (SELECT * FROM coopflow_stage_stays(OLD)
                  EXCEPT SELECT * FROM coopflow_stage_stays(NEW)) AS gone
            WHERE c.ended_on = gone.ended_on AND c.stage = gone.stage AND c.days = gone.days;
            INSERT INTO stage_stay_counts AS c (ended_on, stage, days, stays)
            SELECT ended_on, stage, days, 1
            FROM (SELECT * FROM coopflow_stage_stays(NEW)
                  EXCEPT SELECT * FROM coopflow_stage_stays(OLD)) AS came
            ON CONFLICT (ended_on, stage, days) DO UPDATE SET stays = c.stays + 1;
            RETURN NULL;
        END;
        $$
        """
    )
    op.execute(
        "CREATE TRIGGER mission_stage_dates_stays AFTER INSERT OR UPDATE OR DELETE "
        "ON mission_stage_dates FOR EACH ROW EXECUTE FUNCTION coopflow_stage_stay_counts()"
    )
    op.execute(
        """
        CREATE FUNCTION coopflow_stage_dates_truncate() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            DELETE FROM mission_stage_dates;
            RETURN NULL;
        END;
        $$
        """
    )
    op.execute(
        "CREATE TRIGGER timeline_events_stage_dates_truncate AFTER TRUNCATE ON timeline_events "
        "FOR EACH STATEMENT EXECUTE FUNCTION coopflow_stage_dates_truncate()"
    )


def _sqlite_counts(old: bool, new: bool) -> str:
    none = "SELECT NULL AS stage, NULL AS ended_on, NULL AS days WHERE 0"
    before = f"SELECT * FROM ({_stays('OLD.', SQLITE_DAYS) if old else none})"
    after = f"SELECT * FROM ({_stays('NEW.', SQLITE_DAYS) if new else none})"
    return (
        "UPDATE stage_stay_counts SET stays = stays - 1 WHERE (ended_on, stage, days) IN "
        f"(SELECT ended_on, stage, days FROM ({before} EXCEPT {after})); "
        "INSERT INTO stage_stay_counts (ended_on, stage, days, stays) "
        f"SELECT ended_on, stage, days, 1 FROM ({after} EXCEPT {before}) WHERE true "
        "ON CONFLICT (ended_on, stage, days) DO UPDATE SET stays = stays + 1; "
    )


def _sqlite_up() -> None:
    d = "NEW.business_date"
    sets = []
    for c, how, cond in COLUMNS:
        when = cond.format(k="NEW.key")
        if how == "count":
            sets.append(f"{c} = {c} + CASE WHEN {when} THEN 1 ELSE 0 END")
        else:  # SQLite's min(x, y) and max(x, y) are NULL if either is: hence the coalesce
            sets.append(f"{c} = CASE WHEN {when} THEN {how}(coalesce({c}, {d}), {d}) ELSE {c} END")
    op.execute(
        "CREATE TRIGGER timeline_events_stage_dates AFTER INSERT ON timeline_events "
        f"WHEN {RELEVANT.format(k='NEW.key')} BEGIN "
        "INSERT OR IGNORE INTO mission_stage_dates (mission_id, contract_parts) "
        "VALUES (NEW.mission_id, 0); "
        f"UPDATE mission_stage_dates SET {', '.join(sets)} WHERE mission_id = NEW.mission_id; "
        "END"
    )
    op.execute(
        "CREATE TRIGGER timeline_events_stage_dates_delete AFTER DELETE ON timeline_events "
        f"BEGIN {_recompute('OLD.mission_id')} END"
    )
    op.execute(
        "CREATE TRIGGER timeline_events_stage_dates_update AFTER UPDATE ON timeline_events "
        f"BEGIN {_recompute('OLD.mission_id')} {_recompute('NEW.mission_id')} END"
    )
    for event, old, new in (("INSERT", False, True), ("UPDATE", True, True), ("DELETE", True, False)):
        op.execute(
            f"CREATE TRIGGER mission_stage_dates_stays_{event.lower()} AFTER {event} "
            f"ON mission_stage_dates BEGIN {_sqlite_counts(old, new)} END"
        )


def upgrade() -> None:
    op.create_table('mission_stage_dates',
    sa.Column('mission_id', sa.Integer(), nullable=False),
    sa.Column('contract', sa.Date(), nullable=True),
    sa.Column('declaration_at', sa.Date(), nullable=True),
    sa.Column('contract_parts', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('in_progress', sa.Date(), nullable=True),
    sa.Column('work_report', sa.Date(), nullable=True),
    sa.Column('invoiced', sa.Date(), nullable=True),
    sa.Column('dunning', sa.Date(), nullable=True),
    sa.Column('ended', sa.Date(), nullable=True),
    sa.Column('last_at', sa.Date(), nullable=True),
    sa.ForeignKeyConstraint(['mission_id'], ['missions.id'], name=op.f('fk_mission_stage_dates_mission_id_missions')),
    sa.PrimaryKeyConstraint('mission_id', name=op.f('pk_mission_stage_dates'))
    )
    op.create_table('stage_stay_counts',
    sa.Column('ended_on', sa.Date(), nullable=False),
    sa.Column('stage', sa.String(length=16), nullable=False),
    sa.Column('days', sa.Integer(), nullable=False),
    sa.Column('stays', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('ended_on', 'stage', 'days', name=op.f('pk_stage_stay_counts'))
    )
    for statement in backfill(op.get_bind().dialect.name):
        op.execute(statement)
    op.create_index(op.f('ix_mission_stage_dates_last_at'), 'mission_stage_dates', ['last_at'], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        _postgresql_up()
    else:
        _sqlite_up()
    op.create_index('ix_missions_member_id_stage', 'missions', ['member_id', 'stage'], unique=False, postgresql_include=['id', 'amount_excl_vat', 'dunning_level'])
    op.create_index('ix_invoices_open', 'invoices', ['mission_id'], unique=False, postgresql_include=['due_date', 'balance'], postgresql_where=sa.text("kind = 'invoice' AND status = 'open' AND balance > 0"), sqlite_where=sa.text("kind = 'invoice' AND status = 'open' AND balance > 0"))
    op.create_index('ix_invoices_invoice_balance', 'invoices', ['mission_id'], unique=False, postgresql_include=['balance'], postgresql_where=sa.text("kind = 'invoice'"), sqlite_where=sa.text("kind = 'invoice'"))


def downgrade() -> None:
    op.drop_index('ix_invoices_invoice_balance', table_name='invoices')
    op.drop_index('ix_invoices_open', table_name='invoices')
    op.drop_index('ix_missions_member_id_stage', table_name='missions')
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS timeline_events_stage_dates_truncate ON timeline_events")
        op.execute("DROP TRIGGER IF EXISTS timeline_events_stage_dates_again ON timeline_events")
        op.execute("DROP TRIGGER IF EXISTS timeline_events_stage_dates ON timeline_events")
        op.execute("DROP FUNCTION IF EXISTS coopflow_stage_dates_truncate()")
        op.execute("DROP FUNCTION IF EXISTS coopflow_stage_dates()")
        op.execute("DROP TRIGGER IF EXISTS mission_stage_dates_stays ON mission_stage_dates")
        op.execute("DROP FUNCTION IF EXISTS coopflow_stage_stay_counts()")
        op.execute("DROP FUNCTION IF EXISTS coopflow_stage_stays(mission_stage_dates)")
    else:
        for name in ("", "_delete", "_update"):
            op.execute(f"DROP TRIGGER IF EXISTS timeline_events_stage_dates{name}")
        for name in ("insert", "update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS mission_stage_dates_stays_{name}")
    op.drop_table('stage_stay_counts')
    op.drop_index(op.f('ix_mission_stage_dates_last_at'), table_name='mission_stage_dates')
    op.drop_table('mission_stage_dates')
