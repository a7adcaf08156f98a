"""What a mission means for the member, in plain words: its stage, what happens next and when,
and what the member has to do. Built from the mission as the API shows it (`mission_detail`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from contracts.stages import DONE_STAGES, Stage
from web.i18n import N_, Formatter

STAGE_LABELS = {
    "contract": N_("Contract"),
    "declaration": N_("Declaration"),
    "in_progress": N_("Work in progress"),
    "work_report": N_("Work report"),
    "invoiced": N_("Invoiced"),
    "dunning": N_("Client reminded"),
    "paid": N_("Paid"),
    "written_off": N_("Closed: covered by the fund"),
    "cancelled": N_("Cancelled"),
}

STEP_LABELS = {
    "created": N_("Mission created"),
    "signed": N_("You signed the contract"),
    "client_confirmed": N_("The client confirmed the order"),
    "declaration_accepted": N_("Employment declared"),
    "declaration_cancelled": N_("Declaration withdrawn"),
    "work_report_due": N_("Work finished: work report expected"),
    "work_reported": N_("You reported your work"),
    "invoiced": N_("Invoice sent to the client"),
    "email_sent": N_("Email sent"),
    "email_delivered": N_("Email delivered"),
    "email_bounced": N_("Email could not be delivered"),
    "salary_paid": N_("Salary paid"),
    "advance_withheld": N_("Salary waiting for the client's payment"),
    "salary_not_paid": N_("Salary not paid"),
    "salary_not_due": N_("No salary due"),
    "payment": N_("Payment received from the client"),
    "payment_received": N_("Payment received from the client"),
    "paid": N_("Invoice paid in full"),
    "payment_suspense": N_(
        "Payment received beyond what is due: held for a refund or another invoice"
    ),
    "reminder_1": N_("First reminder sent to the client"),
    "reminder_2": N_("Second reminder sent to the client"),
    "formal_notice": N_("Formal notice sent to the client"),
    "written_off": N_("Debt taken over by the guarantee fund"),
    # interest rows after the ladder (services/collection.py: levels above 100)
    "payment_interest": N_("Interest to the payment date"),
    "write_off": N_("Interest to the write-off date"),
    "credit_note": N_("Credit note issued"),
    "credited": N_("Invoice fully credited"),
    "needs_attention": N_("Our team is looking into a problem"),
    "cancelled": N_("Mission cancelled"),
    "payroll_true_up": N_("Salary corrected"),
    "contract_amended": N_("Contract amended in writing"),
    "guarantee_needs_approval": N_("Approval or client deposit needed before signing"),
    "guarantee_cleared": N_("Cleared for signature"),
    "fund_below_floor": N_("Salary paid with the cooperative's reserves"),
}

# Why the guarantee fund does not stand behind a mission by itself (services/fund.gate_reasons).
GATE_RULES = {
    "eu_client": N_("the client is based outside the EU"),
    "client_cap": N_("the guarantee fund already carries a lot for this client"),
    "near_floor": N_("the guarantee fund is close to its minimum reserve"),
}


@dataclass(frozen=True)
class Story:
    stage: str
    next_step: str
    action: str | None  # what the member must do, if anything
    done: bool


def stage_label(t: Formatter, stage: str) -> str:
    return t.gettext(STAGE_LABELS.get(stage, stage))


def step_label(t: Formatter, step: str) -> str:
    label = STEP_LABELS.get(step)
    return t.gettext(label) if label else step.replace("_", " ").capitalize()


def expected_net(mission: dict[str, Any]) -> str | None:
    """The net salary: as paid, else as signed for, else None (no estimate yet)."""
    if mission.get("advance"):
        return str(mission["advance"]["net_amount"])
    estimate = mission.get("estimate") or {}
    return estimate.get("net_salary")


def _salary_sentence(t: Formatter, mission: dict[str, Any], net: str | None) -> str:
    advance = mission.get("advance")
    if advance:
        if advance["source"] == "fund":
            return t.gettext(
                "Salary of %(amount)s net paid on %(date)s, advanced by the guarantee fund.",
                amount=t.money(advance["net_amount"]),
                date=t.date(advance["paid_on"], "weekday"),
            )
        return t.gettext(
            "Salary of %(amount)s net paid on %(date)s from the client's payment.",
            amount=t.money(advance["net_amount"]),
            date=t.date(advance["paid_on"], "weekday"),
        )
    amount = t.money(net) if net else t.gettext("your salary")
    # Wages are always paid on their date, whatever the client does (INV-6).
    return t.gettext(
        "Salary of %(amount)s net on %(date)s — paid by the guarantee fund even if the "
        "client pays late.",
        amount=amount,
        date=t.date(mission["pay_date"], "weekday"),
    )


def gate_reasons(t: Formatter, mission: dict[str, Any]) -> str:
    """The gate's reasons in the page's language, joined."""
    reasons = (mission.get("guarantee") or {}).get("reasons") or []
    return "; ".join(
        t.gettext(GATE_RULES[r["rule"]]) if r.get("rule") in GATE_RULES else str(r.get("rule"))
        for r in reasons
    )


def guarantee_notice(t: Formatter, mission: dict[str, Any]) -> str | None:
    """Before signature: whether the member may sign and, if not, why and what happens next."""
    if mission.get("signed_at") or mission.get("stage") != Stage.CONTRACT:
        return None
    status = (mission.get("guarantee") or {}).get("status") or mission.get("guarantee_status")
    if status == "needs_approval":
        return t.gettext(
            "You cannot sign yet: %(reasons)s. Your advisor will look at the mission: once "
            "they approve it, or the client pays a deposit, you can sign.",
            reasons=gate_reasons(t, mission),
        )
    if status == "approved":
        return t.gettext("Your advisor approved this mission: you can sign.")
    if status == "deposit":
        return t.gettext("The client paid a deposit for this mission: you can sign.")
    return None


def story(t: Formatter, mission: dict[str, Any]) -> Story:
    """Stage, next step and the member's action, in the page's language."""
    stage = mission["stage"]
    net = expected_net(mission)
    salary = _salary_sentence(t, mission, net)
    action: str | None = None
    if stage == Stage.CONTRACT:
        notice = guarantee_notice(t, mission)
        if (
            not mission.get("signed_at")
            and (mission.get("guarantee") or {}).get("status") == "needs_approval"
        ):
            text = notice or ""
        elif not mission.get("signed_at"):
            action = t.gettext("Sign your contract.")
            text = t.gettext("Sign the contract so that we can declare your employment.")
        else:
            text = t.gettext(
                "Waiting for the client's confirmation of the order, recorded by your advisor."
            )
        text = f"{text} {salary}"
    elif stage == Stage.DECLARATION:
        text = t.gettext("We are declaring your employment. %(salary)s", salary=salary)
    elif stage == Stage.IN_PROGRESS:
        text = t.gettext(
            "Work from %(start)s to %(end)s. Report your days and expenses from %(end)s on. "
            "%(salary)s",
            start=t.date(mission["start_date"], "weekday"),
            end=t.date(mission["end_date"], "weekday"),
            salary=salary,
        )
    elif stage == Stage.WORK_REPORT:
        action = t.gettext("Report your days worked and your expenses.")
        text = t.gettext(
            "The work has ended: report it so that we can invoice the client. %(salary)s",
            salary=salary,
        )
    elif stage in (Stage.INVOICED, Stage.DUNNING):
        invoice = mission.get("invoice") or {}
        text = t.gettext(
            "Invoice %(number)s of %(amount)s sent to the client, due on %(due)s.",
            number=invoice.get("number", ""),
            amount=t.money(invoice.get("total_incl_vat")),
            due=t.date(invoice.get("due_date"), "weekday"),
        )
        if stage == Stage.DUNNING:
            text += " " + t.gettext(
                "The client is late: we have sent %(count)s reminder(s).",
                # the letters sent, not the interest run on to a payment or a write-off
                count=sum(1 for d in mission.get("dunning_steps", []) if d["level"] < 100),
            )
        text = f"{text} {salary}"
    elif stage == Stage.PAID:
        text = t.gettext("The client has paid. %(salary)s", salary=salary)
    elif stage == Stage.WRITTEN_OFF:
        text = t.gettext(
            "The client never paid: the guarantee fund took the debt over. You keep your salary."
        )
    else:
        text = t.gettext(
            "Cancelled: %(reason)s", reason=mission.get("cancel_reason") or t.gettext("no reason")
        )
    if mission.get("needs_attention") and stage not in DONE_STAGES:
        text += " " + t.gettext("Our team is looking into a problem with this mission.")
    return Story(stage_label(t, stage), text, action, stage in DONE_STAGES)


def actions_key(mission: dict[str, Any]) -> str:
    """Changes when the page's forms must change (sign, report): the page then reloads whole."""
    guarantee = (mission.get("guarantee") or {}).get("status")
    return (
        f"{mission['stage']}|{bool(mission.get('signed_at'))}|{mission.get('days_worked')}"
        f"|{guarantee}"
    )
