"""Payroll by the book: holiday pay, work bonus, CSSS and the Annexe III key formula

The payroll engine (domain/payroll.py) now reads these dated rows besides the 0003 rates (fee
6.5 %, employer 25 %, employee 13.07 %, artistic base 108 %, which stay as they are):

- payroll.exit_holiday_pay: white-collar exit holiday pay 15.34 %, simple part 7.67 %;
- payroll.artistic_holiday_contribution: ONVA/RJV employer holiday contribution on 108 %;
- payroll.other_employer_charges: none sourced for the coop today (an empty list);
- payroll.withholding_key_formula: the 2025 and 2026 Annexe III key formulas (barème I);
- payroll.work_bonus: the social work bonus, four dated rows;
- payroll.special_contribution: the CSSS monthly advance table;
- payroll.artistic_withholding: the flat 11.11 % (point 80) and the rates one may choose.

Every value carries its "source" and "confidence" (H/M/L as in ../shared/payroll-2026.md).
The 0003 "simplified scale" (payroll.withholding_scale) and 0002's payroll.simplified are kept
for history and marked superseded: nothing reads them any more.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from alembic import op

revision: str = "0018"
down_revision: str | Sequence[str] | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NOTES = "../shared/payroll-2026.md"
SPF_URL = (
    "https://finances.belgium.be/fr/entreprises/personnel_et_remuneration/"
    "precompte_professionnel/calcul"
)


def _work_bonus(a: tuple[str, str, str, str], b: tuple[str, str, str, str]) -> dict[str, Any]:
    names = ("amount", "low", "high", "coef")
    return {"part_a": dict(zip(names, a, strict=True)), "part_b": dict(zip(names, b, strict=True))}


def _key_formula(cap: str, bands: list[tuple[str | None, str]], tax_free: str) -> dict[str, Any]:
    return {
        "annual_factor": 12,
        "expenses_rate": "0.30",
        "expenses_cap": cap,
        "scale": [{"up_to": up_to, "rate": rate} for up_to, rate in bands],
        "tax_free_amount": tax_free,
        "fiscal_bonus_rate_a": "0.3314",
        "fiscal_bonus_rate_b": "0.5254",
    }


# (key, valid_from, value, source column)
ROWS: list[tuple[str, dt.date, dict[str, Any], str]] = [
    (
        "payroll.exit_holiday_pay",
        dt.date(2026, 1, 1),
        {
            "value": "0.1534",
            "simple_part": "0.0767",
            "description": "white-collar exit holiday pay (pécule de sortie): 15.34 % of the "
            "gross earned on the contract, paid to the member with the salary; the simple part "
            "(7.67 %) is subject to social contributions",
            "source": "AR 30/03/1967 art. 46; law 29/06/1981 art. 23bis; socialsecurity.be "
            "DmfAPPL 2017/4 'Le pécule de vacances de sortie – régime privé-employés' "
            f"({NOTES} §2)",
            "confidence": "H (rate), M (still valid in 2026)",
        },
        f"{NOTES} §2",
    ),
    (
        "payroll.artistic_holiday_contribution",
        dt.date(2026, 1, 1),
        {
            "value": "0.1584",
            "annual": "0.1027",
            "quarterly": "0.0557",
            "description": "artistic contracts (blue-collar holiday scheme): employer holiday "
            "contribution to ONVA/RJV on 108 % of gross, annual part 10.27 % + quarterly part "
            "5.57 % (15.84 %)",
            "source": "annual 10.27 %: socialsecurity.be DmfA 2018/1 'Les cotisations "
            "annuelles' and Securex lex4you 04/10/2015; quarterly 5.57 % from Q1 2018: AR "
            "07/06/2015 (MB 16/06/2015) executing the law of 23/04/2015, as summarised by "
            "Easypay Group 19/06/2015 (6 % -> 5.83 % Q2/2015 -> 5.65 % -> 5.61 % -> 5.57 % "
            "Q1/2018, total 15.84 %), matching the 15.84 % total quoted by amarris-direct.be "
            "(2022); the 2007 ONSS figure of 6 % is out of date. No later change found: re-check "
            "the ONSS rates table",
            "confidence": "H (annual), M (quarterly)",
        },
        "Easypay Group 19/06/2015 (AR 07/06/2015); socialsecurity.be DmfA 2018/1",
    ),
    (
        "payroll.other_employer_charges",
        dt.date(2026, 1, 1),
        {
            "value": [],
            "description": "other employer charges on the ONSS base (each {code, rate}); none "
            "is sourced for the coop yet: temporary unemployment 1.60 % (employers of 10 or "
            "more), closure fund and sector funds depend on the coop's own ONSS category and "
            "joint committee, the work-accident premium on its insurance policy",
            "source": f"{NOTES} §2 'Small extras' (SPF Emploi; Jaakie PC200 bronronde)",
            "confidence": "M",
        },
        f"{NOTES} §2",
    ),
    (
        "payroll.withholding_key_formula",
        dt.date(2025, 1, 1),
        {
            "value": _key_formula(
                "5930.00",
                [
                    ("16310.00", "0.2675"),
                    ("28790.00", "0.4280"),
                    ("49820.00", "0.4815"),
                    (None, "0.5350"),
                ],
                "10900.00",
            ),
            "description": "Annexe III AR/CIR 92 key formula 2025, barème I: x 12, 30 % "
            "lump-sum expenses capped, scale, tax-free amount as a tax reduction, / 12; fiscal "
            "work bonus 33.14 % of part A + 52.54 % of part B",
            "source": "SPF Finances ESS-SR/2024-0015, AR 12/12/2024 (MB 18/12/2024), as quoted "
            f"by VicdSpt/Wage_Calculator p2025.ts ({NOTES} §1.2)",
            "confidence": "M",
        },
        "SPF Finances key formula 2025 (ESS-SR/2024-0015)",
    ),
    (
        "payroll.withholding_key_formula",
        dt.date(2026, 1, 1),
        {
            "value": _key_formula(
                "6070.00",
                [
                    ("16710.00", "0.2675"),
                    ("29500.00", "0.4280"),
                    ("51050.00", "0.4815"),
                    (None, "0.5350"),
                ],
                "11170.00",
            ),
            "description": "Annexe III AR/CIR 92 key formula 2026, barème I (single, no "
            "dependants): x 12, 30 % lump-sum expenses capped at 6 070, scale (communal "
            "surcharge 7 % included), tax-free amount 11 170 as a reduction at 26.75 %, / 12, "
            "rounding to the cent at every step; fiscal work bonus 33.14 % A + 52.54 % B. "
            "Official example: 3 000.00 taxable -> 596.93",
            "source": "SPF Finances 'Formule-clé … à partir du 1er janvier 2026' ESS-SR/2025-0928"
            f", Annexe III AR 11/12/2025 (MB 29/12/2025), {SPF_URL}; quoted by three "
            f"independent calculators ({NOTES} §1.2). Re-check: may be amended during 2026",
            "confidence": "M-H",
        },
        f"SPF Finances key formula 2026 (ESS-SR/2025-0928), {SPF_URL}",
    ),
    (
        "payroll.work_bonus",
        dt.date(2025, 2, 1),
        {
            "value": _work_bonus(
                ("120.59", "2777.83", "3271.48", "0.2443"),
                ("162.62", "2175.25", "2777.83", "0.2699"),
            ),
            "description": "social work bonus (employees): part A and part B, each "
            "amount - coef x (S - low), nothing from high on; S = monthly gross at 100 %",
            "source": f"ONSS instructions 2025/3 via VicdSpt p2025.ts ({NOTES} §3.2)",
            "confidence": "M",
        },
        f"{NOTES} §3.2",
    ),
    (
        "payroll.work_bonus",
        dt.date(2026, 4, 1),
        {
            "value": _work_bonus(
                ("125.04", "2880.32", "3336.98", "0.2738"),
                ("168.62", "2255.50", "2880.32", "0.2699"),
            ),
            "description": "social work bonus from 1 April 2026",
            "source": "ONSS instructions 2026/1 (interim instruction of 01/04/2026) via Jaakie "
            f"PC200 ({NOTES} §3.2)",
            "confidence": "M",
        },
        f"{NOTES} §3.2",
    ),
    (
        "payroll.work_bonus",
        dt.date(2026, 7, 1),
        {
            "value": _work_bonus(
                ("127.54", "2937.93", "3336.98", "0.3196"),
                ("171.99", "2300.62", "2937.93", "0.2699"),
            ),
            "description": "social work bonus from 1 July 2026",
            "source": f"ONSS instructions 2026/3 via VicdSpt ({NOTES} §3.2)",
            "confidence": "M",
        },
        f"{NOTES} §3.2",
    ),
    (
        "payroll.work_bonus",
        dt.date(2026, 9, 1),
        {
            "value": _work_bonus(
                ("127.54", "2937.93", "3403.62", "0.2739"),
                ("171.99", "2300.62", "2937.93", "0.2699"),
            ),
            "description": "social work bonus from 1 September 2026",
            "source": "ONSS instructions 2026/3 via VicdSpt and the be2026 config "
            f"(independent) ({NOTES} §3.2)",
            "confidence": "M-H",
        },
        f"{NOTES} §3.2",
    ),
    (
        "payroll.special_contribution",
        dt.date(2025, 1, 1),
        {
            "value": [
                {"up_to": "1945.38", "fixed": "0.00", "rate": "0", "over": "0.00"},
                {"up_to": "2190.18", "fixed": "0.00", "rate": "0.0422", "over": "1945.38"},
                {"up_to": "3737.00", "fixed": "10.33", "rate": "0.0110", "over": "2190.18"},
                {"up_to": "4100.00", "fixed": "27.35", "rate": "0.0338", "over": "3737.00"},
                {"up_to": "6038.82", "fixed": "39.61", "rate": "0.0110", "over": "4100.00"},
                {"up_to": None, "fixed": "60.94", "rate": "0", "over": "0.00"},
            ],
            "description": "special social security contribution (CSSS), monthly advance of a "
            "single person on the month's pay subject to ONSS (108 % for artists); the final "
            "amount is settled by the tax assessment",
            "source": "law 30/03/1994 art. 106-112; ONSS instructions 2026/3 as quoted by the "
            "VicdSpt spec and the be2026 config; same tiers in 2025 (reproduce a July-2025 "
            f"payslip) ({NOTES} §3.1)",
            "confidence": "M",
        },
        f"{NOTES} §3.1",
    ),
    (
        "payroll.artistic_withholding",
        dt.date(2026, 1, 1),
        {
            "value": "0.1111",
            "choices": ["0.1111", "0.18", "0.228", "0.30"],
            "description": "artistic contracts: flat withholding tax 11.11 % (Annexe III point "
            "80, no reductions), or a higher rate the member chose",
            "source": "Securex lex4you 'Artistes et musiciens (point 80)'; choices: Amplo "
            f"dev.amplo.be/en/faq/withholding-tax ({NOTES} §1.3)",
            "confidence": "M-H (11.11 %), M (choices)",
        },
        f"{NOTES} §1.3",
    ),
]

SUPERSEDED = ("payroll.withholding_scale", "payroll.simplified")
SUPERSEDED_NOTE = (
    "superseded by migration 0018 (payroll.withholding_key_formula and the dated payroll rows): "
    "kept for history, read by nothing"
)

parameters = sa.table(
    "parameters",
    sa.column("id", sa.Integer),
    sa.column("key", sa.String),
    sa.column("valid_from", sa.Date),
    sa.column("valid_to", sa.Date),
    sa.column("value", sa.JSON),
    sa.column("source", sa.Text),
)


def upgrade() -> None:
    op.bulk_insert(
        parameters,
        [
            {
                "key": key,
                "valid_from": valid_from,
                "valid_to": None,
                "value": value,
                "source": source,
            }
            for key, valid_from, value, source in ROWS
        ],
    )
    connection = op.get_bind()
    for row_id, value in connection.execute(
        sa.select(parameters.c.id, parameters.c.value).where(parameters.c.key.in_(SUPERSEDED))
    ).all():
        connection.execute(
            parameters.update()
            .where(parameters.c.id == row_id)
            .values(value={**value, "superseded": SUPERSEDED_NOTE})
        )


def downgrade() -> None:
    connection = op.get_bind()
    for row_id, value in connection.execute(
        sa.select(parameters.c.id, parameters.c.value).where(parameters.c.key.in_(SUPERSEDED))
    ).all():
        connection.execute(
            parameters.update()
            .where(parameters.c.id == row_id)
            .values(value={k: v for k, v in value.items() if k != "superseded"})
        )
    for key, valid_from, _, _ in ROWS:
        op.execute(
            parameters.delete().where(
                parameters.c.key == key, parameters.c.valid_from == valid_from
            )
        )
