"""Invoices and credit notes: VAT regime, totals to the cent, and how a credit note is split.

One VAT rate per invoice, VAT computed on the total excl. VAT (domain.md §2.1-2.2). The VAT
categories are the EN 16931 / Peppol codes (domain.md §2.5): S standard, E exempt, AE reverse
charge, K intra-community supply, G export, O out of scope.

0 % VAT only under a legal ground chosen from the dated list `vat.exemption_grounds` (migration
0022): each ground carries its legal reference, its mention in FR/NL/EN, its category and VATEX
code, and the clients it fits (`check_vat_exemption`). A mission without a ground (created before
that list existed) keeps the automatic regime of `vat_treatment`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Literal

from domain.errors import FieldError
from domain.identifiers import EU_COUNTRIES, normalize_country, normalize_vat_number
from domain.money import CENT, to_cents

__all__ = [
    "CLIENT_RULES",
    "EXEMPT_MENTION",
    "OUT_OF_SCOPE_MENTION",
    "REVERSE_CHARGE_MENTION",
    "CreditSplit",
    "InvoiceLine",
    "InvoiceTotals",
    "VatCategory",
    "VatGround",
    "VatTreatment",
    "budget_floor",
    "check_vat_exemption",
    "credit_split",
    "invoice_totals",
    "member_budget",
    "parse_vat_grounds",
    "vat_treatment",
]

VatCategory = Literal["S", "E", "AE", "O", "K", "G"]
_ZERO_RATED: tuple[str, ...] = ("E", "AE", "O", "K", "G")
# Which clients a ground fits (the `client` of a `vat.exemption_grounds` row).
CLIENT_RULES: tuple[str, ...] = ("eu_business", "non_eu_business", "non_eu", "be_business")
_LANGUAGES = ("fr", "nl", "en")

# Legal mentions printed on the invoice (domain.md §2.1 item 9, §2.2).
REVERSE_CHARGE_MENTION = "Autoliquidation / Reverse charge – art. 196 Directive 2006/112/EC"
OUT_OF_SCOPE_MENTION = "Hors champ de la TVA belge – art. 21 §2 Code TVA"
EXEMPT_MENTION = "Exonération de la TVA – art. 44 Code TVA"

_HUNDRED = Decimal(100)


@dataclass(frozen=True)
class InvoiceLine:
    """One line of an invoice: what was supplied and its amount excl. VAT (EUR cents)."""

    label: str
    amount_excl_vat: Decimal


@dataclass(frozen=True)
class InvoiceTotals:
    """The three totals printed on an invoice (EUR cents)."""

    total_excl_vat: Decimal
    vat_amount: Decimal
    total_incl_vat: Decimal


def invoice_totals(lines: Sequence[InvoiceLine], vat_rate_percent: Decimal) -> InvoiceTotals:
    """Compute an invoice's totals: VAT = rate x total excl. VAT, rounded half up to the cent."""
    if not lines:
        raise FieldError("lines", "an invoice needs at least one line")
    if not isinstance(vat_rate_percent, Decimal) or not vat_rate_percent.is_finite():
        raise FieldError("vat_rate", "must be a finite Decimal percentage")
    if not 0 <= vat_rate_percent <= _HUNDRED:
        raise FieldError("vat_rate", "must be between 0 and 100")
    for index, line in enumerate(lines):
        amount = line.amount_excl_vat
        if not isinstance(amount, Decimal) or not amount.is_finite():
            raise FieldError(f"lines[{index}].amount_excl_vat", "must be a finite Decimal amount")
        try:
            cents = to_cents(amount)
        except InvalidOperation:
            raise FieldError(f"lines[{index}].amount_excl_vat", "is too large") from None
        if cents != amount:
            raise FieldError(f"lines[{index}].amount_excl_vat", "at most 2 decimals")
    total_excl_vat = to_cents(sum((line.amount_excl_vat for line in lines), Decimal(0)))
    if total_excl_vat < 0:
        raise FieldError("lines", "the total excl. VAT must not be negative")
    vat_amount = to_cents(total_excl_vat * vat_rate_percent / _HUNDRED)
    return InvoiceTotals(
        total_excl_vat=total_excl_vat,
        vat_amount=vat_amount,
        total_incl_vat=total_excl_vat + vat_amount,
    )


# ---------------------------------------------------------------- VAT regime


@dataclass(frozen=True)
class VatGround:
    """One legal ground for invoicing at 0 % VAT, as the dated parameter row gives it."""

    code: str
    category: VatCategory  # never "S"
    vatex: str | None  # CEF VATEX exemption reason code; None when no code fits (text only)
    client: str  # one of CLIENT_RULES
    reference: str  # the legal reference, e.g. "art. 21 § 2 Code TVA"
    mentions: Mapping[str, str]  # the invoice mention, by language (fr, nl, en)
    labels: Mapping[str, str]  # what the form shows, by language
    vies_check: bool = False  # check the client's VAT number at issue time
    source: str = ""
    confidence: str = ""

    def mention(self, language: str) -> str:
        return self.mentions.get(language) or self.mentions["en"]

    def label(self, language: str) -> str:
        return self.labels.get(language) or self.labels["en"]


def parse_vat_grounds(value: Mapping[str, object]) -> tuple[VatGround, ...]:
    """The grounds of a `vat.exemption_grounds` row; a malformed row is a bug, not user input."""
    rows = value.get("grounds")
    if not isinstance(rows, list) or not rows:
        raise ValueError("vat.exemption_grounds has no grounds")
    grounds: list[VatGround] = []
    for row in rows:
        if not isinstance(row, dict):
            raise ValueError(f"a VAT ground must be an object, not {row!r}")
        code = row.get("code")
        category = row.get("category")
        client = row.get("client")
        mentions = row.get("mention")
        labels = row.get("label")
        vatex = row.get("vatex")
        if not isinstance(code, str) or not code:
            raise ValueError(f"a VAT ground needs a code: {row!r}")
        if category not in _ZERO_RATED:
            raise ValueError(f"VAT ground {code}: category {category!r} is not a 0 % category")
        if client not in CLIENT_RULES:
            raise ValueError(f"VAT ground {code}: unknown client rule {client!r}")
        if vatex is not None and not (isinstance(vatex, str) and vatex.startswith("VATEX-")):
            raise ValueError(f"VAT ground {code}: {vatex!r} is not a VATEX code")
        for name, texts in (("mention", mentions), ("label", labels)):
            if not isinstance(texts, dict) or any(
                not isinstance(texts.get(lang), str) or not texts.get(lang) for lang in _LANGUAGES
            ):
                raise ValueError(f"VAT ground {code}: the {name} is needed in fr, nl and en")
        if not row.get("source") or not row.get("confidence"):
            raise ValueError(f"VAT ground {code}: every ground cites its source and confidence")
        assert isinstance(mentions, dict) and isinstance(labels, dict)
        grounds.append(
            VatGround(
                code=code,
                category=category,
                vatex=vatex,
                client=client,
                reference=str(row.get("reference", "")),
                mentions={k: str(v) for k, v in mentions.items()},
                labels={k: str(v) for k, v in labels.items()},
                vies_check=bool(row.get("vies_check", False)),
                source=str(row["source"]),
                confidence=str(row["confidence"]),
            )
        )
    if len({g.code for g in grounds}) != len(grounds):
        raise ValueError("vat.exemption_grounds has the same code twice")
    return tuple(grounds)


def _client_fits(
    ground: VatGround, client_kind: str, client_country: str, client_vat_number: str | None
) -> str | None:
    """Why the client does not fit the ground (a message for the form), or None if it does."""
    in_eu = client_country in EU_COUNTRIES
    business = client_kind == "business"
    if ground.client == "eu_business":
        if not business:
            return "this ground applies only to a business client, not to a private person"
        if client_country == "BE" or not in_eu:
            return "this ground applies only to a client established in another EU country"
        if not client_vat_number or not _valid_vat_number(client_vat_number, client_country):
            return "this ground needs the client's VAT number: add it to the client first"
    elif ground.client == "non_eu_business":
        if not business:
            return "this ground applies only to a business client, not to a private person"
        if in_eu:
            return "this ground applies only to a client established outside the EU"
    elif ground.client == "non_eu":
        if in_eu:
            return "this ground applies only to a client established outside the EU"
    elif ground.client == "be_business":
        if not business:
            return "this ground applies only to a business client, not to a private person"
        if client_country != "BE":
            return "this ground applies only to a Belgian client"
        if not client_vat_number:
            return "this ground needs the client's VAT number: add it to the client first"
    return None


def check_vat_exemption(
    value: object,
    *,
    rate: Decimal,
    grounds: Sequence[VatGround],
    client_kind: str,
    client_country: str,
    client_vat_number: str | None,
    field: str = "vat_exemption",
) -> VatGround | None:
    """The ground a mission is invoiced under: required at 0 %, refused otherwise, and it must
    fit the client (reverse charge: a business in another EU country with its VAT number...).

    Also refuses a charged rate where Belgian VAT does not apply to the client's services at all
    (a business abroad: art. 21 § 2 Code TVA), so that the invoice never silently switches to
    0 %: the user chooses the ground.
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        if rate == 0:
            raise FieldError(
                field, "is required when the VAT rate is 0 %: choose the legal ground of it"
            )
        if client_kind == "business" and client_country != "BE":
            foreign = client_country in EU_COUNTRIES and client_vat_number
            if foreign or client_country not in EU_COUNTRIES:
                raise FieldError(
                    "vat_rate",
                    "Belgian VAT does not apply to services for a business established abroad "
                    "(art. 21 § 2 Code TVA): set the VAT rate to 0 and choose its legal ground",
                )
        return None
    if not isinstance(value, str):
        raise FieldError(field, "must be the code of a legal ground (a string)")
    code = value.strip()
    by_code = {g.code: g for g in grounds}
    ground = by_code.get(code)
    if ground is None:
        raise FieldError(field, "is not one of the legal grounds of the list")
    if rate != 0:
        raise FieldError(
            field, "applies only to a VAT rate of 0 %: set the VAT rate to 0 or remove the ground"
        )
    reason = _client_fits(ground, client_kind, client_country, client_vat_number)
    if reason is not None:
        raise FieldError(field, reason)
    return ground


@dataclass(frozen=True)
class VatTreatment:
    """The VAT an invoice carries: the rate applied, its EN 16931 category, its legal mention,
    and the 0 % ground it was chosen under (None for the automatic regime and for rates > 0)."""

    rate: Decimal
    category: VatCategory
    mention: str | None
    ground: VatGround | None = field(default=None)


def _format_rate(rate: Decimal) -> str:
    text = format(rate, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def vat_treatment(
    *,
    client_kind: str,
    client_country: str,
    client_vat_number: str | None,
    rate: Decimal,
    allowed_rates: Iterable[Decimal],
    exemption: VatGround | None = None,
    language: str = "en",
) -> VatTreatment:
    """Choose the VAT regime of an invoice from its client and the mission's rate (§2.2).

    With a ground (`exemption`, chosen on the mission): 0 % under that ground, its category and
    its mention in `language`; the ground must still fit the client as it is now.

    Without one (missions from before the grounds, rows made directly): Belgian clients and
    consumers anywhere pay the mission's Belgian rate (0 % = exempt); an EU business outside
    Belgium with a valid VAT number self-assesses (reverse charge); a business outside the EU is
    out of scope of Belgian VAT.
    """
    if client_kind not in ("business", "consumer"):
        raise FieldError("kind", "must be 'business' or 'consumer'")
    country = normalize_country(client_country)
    if not isinstance(rate, Decimal) or not rate.is_finite():
        raise FieldError("vat_rate", "must be a finite Decimal percentage")
    allowed = sorted(set(allowed_rates))
    if not any(rate == r for r in allowed):
        raise FieldError(
            "vat_rate",
            f"{_format_rate(rate)} is not an allowed VAT rate "
            f"(allowed: {', '.join(_format_rate(r) for r in allowed)})",
        )
    if exemption is not None:
        if rate != 0:
            raise FieldError("vat_exemption", "applies only to a VAT rate of 0 %")
        reason = _client_fits(exemption, client_kind, country, client_vat_number)
        if reason is not None:
            raise FieldError("vat_exemption", reason)
        return VatTreatment(
            Decimal("0.00"), exemption.category, exemption.mention(language), exemption
        )
    if client_kind == "business" and country != "BE":
        if country not in EU_COUNTRIES:
            return VatTreatment(Decimal("0.00"), "O", OUT_OF_SCOPE_MENTION)
        if client_vat_number and _valid_vat_number(client_vat_number, country):
            return VatTreatment(Decimal("0.00"), "AE", REVERSE_CHARGE_MENTION)
        # Without a valid VAT number the client cannot self-assess: Belgian VAT applies.
    if rate == 0:
        return VatTreatment(to_cents(rate), "E", EXEMPT_MENTION)
    return VatTreatment(to_cents(rate), "S", None)


def _valid_vat_number(number: str, country: str) -> bool:
    try:
        normalize_vat_number(number, country)
    except FieldError:
        return False
    return True


# ---------------------------------------------------------------- credit notes


def member_budget(billed_excl_vat: Decimal, fee_rate: Decimal) -> Decimal:
    """What a price excl. VAT leaves for the member after the coop's fee (as in the payroll)."""
    return billed_excl_vat - to_cents(billed_excl_vat * fee_rate)


def budget_floor(expenses: Decimal, fee_rate: Decimal) -> Decimal:
    """The smallest price excl. VAT whose member budget still reimburses `expenses`."""
    if expenses <= 0:
        return Decimal("0.00")
    price = to_cents(expenses / (1 - fee_rate))
    while price > 0 and member_budget(price - CENT, fee_rate) >= expenses:
        price -= CENT
    while member_budget(price, fee_rate) < expenses:
        price += CENT
    return price


@dataclass(frozen=True)
class CreditSplit:
    """One credit note's amounts and where each part of it is taken back from (EUR cents).

    amount_incl_vat = vat_amount + amount_excl_vat and
    amount_excl_vat = fee_income + fund_contribution + member_share + fund_share.
    """

    amount_incl_vat: Decimal
    vat_amount: Decimal
    amount_excl_vat: Decimal
    fee_income: Decimal  # the coop's fee, less the fund's contribution, given back
    fund_contribution: Decimal  # the fund's share of the fee, given back
    member_share: Decimal  # taken back from the member's unpaid salary budget
    fund_share: Decimal  # the member's part that the guarantee fund bears instead
    salary_base_after: Decimal  # the price excl. VAT the member's salary is computed on


def credit_split(
    *,
    invoice_excl_vat: Decimal,
    invoice_vat: Decimal,
    invoice_incl_vat: Decimal,
    credited_before: Decimal,
    amount_incl_vat: Decimal,
    fee_rate: Decimal,
    fund_share_of_fee: Decimal,
    salary_base_before: Decimal,
    salary_floor: Decimal,
) -> CreditSplit:
    """Split a credit note in the invoice's own proportions, cumulatively to the cent.

    Every share is the difference between the invoice's split of what is credited after and
    before this note, so the credit notes of an invoice add up to the exact reverse of its
    issue: a full credit gives back exactly the VAT, fee, fund contribution and member budget
    that were posted. The member's part comes from the salary budget down to `salary_floor`
    (the salary already paid, or the expenses still to reimburse); the guarantee fund bears
    the rest, so the member is never asked to pay anything back.
    """
    for name, value in (
        ("invoice_excl_vat", invoice_excl_vat),
        ("invoice_vat", invoice_vat),
        ("invoice_incl_vat", invoice_incl_vat),
        ("credited_before", credited_before),
        ("amount_incl_vat", amount_incl_vat),
        ("salary_base_before", salary_base_before),
        ("salary_floor", salary_floor),
    ):
        if not isinstance(value, Decimal) or not value.is_finite() or to_cents(value) != value:
            raise ValueError(f"{name} must be a Decimal in cents, got {value!r}")
        if value < 0:
            raise ValueError(f"{name} must not be negative, got {value}")
    if invoice_excl_vat + invoice_vat != invoice_incl_vat or invoice_incl_vat <= 0:
        raise ValueError("the invoice's totals do not add up")
    if amount_incl_vat <= 0:
        raise FieldError("amount_incl_vat", "must be greater than 0")
    if credited_before + amount_incl_vat > invoice_incl_vat:
        raise FieldError(
            "amount_incl_vat",
            f"exceeds what is left to credit on the invoice "
            f"({invoice_incl_vat - credited_before:.2f})",
        )

    def vat_of(credited: Decimal) -> Decimal:
        return to_cents(credited * invoice_vat / invoice_incl_vat)

    def fee_of(billed: Decimal) -> Decimal:
        return to_cents(billed * fee_rate)

    def fund_of(billed: Decimal) -> Decimal:
        return to_cents(fee_of(billed) * fund_share_of_fee)

    after = credited_before + amount_incl_vat
    vat_amount = vat_of(after) - vat_of(credited_before)
    excl = amount_incl_vat - vat_amount
    billed_before = invoice_excl_vat - (credited_before - vat_of(credited_before))
    billed_after = billed_before - excl
    fund_contribution = fund_of(billed_before) - fund_of(billed_after)
    fee_income = fee_of(billed_before) - fee_of(billed_after) - fund_contribution
    member_total = excl - fee_income - fund_contribution
    # The salary base only ever goes down, and never below the floor.
    base_after = min(salary_base_before, max(billed_after, salary_floor))
    member_share = member_budget(salary_base_before, fee_rate) - member_budget(base_after, fee_rate)
    if not 0 <= member_share <= member_total:
        raise ValueError("the salary base is out of step with the credit notes already issued")
    return CreditSplit(
        amount_incl_vat=amount_incl_vat,
        vat_amount=vat_amount,
        amount_excl_vat=excl,
        fee_income=fee_income,
        fund_contribution=fund_contribution,
        member_share=member_share,
        fund_share=member_total - member_share,
        salary_base_after=base_after,
    )
