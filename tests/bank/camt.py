"""camt.053 statements written for the tests, in the two versions Coopflow imports (.001.02 and
.001.08), shaped as a Belgian bank sends them: one statement, opening and closing booked
balances, one entry per line with its transaction details."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from xml.sax.saxutils import escape

ACCOUNT = "BE71096123456769"
NS = "urn:iso:std:iso:20022:tech:xsd:camt.053.001.{version}"


@dataclass(frozen=True)
class Line:
    reference: str
    amount: Decimal
    booked_on: date
    structured: str | None = None  # RmtInf/Strd/CdtrRefInf/Ref
    free_text: str | None = None  # RmtInf/Ustrd
    payer: str = "Client SA"
    payer_iban: str = "BE68539007547034"
    debit: bool = False
    end_to_end_id: str = "NOTPROVIDED"
    status: str = "BOOK"  # PDNG: pending, not yet booked


def _amount(value: Decimal) -> str:
    return f"{value:.2f}"


def _entry(line: Line, version: str) -> str:
    direction = "DBIT" if line.debit else "CRDT"
    party, account = ("Cdtr", "CdtrAcct") if line.debit else ("Dbtr", "DbtrAcct")
    status = (
        f"<Sts>{line.status}</Sts>" if version == "02" else f"<Sts><Cd>{line.status}</Cd></Sts>"
    )
    name = escape(line.payer)
    if version == "02":
        parties = f"<{party}><Nm>{name}</Nm></{party}>"
    else:
        parties = f"<{party}><Pty><Nm>{name}</Nm></Pty></{party}>"
    parties += f"<{account}><Id><IBAN>{line.payer_iban}</IBAN></Id></{account}>"
    remittance = ""
    if line.free_text is not None:
        remittance += f"<Ustrd>{escape(line.free_text)}</Ustrd>"
    if line.structured is not None:
        remittance += (
            "<Strd><CdtrRefInf><Tp><CdOrPrtry><Cd>SCOR</Cd></CdOrPrtry><Issr>BBA</Issr></Tp>"
            f"<Ref>{escape(line.structured)}</Ref></CdtrRefInf></Strd>"
        )
    remittance = f"<RmtInf>{remittance}</RmtInf>" if remittance else ""
    family = "ICDT" if line.debit else "RCDT"
    return (
        f"<Ntry><NtryRef>{line.reference}</NtryRef>"
        f'<Amt Ccy="EUR">{_amount(line.amount)}</Amt><CdtDbtInd>{direction}</CdtDbtInd>'
        f"{status}<BookgDt><Dt>{line.booked_on.isoformat()}</Dt></BookgDt>"
        f"<ValDt><Dt>{line.booked_on.isoformat()}</Dt></ValDt>"
        f"<AcctSvcrRef>{line.reference}</AcctSvcrRef>"
        f"<BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>{family}</Cd><SubFmlyCd>ESCT</SubFmlyCd>"
        "</Fmly></Domn></BkTxCd>"
        "<NtryDtls><TxDtls>"
        f"<Refs><AcctSvcrRef>{line.reference}</AcctSvcrRef>"
        f"<EndToEndId>{escape(line.end_to_end_id)}</EndToEndId></Refs>"
        f"<RltdPties>{parties}</RltdPties>{remittance}"
        "</TxDtls></NtryDtls></Ntry>\n"
    )


def statement(
    lines: list[Line],
    *,
    version: str = "08",
    statement_id: str = "STMT-1",
    account: str = ACCOUNT,
    opening: Decimal = Decimal("1000.00"),
    on: date = date(2026, 3, 2),
    sequence: int = 1,
) -> bytes:
    """A camt.053.001.<version> statement of these lines, valid against its XSD."""
    movement = sum((-line.amount if line.debit else line.amount for line in lines), Decimal("0.00"))
    closing = opening + movement

    def balance(code: str, amount: Decimal) -> str:
        sign = "DBIT" if amount < 0 else "CRDT"
        return (
            f"<Bal><Tp><CdOrPrtry><Cd>{code}</Cd></CdOrPrtry></Tp>"
            f'<Amt Ccy="EUR">{_amount(abs(amount))}</Amt><CdtDbtInd>{sign}</CdtDbtInd>'
            f"<Dt><Dt>{on.isoformat()}</Dt></Dt></Bal>"
        )

    entries = "".join(_entry(line, version) for line in lines)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<Document xmlns="{NS.format(version=version)}">\n'
        "<BkToCstmrStmt>\n"
        f"<GrpHdr><MsgId>MSG-{statement_id}</MsgId>"
        f"<CreDtTm>{on.isoformat()}T18:00:00</CreDtTm></GrpHdr>\n"
        f"<Stmt><Id>{statement_id}</Id><ElctrncSeqNb>{sequence}</ElctrncSeqNb>"
        f"<CreDtTm>{on.isoformat()}T18:00:00</CreDtTm>"
        f"<FrToDt><FrDtTm>{on.isoformat()}T00:00:00</FrDtTm>"
        f"<ToDtTm>{on.isoformat()}T23:59:59</ToDtTm></FrToDt>"
        f"<Acct><Id><IBAN>{account}</IBAN></Id><Ccy>EUR</Ccy></Acct>\n"
        f"{balance('OPBD', opening)}{balance('CLBD', closing)}\n"
        f"{entries}"
        "</Stmt>\n</BkToCstmrStmt>\n</Document>\n"
    ).encode()
