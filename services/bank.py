"""Bank in: camt.053 statements (issue 15 §2), validated against the official ISO 20022 XSD of
their namespace and booked line by line, each line once (INV-7).

A file is checked whole before anything is written: not empty, not over the size limit, XML,
a camt.053 document of a version we keep the schema of (documents/xsd/camt/), valid against
that schema, in EUR, and no entry booked after today. A refusal names the element and the line.

Then each statement of the file is booked in the caller's transaction. The same statement again
(same account and statement id) answers the earlier result. An entry is keyed by the account and
its bank reference (the account servicer's reference, else the entry reference, else the
transaction's); an entry some earlier import booked is counted as ignored, so two overlapping
statements book each line once (UNIQUE bank_entries(account, reference), and payments keeps
UNIQUE(bank_account, bank_transaction_id)).

A credit goes through collection.record_payment, as a payment recorded by hand does: matched by
the structured communication (RmtInf/Strd/CdtrRefInf/Ref), else by a structured communication
written in the free text (RmtInf/Ustrd); what matches no invoice lands in suspense with its
reason, with suggestions (open invoices of the same amount, the payer's name or IBAN) kept on
the entry for ops, never applied. A debit is recorded and applied to nothing; one whose
end-to-end id is a payout's notes that payout as confirmed.
"""

from __future__ import annotations

import hashlib
import logging
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path
from typing import Any

from lxml import etree
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import Client as TemporalClient

from core.errors import DomainError
from domain.errors import FieldError
from domain.ogm import parse_ogm
from models import BankEntry, BankStatement, Client, Invoice, Payment, Payout
from services import audit, collection, repairs
from services.access import Viewer
from services.parameters import N_

log = logging.getLogger(__name__)

XSD_DIR = Path(__file__).resolve().parent.parent / "documents" / "xsd" / "camt"
NS_PREFIX = "urn:iso:std:iso:20022:tech:xsd:"
# The versions we keep the official schema of (documents/xsd/camt/README.md says where from).
VERSIONS = ("camt.053.001.02", "camt.053.001.08")
MAX_BYTES = 25 * 1024 * 1024  # ~20,000 entries of a verbose bank
FIELD = "file"
CHUNK = 1000
ZERO = Decimal("0.00")

# The refusals, in English (the API's language), translated whole by the pages with their
# values kept (web/messages.py PARAMETRISED).
FILE_EMPTY = N_("the file is empty")
FILE_TOO_LARGE = N_("the file is larger than %(limit)s MB")
NOT_XML = N_("not an XML file: line %(line)s: %(detail)s")
NOT_CAMT = N_("not a camt.053 statement (%(versions)s): the document is %(root)s")
XSD_INVALID = N_(
    "not a valid %(version)s statement: line %(line)s, element %(element)s: %(detail)s"
)
NOT_EUR = N_("line %(line)s, element %(element)s: amount in %(currency)s; only EUR is imported")
BOOKED_LATER = N_("line %(line)s, element %(element)s: booked on %(day)s, after today (%(today)s)")
TOO_OLD = N_("line %(line)s, element %(element)s: booked on %(day)s, more than ten years ago")
NO_IBAN = N_("line %(line)s, element %(element)s: the statement's account has no IBAN")
# Why a suspense line suggests an invoice (shown translated on the console).
WHY_AMOUNT = N_("amount")
WHY_NAMED = N_("amount and payer name")
WHY_IBAN = N_("amount and payer IBAN (paid this client before)")
MESSAGES = (
    FILE_EMPTY,
    FILE_TOO_LARGE,
    NOT_XML,
    NOT_CAMT,
    XSD_INVALID,
    NOT_EUR,
    BOOKED_LATER,
    TOO_OLD,
    NO_IBAN,
)

_OGM_IN_TEXT = re.compile(
    r"(?:\+\+\+|\*\*\*)\s*\d{3}\s*/\s*\d{4}\s*/\s*\d{5}\s*(?:\+\+\+|\*\*\*)"
    r"|\b\d{3}/\d{4}/\d{5}\b|(?<!\d)\d{12}(?!\d)"
)
_ELEMENT = re.compile(r"Element '(?:\{[^}]*\})?([^']+)'")


@dataclass(frozen=True)
class Entry:
    """One bank line as the statement gives it."""

    reference: str
    direction: str  # CRDT | DBIT
    amount: Decimal
    booked_on: date
    counterparty: str | None
    counterparty_iban: str | None
    structured: str | None  # RmtInf/Strd/CdtrRefInf/Ref
    unstructured: str | None  # RmtInf/Ustrd, joined
    end_to_end_id: str | None
    line: int
    booked: bool = True  # False: a pending or informational entry, not booked (counted ignored)


@dataclass
class Statement:
    version: str
    message_id: str
    statement_id: str
    account: str
    sequence: int | None
    from_date: date | None
    to_date: date | None
    opening_balance: Decimal | None
    closing_balance: Decimal | None
    entries: list[Entry] = field(default_factory=list)


@dataclass(frozen=True)
class Notice:
    """An applied payment the mission's workflow is to hear of (repairs.notify_payment)."""

    mission_id: int
    payment_id: int
    balance: Decimal


@dataclass
class ImportResult:
    statements: list[BankStatement]
    repeated: list[bool]
    notices: list[Notice]


def _safe_parser() -> etree.XMLParser:
    return etree.XMLParser(no_network=True, resolve_entities=False, load_dtd=False, huge_tree=False)


@lru_cache(maxsize=len(VERSIONS))
def _schema(version: str) -> etree.XMLSchema:
    path = XSD_DIR / f"{version}.xsd"
    return etree.XMLSchema(etree.parse(str(path), _safe_parser()))


def _refuse(message: str, **values: Any) -> FieldError:
    return FieldError(FIELD, message % values if values else message)


def _local(tag: object) -> str:
    return str(tag).rsplit("}", 1)[-1]


def validate(data: bytes) -> tuple[str, Any]:
    """The camt.053 version and the parsed root of a file that passes every check, else a
    FieldError on `file` naming what is wrong and where."""
    if not data:
        raise _refuse(FILE_EMPTY)
    if len(data) > MAX_BYTES:
        raise _refuse(FILE_TOO_LARGE, limit=MAX_BYTES // (1024 * 1024))
    try:
        root = etree.fromstring(data, _safe_parser())
    except etree.XMLSyntaxError as err:
        line = err.lineno if err.lineno is not None else 1
        raise _refuse(NOT_XML, line=line, detail=str(err.msg)[:200]) from err
    namespace = etree.QName(root).namespace or ""
    version = namespace.removeprefix(NS_PREFIX)
    if _local(root.tag) != "Document" or version not in VERSIONS:
        what = f"{{{namespace}}}{_local(root.tag)}" if namespace else _local(root.tag)
        raise _refuse(NOT_CAMT, versions=", ".join(VERSIONS), root=what[:120])
    schema = _schema(version)
    if not schema.validate(root):
        error = schema.error_log[0]
        found = _ELEMENT.search(error.message)
        element = found.group(1) if found else "Document"
        detail = re.sub(r"\{[^}]*\}", "", error.message)  # the namespace is the version's
        raise _refuse(
            XSD_INVALID, version=version, line=error.line, element=element, detail=detail[:300]
        )
    return version, root


class _Reader:
    def __init__(self, namespace: str) -> None:
        self.ns = {"c": namespace}

    def el(self, node: Any, path: str) -> Any:
        return node.find(self._path(path), self.ns)

    def all(self, node: Any, path: str) -> list[Any]:
        return list(node.findall(self._path(path), self.ns))

    def text(self, node: Any, path: str) -> str | None:
        found = self.el(node, path)
        if found is None or found.text is None:
            return None
        return str(found.text).strip() or None

    @staticmethod
    def _path(path: str) -> str:
        return "/".join(f"c:{part}" for part in path.split("/"))


def _day(text: str | None) -> date | None:
    return date.fromisoformat(text[:10]) if text else None


def _money(text: str | None) -> Decimal | None:
    if text is None:
        return None
    try:
        return Decimal(text).quantize(Decimal("0.01"))
    except InvalidOperation:  # the XSD let it through as a decimal: cannot happen
        return None


def _printable(text: str | None, limit: int) -> str | None:
    """Bank text as record_payment takes it: no control or bidi characters, spaces collapsed."""
    if not text:
        return None
    kept = "".join(
        " " if unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Zl", "Zp") else ch for ch in text
    )
    kept = " ".join(kept.split())
    return kept[:limit] or None


def _sequence(text: str | None) -> int | None:
    return int(text) if text and text.isdigit() and len(text) < 10 else None


def _reference(*candidates: str | None) -> str | None:
    for text in candidates:
        if text:
            if text.isascii() and text.isprintable() and len(text) <= 64:
                return text
            return "H" + hashlib.sha256(text.encode()).hexdigest()[:40]
    return None


def _signed(reader: _Reader, balance: Any) -> Decimal | None:
    amount = _money(reader.text(balance, "Amt"))
    if amount is not None and reader.text(balance, "CdtDbtInd") == "DBIT":
        return -amount
    return amount


def parse(data: bytes, today: date) -> list[Statement]:
    """The statements of a camt.053 file, after validate(); refuses what cannot be booked."""
    version, root = validate(data)
    reader = _Reader(f"{NS_PREFIX}{version}")
    message_id = reader.text(root, "BkToCstmrStmt/GrpHdr/MsgId") or ""
    statements = []
    for stmt in reader.all(root, "BkToCstmrStmt/Stmt"):
        iban = reader.text(stmt, "Acct/Id/IBAN")
        if iban is None:
            raise _refuse(NO_IBAN, line=stmt.sourceline, element="Acct")
        balances: dict[str, Decimal | None] = {}
        for bal in reader.all(stmt, "Bal"):
            code = reader.text(bal, "Tp/CdOrPrtry/Cd")
            if code in ("OPBD", "PRCD", "CLBD") and code not in balances:
                balances[code] = _signed(reader, bal)
        sequence = reader.text(stmt, "ElctrncSeqNb")
        statement = Statement(
            version=version,
            message_id=message_id[:35],
            statement_id=reader.text(stmt, "Id") or "",
            account=iban.replace(" ", "").upper(),
            sequence=_sequence(sequence),
            from_date=_day(reader.text(stmt, "FrToDt/FrDtTm")),
            to_date=_day(reader.text(stmt, "FrToDt/ToDtTm")),
            opening_balance=balances.get("OPBD", balances.get("PRCD")),
            closing_balance=balances.get("CLBD"),
        )
        for index, ntry in enumerate(reader.all(stmt, "Ntry"), start=1):
            statement.entries.extend(_entries(reader, statement, ntry, index, today))
        statements.append(statement)
    return statements


def _entries(
    reader: _Reader, statement: Statement, ntry: Any, index: int, today: date
) -> list[Entry]:
    amount_el = reader.el(ntry, "Amt")
    currency = amount_el.get("Ccy")
    if currency != "EUR":
        raise _refuse(NOT_EUR, line=amount_el.sourceline, element="Amt", currency=currency)
    booking = reader.el(ntry, "BookgDt")
    booked_on = _day(reader.text(ntry, "BookgDt/Dt") or reader.text(ntry, "BookgDt/DtTm"))
    if booked_on is None:  # optional in the schema: the value date, else the statement's end
        booked_on = _day(reader.text(ntry, "ValDt/Dt") or reader.text(ntry, "ValDt/DtTm"))
    booked_on = booked_on or statement.to_date or today
    line = (booking if booking is not None else ntry).sourceline
    if booked_on > today:
        raise _refuse(
            BOOKED_LATER, line=line, element="BookgDt", day=booked_on, today=today.isoformat()
        )
    if booked_on.year < today.year - 10:
        raise _refuse(TOO_OLD, line=line, element="BookgDt", day=booked_on)
    direction = reader.text(ntry, "CdtDbtInd") or "CRDT"
    # .001.02 writes the status as text, .001.08 as Sts/Cd (or Sts/Prtry): only a booked entry
    # is money on the account; a pending or informational one comes again once booked.
    status = reader.text(ntry, "Sts") or reader.text(ntry, "Sts/Cd") or "BOOK"
    if status != "BOOK":
        return [Entry("", direction, ZERO, booked_on, None, None, None, None, None, 0, False)]
    entry_ref = _reference(reader.text(ntry, "AcctSvcrRef"), reader.text(ntry, "NtryRef"))
    details = reader.all(ntry, "NtryDtls/TxDtls")
    # A batch booking: one entry, several transactions each with its own amount, booked apart.
    split = len(details) > 1 and all(_tx_amount(reader, tx) is not None for tx in details)
    out = []
    for number, tx in enumerate(details if split else details[:1] or [None], start=1):
        tx_ref = None
        if tx is not None:
            tx_ref = _reference(
                reader.text(tx, "Refs/AcctSvcrRef"),
                reader.text(tx, "Refs/TxId"),
                reader.text(tx, "Refs/EndToEndId"),
            )
        if split:
            reference = f"{entry_ref}/{tx_ref or number}" if entry_ref else tx_ref
        else:
            reference = entry_ref or tx_ref
        if reference is None:  # nothing the bank names it by: its place in this statement
            reference = _reference(f"{statement.statement_id}/{index}/{number}")
        assert reference is not None
        party = "Dbtr" if direction == "CRDT" else "Cdtr"
        name = None
        iban = None
        structured = None
        unstructured = None
        end_to_end = None
        if tx is not None:
            name = reader.text(tx, f"RltdPties/{party}/Nm") or reader.text(
                tx, f"RltdPties/{party}/Pty/Nm"
            )
            iban = reader.text(tx, f"RltdPties/{party}Acct/Id/IBAN")
            structured = reader.text(tx, "RmtInf/Strd/CdtrRefInf/Ref")
            texts = [t.text.strip() for t in reader.all(tx, "RmtInf/Ustrd") if t.text]
            unstructured = " ".join(texts) or None
            end_to_end = reader.text(tx, "Refs/EndToEndId")
        amount = _tx_amount(reader, tx) if split else _money(amount_el.text)
        out.append(
            Entry(
                reference=reference[:64],
                direction=direction,
                amount=amount or ZERO,
                booked_on=booked_on,
                counterparty=_printable(name, 140),
                counterparty_iban=(iban or "").replace(" ", "").upper()[:34] or None,
                structured=_printable(structured, 140),
                unstructured=_printable(unstructured, 1000),
                end_to_end_id=end_to_end,
                line=ntry.sourceline,
            )
        )
    return out


def _tx_amount(reader: _Reader, tx: Any) -> Decimal | None:
    if tx is None:
        return None
    return _money(reader.text(tx, "AmtDtls/TxAmt/Amt") or reader.text(tx, "Amt"))


def ogm_candidates(entry: Entry) -> list[str]:
    """The valid structured communications of a line: its structured reference first, then
    those written in its free text (check digits verified), in order, without repeats."""
    found: list[str] = []
    texts = [entry.structured] if entry.structured else []
    texts += [m.group(0) for m in _OGM_IN_TEXT.finditer(entry.unstructured or "")]
    for text in texts:
        try:
            ogm = parse_ogm(text)
        except FieldError:
            continue
        if ogm not in found:
            found.append(ogm)
    return found


def _name_key(text: str | None) -> str:
    return " ".join(re.sub(r"[^a-z0-9]+", " ", (text or "").lower()).split())


async def import_file(
    session: AsyncSession,
    data: bytes,
    filename: str,
    *,
    today: date,
    user_id: int | None,
) -> ImportResult:
    """Validate the file, then book each of its statements (in the caller's transaction)."""
    statements = parse(data, today)
    digest = hashlib.sha256(data).hexdigest()
    name = _printable(Path(filename.replace("\\", "/")).name, 255) or "statement.xml"
    result = ImportResult([], [], [])
    for statement in statements:
        earlier = await session.scalar(
            select(BankStatement).where(
                BankStatement.account == statement.account,
                BankStatement.statement_id == statement.statement_id,
            )
        )
        if earlier is not None:
            result.statements.append(earlier)
            result.repeated.append(True)
            continue
        row, notices = await _book(session, statement, digest, name, today, user_id)
        result.statements.append(row)
        result.repeated.append(False)
        result.notices.extend(notices)
    # The last balance the workflow hears is the invoice's after the whole file.
    last: dict[int, Notice] = {}
    for notice in result.notices:
        last[notice.mission_id] = notice
    result.notices = list(last.values())
    return result


async def _book(
    session: AsyncSession,
    statement: Statement,
    digest: str,
    filename: str,
    today: date,
    user_id: int | None,
) -> tuple[BankStatement, list[Notice]]:
    row = BankStatement(
        account=statement.account,
        statement_id=statement.statement_id,
        message_id=statement.message_id,
        version=statement.version,
        sequence=statement.sequence,
        from_date=statement.from_date,
        to_date=statement.to_date,
        opening_balance=statement.opening_balance,
        closing_balance=statement.closing_balance,
        sha256=digest,
        filename=filename,
        entries=len(statement.entries),
        created=0,
        ignored=0,
        applied=0,
        suspense=0,
        debits=0,
        imported_by_user_id=user_id,
    )
    session.add(row)
    await session.flush()
    known = await _known_references(session, statement)
    invoices = await _invoices_by_ogm(session, statement.entries)
    open_invoices = await _open_invoices(session, statement.entries)
    payouts = await _payouts(session, statement.entries)
    notices = []
    credits: list[tuple[BankEntry, Payment]] = []
    for entry in statement.entries:
        if not entry.booked or entry.reference in known:
            row.ignored += 1
            continue
        known.add(entry.reference)
        booked = BankEntry(
            account=statement.account,
            reference=entry.reference,
            statement_id=row.id,
            direction=entry.direction,
            amount=entry.amount,
            booked_on=entry.booked_on,
            counterparty=entry.counterparty,
            counterparty_iban=entry.counterparty_iban,
            communication=_communication(entry),
            suggestions=[],
        )
        row.created += 1
        if entry.direction == "DBIT":
            row.debits += 1
            booked.outcome = "debit"
            payout = payouts.get(entry.end_to_end_id or "")
            booked.reason = (
                f"salary transfer of payout {payout.id} confirmed by the bank"
                if payout is not None
                else "debit: recorded, applied to no invoice"
            )
            session.add(booked)
            continue
        notice, payment = await _credit(
            session, statement, entry, booked, invoices, open_invoices, today, user_id
        )
        if notice is not None:
            notices.append(notice)
        row.applied += booked.outcome == "applied"
        session.add(booked)
        credits.append((booked, payment))
    row.suspense = await _reasons(session, credits)
    await session.flush()
    return row, notices


def _communication(entry: Entry) -> str | None:
    parts = [p for p in (entry.structured, entry.unstructured) if p]
    return " | ".join(parts) or None


async def _credit(
    session: AsyncSession,
    statement: Statement,
    entry: Entry,
    booked: BankEntry,
    invoices: set[str],
    open_invoices: _Candidates,
    today: date,
    user_id: int | None,
) -> tuple[Notice | None, Payment]:
    candidates = ogm_candidates(entry)
    said = next((ogm for ogm in candidates if ogm in invoices), None)
    if said is None:
        said = candidates[0] if candidates else (entry.structured or entry.unstructured)
    payment, invoice = await collection.record_payment(
        session,
        amount=entry.amount,
        received_on=entry.booked_on,
        structured_communication=_printable(said, 140),
        bank_transaction_id=entry.reference,
        today=today,
        recorded_by_user_id=user_id,
        bank_account=statement.account,
    )
    booked.payment_id = payment.id
    if payment.matched and invoice is not None:
        booked.outcome = "applied"  # its suspense reason, if a part went there: _reasons()
        return Notice(invoice.mission_id, payment.id, invoice.balance), payment
    booked.outcome = "suspense"
    booked.suggestions = _suggestions(entry, open_invoices)
    return None, payment


async def _reasons(session: AsyncSession, credits: list[tuple[BankEntry, Payment]]) -> int:
    """Copy each credit's suspense reason onto its entry, reading the ledger once for the whole
    statement (suspense_positions reads every suspense posting: once per line made a 10,000-line
    file quadratic). Returns how many credits left something in suspense."""
    positions = await collection.suspense_positions(session, [p for _, p in credits])
    left = 0
    for entry, payment in credits:
        position = positions[payment.id]
        if position.open > 0:
            entry.reason = position.reason
            left += 1
    return left


def _suggestions(entry: Entry, open_invoices: _Candidates) -> list[dict[str, Any]]:
    """Open invoices this line may pay: same open balance, first those of a client this IBAN
    paid before, then those whose client bears the payer's name. Only shown to ops, never
    applied."""
    payer = _name_key(entry.counterparty)
    paid_before = open_invoices.clients_of_iban.get(entry.counterparty_iban or "", set())
    out = []
    for invoice in open_invoices.by_amount.get(entry.amount, []):
        if invoice.client_id in paid_before:
            why = WHY_IBAN
        elif payer and (payer in invoice.name or invoice.name in payer):
            why = WHY_NAMED
        else:
            why = WHY_AMOUNT
        out.append({"invoice": invoice.number, "why": why})
    rank = (WHY_IBAN, WHY_NAMED, WHY_AMOUNT)
    out.sort(key=lambda s: rank.index(s["why"]))
    return out[:5]


async def _known_references(session: AsyncSession, statement: Statement) -> set[str]:
    refs = [e.reference for e in statement.entries]
    known: set[str] = set()
    for start in range(0, len(refs), CHUNK):
        chunk = refs[start : start + CHUNK]
        found = await session.scalars(
            select(BankEntry.reference).where(
                BankEntry.account == statement.account, BankEntry.reference.in_(chunk)
            )
        )
        known.update(found)
        # A credit some earlier path booked with the same bank id (UNIQUE on payments).
        found = await session.scalars(
            select(Payment.bank_transaction_id).where(
                Payment.bank_account == statement.account,
                Payment.bank_transaction_id.in_(chunk),
            )
        )
        known.update(found)
    return known


async def _invoices_by_ogm(session: AsyncSession, entries: list[Entry]) -> set[str]:
    wanted = sorted({ogm for e in entries if e.direction == "CRDT" for ogm in ogm_candidates(e)})
    found: set[str] = set()
    for start in range(0, len(wanted), CHUNK):
        found.update(
            await session.scalars(
                select(Invoice.structured_communication).where(
                    Invoice.structured_communication.in_(wanted[start : start + CHUNK])
                )
            )
        )
    return found


@dataclass(frozen=True)
class _Open:
    number: str
    client_id: int
    name: str  # the client's, as _name_key writes it


@dataclass
class _Candidates:
    """What suggestions are made of, read once per statement."""

    by_amount: dict[Decimal, list[_Open]]
    clients_of_iban: dict[str, set[int]]  # clients whose invoices this payer IBAN paid before


async def _open_invoices(session: AsyncSession, entries: list[Entry]) -> _Candidates:
    rows = await session.execute(
        select(Invoice.number, Invoice.client_id, Invoice.balance, Client.name)
        .join(Client, Client.id == Invoice.client_id)
        .where(Invoice.balance > 0, Invoice.status.not_in(("paid", "written_off", "credited")))
    )
    by_amount: dict[Decimal, list[_Open]] = {}
    for number, client_id, balance, name in rows.all():
        by_amount.setdefault(balance, []).append(_Open(number, client_id, _name_key(name)))
    ibans = sorted({e.counterparty_iban for e in entries if e.counterparty_iban})
    clients: dict[str, set[int]] = {}
    for start in range(0, len(ibans), CHUNK):
        found = await session.execute(
            select(BankEntry.counterparty_iban, Invoice.client_id)
            .join(Payment, Payment.id == BankEntry.payment_id)
            .join(Invoice, Invoice.id == Payment.invoice_id)
            .where(
                BankEntry.counterparty_iban.in_(ibans[start : start + CHUNK]),
                Payment.matched.is_(True),
            )
            .distinct()
        )
        for iban, client_id in found.all():
            if iban:
                clients.setdefault(iban, set()).add(client_id)
    return _Candidates(by_amount, clients)


async def _payouts(session: AsyncSession, entries: list[Entry]) -> dict[str, Payout]:
    ids = sorted({e.end_to_end_id for e in entries if e.direction == "DBIT" and e.end_to_end_id})
    found: dict[str, Payout] = {}
    for start in range(0, len(ids), CHUNK):
        for payout in await session.scalars(
            select(Payout).where(Payout.end_to_end_id.in_(ids[start : start + CHUNK]))
        ):
            found[payout.end_to_end_id] = payout
    return found


async def import_upload(
    session: AsyncSession, viewer: Viewer, data: bytes, filename: str, today: date
) -> ImportResult:
    """Ops: import an uploaded statement file (page or API), with an audit row per statement
    booked. The caller commits, then tells the workflows (notify)."""
    repairs.ensure_ops(viewer)
    try:
        result = await import_file(session, data, filename, today=today, user_id=viewer.user_id)
    except IntegrityError as err:  # the same statement imported at this very moment
        raise DomainError(
            "this statement is being imported by someone else; try again in a moment",
            409,
            FIELD,
        ) from err
    for row, repeated in zip(result.statements, result.repeated, strict=True):
        if not repeated:
            await audit.record(
                session,
                viewer,
                action="bank_import",
                target_type="bank_statement",
                target_id=row.id,
                reason=f"camt.053 file {row.filename}",
                before=None,
                after=statement_out(row),
            )
    return result


async def notify(temporal: TemporalClient | None, notices: list[Notice]) -> None:
    """Tell each paid mission's workflow, as the payments API does (repairs.notify_payment);
    without Temporal, the workflow's next step reads the balance anyway."""
    if temporal is None:
        if notices:
            log.warning(
                "%d payments applied; Temporal unavailable to tell the missions", len(notices)
            )
        return
    for notice in notices:
        await repairs.notify_payment(temporal, notice.mission_id, notice.payment_id, notice.balance)


async def entries_to_look_at(
    session: AsyncSession, statement_ids: list[int], limit: int = 200
) -> list[BankEntry]:
    """The lines of these statements that were not applied (suspense, debits), newest first."""
    if not statement_ids:
        return []
    return list(
        (
            await session.scalars(
                select(BankEntry)
                .where(
                    BankEntry.statement_id.in_(statement_ids),
                    (BankEntry.outcome != "applied") | BankEntry.reason.is_not(None),
                )
                .order_by(BankEntry.id.desc())
                .limit(limit)
            )
        ).all()
    )


async def statements(session: AsyncSession, limit: int = 100) -> list[BankStatement]:
    return list(
        (
            await session.scalars(
                select(BankStatement).order_by(BankStatement.id.desc()).limit(limit)
            )
        ).all()
    )


def statement_out(row: BankStatement, repeated: bool = False) -> dict[str, Any]:
    def money(value: Decimal | None) -> str | None:
        return None if value is None else f"{value:.2f}"

    return {
        "id": row.id,
        "account": row.account,
        "statement_id": row.statement_id,
        "message_id": row.message_id,
        "version": row.version,
        "sequence": row.sequence,
        "from_date": row.from_date.isoformat() if row.from_date else None,
        "to_date": row.to_date.isoformat() if row.to_date else None,
        "opening_balance": money(row.opening_balance),
        "closing_balance": money(row.closing_balance),
        "sha256": row.sha256,
        "filename": row.filename,
        "entries": row.entries,
        "created": row.created,
        "ignored": row.ignored,
        "applied": row.applied,
        "suspense": row.suspense,
        "debits": row.debits,
        "already_imported": repeated,
    }
