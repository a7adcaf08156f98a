"""What a mission means for the member, in plain words: its stage, what happens next and when,
and what the member has to do. Built from the mission as the API shows it (`mission_detail`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

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
    "reminder_1": N_("First reminder sent to the client"),
    "reminder_2": N_("Second reminder sent to the client"),
    "formal_notice": N_("Formal notice sent to the client"),
    "written_off": N_("Debt taken over by the guarantee fund"),
    "credit_note": N_("Credit note issued"),
    "credited": N_("Invoice fully credited"),
    "needs_attention": N_("Our team is looking into a problem"),
    "cancelled": N_("Mission cancelled"),
    "payroll_true_up": N_("Salary corrected"),
    "contract_amended": N_("Contract amended in writing"),
}

DONE_STAGES = ("paid", "written_off", "cancelled")


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
    withheld = [s for s in mission.get("timeline", []) if s["step"] == "advance_withheld"]
    if withheld:
        return t.gettext(
            "Your salary waits for the client's payment: the guarantee fund may not advance it "
            "(%(reason)s).",
            reason=withheld[-1]["detail"].get("reason", ""),
        )
    amount = t.money(net) if net else t.gettext("your salary")
    if mission.get("client_confirmed_at"):
        return t.gettext(
            "Salary of %(amount)s net on %(date)s — paid by the guarantee fund even if the "
            "client pays late.",
            amount=amount,
            date=t.date(mission["pay_date"], "weekday"),
        )
    return t.gettext(
        "Salary of %(amount)s net on %(date)s, once the client has confirmed the order.",
        amount=amount,
        date=t.date(mission["pay_date"], "weekday"),
    )


def story(t: Formatter, mission: dict[str, Any]) -> Story:
    """Stage, next step and the member's action, in the page's language."""
    stage = mission["stage"]
    net = expected_net(mission)
    salary = _salary_sentence(t, mission, net)
    action: str | None = None
    if stage == "contract":
        if not mission.get("signed_at"):
            action = t.gettext("Sign your contract.")
            text = t.gettext("Sign the contract so that we can declare your employment.")
        else:
            text = t.gettext(
                "Waiting for the client's confirmation of the order, recorded by your advisor."
            )
        text = f"{text} {salary}"
    elif stage == "declaration":
        text = t.gettext("We are declaring your employment. %(salary)s", salary=salary)
    elif stage == "in_progress":
        text = t.gettext(
            "Work from %(start)s to %(end)s. Report your days and expenses from %(end)s on. "
            "%(salary)s",
            start=t.date(mission["start_date"], "weekday"),
            end=t.date(mission["end_date"], "weekday"),
            salary=salary,
        )
    elif stage == "work_report":
        action = t.gettext("Report your days worked and your expenses.")
        text = t.gettext(
            "The work has ended: report it so that we can invoice the client. %(salary)s",
            salary=salary,
        )
    elif stage in ("invoiced", "dunning"):
        invoice = mission.get("invoice") or {}
        text = t.gettext(
            "Invoice %(number)s of %(amount)s sent to the client, due on %(due)s.",
            number=invoice.get("number", ""),
            amount=t.money(invoice.get("total_incl_vat")),
            due=t.date(invoice.get("due_date"), "weekday"),
        )
        if stage == "dunning":
            text += " " + t.gettext(
                "The client is late: we have sent %(count)s reminder(s).",
                count=len(mission.get("dunning_steps", [])),
            )
        text = f"{text} {salary}"
    elif stage == "paid":
        text = t.gettext("The client has paid. %(salary)s", salary=salary)
    elif stage == "written_off":
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
    return f"{mission['stage']}|{bool(mission.get('signed_at'))}|{mission.get('days_worked')}"
