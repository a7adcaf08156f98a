"""The services' refusals a member meets in the forms, marked for the catalogues.

The services speak English (the JSON API's contract); the pages show their message translated
when the catalogue has it word for word, else as it is. Messages with figures in them stay in
English."""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache

from services.bank import MESSAGES as BANK_MESSAGES
from services.parameters import PARAMETER_MISSING, RATE_MISSING
from services.rates import RATE_TABLES
from web.i18n import N_

SERVICE_MESSAGES = (
    N_("is required"),
    N_("a date written YYYY-MM-DD"),
    N_("the end date is before the start date"),
    N_("at most 2 decimals"),
    N_("must be greater than 0"),
    N_('is required; amounts are decimal strings like "1234.50"'),
    N_('is not a valid amount; amounts are decimal strings like "1234.50"'),
    N_('is too long; amounts are decimal strings like "1234.50"'),
    N_("must be 'business' or 'consumer'"),
    N_("must be at most 254 characters"),
    N_("must not contain line breaks or control characters"),
    N_("must not contain spaces"),
    N_("printable ASCII characters only"),
    N_("required for a Belgian business client"),
    N_("the domain after @ is not a valid domain name"),
    N_("the part before @ is not a valid mailbox name"),
    N_("this client belongs to another member"),
    N_("client not found"),
    N_("this is already the IBAN your salary is paid to"),
    N_("wrong password"),
    N_("bad checksum: check digits do not match (mod 97)"),
    N_("check digits do not match (mod 97)"),
    N_("bad format: an IBAN is 2 letters, 2 check digits, then letters/digits"),
    N_("a Belgian enterprise number starts with 0 or 1"),
    N_("bad format: expected 10 digits"),
    N_("wrong length: expected 10 digits"),
    N_("must be 2 to 30 letters or digits"),
    N_("give the number without the '%' sign, e.g. 21"),
    N_("an expense amount must be positive"),
    N_("an expense needs a label"),
    N_("the contract is already signed"),
    N_(
        "too late: the deadline to sign and confirm the contract has passed; "
        "the mission is being cancelled"
    ),
    N_("the work report is already submitted"),
    N_("a login with this email already exists"),
    N_("the mission's workflow is starting; try again in a moment"),
    N_("the workflow service is unavailable; try again shortly"),
    # 0 % VAT: its legal ground (domain/invoice.py check_vat_exemption)
    N_("is required when the VAT rate is 0 %: choose the legal ground of it"),
    N_(
        "Belgian VAT does not apply to services for a business established abroad "
        "(art. 21 § 2 Code TVA): set the VAT rate to 0 and choose its legal ground"
    ),
    N_("must be the code of a legal ground (a string)"),
    N_("is not one of the legal grounds of the list"),
    N_("applies only to a VAT rate of 0 %: set the VAT rate to 0 or remove the ground"),
    N_("this ground applies only to a business client, not to a private person"),
    N_("this ground applies only to a client established in another EU country"),
    N_("this ground needs the client's VAT number: add it to the client first"),
    N_("this ground applies only to a client established outside the EU"),
    N_("this ground applies only to a Belgian client"),
)


# Messages with values in them (msgid % values), as the services write them into a flagged
# step's reason or a staff task's title: the pages translate them whole, the values kept. Their
# msgids are marked where they are written (services/parameters.py, services/rates.py).
PARAMETRISED = (
    PARAMETER_MISSING,
    *RATE_MISSING.values(),
    *(table.task_title for table in RATE_TABLES.values()),
    *BANK_MESSAGES,  # a camt.053 file refused (services/bank.py)
)
# A flagged step's reason is the failure's type, then its message ("ParameterMissing: ...").
_FAILURE_TYPE = re.compile(r"^[A-Z][A-Za-z]+: ")


@lru_cache
def _pattern(msgid: str) -> re.Pattern[str]:
    parts = re.split(r"%\((\w+)\)s", msgid)
    regex = "".join(
        re.escape(part) if i % 2 == 0 else f"(?P<{part}>.+?)" for i, part in enumerate(parts)
    )
    return re.compile(regex + "$")


def known_message(gettext: Callable[..., str], text: str | None) -> str:
    """`text` in the page's language when it is a message the catalogues know (word for word,
    or one of PARAMETRISED with its values), else as it is."""
    if not text:
        return ""
    prefix = _FAILURE_TYPE.match(text)
    body = text[prefix.end() :] if prefix else text
    for msgid in PARAMETRISED:
        found = _pattern(msgid).match(body)
        if found:
            return gettext(msgid, **found.groupdict())
    return gettext(text)
