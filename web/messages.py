"""The services' refusals a member meets in the forms, marked for the catalogues.

The services speak English (the JSON API's contract); the pages show their message translated
when the catalogue has it word for word, else as it is. Messages with figures in them stay in
English."""

from __future__ import annotations

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
    N_("the work report is already submitted"),
    N_("a login with this email already exists"),
    N_("the mission's workflow is starting; try again in a moment"),
    N_("the workflow service is unavailable; try again shortly"),
)
