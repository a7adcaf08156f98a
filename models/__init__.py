"""SQLAlchemy models; importing this package registers every table on Base.metadata."""

from models.bank import BankEntry, BankStatement
from models.base import Base, Money, UTCDateTime, utcnow
from models.documents import ContractAmendment, Document, EmailAttachment, PeppolMessage
from models.finance import (
    CreditNote,
    DunningStep,
    FundAdvanceBalance,
    FundClientExposure,
    FundMemberExposure,
    Invoice,
    InvoiceCounter,
    LedgerBalance,
    LedgerEntry,
    LedgerTransaction,
    Payment,
    Payout,
    PayrollTrueUp,
    WriteOff,
)
from models.fund import FundAlert, FundTopUp, GuaranteeDeposit
from models.idempotency import IdempotencyKey
from models.missions import Declaration, Expense, Mission, TimelineEvent
from models.ops import AuditEntry, BulkItem, BulkRun
from models.people import ROLES, Client, Member, User
from models.system import ClockAnchor, GatewaySetting, OutboxEmail, Parameter
from models.tasks import StaffTask
from models.web import IbanChange, LoginFailure, WebSession

__all__ = [
    "AuditEntry",
    "BankEntry",
    "BankStatement",
    "Base",
    "BulkItem",
    "BulkRun",
    "ClockAnchor",
    "Client",
    "ContractAmendment",
    "CreditNote",
    "Declaration",
    "Document",
    "DunningStep",
    "EmailAttachment",
    "Expense",
    "FundAdvanceBalance",
    "FundAlert",
    "FundClientExposure",
    "FundMemberExposure",
    "FundTopUp",
    "GatewaySetting",
    "GuaranteeDeposit",
    "IbanChange",
    "IdempotencyKey",
    "Invoice",
    "InvoiceCounter",
    "LedgerBalance",
    "LedgerEntry",
    "LedgerTransaction",
    "LoginFailure",
    "Member",
    "Mission",
    "Money",
    "OutboxEmail",
    "Parameter",
    "Payment",
    "Payout",
    "PeppolMessage",
    "PayrollTrueUp",
    "ROLES",
    "StaffTask",
    "TimelineEvent",
    "UTCDateTime",
    "User",
    "WebSession",
    "WriteOff",
    "utcnow",
]
