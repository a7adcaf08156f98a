"""0 % VAT only under a legal ground from the dated list, fitting the client (domain/invoice.py).

The grounds are the ones migration 0022 seeds, read from the migration itself: what the tests
accept is what the database holds.
"""

from __future__ import annotations

import copy
import importlib.util
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from domain.errors import FieldError
from domain.invoice import (
    VatGround,
    check_vat_exemption,
    parse_vat_grounds,
    vat_treatment,
)

D = Decimal
RATES = [D("0"), D("6"), D("12"), D("21")]
_MIGRATION = Path(__file__).resolve().parents[2] / "alembic/versions/20261207_0022_vat_grounds.py"


def _seeded() -> dict[str, Any]:
    spec = importlib.util.spec_from_file_location("migration_0022", _MIGRATION)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return copy.deepcopy(module.VALUE)  # type: ignore[no-any-return]


GROUNDS = parse_vat_grounds(_seeded())
BY_CODE = {g.code: g for g in GROUNDS}

# (kind, country, vat number) of typical clients
BE_BUSINESS = ("business", "BE", "BE0403170701")
DE_BUSINESS = ("business", "DE", "DE136695976")
FR_NO_VAT = ("business", "FR", None)
FR_CONSUMER = ("consumer", "FR", None)
US_BUSINESS = ("business", "US", None)
US_CONSUMER = ("consumer", "US", None)
BE_CONSUMER = ("consumer", "BE", None)


def _check(value: object, rate: str, client: tuple[str, str, str | None]) -> VatGround | None:
    kind, country, vat = client
    return check_vat_exemption(
        value,
        rate=D(rate),
        grounds=GROUNDS,
        client_kind=kind,
        client_country=country,
        client_vat_number=vat,
    )


def test_the_seeded_grounds_each_carry_reference_mentions_category_and_source() -> None:
    assert set(BY_CODE) == {
        "eu_reverse_charge",
        "outside_eu_business",
        "art44_performer",
        "be_reverse_charge_works",
        "intra_eu_goods",
        "export_goods",
    }
    expected = {
        "eu_reverse_charge": ("AE", "VATEX-EU-AE"),
        "outside_eu_business": ("O", "VATEX-EU-O"),
        "art44_performer": ("E", None),  # no VATEX code for an art. 371 derogation: text only
        "be_reverse_charge_works": ("AE", "VATEX-EU-AE"),
        "intra_eu_goods": ("K", "VATEX-EU-IC"),
        "export_goods": ("G", "VATEX-EU-G"),
    }
    for ground in GROUNDS:
        assert (ground.category, ground.vatex) == expected[ground.code]
        assert ground.reference and ground.source and ground.confidence
        for language in ("fr", "nl", "en"):
            assert ground.mention(language) and ground.label(language)
    # The literal words the law asks for on a reverse-charge invoice (domain.md §2.1 item 9).
    reverse = BY_CODE["eu_reverse_charge"]
    assert reverse.mention("fr").startswith("Autoliquidation")
    assert reverse.mention("nl").startswith("Verlegging van heffing")
    assert reverse.mention("en").startswith("Reverse charge")
    assert "art. 44, § 2, 8°" in BY_CODE["art44_performer"].mention("fr")


@pytest.mark.parametrize(
    ("broken", "reason"),
    [
        ({"category": "S"}, "not a 0 % category"),
        ({"client": "anyone"}, "unknown client rule"),
        ({"vatex": "EU-AE"}, "not a VATEX code"),
        ({"mention": {"fr": "x", "nl": "y"}}, "fr, nl and en"),
        ({"source": ""}, "source"),
        ({"code": ""}, "needs a code"),
    ],
)
def test_a_malformed_parameter_row_is_refused(broken: dict[str, Any], reason: str) -> None:
    value = _seeded()
    value["grounds"][0].update(broken)
    with pytest.raises(ValueError, match=reason):
        parse_vat_grounds(value)


def test_the_same_code_twice_is_refused() -> None:
    value = _seeded()
    value["grounds"].append(value["grounds"][0])
    with pytest.raises(ValueError, match="same code twice"):
        parse_vat_grounds(value)


@pytest.mark.parametrize(
    ("code", "client"),
    [
        ("eu_reverse_charge", DE_BUSINESS),
        ("intra_eu_goods", DE_BUSINESS),
        ("outside_eu_business", US_BUSINESS),
        ("export_goods", US_BUSINESS),
        ("export_goods", US_CONSUMER),
        ("art44_performer", BE_BUSINESS),
        ("be_reverse_charge_works", BE_BUSINESS),
    ],
)
def test_a_ground_that_fits_the_client_is_kept(
    code: str, client: tuple[str, str, str | None]
) -> None:
    ground = _check(f" {code} ", "0", client)
    assert ground is not None and ground.code == code


def test_a_charged_rate_needs_no_ground() -> None:
    assert _check(None, "21", BE_BUSINESS) is None
    assert _check("", "6", BE_CONSUMER) is None
    assert _check(None, "21", FR_CONSUMER) is None  # consumers pay Belgian VAT
    assert _check(None, "21", FR_NO_VAT) is None  # no VAT number: cannot self-assess


@pytest.mark.parametrize(
    ("value", "rate", "client", "field", "reason"),
    [
        (None, "0", BE_BUSINESS, "vat_exemption", "required when the VAT rate is 0 %"),
        ("  ", "0", BE_BUSINESS, "vat_exemption", "required when the VAT rate is 0 %"),
        ("art44_performer", "21", BE_BUSINESS, "vat_exemption", "only to a VAT rate of 0 %"),
        ("franchise", "0", BE_BUSINESS, "vat_exemption", "not one of the legal grounds"),
        (7, "0", BE_BUSINESS, "vat_exemption", "a string"),
        # reverse charge: a business, in another EU country, with its VAT number
        ("eu_reverse_charge", "0", FR_CONSUMER, "vat_exemption", "not to a private person"),
        ("eu_reverse_charge", "0", FR_NO_VAT, "vat_exemption", "VAT number"),
        ("eu_reverse_charge", "0", BE_BUSINESS, "vat_exemption", "another EU country"),
        ("eu_reverse_charge", "0", US_BUSINESS, "vat_exemption", "another EU country"),
        ("eu_reverse_charge", "0", ("business", "DE", "DE136695977"), "vat_exemption", "VAT"),
        ("outside_eu_business", "0", DE_BUSINESS, "vat_exemption", "outside the EU"),
        ("outside_eu_business", "0", US_CONSUMER, "vat_exemption", "not to a private person"),
        ("export_goods", "0", BE_CONSUMER, "vat_exemption", "outside the EU"),
        ("art44_performer", "0", DE_BUSINESS, "vat_exemption", "Belgian client"),
        ("art44_performer", "0", BE_CONSUMER, "vat_exemption", "not to a private person"),
        ("be_reverse_charge_works", "0", FR_NO_VAT, "vat_exemption", "Belgian client"),
        # a charged rate where Belgian VAT does not apply: choose 0 % and its ground instead
        (None, "21", DE_BUSINESS, "vat_rate", "art. 21 § 2"),
        (None, "6", US_BUSINESS, "vat_rate", "art. 21 § 2"),
    ],
)
def test_a_ground_that_does_not_fit_is_refused(
    value: object, rate: str, client: tuple[str, str, str | None], field: str, reason: str
) -> None:
    with pytest.raises(FieldError) as err:
        _check(value, rate, client)
    assert err.value.field == field
    assert reason in err.value.message


def test_the_invoice_takes_the_ground_category_and_mention_in_the_client_language() -> None:
    ground = BY_CODE["eu_reverse_charge"]
    for language in ("fr", "nl", "en"):
        treatment = vat_treatment(
            client_kind="business",
            client_country="DE",
            client_vat_number="DE136695976",
            rate=D("0"),
            allowed_rates=RATES,
            exemption=ground,
            language=language,
        )
        assert (treatment.rate, treatment.category, treatment.ground) == (D("0.00"), "AE", ground)
        assert treatment.mention == ground.mention(language)
    art44 = vat_treatment(
        client_kind="business",
        client_country="BE",
        client_vat_number="BE0403170701",
        rate=D("0"),
        allowed_rates=RATES,
        exemption=BY_CODE["art44_performer"],
        language="nl",
    )
    assert (art44.category, art44.mention) == ("E", BY_CODE["art44_performer"].mention("nl"))


def test_at_issue_a_ground_that_no_longer_fits_the_client_is_refused() -> None:
    """The client changed since the mission was made (moved, lost its VAT number)."""
    with pytest.raises(FieldError) as err:
        vat_treatment(
            client_kind="business",
            client_country="BE",
            client_vat_number="BE0403170701",
            rate=D("0"),
            allowed_rates=RATES,
            exemption=BY_CODE["eu_reverse_charge"],
        )
    assert (err.value.field, err.value.message) == (
        "vat_exemption",
        "this ground applies only to a client established in another EU country",
    )
    with pytest.raises(FieldError) as err:
        vat_treatment(
            client_kind="business",
            client_country="BE",
            client_vat_number="BE0403170701",
            rate=D("21"),
            allowed_rates=RATES,
            exemption=BY_CODE["art44_performer"],
        )
    assert err.value.field == "vat_exemption"
