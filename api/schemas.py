"""Request bodies: structure only (strict types, no unknown fields). The rules that give a value
its meaning live in domain/ and services/, so the JSON API and the web forms share one validator."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MemberCreate(Body):
    name: StrictStr
    email: StrictStr
    password: StrictStr
    iban: StrictStr
    national_number: StrictStr
    language: StrictStr = "en"


class ClientCreate(Body):
    name: StrictStr
    email: StrictStr
    kind: StrictStr = Field(description="business | consumer")
    country: StrictStr = Field(description="ISO 3166 alpha-2, e.g. BE")
    address: StrictStr
    vat_number: StrictStr | None = None
    language: StrictStr = "en"
    member_id: StrictInt | None = Field(
        None, description="staff only: the member whose client this is"
    )


class MissionCreate(Body):
    member_id: StrictInt
    client_id: StrictInt
    title: StrictStr
    start_date: StrictStr = Field(description="YYYY-MM-DD")
    end_date: StrictStr = Field(description="YYYY-MM-DD")
    amount_excl_vat: StrictStr = Field(description='decimal string, e.g. "1500.00"')
    vat_rate: StrictStr | StrictInt = Field(description='percent, e.g. "21"')
    vat_exemption: StrictStr | None = Field(
        None,
        description="the legal ground of a 0 % VAT rate (a code of the vat.exemption_grounds "
        'parameter, e.g. "eu_reverse_charge"); required at 0 %, refused otherwise',
    )
    contract_type: StrictStr = Field(
        description="ordinary (white-collar) | artistic (art. 1bis: contributions on 108 %)"
    )


class ClientConfirmation(Body):
    method: StrictStr = Field(description='how the client confirmed, e.g. "signed order form"')


class ExpenseIn(Body):
    label: StrictStr
    amount: StrictStr


class WorkReportIn(Body):
    days_worked: StrictInt
    expenses: list[ExpenseIn] = Field(default_factory=list, max_length=50)


class CancelIn(Body):
    reason: StrictStr


class RetryIn(Body):
    reason: StrictStr = ""


class PaymentIn(Body):
    amount: StrictStr
    received_on: StrictStr = Field(description="YYYY-MM-DD")
    structured_communication: StrictStr | None = None
    bank_transaction_id: StrictStr


class TrueUpIn(Body):
    """The corrected figures of a paid salary (the quarterly DmfA's), and why."""

    employer_contributions: StrictStr
    employee_contributions: StrictStr
    withholding_tax: StrictStr
    reason: StrictStr
