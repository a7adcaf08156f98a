"""Late payment, by the book: B2B interest and compensation, B2C (Book XIX) costs, allocation.

Pure rules (no I/O, no clock). Every rate, amount and threshold arrives in a frozen parameter
dataclass built from the dated `parameters` table (keys `late_payment.b2b_rates`,
`late_payment.b2b`, `late_payment.b2c`); nothing legal is a literal here. Sources: domain.md §3.

Conventions and readings of the law (see also each function):

* **Rates are percentages per year** (`Decimal("10.50")` means 10.50 % p.a.), as published
  and as stored in the parameter table (`{"annual_rate": "10.50"}`).
* **Interest is simple interest, day by day, on the principal actually open** (`accrue_interest`):
  every day from the first day bearing interest (the day AFTER the due date, law of 2 Aug 2002
  art. 5) up to and including `until` bears, at the rate in force that day, interest on the
  principal open at the END of that day. A principal movement (a payment's principal part, a
  credit note) therefore changes the base from its own date (the value-date convention of a
  bank account: the day money arrives it no longer bears interest), never retroactively. A
  span across a rate change (1 Jan / 1 Jul for the 2002 law, 1 Jan for the 1865 legal rate) is
  split there. The exact sum of principal x rate x days / (100 x day_count) over every piece
  is rounded to the cent ONCE, half up (`to_cents`): the law fixes no rounding, and rounding
  once never makes the debtor pay a rounding difference per piece. Day count: actual days /
  `day_count`, 365 by default also in leap years (ACT/365: the rates are published as annual
  rates and Belgian practice divides by 365; the law of 2 Aug 2002 fixes no convention).
* **Interest runs until payment or write-off**: nothing stops it at the last dunning rung; the
  caller passes the day it wants the interest to (a rung, a letter, today, the write-off date).
* **Dates are inclusive** on both ends (`valid_from`/`valid_to`, like the parameter table).
* **B2C waiting period** (Book XIX): it starts the day after an e-mail is sent, or on the
  `letter_start_working_days`-th working day strictly after a letter is sent; that start day is
  day 1 of `waiting_days` calendar days, so the period ends on `start + waiting_days - 1`. When
  that last day is a Saturday, a Sunday or a Belgian public holiday, the end moves to the next
  working day (Civil Code art. 1.7, in force since 1 Jan 2023; "working day" there = every day
  but Saturdays, Sundays and public holidays — NOT the labour-law meaning, where Saturdays
  count, which is why this module has its own `civil_working_day` and does not use the wage
  calendar). Costs are allowed from the day after that (printed) end, never earlier (INV-8).
* **B2C interest** runs only for days from the end of the waiting period (the day costs are
  allowed) — the conservative reading: nothing accrues for the consumer's 14 days. Its rate is
  the civil legal rate (law of 5 May 1865, one rate per calendar year) unless the order form
  stipulated the 2002-law rate AND a reciprocal penalty for the cooperative (`ConsumerTerms`);
  the 2002-law rate is also the ceiling of any rate stipulated against a consumer (Book XIX).
* **B2C penalty**: a penalty clause against a consumer is unfair and void unless it is
  reciprocal (the consumer gets an equivalent one against the cooperative), so the Book XIX
  capped penalty is charged only when the order form stipulated the reciprocal clause.
* **One-off amounts** (B2B 40 EUR compensation, B2C penalty) appear on exactly one dunning rung:
  the first rung at which they become claimable. Interest on a rung is the interest accrued up to
  that rung's date on the given open principal (a statement figure, not an increment).
* **Rounding**: only `to_cents` (ROUND_HALF_UP), the project's one rule. A penalty cap computed
  from a percentage is rounded the same way, then limited to the band maximum.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

from domain.calendar import belgian_holidays
from domain.errors import FieldError
from domain.money import _check_numeric_text, require_cents, to_cents

__all__ = [
    "B2B_LAW",
    "LEGAL_RATE_LAW",
    "Allocation",
    "B2BClaim",
    "B2BParameters",
    "B2CParameters",
    "Channel",
    "ConsumerTerms",
    "DunningStepCharges",
    "InterestPeriod",
    "InterestResult",
    "PenaltyBand",
    "PrincipalMovement",
    "RateMissing",
    "RatePeriod",
    "Regime",
    "accrue_interest",
    "allocate_payment",
    "b2b_claim",
    "b2b_interest",
    "b2c_costs_allowed_from",
    "b2c_penalty_cap",
    "b2c_reminder_fee",
    "b2c_waiting_period_end",
    "b2c_waiting_period_start",
    "charges_for_step",
    "civil_working_day",
    "next_civil_working_day",
    "open_principal_on",
    "parse_annual_rate",
    "rate_period_end",
    "rate_period_start",
]

Regime = Literal["b2b", "b2c"]
Channel = Literal["email", "letter"]

B2B_LAW = "law of 2 Aug 2002"
LEGAL_RATE_LAW = "law of 5 May 1865"
B2C_LAW = "Book XIX CDE"
# Which article sets each table's rate (quoted in rule texts).
_RATE_ARTICLE = {B2B_LAW: "art. 5", LEGAL_RATE_LAW: "art. 2 par. 1"}
_ZERO = Decimal("0.00")
_HUNDRED = Decimal(100)
_ONE_DAY = timedelta(days=1)
_CHANNELS: tuple[str, ...] = ("email", "letter")


# --------------------------------------------------------------------------- helpers


def _require_decimal(value: object, field: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, Decimal) or not value.is_finite():
        raise FieldError(field, "must be a finite Decimal")
    return value


def _require_int(value: object, field: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise FieldError(field, f"must be an integer, not {value!r}")
    if value < minimum:
        raise FieldError(field, f"must be at least {minimum}")
    return value


def _require_date(value: object, field: str) -> date:
    # datetime is a date subclass: refuse it, business dates are plain dates.
    if not isinstance(value, date) or isinstance(value, datetime):
        raise FieldError(field, "must be a date")
    return value


def _pct(rate: Decimal) -> str:
    """Render a percentage with 2 decimals ("10.50"), or exactly if it has more."""
    two = rate.quantize(Decimal("0.01"))
    return str(two) if two == rate else format(rate.normalize(), "f")


def _dec(value: object, field: str) -> Decimal:
    """Read a decimal written as a JSON string (or int) from a parameter value."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise FieldError(field, f"must be a decimal string, not {value!r}")
    try:
        return _require_decimal(Decimal(str(value)), field)
    except InvalidOperation:
        raise FieldError(field, f"is not a decimal: {value!r}") from None


def _opt_dec(value: object, field: str) -> Decimal | None:
    return None if value is None else _dec(value, field)


# --------------------------------------------------------------------------- B2B interest


class RateMissing(ValueError):
    """No rate of `law`'s table is in force on `day`: interest is never computed at 0 %.

    A ValueError (what it was before it had a name); the services turn it into a dated
    parameter missing for the rate's period (services.parameters.rate_missing)."""

    def __init__(self, law: str, day: date) -> None:
        """The table of `law` (B2B_LAW, LEGAL_RATE_LAW) has no rate on `day`."""
        super().__init__(f"no {law} interest rate is in force on {day.isoformat()}")
        self.law = law
        self.day = day


def rate_period_start(law: str, day: date) -> date:
    """The first day of the rate period holding `day`: a half-year (1 Jan, 1 Jul) for the law
    of 2 Aug 2002, the calendar year for the legal rate of the law of 5 May 1865."""
    if law == B2B_LAW:
        return date(day.year, 1 if day.month <= 6 else 7, 1)
    return date(day.year, 1, 1)


def rate_period_end(law: str, start: date) -> date:
    """The last day of the rate period that starts on `start` (30 Jun, 31 Dec)."""
    if law == B2B_LAW and start.month == 1:
        return date(start.year, 6, 30)
    return date(start.year, 12, 31)


_RATE_EXAMPLE = 'rates are percentages per year written like "10.50"'
_RATE_CHARS = frozenset("0123456789.")


def parse_annual_rate(value: object, *, field: str, minimum: Decimal) -> Decimal:
    """Accept a published annual rate in percent ("10.50"), at least `minimum`, at most 100.

    Strict like money (ASCII digits, at most 2 decimals, a string): "21%", "-1", "100.01",
    "1e1" are refused, and so is a fraction given for a percentage (0.105 for 10.50 %), which
    the table's `minimum` (the law's floor) tells apart."""
    if value is None or value == "":
        raise FieldError(field, f"is required; {_RATE_EXAMPLE}")
    if not isinstance(value, str):
        raise FieldError(field, f"must be a string; {_RATE_EXAMPLE}")
    if len(value) > 16:
        raise FieldError(field, f"is too long; {_RATE_EXAMPLE}")
    if "%" in value:
        raise FieldError(field, "give the number without the '%' sign, e.g. 10.50")
    _check_numeric_text(value, field=field, example=_RATE_EXAMPLE)
    whole, dot, decimals = value.partition(".")
    if not set(value) <= _RATE_CHARS or not whole or (dot and not decimals) or "." in decimals:
        raise FieldError(field, f"is not a valid rate; {_RATE_EXAMPLE}")
    if len(decimals) > 2:
        raise FieldError(field, "at most 2 decimals")
    rate = Decimal(value)
    if rate > _HUNDRED:
        raise FieldError(field, "must be between 0 and 100")
    if rate < minimum:
        if 0 < rate < 1:
            raise FieldError(
                field,
                f"{value} looks like a fraction: give the percentage, e.g. {_pct(rate * 100)}",
            )
        raise FieldError(field, f"must be at least {_pct(minimum)} for this table")
    return rate.quantize(Decimal("0.01"))


@dataclass(frozen=True)
class RatePeriod:
    """One statutory rate, in PERCENT per year, in force from `valid_from` to `valid_to`.

    Both dates are inclusive: a half-year (1 Jan-30 Jun, 1 Jul-31 Dec) for the law of
    2 Aug 2002, a calendar year for the legal rate of the law of 5 May 1865. `estimate` marks a
    rate not yet published (domain.md §3.1: H2 2026); amounts using it say so in their rule.
    """

    valid_from: date
    valid_to: date
    annual_rate: Decimal
    estimate: bool = False

    def __post_init__(self) -> None:
        """Refuse an empty period or a rate outside [0, 100] percent."""
        _require_date(self.valid_from, "valid_from")
        _require_date(self.valid_to, "valid_to")
        if self.valid_to < self.valid_from:
            raise FieldError("valid_to", f"{self.valid_to} is before valid_from {self.valid_from}")
        rate = _require_decimal(self.annual_rate, "annual_rate")
        if rate < 0 or rate > _HUNDRED:
            raise FieldError("annual_rate", f"is a percentage in [0, 100], got {rate}")

    @classmethod
    def from_row(
        cls, valid_from: date, valid_to: date | None, value: Mapping[str, Any]
    ) -> RatePeriod:
        """Build from a `late_payment.b2b_rates` or `late_payment.legal_rates` parameter row
        (its value is {"annual_rate", "estimate"?, "source", "confidence"})."""
        if valid_to is None:
            raise FieldError("valid_to", "a rate row must have an end date (a half-year, a year)")
        return cls(
            valid_from=valid_from,
            valid_to=valid_to,
            annual_rate=_dec(value.get("annual_rate"), "annual_rate"),
            estimate=bool(value.get("estimate", False)),
        )


@dataclass(frozen=True)
class InterestPeriod:
    """The part of an interest computation at one rate (amount exact, not rounded)."""

    start: date
    end: date
    days: int
    annual_rate: Decimal
    amount: Decimal  # exact; only the total is rounded to the cent
    estimate: bool = False
    base: Decimal | None = None  # the open principal these days bore interest on


@dataclass(frozen=True)
class PrincipalMovement:
    """A change of the open principal on a date: + the invoice falling due, - a payment's
    principal part or a credit note. Cents, signed; the sum up to a day is the open principal."""

    on: date
    amount: Decimal
    what: str = ""

    def __post_init__(self) -> None:
        """Refuse a datetime or an amount that is not a whole number of cents."""
        _require_date(self.on, "on")
        amount = _require_decimal(self.amount, "amount")
        if amount != amount.quantize(Decimal("0.01")):
            raise FieldError("amount", f"must be whole cents, got {amount}")


def open_principal_on(movements: Sequence[PrincipalMovement], day: date) -> Decimal:
    """The principal open at the end of `day`: every movement dated on or before it (never < 0)."""
    total = sum((m.amount for m in movements if m.on <= day), _ZERO)
    return max(total, _ZERO)


@dataclass(frozen=True)
class InterestResult:
    """Statutory interest: the total in cents, its per-rate breakdown and the rule applied."""

    principal: Decimal  # the base on the first day bearing interest (the only one if constant)
    first_day: date  # the first day bearing interest (B2B: the day after the due date)
    until: date
    days: int
    day_count: int
    amount: Decimal  # rounded half up to the cent, once
    breakdown: tuple[InterestPeriod, ...]
    rule: str


def _sorted_periods(periods: Sequence[RatePeriod]) -> list[RatePeriod]:
    ordered = sorted(periods, key=lambda p: p.valid_from)
    for before, after in zip(ordered, ordered[1:], strict=False):
        if after.valid_from <= before.valid_to:
            raise ValueError(
                f"B2B rate periods overlap: {before.valid_from}..{before.valid_to} "
                f"and {after.valid_from}..{after.valid_to}"
            )
    return ordered


def _segments(
    first: date, until: date, periods: Sequence[RatePeriod], law: str = B2B_LAW
) -> list[InterestPeriod]:
    """Cut [first, until] by rate period; a day without a rate is an error, never 0 %."""
    out: list[InterestPeriod] = []
    cursor = first
    for period in _sorted_periods(periods):
        if cursor > until:
            break
        if period.valid_to < cursor:
            continue
        if period.valid_from > cursor:
            break  # gap: reported below
        end = min(period.valid_to, until)
        out.append(
            InterestPeriod(
                start=cursor,
                end=end,
                days=(end - cursor).days + 1,
                annual_rate=period.annual_rate,
                amount=_ZERO,
                estimate=period.estimate,
            )
        )
        cursor = end + _ONE_DAY
    if cursor <= until:
        raise RateMissing(law, cursor)
    return out


def _pieces(
    segment: InterestPeriod, movements: Sequence[PrincipalMovement]
) -> list[tuple[date, date, Decimal]]:
    """Cut one rate segment where the open principal changes: (start, end, base) pieces.

    The base of a day is the principal open at the end of that day, so a movement dated d
    starts a new piece on d itself (the base changes from the movement's date)."""
    cuts = sorted({m.on for m in movements if segment.start < m.on <= segment.end})
    starts = [segment.start, *cuts]
    ends = [c - _ONE_DAY for c in cuts] + [segment.end]
    return [(a, b, open_principal_on(movements, a)) for a, b in zip(starts, ends, strict=True)]


def accrue_interest(
    movements: Sequence[PrincipalMovement],
    first_day: date,
    until: date,
    periods: Sequence[RatePeriod],
    day_count: int = 365,
    *,
    law: str = B2B_LAW,
    since: str = "",
) -> InterestResult:
    """Simple interest, day by day, on the principal actually open, from `first_day` to `until`.

    Every day d of [first_day, until] bears the rate of `periods` in force on d on the principal
    open at the end of d (`open_principal_on`): a partial payment or a credit note lowers the
    base from its own date, a rate change splits the accrual on its date. The exact sum of
    base x rate x days / (100 x day_count) over the pieces is rounded half up to the cent once.
    `until < first_day` gives 0.00. A day with no rate raises ValueError (never silently 0 %).
    `law` names the table in the rule (B2B_LAW or LEGAL_RATE_LAW); `since` says from when.
    """
    _require_date(first_day, "first_day")
    _require_date(until, "until")
    day_count = _require_int(day_count, "day_count", 1)
    for m in movements:
        if not isinstance(m, PrincipalMovement):
            raise FieldError("movements", f"must be PrincipalMovement, not {m!r}")
    article = f"{law}, {_RATE_ARTICLE.get(law, 'rate table')}"
    since = since or f"from {first_day.isoformat()}"
    first_base = open_principal_on(movements, first_day)
    if until < first_day:
        return InterestResult(
            principal=first_base,
            first_day=first_day,
            until=until,
            days=0,
            day_count=day_count,
            amount=_ZERO,
            breakdown=(),
            rule=f"{article}: no interest on {until.isoformat()} (interest runs {since})",
        )
    denominator = _HUNDRED * day_count
    numerator = Decimal(0)
    breakdown: list[InterestPeriod] = []
    for seg in _segments(first_day, until, periods, law):
        for start, end, base in _pieces(seg, movements):
            days = (end - start).days + 1
            part = base * seg.annual_rate * days  # exact
            numerator += part
            breakdown.append(
                InterestPeriod(
                    start=start,
                    end=end,
                    days=days,
                    annual_rate=seg.annual_rate,
                    amount=part / denominator,
                    estimate=seg.estimate,
                    base=base,
                )
            )
    amount = to_cents(numerator / denominator)
    pieces = " + ".join(
        f"{_pct(p.annual_rate)} % p.a. for {p.days} day{'s' if p.days != 1 else ''} "
        f"on {p.base} EUR ({p.start.isoformat()} to {p.end.isoformat()}"
        f"{', estimated rate' if p.estimate else ''})"
        for p in breakdown
    )
    rule = (
        f"{article}: {pieces or 'nothing open'}, simple interest {since} on the principal "
        f"open each day, actual days/{day_count} = {amount} EUR (rounded half up once)"
    )
    return InterestResult(
        principal=first_base,
        first_day=first_day,
        until=until,
        days=(until - first_day).days + 1,
        day_count=day_count,
        amount=amount,
        breakdown=tuple(breakdown),
        rule=rule,
    )


def _accrue(
    principal: Decimal,
    first: date,
    until: date,
    periods: Sequence[RatePeriod],
    day_count: int,
    since: str,
    law: str = B2B_LAW,
) -> InterestResult:
    """Simple interest on a constant `principal` for every day of [first, until], rounded once."""
    return accrue_interest(
        [PrincipalMovement(first, principal)],
        first,
        until,
        periods,
        day_count,
        law=law,
        since=since,
    )


def b2b_interest(
    principal: Decimal,
    due_date: date,
    until: date,
    periods: Sequence[RatePeriod],
    day_count: int = 365,
) -> InterestResult:
    """Statutory interest (law of 2 Aug 2002, art. 5) on `principal`, day by day.

    Interest runs from the day after `due_date` up to and including `until`, each day at the
    rate in force that day; principal x rate% x days / day_count per rate, summed exactly and
    rounded half up to the cent once. `until <= due_date` gives 0.00 with an empty breakdown.
    A day with no rate in `periods` raises ValueError (never silently 0 %).
    """
    principal = require_cents(principal, "principal")
    _require_date(due_date, "due_date")
    _require_date(until, "until")
    day_count = _require_int(day_count, "day_count", 1)
    return _accrue(
        principal,
        due_date + _ONE_DAY,
        until,
        periods,
        day_count,
        f"from the day after the due date {due_date.isoformat()}",
    )


# --------------------------------------------------------------------------- B2B claim


@dataclass(frozen=True)
class B2BParameters:
    """B2B late-payment amounts (parameter `late_payment.b2b`)."""

    fixed_compensation: Decimal  # flat recovery compensation per late invoice (40 EUR)

    def __post_init__(self) -> None:
        """Refuse a negative or sub-cent compensation."""
        require_cents(self.fixed_compensation, "fixed_compensation")

    @classmethod
    def from_value(cls, value: Mapping[str, Any]) -> B2BParameters:
        """Build from the JSON value of a `late_payment.b2b` parameter row."""
        return cls(fixed_compensation=_dec(value.get("fixed_compensation"), "fixed_compensation"))


@dataclass(frozen=True)
class B2BClaim:
    """What a business debtor owes for lateness on one invoice on a given day."""

    interest: InterestResult
    fixed_compensation: Decimal
    total: Decimal
    rule: str


def _compensation_rule(params: B2BParameters) -> str:
    return f"{B2B_LAW}, art. 6: fixed compensation {params.fixed_compensation} EUR per late invoice"


def b2b_claim(
    principal: Decimal,
    due_date: date,
    until: date,
    periods: Sequence[RatePeriod],
    params: B2BParameters,
    day_count: int = 365,
) -> B2BClaim:
    """Interest to `until` plus the fixed compensation, once, if the invoice is late by then."""
    interest = b2b_interest(principal, due_date, until, periods, day_count)
    late = until > due_date
    compensation = params.fixed_compensation if late else _ZERO
    rule = interest.rule
    if late:
        rule = f"{rule}; {_compensation_rule(params)} (once)"
    return B2BClaim(
        interest=interest,
        fixed_compensation=compensation,
        total=interest.amount + compensation,
        rule=rule,
    )


# --------------------------------------------------------------------------- B2C (Book XIX)


@dataclass(frozen=True)
class PenaltyBand:
    """One band of the Book XIX penalty cap, for an outstanding balance up to `up_to` inclusive.

    cap = base + percent_above % x (balance - above), rounded to the cent, then at most
    `maximum`. `up_to=None` is the open top band.
    """

    up_to: Decimal | None
    base: Decimal
    percent_above: Decimal  # percent, e.g. 10 for 10 %
    above: Decimal
    maximum: Decimal | None = None

    def __post_init__(self) -> None:
        """Refuse negative or sub-cent amounts and a percentage outside [0, 100]."""
        if self.up_to is not None:
            require_cents(self.up_to, "up_to")
        require_cents(self.base, "base")
        require_cents(self.above, "above")
        if self.maximum is not None:
            require_cents(self.maximum, "maximum")
        pct = _require_decimal(self.percent_above, "percent_above")
        if pct < 0 or pct > _HUNDRED:
            raise FieldError("percent_above", f"is a percentage in [0, 100], got {pct}")

    @classmethod
    def from_value(cls, value: Mapping[str, Any]) -> PenaltyBand:
        """Build from one element of the `bands` list of `late_payment.b2c`."""
        return cls(
            up_to=_opt_dec(value.get("up_to"), "up_to"),
            base=_dec(value.get("base"), "base"),
            percent_above=_dec(value.get("percent_above"), "percent_above"),
            above=_dec(value.get("above"), "above"),
            maximum=_opt_dec(value.get("maximum"), "maximum"),
        )

    def describe(self) -> str:
        """Human-readable formula of this band, e.g. "30.00 + 10 % above 150.00"."""
        text = f"{self.base}"
        if self.percent_above:
            text += f" + {_pct(self.percent_above)} % above {self.above}"
        if self.maximum is not None:
            text += f", max {self.maximum}"
        return text


@dataclass(frozen=True)
class B2CParameters:
    """Book XIX consumer late-payment parameters (parameter `late_payment.b2c`)."""

    reminder_fee_max: Decimal  # per later reminder (7.50 EUR; postage not included)
    waiting_days: int  # calendar days after the first reminder with no cost (14)
    letter_start_working_days: int  # a letter's period starts on this working day after (3)
    bands: tuple[PenaltyBand, ...]  # ascending `up_to`, last one open (None)

    def __post_init__(self) -> None:
        """Refuse bad amounts and a band table that does not cover every balance exactly once."""
        require_cents(self.reminder_fee_max, "reminder_fee_max")
        _require_int(self.waiting_days, "waiting_days", 1)
        _require_int(self.letter_start_working_days, "letter_start_working_days", 1)
        if not isinstance(self.bands, tuple) or not self.bands:
            raise FieldError("bands", "must be a non-empty tuple of PenaltyBand")
        previous: Decimal | None = None
        for i, band in enumerate(self.bands):
            if not isinstance(band, PenaltyBand):
                raise FieldError("bands", f"item {i} is not a PenaltyBand")
            last = i == len(self.bands) - 1
            if last != (band.up_to is None):
                raise FieldError("bands", "only the last band is open-ended (up_to null)")
            if band.up_to is not None:
                if previous is not None and band.up_to <= previous:
                    raise FieldError("bands", "up_to must increase from band to band")
                previous = band.up_to

    @classmethod
    def from_value(cls, value: Mapping[str, Any]) -> B2CParameters:
        """Build from the JSON value of a `late_payment.b2c` parameter row."""
        bands = value.get("bands")
        if not isinstance(bands, list):
            raise FieldError("bands", "must be a list")
        return cls(
            reminder_fee_max=_dec(value.get("reminder_fee_max"), "reminder_fee_max"),
            waiting_days=_require_int(value.get("waiting_days"), "waiting_days", 1),
            letter_start_working_days=_require_int(
                value.get("letter_start_working_days"), "letter_start_working_days", 1
            ),
            bands=tuple(PenaltyBand.from_value(b) for b in bands),
        )

    def describe(self) -> str:
        """The parameters, as quoted in rule texts."""
        return (
            f"reminder_fee_max {self.reminder_fee_max}, waiting_days {self.waiting_days}, "
            f"letter_start_working_days {self.letter_start_working_days}"
        )


def _band_for(balance: Decimal, params: B2CParameters) -> PenaltyBand:
    for band in params.bands:
        if band.up_to is None or balance <= band.up_to:
            return band
    raise AssertionError("unreachable: the last band is open-ended")  # pragma: no cover


def b2c_penalty_cap(balance: Decimal, params: B2CParameters) -> Decimal:
    """Maximum penalty (Book XIX art. XIX.4) for an outstanding consumer balance, in cents.

    With the seeded bands: <= 150 -> 20; 150.01-500 -> 30 + 10 % above 150; > 500 -> 65 + 5 %
    above 500, at most 2,000. The formula is rounded half up to the cent, then capped. A zero
    balance owes nothing, so its cap is 0.00.
    """
    balance = require_cents(balance, "balance")
    if balance == 0:
        return _ZERO
    band = _band_for(balance, params)
    cap = to_cents(band.base + band.percent_above * (balance - band.above) / _HUNDRED)
    if band.maximum is not None and cap > band.maximum:
        cap = band.maximum
    return cap


def _require_channel(channel: object) -> Channel:
    if channel == "email":
        return "email"
    if channel == "letter":
        return "letter"
    raise FieldError("channel", f"must be one of {', '.join(_CHANNELS)}, not {channel!r}")


def civil_working_day(d: date) -> bool:
    """A working day in the sense of Civil Code art. 1.1/1.7: not a Saturday, a Sunday or a
    Belgian public holiday. (Labour law keeps Saturdays as working days: see domain.md
    Corrections; this is the civil meaning Book XIX periods follow.)"""
    return d.weekday() < 5 and d not in belgian_holidays(d.year)


def next_civil_working_day(d: date) -> date:
    """`d` itself if it is a civil working day, else the next one (Civil Code art. 1.7)."""
    while not civil_working_day(d):
        d += _ONE_DAY
    return d


def b2c_waiting_period_start(
    first_reminder_sent: date, channel: Channel, params: B2CParameters
) -> date:
    """Day 1 of the Book XIX waiting period after the (free) first reminder.

    E-mail: the day after sending. Letter: the `letter_start_working_days`-th working day
    strictly after the sending day (Mon-Fri, not a Belgian public holiday).
    """
    _require_date(first_reminder_sent, "first_reminder_sent")
    if _require_channel(channel) == "email":
        return first_reminder_sent + _ONE_DAY
    day = first_reminder_sent
    for _ in range(params.letter_start_working_days):
        day = next_civil_working_day(day + _ONE_DAY)
    return day


def b2c_waiting_period_end(
    first_reminder_sent: date, channel: Channel, params: B2CParameters
) -> date:
    """The last day of the Book XIX period, as printed on the first reminder.

    Day 1 is the start; the `waiting_days`-th calendar day is the end, moved to the next working
    day when it is a Saturday, a Sunday or a Belgian public holiday (Civil Code art. 1.7: "le
    jour de l'échéance est compris dans le délai; s'il est un samedi, un dimanche ou un jour
    férié légal, il est reporté au plus prochain jour ouvrable"). E.g. a period ending on
    Saturday 26 Dec 2026 ends on Monday 28 Dec 2026.
    """
    start = b2c_waiting_period_start(first_reminder_sent, channel, params)
    return next_civil_working_day(start + timedelta(days=params.waiting_days - 1))


def b2c_costs_allowed_from(
    first_reminder_sent: date, channel: Channel, params: B2CParameters
) -> date:
    """First day on which any cost, penalty or interest may be claimed from a consumer.

    The day after the (printed, possibly moved) end of the period: e-mail sent on Tue 3 Mar
    2025, start 4 Mar, end Mon 17 Mar, allowed from 18 Mar; a period whose 14th day is a
    Saturday ends on the Monday and costs are allowed from the Tuesday (INV-8).
    """
    return b2c_waiting_period_end(first_reminder_sent, channel, params) + _ONE_DAY


@dataclass(frozen=True)
class ConsumerTerms:
    """What the order form used for a mission stipulated against a consumer about paying late.

    From the dated parameter `late_payment.consumer_terms` in force on the order form's date:
    `version` names the order-form clause (None: no such clause). The 2002-law rate applies to
    a consumer only if the order form stipulated it AND a reciprocal penalty for the
    cooperative; otherwise the legal rate of the law of 5 May 1865. A penalty against a
    consumer is charged only under a reciprocal clause (a one-sided one is unfair and void).
    """

    version: str | None = None
    law_2002_rate: bool = False
    reciprocal_penalty: bool = False

    @classmethod
    def from_value(cls, value: Mapping[str, Any] | None) -> ConsumerTerms:
        """Build from a `late_payment.consumer_terms` row's value (None: no clause at all)."""
        if value is None:
            return cls()
        version = value.get("version")
        if version is not None and not isinstance(version, str):
            raise FieldError("version", f"must be a string or null, not {version!r}")
        flags = {}
        for field in ("law_2002_rate", "reciprocal_penalty"):
            flag = value.get(field, False)
            if not isinstance(flag, bool):
                raise FieldError(field, f"must be true or false, not {flag!r}")
            flags[field] = flag
        return cls(version=version, **flags)

    @property
    def rate_law(self) -> str:
        """The table a consumer's interest is computed with: B2B_LAW or LEGAL_RATE_LAW."""
        return B2B_LAW if self.law_2002_rate and self.reciprocal_penalty else LEGAL_RATE_LAW

    @property
    def penalty_allowed(self) -> bool:
        """Whether the Book XIX capped penalty may be charged (only under a reciprocal clause)."""
        return self.reciprocal_penalty

    def describe(self) -> str:
        """How the terms read in a rule text."""
        if self.version is None:
            return "order form without a reciprocal late-payment clause"
        return (
            f"order form clause {self.version}: 2002-law rate "
            f"{'stipulated' if self.law_2002_rate else 'not stipulated'}, reciprocal penalty "
            f"{'stipulated' if self.reciprocal_penalty else 'not stipulated'}"
        )


def b2c_reminder_fee(
    level: int, params: B2CParameters, requested: Decimal | None = None
) -> Decimal:
    """Fee for the reminder at rung `level` (1 = first reminder, always free).

    Later reminders: `requested` (the creditor's own tariff) limited to `reminder_fee_max`, or the
    maximum itself when no tariff is given. Postage (allowed on top by Book XIX) is not included.
    This does not check the waiting period: see `charges_for_step`.
    """
    level = _require_int(level, "level", 1)
    if level == 1:
        return _ZERO
    if requested is None:
        return params.reminder_fee_max
    return min(require_cents(requested, "requested"), params.reminder_fee_max)


# --------------------------------------------------------------------------- allocation


@dataclass(frozen=True)
class Allocation:
    """How one payment is split; costs + interest + principal + excess == the payment."""

    costs: Decimal
    interest: Decimal
    principal: Decimal
    excess: Decimal  # overpayment, > 0 only when everything owed is paid


def allocate_payment(
    amount: Decimal, costs: Decimal, interest: Decimal, principal: Decimal
) -> Allocation:
    """Allocate a payment to open costs first, then interest, then principal (domain.md §3).

    `costs` are the open fixed compensation, penalty and reminder fees; all inputs are
    non-negative cent amounts. Whatever is left after the principal is the excess.
    """
    remaining = require_cents(amount, "amount")
    parts: list[Decimal] = []
    for field, owed in (("costs", costs), ("interest", interest), ("principal", principal)):
        take = min(remaining, require_cents(owed, field))
        parts.append(take)
        remaining -= take
    return Allocation(costs=parts[0], interest=parts[1], principal=parts[2], excess=remaining)


# --------------------------------------------------------------------------- dunning rung


@dataclass(frozen=True)
class DunningStepCharges:
    """What may be claimed at one dunning rung, with the rule and parameters that produced it.

    `fixed_compensation`, `penalty` and `reminder_fee` are charged at this rung (one-off amounts
    appear on one rung only); `interest` is the interest accrued up to `business_date`.
    """

    level: int
    business_date: date
    fixed_compensation: Decimal
    interest: Decimal
    penalty: Decimal
    reminder_fee: Decimal
    rule: str

    @property
    def costs(self) -> Decimal:
        """The costs charged at this rung (allocated before interest and principal)."""
        return self.fixed_compensation + self.penalty + self.reminder_fee


def _b2b_step(
    level: int,
    step_date: date,
    due_date: date,
    movements: Sequence[PrincipalMovement],
    previous_step_date: date | None,
    rate_periods: Sequence[RatePeriod],
    params: B2BParameters | None,
    day_count: int,
) -> DunningStepCharges:
    if params is None:
        raise FieldError("b2b", "B2B parameters are required for a B2B rung")
    interest = accrue_interest(
        movements,
        due_date + _ONE_DAY,
        step_date,
        rate_periods,
        day_count,
        law=B2B_LAW,
        since=f"from the day after the due date {due_date.isoformat()}",
    )
    late = step_date > due_date
    earlier_late = previous_step_date is not None and previous_step_date > due_date
    compensation = _ZERO
    if not late:
        rule = f"B2B: {interest.rule}; no fixed compensation before the invoice is late"
    elif earlier_late:
        rule = (
            f"B2B: {interest.rule}; {_compensation_rule(params)}, "
            "already claimed at an earlier rung"
        )
    else:
        compensation = params.fixed_compensation
        rule = f"B2B: {interest.rule}; {_compensation_rule(params)}, claimed at this rung (once)"
    return DunningStepCharges(
        level=level,
        business_date=step_date,
        fixed_compensation=compensation,
        interest=interest.amount,
        penalty=_ZERO,
        reminder_fee=_ZERO,
        rule=rule,
    )


def _b2c_step(
    level: int,
    step_date: date,
    due_date: date,
    principal: Decimal,
    movements: Sequence[PrincipalMovement],
    first_reminder_date: date | None,
    channel: Channel | None,
    previous_step_date: date | None,
    rate_periods: Sequence[RatePeriod],
    params: B2CParameters | None,
    reminder_fee_requested: Decimal | None,
    day_count: int,
    terms: ConsumerTerms,
) -> DunningStepCharges:
    if params is None:
        raise FieldError("b2c", "B2C parameters are required for a B2C rung")

    def nothing(rule: str) -> DunningStepCharges:
        return DunningStepCharges(level, step_date, _ZERO, _ZERO, _ZERO, _ZERO, rule)

    if first_reminder_date is None or channel is None:
        if level == 1:
            return nothing(
                f"B2C, {B2C_LAW} art. XIX.2: the first reminder is free; it starts the "
                f"{params.waiting_days}-day waiting period ({params.describe()})"
            )
        raise FieldError(
            "first_reminder_date",
            "a B2C rung after the first needs the date and channel of the first reminder",
        )
    _require_date(first_reminder_date, "first_reminder_date")
    if first_reminder_date <= due_date:
        raise FieldError(
            "first_reminder_date",
            f"{first_reminder_date} is not after the due date {due_date}: not a late reminder",
        )
    if step_date < first_reminder_date:
        raise FieldError("step_date", f"{step_date} is before the first reminder")
    start = b2c_waiting_period_start(first_reminder_date, channel, params)
    allowed = b2c_costs_allowed_from(first_reminder_date, channel, params)
    period = (
        f"first reminder of {first_reminder_date.isoformat()} by {channel}: "
        f"{params.waiting_days}-day period from {start.isoformat()} to "
        f"{(allowed - _ONE_DAY).isoformat()} (Civil Code art. 1.7), "
        f"costs allowed from {allowed.isoformat()}"
    )
    if level == 1:
        return nothing(
            f"B2C, {B2C_LAW} art. XIX.2: the first reminder is free; {period} ({params.describe()})"
        )
    if step_date < allowed:
        return nothing(
            f"B2C, {B2C_LAW} art. XIX.2: {period}; nothing may be charged on "
            f"{step_date.isoformat()} ({params.describe()})"
        )
    fee = b2c_reminder_fee(level, params, reminder_fee_requested)
    penalty_before = (
        previous_step_date is not None and level - 1 >= 2 and previous_step_date >= allowed
    )
    band = _band_for(principal, params)
    cap = b2c_penalty_cap(principal, params)
    if not terms.penalty_allowed:
        penalty = _ZERO
        penalty_rule = (
            f"no penalty: {terms.describe()} (a penalty clause against a consumer is void "
            "unless reciprocal)"
        )
    elif penalty_before:
        penalty = _ZERO
        penalty_rule = "penalty already claimed at an earlier rung"
    elif principal == 0:
        penalty = _ZERO
        penalty_rule = "no open balance, no penalty"
    else:
        penalty = cap
        penalty_rule = (
            f"penalty capped (art. XIX.4) for an open balance of {principal} EUR: "
            f"{band.describe()} = {cap} EUR, claimed at this rung (once)"
        )
    # Interest: the legal rate, or the 2002-law rate (the ceiling) only under the reciprocal
    # clause, and only for the days from the end of the waiting period (conservative reading).
    interest = accrue_interest(
        movements,
        allowed,
        step_date,
        rate_periods,
        _require_int(day_count, "day_count", 1),
        law=terms.rate_law,
        since=f"from {allowed.isoformat()}, the day after the waiting period",
    )
    rule = (
        f"B2C, {B2C_LAW}: {period}; reminder fee {fee} EUR (max {params.reminder_fee_max} "
        f"per later reminder, postage excluded); {penalty_rule}; interest at the "
        f"{terms.rate_law} rate ({terms.describe()}): {interest.rule} "
        f"({params.describe()})"
    )
    return DunningStepCharges(
        level=level,
        business_date=step_date,
        fixed_compensation=_ZERO,
        interest=interest.amount,
        penalty=penalty,
        reminder_fee=fee,
        rule=rule,
    )


def charges_for_step(
    regime: Regime,
    level: int,
    step_date: date,
    due_date: date,
    balance_principal: Decimal,
    first_reminder_date: date | None,
    channel: Channel | None,
    *,
    previous_step_date: date | None,
    rate_periods: Sequence[RatePeriod],
    b2b: B2BParameters | None = None,
    b2c: B2CParameters | None = None,
    reminder_fee_requested: Decimal | None = None,
    day_count: int = 365,
    movements: Sequence[PrincipalMovement] | None = None,
    consumer_terms: ConsumerTerms | None = None,
) -> DunningStepCharges:
    """What the law allows to claim at dunning rung `level` (1 = first reminder) on `step_date`.

    `previous_step_date` is the date of the rung before this one (None for the first rung): it
    decides whether the one-off amounts were already claimed, so they appear once.

    B2B (law of 2 Aug 2002): interest on `balance_principal` accrued to `step_date`, plus the
    fixed compensation at the first rung dated after the due date.

    B2C (Book XIX): rung 1 is free. A later rung, once `step_date` >= the day costs are allowed
    (see `b2c_costs_allowed_from`), carries the reminder fee (<= the maximum), the capped
    penalty on `balance_principal` (at the first such rung only, and only if `consumer_terms`
    stipulated a reciprocal penalty) and interest at the rates of `rate_periods` from the day
    costs are allowed: pass the table `consumer_terms.rate_law` names (the legal rate of the
    law of 5 May 1865, or the 2002-law table under the reciprocal clause). Before that day, the
    rung carries nothing. No `consumer_terms`: no clause (legal rate, no penalty).

    `movements` are the principal's changes (the invoice falling due, payments' principal
    parts, credit notes): interest is on the principal open each day. Without them, the
    principal is taken as `balance_principal` from the due date on.
    """
    if regime not in ("b2b", "b2c"):
        raise FieldError("regime", f"must be b2b or b2c, not {regime!r}")
    level = _require_int(level, "level", 1)
    _require_date(step_date, "step_date")
    _require_date(due_date, "due_date")
    principal = require_cents(balance_principal, "balance_principal")
    if previous_step_date is not None:
        _require_date(previous_step_date, "previous_step_date")
        if previous_step_date > step_date:
            raise FieldError("previous_step_date", "is after this rung's date")
        if level == 1:
            raise FieldError("previous_step_date", "the first rung has no previous rung")
    if channel is not None:
        channel = _require_channel(channel)
    if movements is None:
        movements = [PrincipalMovement(due_date, principal, "invoice due")]
    if regime == "b2b":
        return _b2b_step(
            level, step_date, due_date, movements, previous_step_date, rate_periods, b2b, day_count
        )
    return _b2c_step(
        level,
        step_date,
        due_date,
        principal,
        movements,
        first_reminder_date,
        channel,
        previous_step_date,
        rate_periods,
        b2c,
        reminder_fee_requested,
        day_count,
        consumer_terms or ConsumerTerms(),
    )
