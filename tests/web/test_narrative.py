"""Every stage of a mission reads as a sentence in FR, NL and EN, and the live part of the mission
page renders every kind of step (invoice, dunning rungs, the fund's advance, a withheld salary)."""

from __future__ import annotations

from typing import Any

import pytest

from web import narrative
from web.i18n import LANGUAGES, Formatter
from web.render import Page, render


def mission(stage: str, **over: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": 7,
        "title": "Poster",
        "stage": stage,
        "start_date": "2026-12-01",
        "end_date": "2026-12-03",
        "pay_date": "2026-12-14",
        "amount_excl_vat": "1200.00",
        "signed_at": "2026-11-30T10:00:00+00:00",
        "client_confirmed_at": "2026-11-30T11:00:00+00:00",
        "days_worked": 3,
        "needs_attention": False,
        "cancel_reason": None,
        "estimate": {"net_salary": "645.10"},
        "timeline": [
            {"step": "created", "business_date": "2026-11-29", "detail": {}},
            {"step": "reminder_1", "business_date": "2027-01-10", "detail": {}},
        ],
        "invoice": {
            "number": "F2026-000012",
            "issue_date": "2026-12-04",
            "due_date": "2027-01-03",
            "total_incl_vat": "1452.00",
            "balance": "1452.00",
            "status": "open",
            "paid_on": None,
            "structured_communication": "+++202/6000/01234+++",
        },
        "dunning_steps": [
            {
                "level": 1,
                "step": "reminder_1",
                "business_date": "2027-01-10",
                "interest": "3.20",
                "fixed_compensation": "40.00",
                "penalty": "0.00",
                "reminder_fee": "0.00",
            }
        ],
        "advance": {
            "paid_on": "2026-12-14",
            "net_amount": "645.10",
            "expenses": "23.40",
            "source": "fund",
        },
    }
    base.update(over)
    return base


CASES = [
    mission("contract", signed_at=None, client_confirmed_at=None, advance=None, invoice=None),
    mission("contract", advance=None, invoice=None, client_confirmed_at=None),
    mission("declaration", advance=None, invoice=None),
    mission("in_progress", advance=None, invoice=None, needs_attention=True),
    mission("work_report", advance=None, invoice=None, days_worked=None),
    mission("invoiced", advance=None),
    mission(
        "invoiced",
        advance=None,
        timeline=[
            {
                "step": "advance_withheld",
                "business_date": "2026-12-14",
                "detail": {"reason": "the client is based outside the EU (US)"},
            }
        ],
    ),
    mission("dunning"),
    mission("paid", advance={**mission("x")["advance"], "source": "client"}),
    mission("written_off"),
    mission("cancelled", cancel_reason="No signature within 14 days"),
]


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("case", CASES, ids=lambda m: m["stage"])
def test_each_stage_reads_as_a_sentence(language: str, case: dict[str, Any]) -> None:
    t = Formatter(language)
    story = narrative.story(t, case)
    assert story.stage and story.next_step.strip()
    assert "%(" not in story.next_step
    assert (story.action is not None) == (
        case["stage"] == "work_report" or (case["stage"] == "contract" and not case["signed_at"])
    )
    if case["stage"] in ("declaration", "invoiced") and case["advance"] is None:
        assert t.date("2026-12-14", "weekday") in story.next_step or "(" in story.next_step


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_live_part_renders_every_kind_of_step(language: str) -> None:
    page = Page(request=None, language=language, csrf_token="x")  # type: ignore[arg-type]
    case = mission("dunning")
    html = render(
        page,
        "_mission_live.html",
        mission=case,
        story=narrative.story(page.t, case),
        documents=[],
        actions_key=narrative.actions_key(case),
        step_label=lambda step: narrative.step_label(page.t, step),
        stage_label=lambda stage: narrative.stage_label(page.t, stage),
        poll_seconds=2,
        charges=lambda d: sum(float(d[k]) for k in ("interest", "fixed_compensation")),
    ).body.decode()
    assert page.t.money("1452.00") in html
    assert page.t.money("645.10") in html
    assert page.t.money(43.2) in html  # the first rung's interest and fixed compensation
    assert 'hx-trigger="every 2s"' in html
    done = render(
        page,
        "_mission_live.html",
        mission=mission("paid"),
        story=narrative.story(page.t, mission("paid")),
        documents=[],
        actions_key="",
        step_label=lambda step: step,
        stage_label=lambda stage: stage,
        poll_seconds=2,
        charges=lambda d: 0,
    ).body.decode()
    assert "hx-trigger" not in done  # a closed mission stops polling
