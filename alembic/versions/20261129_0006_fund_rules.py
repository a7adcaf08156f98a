"""Guarantee fund rules: floor and client cap as dated parameters, top-ups, write-off causes,
and an append-only ledger.

- `fund.rules` (dated): the floor the fund's available balance may not cross to advance a
  salary, the cap on what the fund may have advanced for one client's unpaid invoices, and after
  how many days a refused advance is asked again. domain.md §1.6 found no published figure: the
  values are assumptions, to be set by the board (a new row, never an edit).
- `fund_top_ups`: money put into the fund by ops, once per reference.
- `write_offs` gains the cause, whether the loss is certain (VAT recovered, art. 77 CTVA) and
  the VAT recovered. Write-offs booked before this revision recovered the VAT pro rata: they are
  marked so, with the amount they booked, so that a later recovery owes that VAT again.
- `ledger_transactions` and `ledger_entries` refuse UPDATE and DELETE (triggers, PostgreSQL and
  SQLite): a correction is a new transaction.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FUND_RULES = "fund.rules"
VALID_FROM = dt.date(2026, 1, 1)
RULES = {
    "floor": "10000.00",
    "client_exposure_cap": "25000.00",
    "retry_days": 1,
    "description": "floor: the available balance an advance may not take the fund below; "
    "client_exposure_cap: most the fund may have advanced for one client's unpaid invoices; "
    "retry_days: when a refused advance is asked again (a top-up or a payment may free it)",
}
SOURCE = (
    "ASSUMPTION: domain.md §1.6 found no numeric limits ('per-member or per-client caps and "
    "maximum outstanding are design parameters'); floor 10,000.00 EUR and cap 25,000.00 EUR per "
    "client are starting values for the board to set (a new dated row replaces them)"
)

LEDGER_TABLES = ("ledger_transactions", "ledger_entries")

parameters = sa.table(
    "parameters",
    sa.column("key", sa.String),
    sa.column("valid_from", sa.Date),
    sa.column("valid_to", sa.Date),
    sa.column("value", sa.JSON),
    sa.column("source", sa.Text),
)


def _append_only_up(dialect: str) -> None:
    if dialect == "postgresql":
        op.execute(
            """
            CREATE FUNCTION coopflow_ledger_append_only() RETURNS trigger
            LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION 'ledger rows are append-only: % on % refused', TG_OP, TG_TABLE_NAME
                    USING ERRCODE = 'integrity_constraint_violation',
                          HINT = 'post a new, reversing transaction instead';
            END
            $$
            """
        )
        for table in LEDGER_TABLES:
            op.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION coopflow_ledger_append_only()"
            )
            op.execute(
                f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION coopflow_ledger_append_only()"
            )
    elif dialect == "sqlite":
        for table in LEDGER_TABLES:
            for event in ("UPDATE", "DELETE"):
                op.execute(
                    f"CREATE TRIGGER {table}_no_{event.lower()} BEFORE {event} ON {table} "
                    f"BEGIN SELECT RAISE(ABORT, 'ledger rows are append-only: {event} on {table} "
                    "refused'); END"
                )


def _append_only_down(dialect: str) -> None:
    if dialect == "postgresql":
        for table in LEDGER_TABLES:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
            op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
        op.execute("DROP FUNCTION IF EXISTS coopflow_ledger_append_only()")
    elif dialect == "sqlite":
        for table in LEDGER_TABLES:
            for event in ("update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_no_{event}")


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    op.bulk_insert(
        parameters,
        [
            {
                "key": FUND_RULES,
                "valid_from": VALID_FROM,
                "valid_to": None,
                "value": RULES,
                "source": SOURCE,
            }
        ],
    )
    op.create_table(
        "fund_top_ups",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(length=64), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("business_date", sa.Date(), nullable=False),
        sa.Column("recorded_by_user_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["recorded_by_user_id"],
            ["users.id"],
            name=op.f("fk_fund_top_ups_recorded_by_user_id_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fund_top_ups")),
        sa.UniqueConstraint("reference", name=op.f("uq_fund_top_ups_reference")),
    )
    with op.batch_alter_table("write_offs", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "cause", sa.String(length=32), nullable=False, server_default="dunning_exhausted"
            )
        )
        batch_op.add_column(
            sa.Column("vat_recoverable", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(
            sa.Column("vat_recovered", sa.BigInteger(), nullable=False, server_default="0")
        )
    # Earlier write-offs booked the VAT share back (pro rata, half up): record what they did.
    true = "true" if dialect == "postgresql" else "1"
    op.execute(
        f"""
        UPDATE write_offs SET vat_recoverable = {true}, vat_recovered = COALESCE((
            SELECT (write_offs.amount * i.vat_amount * 2 + i.total_incl_vat)
                   / (2 * i.total_incl_vat)
            FROM invoices i
            WHERE i.id = write_offs.invoice_id AND i.total_incl_vat > 0
        ), 0)
        """
    )
    _append_only_up(dialect)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    _append_only_down(dialect)
    with op.batch_alter_table("write_offs", schema=None) as batch_op:
        for column in ("vat_recovered", "vat_recoverable", "cause"):
            batch_op.drop_column(column)
    op.drop_table("fund_top_ups")
    op.execute(
        parameters.delete().where(
            parameters.c.key == FUND_RULES, parameters.c.valid_from == VALID_FROM
        )
    )
