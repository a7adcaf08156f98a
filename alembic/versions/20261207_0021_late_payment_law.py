"""Late payment by the law review (issue 12 §5): the consumer legal rate, the order form's
reciprocal clause, and the H2 2026 commercial rate still not found.

* `late_payment.legal_rates`: the legal interest rate of the law of 5 May 1865 (art. 2 §1:
  December average of 1-year Euribor rounded up to 1/4 %, + 2 %), one row per calendar year.
  It is the rate a consumer owes unless the order form stipulated the 2002-law rate AND a
  reciprocal penalty (domain.md Corrections; payroll-2026.md §6). Read by
  domain.late_payment.RatePeriod.from_row, like the half-yearly 2002-law rates of 0004.
* `late_payment.consumer_terms`: which late-payment clause the order form made on a given date
  stipulated against a consumer (domain.late_payment.ConsumerTerms). Before the order form
  carried the reciprocal clause (template order_form, clause "OF-2026-12"), none: legal rate,
  no penalty. From the day the clause is printed: the 2002-law rate and the Book XIX capped
  penalty, with an equivalent penalty and interest owed by the cooperative to the consumer.
  The row's valid_from must be the day the new order form went live (deploy day): a mission is
  held to the terms in force on its creation date, the date its order form is made for.
* The H2 2026 row of `late_payment.b2b_rates` (0004) says it was looked for again and not
  found; the H1 2026 rate (10.50 %) is carried forward, still marked as an estimate.

Every value carries "source" and "confidence" (H high, M medium, L low).

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-07
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0021"
down_revision: str | Sequence[str] | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LEGAL_RATES_KEY = "late_payment.legal_rates"
CONSUMER_TERMS_KEY = "late_payment.consumer_terms"
B2B_RATES_KEY = "late_payment.b2b_rates"

_LAW_1865 = "law of 5 May 1865 on loans at interest, art. 2 §1 (lisloi.be/laws/1865050550)"

# (year, annual rate in percent, estimate?, source, confidence)
LEGAL_RATES: list[tuple[int, str, bool, str, str]] = [
    (2023, "5.25", False,
     f"{_LAW_1865}; 2023 rate 5.25 % per Kluwer Immospector 31/01/2023 (payroll-2026.md §6)",
     "H"),
    (2024, "5.75", False,
     f"{_LAW_1865}; 2024 rate 5.75 % (MB 23/02/2024) per vjn-legal.be and Schoups "
     "(leuropeinfo.eu/?p=1197), payroll-2026.md §6", "H"),
    (2025, "4.50", False,
     f"{_LAW_1865}; 2025 rate 4.50 % per Schoups (leuropeinfo.eu) and lawbase.be, "
     "payroll-2026.md §6", "H"),
    (2026, "4.50", False,
     f"{_LAW_1865}; 2026 rate 4.50 % ('reste inchangé', published in the MB) per Embuild, "
     "'Le retard de paiement: le taux d'intérêt applicable en 2026' (embuild.be), "
     "payroll-2026.md §6", "M-H"),
    # Published each January: carried forward so interest keeps accruing on 1 Jan 2027 (as an
    # estimate, said so on every amount) instead of stopping the dunning ladder.
    (2027, "4.50", True,
     f"{_LAW_1865}; 2027 ESTIMATE: not published yet, 2026 rate carried forward. Replace with "
     "the rate the Treasury publishes in the Moniteur in January 2027", "L"),
]

ORDER_FORM_CLAUSE_FROM = dt.date(2026, 12, 8)
CONSUMER_TERMS: list[tuple[dt.date, dt.date | None, dict[str, object]]] = [
    (dt.date(2023, 12, 1), ORDER_FORM_CLAUSE_FROM - dt.timedelta(days=1), {
        "version": None,
        "law_2002_rate": False,
        "reciprocal_penalty": False,
        "source": "order forms up to template order_form@2026-11-29.2 state a Book XIX "
                  "penalty and the 2002-law rate against the consumer only, without a "
                  "reciprocal clause: such a penalty clause is unfair and void (domain.md "
                  "Corrections, December 2026), so only the legal rate (law of 5 May 1865) "
                  "is owed and no penalty. From 1 Dec 2023 (Book XIX applies to every "
                  "consumer debt falling due from then, domain.md §3.2)",
        "confidence": "M",
    }),
    (ORDER_FORM_CLAUSE_FROM, None, {
        "version": "OF-2026-12",
        "law_2002_rate": True,
        "reciprocal_penalty": True,
        "source": "order form template with the reciprocal late-payment clause (documents/"
                  "texts.py of_reciprocal_clause, FR/NL/EN): the consumer owes the law of "
                  "2 Aug 2002 rate (art. 5) and the Book XIX capped penalty; the cooperative "
                  "owes the consumer the same interest and an equivalent penalty. A rate "
                  "stipulated against a consumer is capped at the 2002-law rate (domain.md "
                  "Corrections; payroll-2026.md §6, Schoups). valid_from = the day this "
                  "order form goes live",
        "confidence": "M",
    }),
]

H2_2026 = dt.date(2026, 7, 1)
H2_2026_SOURCE_BEFORE = (
    "domain.md §3.1, Belgian B2B statutory rate by half-year [L6][L7][L8]: H2 2026 ESTIMATE: not "
    "found; rule-based (reference rate + 8 points, rounded up to the next half point). Replace "
    "with the published rate"
)
H2_2026_VALUE_BEFORE: dict[str, object] = {"annual_rate": "10.50", "estimate": True}
H2_2026_SOURCE = (
    "law of 2 Aug 2002, art. 5 (SPF Finances Treasury communication, every half-year): H2 2026 "
    "NOT FOUND. Searched again on 7 Dec 2026 (FR 'taux d'intérêt retard de paiement transactions "
    "commerciales second semestre 2026', NL 'intrestvoet betalingsachterstand handelstransacties "
    "tweede semester 2026', 'loi 2 août 2002 1er juillet 2026'): only H1 2026 10.50 % "
    "('inchangé', Embuild, embuild.be 'Le retard de paiement: le taux d'intérêt applicable en "
    "2026') and older half-years. H1 2026 (10.50 %) carried forward as an ESTIMATE; replace "
    "with the rate published in the Moniteur"
)
H2_2026_VALUE: dict[str, object] = {
    "annual_rate": "10.50",
    "estimate": True,
    "source": H2_2026_SOURCE,
    "confidence": "L",
}

parameters = sa.table(
    "parameters",
    sa.column("key", sa.String),
    sa.column("valid_from", sa.Date),
    sa.column("valid_to", sa.Date),
    sa.column("value", sa.JSON),
    sa.column("source", sa.Text),
)


def _rows() -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    for year, rate, estimate, source, confidence in LEGAL_RATES:
        value: dict[str, object] = {"annual_rate": rate, "source": source,
                                    "confidence": confidence}
        if estimate:
            value["estimate"] = True
        rows.append({"key": LEGAL_RATES_KEY, "valid_from": dt.date(year, 1, 1),
                     "valid_to": dt.date(year, 12, 31), "value": value, "source": source})
    for valid_from, valid_to, terms in CONSUMER_TERMS:
        rows.append({"key": CONSUMER_TERMS_KEY, "valid_from": valid_from, "valid_to": valid_to,
                     "value": terms, "source": str(terms["source"])})
    return rows


def _set_h2_2026(value: dict[str, object], source: str) -> None:
    op.execute(
        parameters.update()
        .where(parameters.c.key == B2B_RATES_KEY, parameters.c.valid_from == H2_2026)
        .values(value=value, source=source)
    )


def upgrade() -> None:
    op.bulk_insert(parameters, _rows())
    _set_h2_2026(H2_2026_VALUE, H2_2026_SOURCE)


def downgrade() -> None:
    _set_h2_2026(H2_2026_VALUE_BEFORE, H2_2026_SOURCE_BEFORE)
    for row in _rows():
        op.execute(
            parameters.delete().where(
                parameters.c.key == row["key"],
                parameters.c.valid_from == row["valid_from"],
            )
        )
