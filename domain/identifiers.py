"""Identifiers and free text: IBAN, NISS, Belgian enterprise/VAT numbers, countries, e-mail.

Every normaliser refuses non-ASCII input *before* python-stdnum sees it: stdnum silently maps
full-width digits and some Unicode punctuation to ASCII, which would let look-alike input in.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable

from stdnum import iban as _iban
from stdnum import numdb as _numdb
from stdnum.be import bis as _be_bis
from stdnum.be import nn as _be_nn
from stdnum.be import vat as _be_vat
from stdnum.eu import vat as _eu_vat
from stdnum.exceptions import (
    InvalidChecksum,
    InvalidComponent,
    InvalidLength,
    ValidationError,
)

from domain.errors import FieldError

__all__ = [
    "EU_COUNTRIES",
    "ISO_COUNTRIES",
    "clean_text",
    "normalize_be_enterprise_number",
    "normalize_country",
    "normalize_email",
    "normalize_iban",
    "normalize_niss",
    "normalize_vat_number",
]

EU_COUNTRIES: frozenset[str] = frozenset(
    {
        "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU",
        "IE", "IT", "LT", "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK",
    }
)  # fmt: skip

# ISO 3166-1 alpha-2: the 249 officially assigned codes, plus "XK" (Kosovo, user-assigned
# but used by the European Commission and the IBAN registry).
ISO_COUNTRIES: frozenset[str] = frozenset(
    """
    AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ
    BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ
    CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ
    DE DJ DK DM DO DZ
    EC EE EG EH ER ES ET
    FI FJ FK FM FO FR
    GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY
    HK HM HN HR HT HU
    ID IE IL IM IN IO IQ IR IS IT
    JE JM JO JP
    KE KG KH KI KM KN KP KR KW KY KZ
    LA LB LC LI LK LR LS LT LU LV LY
    MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ
    NA NC NE NF NG NI NL NO NP NR NU NZ
    OM
    PA PE PF PG PH PK PL PM PN PR PS PT PW PY
    QA
    RE RO RS RU RW
    SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ
    TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ
    UA UG UM US UY UZ
    VA VC VE VG VI VN VU
    WF WS
    XK
    YE YT
    ZA ZM ZW
    """.split()
)

_COUNTRY_HINTS = {"UK": "use GB for the United Kingdom", "EL": "use GR for Greece"}
_BIDI_CONTROLS = frozenset(chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A)))
_MAX_IDENTIFIER_CHARS = 64
_IBAN_SHAPE = re.compile(r"[A-Z]{2}[0-9]{2}[A-Z0-9]{1,30}")
_BBAN_PART = re.compile(r"(\d+)!?[nac]")
_BE_ENTERPRISE_SHAPE = re.compile(r"(?:BE)?([0-9]{9,10})")
_OTHER_VAT_SHAPE = re.compile(r"[A-Z0-9]{2,30}")
_EMAIL_LOCAL = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")
_DOMAIN_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")


def _describe_char(ch: str) -> str:
    return f"U+{ord(ch):04X} ({unicodedata.name(ch, 'unnamed character')})"


def _require_str(value: object, field: str, what: str) -> str:
    """Return `value` if it is a non-blank string, else refuse it."""
    if value is None:
        raise FieldError(field, "is required")
    if not isinstance(value, str):
        raise FieldError(field, f"must be a string ({what})")
    if value.strip() == "":
        raise FieldError(field, "is required")
    if len(value) > _MAX_IDENTIFIER_CHARS:
        raise FieldError(field, f"is too long for {what}")
    return value


def _require_ascii(text: str, field: str) -> None:
    """Refuse any non-ASCII character (full-width digits, zero-width spaces, RTL marks, ...)."""
    for ch in text:
        if not ch.isascii():
            raise FieldError(
                field,
                f"contains the non-ASCII character {_describe_char(ch)}; "
                "type it with plain ASCII letters and digits",
            )
    for ch in text:
        if unicodedata.category(ch) == "Cc":
            raise FieldError(field, f"contains the control character {_describe_char(ch)}")


def _compact(text: str, separators: str) -> str:
    """Strip, upper-case and remove the accepted separators."""
    return text.strip().upper().translate({ord(c): None for c in separators})


def _iban_expected_length(country: str) -> int | None:
    """Return the IBAN length registered for `country`, or None if it has no IBAN."""
    info = _numdb.get("iban").info(country)
    props = info[0][1]
    structure = props.get("bban")
    if not structure:
        return None
    return 4 + sum(int(n) for n in _BBAN_PART.findall(structure))


def normalize_iban(value: object, field: str = "iban") -> str:
    """Accept a bank account as an IBAN and return it compact and upper-case, else refuse it."""
    text = _require_str(value, field, 'an IBAN like "BE71 0961 2345 6769"')
    _require_ascii(text, field)
    number = _compact(text, " -.")
    if _IBAN_SHAPE.fullmatch(number) is None:
        raise FieldError(
            field, "bad format: an IBAN is 2 letters, 2 check digits, then letters/digits"
        )
    country = number[:2]
    expected = _iban_expected_length(country)
    if expected is None:
        raise FieldError(field, f"bad format: {country} is not a country that uses IBANs")
    if len(number) != expected:
        raise FieldError(
            field, f"wrong length: a {country} IBAN has {expected} characters, got {len(number)}"
        )
    try:
        return _iban.validate(number)
    except InvalidChecksum:
        raise FieldError(field, "bad checksum: check digits do not match (mod 97)") from None
    except InvalidLength:
        raise FieldError(field, f"wrong length for a {country} IBAN") from None
    except InvalidComponent:
        raise FieldError(field, f"unknown bank code for a {country} IBAN") from None
    except ValidationError:
        raise FieldError(field, f"bad format for a {country} IBAN") from None


def normalize_niss(value: object, field: str = "national_number") -> str:
    """Accept a Belgian national register (or BIS) number and return its 11 digits, else refuse."""
    text = _require_str(value, field, 'a national number like "85.07.30-033.28"')
    _require_ascii(text, field)
    number = _compact(text, " .-")
    if not number.isdigit() or len(number) != 11:
        raise FieldError(field, "must have exactly 11 digits (YY.MM.DD-NNN.CC)")
    errors: list[ValidationError] = []
    validators: tuple[Callable[[str], str], ...] = (_be_nn.validate, _be_bis.validate)
    for validate in validators:
        try:
            return validate(number)
        except ValidationError as exc:
            errors.append(exc)
    if all(isinstance(e, InvalidChecksum) for e in errors):
        raise FieldError(field, "check digits do not match (mod 97)")
    raise FieldError(field, "does not encode a valid birth date (month or day out of range)")


def normalize_be_enterprise_number(value: object, field: str = "vat_number") -> str:
    """Accept a Belgian enterprise/VAT number and return it as "BE" + 10 digits, else refuse it."""
    text = _require_str(value, field, 'a Belgian enterprise number like "BE0403.170.701"')
    _require_ascii(text, field)
    number = _compact(text, " .-/")
    match = _BE_ENTERPRISE_SHAPE.fullmatch(number)
    if match is None:
        raise FieldError(field, 'bad format: expected "BE" and 10 digits, e.g. BE0403170701')
    try:
        digits = _be_vat.validate(match.group(1))
    except InvalidChecksum:
        raise FieldError(field, "check digits do not match (mod 97)") from None
    except InvalidComponent:
        raise FieldError(field, "a Belgian enterprise number starts with 0 or 1") from None
    except InvalidLength:
        raise FieldError(field, "wrong length: expected 10 digits") from None
    except ValidationError:
        raise FieldError(field, "bad format: expected 10 digits") from None
    return "BE" + digits


def normalize_vat_number(value: object, country: str, field: str = "vat_number") -> str:
    """Accept a client's VAT number for its country (EU: checked digits) and return it compact."""
    cc = normalize_country(country)
    if cc == "BE":
        return normalize_be_enterprise_number(value, field)
    text = _require_str(value, field, "a VAT number")
    _require_ascii(text, field)
    number = _compact(text, " .-/")
    if cc not in EU_COUNTRIES:
        if _OTHER_VAT_SHAPE.fullmatch(number) is None:
            raise FieldError(field, "must be 2 to 30 letters or digits")
        return number
    canonical_prefix = "EL" if cc == "GR" else cc
    accepted_prefixes = ("EL", "GR") if cc == "GR" else (cc,)
    body = number
    if number[:2] in accepted_prefixes:
        body = number[2:]
    elif number[:2] in EU_COUNTRIES | {"EL"} and _eu_vat.is_valid(number):
        # A valid VAT number of another member state: the client's country is wrong.
        raise FieldError(field, f"prefix {number[:2]} does not match the country {cc}")
    if body == "":
        raise FieldError(field, "is required")
    try:
        compact = _eu_vat.validate(canonical_prefix + body)
    except InvalidChecksum:
        raise FieldError(field, f"check digits do not match for a {cc} VAT number") from None
    except InvalidLength:
        raise FieldError(field, f"wrong length for a {cc} VAT number") from None
    except ValidationError:
        raise FieldError(field, f"bad format for a {cc} VAT number") from None
    return canonical_prefix + compact[2:]


def normalize_country(value: object, field: str = "country") -> str:
    """Accept an ISO 3166 alpha-2 country code and return it upper-case, else refuse it."""
    text = _require_str(value, field, 'an ISO country code like "BE"')
    _require_ascii(text, field)
    code = text.strip().upper()
    if len(code) != 2 or not code.isalpha():
        raise FieldError(field, 'must be a 2-letter ISO 3166 country code like "BE"')
    if code in _COUNTRY_HINTS:
        raise FieldError(field, f"{code} is not an ISO 3166 code; {_COUNTRY_HINTS[code]}")
    if code not in ISO_COUNTRIES:
        raise FieldError(field, f"{code} is not an ISO 3166 country code")
    return code


def normalize_email(value: object, field: str = "email") -> str:
    """Accept a single plain e-mail address and return it with a lower-cased domain, else refuse."""
    if value is None:
        raise FieldError(field, "is required")
    if not isinstance(value, str):
        raise FieldError(field, "must be a string")
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") for ch in value):
        raise FieldError(field, "must not contain line breaks or control characters")
    text = value.strip()
    if text == "":
        raise FieldError(field, "is required")
    if len(text) > 254:
        raise FieldError(field, "must be at most 254 characters")
    if not text.isascii():
        raise FieldError(
            field, "must use ASCII characters only (use the xn-- form for international domains)"
        )
    if any(ch.isspace() for ch in text):
        raise FieldError(field, "must not contain spaces")
    if text.count("@") != 1:
        raise FieldError(field, 'must contain exactly one "@"')
    local, _, domain = text.partition("@")
    if local == "" or len(local) > 64 or _EMAIL_LOCAL.fullmatch(local) is None:
        raise FieldError(field, "the part before @ is not a valid mailbox name")
    domain = domain.lower()
    if "." not in domain:
        raise FieldError(field, 'the domain must contain a dot, e.g. "example.be"')
    labels = domain.split(".")
    if any(_DOMAIN_LABEL.fullmatch(label) is None for label in labels) or labels[-1].isdigit():
        raise FieldError(field, "the domain after @ is not a valid domain name")
    return f"{local}@{domain}"


def clean_text(value: object, *, field: str, max_length: int, required: bool = True) -> str:
    """Accept a free-text value (name, label) stripped, refusing control and bidi-override chars."""
    if value is None or (isinstance(value, str) and value.strip() == ""):
        if required:
            raise FieldError(field, "is required")
        return ""
    if not isinstance(value, str):
        raise FieldError(field, "must be a string")
    text = value.strip()
    if len(text) > max_length:
        raise FieldError(field, f"must be at most {max_length} characters (got {len(text)})")
    for ch in text:
        if ch in _BIDI_CONTROLS:
            raise FieldError(
                field, f"must not contain the text-direction override {_describe_char(ch)}"
            )
        category = unicodedata.category(ch)
        if category == "Cc":
            raise FieldError(field, f"must not contain the control character {_describe_char(ch)}")
        if category == "Cs":
            raise FieldError(field, "contains an invalid (surrogate) character")
    return text


def parse_id(value: object, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise FieldError(field, "an integer id")
    if not 1 <= value <= 2**31 - 1:
        raise FieldError(field, "an id between 1 and 2147483647")
    return value
