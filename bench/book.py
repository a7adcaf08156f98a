"""A large book, bulk-loaded with COPY: members, clients, missions in every stage, their
invoices, payments, payouts, dunning steps, write-offs, timelines, emails and a balanced,
append-only ledger (inserts only; every transaction sums to zero).

The rows follow the models' schema and the services' posting rules closely enough for every read
page and endpoint to find what it expects; they are not produced by the workflows (that would
take days), so their business history is plausible rather than replayable.
"""

from __future__ import annotations

import importlib.util
import json
import random
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

# share of missions per stage; "dunning" is sized so that it holds exactly a tenth of the book
STAGES = {
    "contract": 0.05,
    "declaration": 0.01,
    "in_progress": 0.10,
    "work_report": 0.07,
    "invoiced": 0.20,
    "dunning": 0.10,
    "paid": 0.39,
    "written_off": 0.03,
    "cancelled": 0.05,
}
IBANS = ["BE71096123456769", "BE62510007547061", "BE43068999999501"]
INVOICE_SERIES = "F"
PASSWORD_HASH = "!bench-no-login"  # not an argon2 hash: nobody logs in as a bulk member


def niss(seq: int) -> str:
    base = f"{80 + seq // 1_000_000 % 20:02d}0101{seq % 1000:03d}"
    base = f"{(seq // 1000) % 100:02d}{base[2:]}"
    return f"{base}{97 - int(base) % 97:02d}"


def ogm(year: int, seq: int) -> str:
    """A structured communication +++YYY/YSSS/SSSCC+++ (mod 97 check)."""
    base = f"{year % 1000:03d}{seq:07d}"
    check = int(base) % 97 or 97
    digits = f"{base}{check:02d}"
    return f"+++{digits[:3]}/{digits[3:7]}/{digits[7:]}+++"


@dataclass
class Book:
    """Rows per table, in COPY column order."""

    today: date
    rows: dict[str, list[tuple[Any, ...]]] = field(default_factory=dict)
    columns: dict[str, Sequence[str]] = field(default_factory=dict)
    stage_counts: Counter[str] = field(default_factory=Counter)
    ids: Counter[str] = field(default_factory=Counter)

    def add(self, table: str, columns: Sequence[str], *values: Any) -> int:
        """Append a row with the next id of `table` (the first column is always the id)."""
        self.ids[table] += 1
        new_id = self.ids[table]
        self.columns.setdefault(table, ("id", *columns))
        self.rows.setdefault(table, []).append((new_id, *values))
        return new_id

    def ledger(
        self,
        key: str,
        kind: str,
        mission_id: int | None,
        on: date,
        lines: Iterable[tuple[str, int, int | None]],
        at: datetime,
    ) -> None:
        lines = list(lines)
        if sum(amount for _, amount, _ in lines) != 0:
            raise ValueError(f"unbalanced ledger transaction {key}: {lines}")
        tx = self.add(
            "ledger_transactions",
            ("event_key", "kind", "mission_id", "business_date", "description", "created_at"),
            key,
            kind,
            mission_id,
            on,
            kind.replace("_", " "),
            at,
        )
        for account, amount, client_id in lines:
            self.add(
                "ledger_entries",
                ("transaction_id", "account", "client_id", "amount"),
                tx,
                account,
                client_id,
                amount,
            )

    @property
    def size(self) -> dict[str, int]:
        return {t: len(r) for t, r in self.rows.items()}


def generate(missions: int, members: int, clients: int, advisors: list[int], seed: int) -> Book:
    """Every table's rows for a book of `missions` missions (deterministic for a seed)."""
    rnd = random.Random(seed)
    today = datetime.now(UTC).date()
    book = Book(today)
    now = datetime.now(UTC)
    member_cols = ("name", "email", "iban", "national_number", "language", "advisor_user_id")
    for i in range(1, members + 1):
        book.add(
            "members",
            (*member_cols, "created_at"),
            f"Member {i}",
            f"member{i}@book.example",
            IBANS[i % 3],
            niss(i),
            rnd.choice(["fr", "nl", "en"]),
            advisors[i % len(advisors)],
            now,
        )
    client_owner = {}
    for i in range(1, clients + 1):
        owner = 1 + (i - 1) % members
        client_owner[i] = owner
        consumer = i % 7 == 0
        book.add(
            "clients",
            (
                "name",
                "email",
                "email_valid",
                "kind",
                "country",
                "address",
                "vat_number",
                "language",
                "owner_member_id",
                "created_at",
            ),
            f"Client {i}",
            f"client{i}@book.example",
            True,
            "consumer" if consumer else "business",
            "BE",
            "Rue de la Loi 16, 1000 Bruxelles",
            None if consumer else "BE0403170701",
            "fr",
            owner,
            now,
        )
    by_owner: dict[int, list[int]] = {}
    for c, owner in client_owner.items():
        by_owner.setdefault(owner, []).append(c)

    stages = [s for s, share in STAGES.items() for _ in range(round(share * missions))]
    stages = (stages + ["paid"] * missions)[:missions]
    rnd.shuffle(stages)
    for mission_id, stage in enumerate(stages, start=1):
        _mission(book, rnd, mission_id, stage, members, by_owner, now)
    book.columns["invoice_counters"] = ("series", "year", "last_number")
    # the fund's opening endowment, as ops would top it up
    book.add(
        "fund_top_ups",
        ("reference", "amount", "reason", "business_date", "recorded_by_user_id", "created_at"),
        "BOOK-ENDOWMENT",
        500_000_000,
        "opening balance",
        today - timedelta(days=800),
        None,
        now,
    )
    book.ledger(
        "fund_top_up:BOOK-ENDOWMENT",
        "fund_top_up",
        None,
        today - timedelta(days=800),
        [("bank", 500_000_000, None), ("guarantee_fund", -500_000_000, None)],
        now,
    )
    # payments that matched no invoice: the suspense list
    for i in range(1, 301):
        amount = rnd.randint(1000, 500000)
        book.add(
            "payments",
            PAYMENT_COLS,
            "main",
            f"SUSPENSE-{i}",
            amount,
            today - timedelta(days=rnd.randint(0, 60)),
            "unknown reference",
            None,
            None,
            False,
            None,
            now,
        )
        book.ledger(
            f"payment_suspense:{i}",
            "payment_suspense",
            None,
            today,
            [("bank", amount, None), ("payments_suspense", -amount, None)],
            now,
        )
    return book


PAYMENT_COLS = (
    "bank_account",
    "bank_transaction_id",
    "amount",
    "received_on",
    "communication",
    "structured_communication",
    "invoice_id",
    "matched",
    "recorded_by_user_id",
    "created_at",
)
ORDER = [
    "contract",
    "declaration",
    "in_progress",
    "work_report",
    "invoiced",
    "dunning",
    "paid",
    "written_off",
]


def _mission(
    book: Book,
    rnd: random.Random,
    mission_id: int,
    stage: str,
    members: int,
    by_owner: dict[int, list[int]],
    now: datetime,
) -> None:
    today = book.today
    member_id = rnd.randint(1, members)
    client_id = rnd.choice(by_owner.get(member_id) or [1])
    consumer = client_id % 7 == 0
    amount = rnd.randint(20_000, 800_000)  # cents excl. VAT
    length = rnd.randint(1, 20)
    reached = ORDER.index(stage) if stage in ORDER else rnd.randint(0, 2)
    # when the work ended, counted back from today so that each stage's dates make sense
    if reached <= ORDER.index("in_progress"):
        start = today + timedelta(days=rnd.randint(1, 60))
        if stage == "in_progress" and rnd.random() < 0.5:
            start = today - timedelta(days=rnd.randint(0, length - 1))
    elif stage == "work_report":
        start = today - timedelta(days=length - 1 + rnd.randint(0, 10))
    elif stage == "invoiced":
        start = today - timedelta(days=length - 1 + rnd.randint(1, 28))
    elif stage == "dunning":
        start = today - timedelta(days=length - 1 + rnd.randint(35, 90))
    else:  # paid, written off
        start = today - timedelta(days=length - 1 + rnd.randint(10, 700))
    end = start + timedelta(days=length - 1)
    created = start - timedelta(days=rnd.randint(3, 30))
    pay_date = end + timedelta(days=9)
    dunning_level = 0
    if stage == "dunning":
        dunning_level = rnd.randint(1, 3)
    elif stage == "written_off":
        dunning_level = 3
    attention = stage in ("declaration", "work_report") and rnd.random() < 0.1
    book.add(
        "missions",
        (
            "member_id",
            "client_id",
            "title",
            "start_date",
            "end_date",
            "amount_excl_vat",
            "vat_rate",
            "stage",
            "needs_attention",
            "attention_reason",
            "attention_step",
            "dunning_level",
            "created_on",
            "pay_date",
            "signed_at",
            "client_confirmed_at",
            "client_confirmation_method",
            "days_worked",
            "cancel_reason",
            "workflow_id",
            "workflow_started_at",
            "estimate",
            "created_by_user_id",
            "created_at",
            "updated_at",
        ),
        member_id,
        client_id,
        f"Mission {mission_id}",
        start,
        end,
        amount,
        2100,
        stage,
        attention,
        "declaration gateway unavailable" if attention else None,
        "declaration" if attention else None,
        dunning_level,
        created,
        pay_date,
        now if reached >= 1 else None,
        now if reached >= 1 else None,
        "signed order form" if reached >= 1 else None,
        min(length, 5) if reached >= 4 else None,
        "client withdrew" if stage == "cancelled" else None,
        f"mission-{mission_id}",
        now,
        None,
        None,
        now,
        now,
    )
    book.stage_counts[stage] += 1
    # (key, step, business date): the keys and steps the services write (services/missions.py,
    # activities/mission.py, invoicing, collection), so that the dashboard's stage durations
    # (services/dashboard.py) read real stays, not a scan that matches nothing.
    timeline = [("created", "created", created)]
    if reached >= 1:
        timeline.append(("signed", "signed", created))
        timeline.append(("client_confirmed", "client_confirmed", created))
    if reached >= 2:
        timeline.append(("declaration:in", "declaration_accepted", created + timedelta(days=1)))
        book.add(
            "declarations",
            ("mission_id", "kind", "reference", "filed_at", "business_date"),
            mission_id,
            "in",
            f"DIMONA-{mission_id:012d}",
            now,
            created + timedelta(days=1),
        )
    if stage == "cancelled":
        timeline.append(("cancelled", "cancelled", created + timedelta(days=2)))
    if reached >= 3:
        timeline.append(("work_report_due", "work_report_due", end))
    if reached >= 4:
        issue = end + timedelta(days=1)
        timeline += [("work_reported", "work_reported", issue), ("invoiced", "invoiced", issue)]
        timeline += _invoice_and_money(
            book, rnd, mission_id, stage, client_id, consumer, amount, end, now
        )
        book.add(
            "outbox_emails",
            (
                "mission_id",
                "template",
                "step",
                "language",
                "recipient",
                "subject",
                "body",
                "status",
                "provider",
                "provider_message_id",
                "created_at",
            ),
            mission_id,
            "invoice",
            "invoice",
            "fr",
            f"client{client_id}@book.example",
            f"Invoice for mission {mission_id}",
            "Please find our invoice attached.",
            "sent",
            "outbox",
            None,
            now,
        )
    for key, step, on in timeline:
        book.add(
            "timeline_events",
            ("mission_id", "key", "step", "occurred_at", "business_date", "actor", "detail"),
            mission_id,
            key,
            step,
            now,
            on,
            "system",
            "{}",
        )


def _invoice_and_money(
    book: Book,
    rnd: random.Random,
    mission_id: int,
    stage: str,
    client_id: int,
    consumer: bool,
    amount: int,
    end: date,
    now: datetime,
) -> list[tuple[str, str, date]]:
    """The invoice and its money; returns the timeline steps that come with them."""
    today = book.today
    timeline: list[tuple[str, str, date]] = []
    issue = end + timedelta(days=1)
    due = issue + timedelta(days=30)
    year = issue.year
    book.ids[f"seq{year}"] += 1
    seq = book.ids[f"seq{year}"]
    vat = amount * 21 // 100
    total = amount + vat
    fee = amount * 65 // 1000
    fund_share = amount * 2 // 100
    salary_base = amount - fee - fund_share
    paid = stage == "paid"
    levels = {"written_off": 3, "dunning": rnd.randint(1, 3)}.get(stage, 0)
    charges = 4000 * levels
    balance = 0 if paid else total + charges
    status = {"paid": "paid", "written_off": "written_off"}.get(stage, "open")
    invoice_id = book.add(
        "invoices",
        (
            "mission_id",
            "client_id",
            "kind",
            "series",
            "year",
            "sequence",
            "number",
            "issue_date",
            "due_date",
            "structured_communication",
            "vat_rate",
            "total_excl_vat",
            "vat_amount",
            "total_incl_vat",
            "balance",
            "status",
            "paid_on",
            "lines",
            "created_at",
            "principal_open",
            "interest_open",
            "costs_open",
            "vat_category",
            "vat_mention",
        ),
        mission_id,
        client_id,
        "invoice",
        INVOICE_SERIES,
        year,
        seq,
        f"{INVOICE_SERIES}{year}-{seq:06d}",
        issue,
        due,
        ogm(year, seq),
        2100,
        amount,
        vat,
        total,
        0 if stage == "written_off" else balance,
        status,
        min(today, issue + timedelta(days=rnd.randint(1, 60))) if paid else None,
        json.dumps([{"label": f"Mission {mission_id}", "amount_excl_vat": f"{amount / 100:.2f}"}]),
        now,
        0 if paid or stage == "written_off" else total,
        0,
        0 if stage == "written_off" else (charges if not paid else 0),
        "S",
        None,
    )
    _sequences_note(book, year, seq)
    book.ledger(
        f"invoice:{invoice_id}",
        "invoice_issued",
        mission_id,
        issue,
        [
            ("client_receivables", total, client_id),
            ("vat_payable", -vat, None),
            ("fee_income", -fee, None),
            ("guarantee_fund", -fund_share, None),
            ("member_salary_payable", -salary_base, None),
        ],
        now,
    )
    pay_date = end + timedelta(days=9)
    salary_paid = pay_date <= today
    advanced = salary_paid and (stage != "paid" or rnd.random() < 0.5)
    if salary_paid:
        contributions = salary_base * 25 // 100
        tax = salary_base * 10 // 100
        net = salary_base - contributions - tax
        lines: list[tuple[str, int, int | None]] = [
            ("member_salary_payable", salary_base, None),
            ("bank", -net, None),
            ("social_contributions_payable", -contributions, None),
            ("withholding_tax_payable", -tax, None),
        ]
        if advanced:
            lines += [
                ("guarantee_fund", salary_base, None),
                ("fund_advances", -salary_base, client_id),
            ]
        book.ledger(f"salary:{mission_id}", "salary_paid", mission_id, pay_date, lines, now)
        book.add(
            "payouts",
            (
                "mission_id",
                "period",
                "source",
                "paid_on",
                "iban",
                "end_to_end_id",
                "gross_salary",
                "net_amount",
                "expenses",
                "payroll",
                "created_at",
            ),
            mission_id,
            "salary",
            "fund" if advanced else "client",
            pay_date,
            IBANS[mission_id % 3],
            f"SAL-{mission_id:012d}",
            salary_base,
            net,
            0,
            "{}",
            now,
        )
    if stage in ("dunning", "written_off"):
        level_count = levels
        for level in range(1, level_count + 1):
            on = due + timedelta(days=7 * level)
            book.add(
                "dunning_steps",
                (
                    "invoice_id",
                    "mission_id",
                    "level",
                    "step",
                    "regime",
                    "business_date",
                    "fixed_compensation",
                    "interest",
                    "penalty",
                    "reminder_fee",
                    "rule",
                    "created_at",
                ),
                invoice_id,
                mission_id,
                level,
                ["reminder_1", "reminder_2", "formal_notice"][level - 1],
                "b2c" if consumer else "b2b",
                on,
                4000,
                0,
                0,
                0,
                "bench",
                now,
            )
            book.ledger(
                f"late_charges:{invoice_id}:{level}",
                "late_charges",
                mission_id,
                on,
                [("client_receivables", 4000, client_id), ("late_fee_income", -4000, None)],
                now,
            )
            step = ["reminder_1", "reminder_2", "formal_notice"][level - 1]
            timeline.append((f"dunning:{level}", step, on))
    if paid:
        received = issue + timedelta(days=rnd.randint(1, 60))
        received = min(received, today)
        payment_id = book.add(
            "payments",
            PAYMENT_COLS,
            "main",
            f"BANK-{invoice_id}",
            total,
            received,
            None,
            ogm(year, seq),
            invoice_id,
            True,
            None,
            now,
        )
        lines = [
            ("bank", total, None),
            ("client_receivables", -total, client_id),
        ]
        if advanced:
            lines += [
                ("fund_advances", salary_base, client_id),
                ("guarantee_fund", -salary_base, None),
            ]
        book.ledger(f"payment:{invoice_id}", "client_payment", mission_id, received, lines, now)
        timeline.append((f"payment:{payment_id}", "client_payment", received))
        timeline.append(("paid", "paid", received))
    if stage == "written_off":
        written = due + timedelta(days=60)
        open_total = total + charges
        book.add(
            "write_offs",
            ("invoice_id", "amount", "business_date", "reason", "created_at"),
            invoice_id,
            open_total,
            written,
            "end of the dunning ladder",
            now,
        )
        lines = [
            ("client_receivables", -open_total, client_id),
            ("late_fee_income", charges, None),
            ("vat_payable", vat, None),
        ]
        if advanced:
            lines += [("fund_advances", salary_base, client_id)]
            lines += [("guarantee_fund", total - vat - salary_base, None)]
        else:
            lines += [("guarantee_fund", total - vat, None)]
        book.ledger(f"write_off:{invoice_id}", "write_off", mission_id, written, lines, now)
        timeline.append(("written_off", "written_off", written))
    return timeline


def _sequences_note(book: Book, year: int, seq: int) -> None:
    key = f"last{year}"
    book.ids[key] = max(book.ids[key], seq)


MIGRATIONS = Path(__file__).resolve().parent.parent / "alembic" / "versions"


def _migration(filename: str) -> Any:
    """A migration module of the commit being run, for its own backfill SQL: the loaded book is
    filled exactly as `alembic upgrade` fills an existing database."""
    spec = importlib.util.spec_from_file_location(
        f"bench_{Path(filename).stem}", MIGRATIONS / filename
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# What ledger.post keeps up to date as it posts (migration 0014): COPY bypasses it, so the loaded
# book's running balances are summed once from the loaded lines, by the migration's backfill.
def _running_balances() -> list[str]:
    return list(_migration("20261129_0014_running_balances.py").BACKFILL)


# What the `timeline_events` trigger keeps (migration 0016): the per-mission stage entry dates,
# and from them the book-wide stay counts. Firing it row by row during the COPY of ~0.7 M events
# took 63 s instead of 15 s (load 7); the COPY runs with it disabled, then the migration's own
# backfill fills both tables (~8 s), with the stay counts' trigger disabled meanwhile.
STAGE_DATES_TRIGGER = "timeline_events_stage_dates"
STAY_COUNTS_TRIGGER = "mission_stage_dates_stays"


def _stage_dates_backfill() -> list[str]:
    module = _migration("20261129_0016_stage_dates.py")
    return [
        f"ALTER TABLE mission_stage_dates DISABLE TRIGGER {STAY_COUNTS_TRIGGER}",
        *module.backfill("postgresql"),
        f"ALTER TABLE mission_stage_dates ENABLE TRIGGER {STAY_COUNTS_TRIGGER}",
    ]


def _exists(cur: Any, table: str) -> bool:
    cur.execute("SELECT to_regclass(%s) IS NOT NULL", (table,))
    return bool(cur.fetchone()[0])


def derived_tables(cur: Any) -> list[str]:
    """The statements that fill the derived tables the benchmarked commit's schema has."""
    statements = _running_balances() if _exists(cur, "ledger_balances") else []
    if _exists(cur, "mission_stage_dates"):
        statements += _stage_dates_backfill()
    return statements


def copy(conn: Any, book: Book, progress: Any = None) -> dict[str, float]:
    """COPY every table (parents first), then move each id sequence past the loaded ids."""
    order = [
        "members",
        "clients",
        "missions",
        "declarations",
        "invoices",
        "invoice_counters",
        "payments",
        "payouts",
        "dunning_steps",
        "write_offs",
        "fund_top_ups",
        "timeline_events",
        "outbox_emails",
        "ledger_transactions",
        "ledger_entries",
    ]
    counters = [
        (INVOICE_SERIES, int(k[4:]), v) for k, v in book.ids.items() if k.startswith("last")
    ]
    book.rows["invoice_counters"] = counters
    seconds: dict[str, float] = {}
    with conn.cursor() as cur:
        for table in order:
            rows = book.rows.get(table, [])
            if not rows:
                continue
            t0 = time.perf_counter()
            cols = ", ".join(book.columns[table])
            # the stage dates are backfilled once below (derived_tables), not row by row
            quiet = table == "timeline_events" and _exists(cur, "mission_stage_dates")
            if quiet:
                cur.execute(f"ALTER TABLE {table} DISABLE TRIGGER {STAGE_DATES_TRIGGER}")
            with cur.copy(f"COPY {table} ({cols}) FROM STDIN") as cp:
                for row in rows:
                    cp.write_row(row)
            if quiet:
                cur.execute(f"ALTER TABLE {table} ENABLE TRIGGER {STAGE_DATES_TRIGGER}")
            seconds[table] = time.perf_counter() - t0
            if progress is not None:
                progress.update(len(rows))
            if table != "invoice_counters":
                cur.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT max(id) FROM {table}))"
                )
        t0 = time.perf_counter()
        for statement in derived_tables(cur):
            cur.execute(statement)
        seconds["derived"] = time.perf_counter() - t0
    conn.commit()
    # the steady state of an append-mostly database: autovacuum has set the visibility map (so
    # index-only scans are possible) and the statistics are fresh
    t0 = time.perf_counter()
    conn.autocommit = True
    conn.execute("VACUUM (ANALYZE)")
    conn.autocommit = False
    seconds["vacuum_analyze"] = time.perf_counter() - t0
    return seconds
