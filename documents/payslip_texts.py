"""The words of the payslip, the contract amendment and the yearly summary, in FR, NL and EN.

`line_<code>` labels every payroll line code (documents.payslip.PAYROLL_LINE_CODES) and
`line_<code>_x` says what it is; `diff_*` explain why a payslip line differs from the estimate.
Merged into documents.texts.TEXTS.
"""

from __future__ import annotations

_FR: dict[str, str] = {
    "line_price_excl_vat": "Prix facturé HTVA",
    "line_price_excl_vat_x": (
        "Montant facturé au client pour ce travail, hors TVA (travail et frais)."
    ),
    "line_fee": "Contribution à la coopérative",
    "line_fee_x": (
        "Frais de fonctionnement de la coopérative, dont une part alimente le fonds de garantie."
    ),
    "line_expenses": "Frais professionnels",
    "line_expenses_x": "Remboursés à l'euro près, hors salaire : ni salaire ni revenu imposable.",
    "line_employment_budget": "Budget d'emploi",
    "line_employment_budget_x": (
        "Prix moins la contribution et les frais : il paie le coût de votre emploi."
    ),
    "line_employer_contributions": "Cotisations patronales (ONSS)",
    "line_employer_contributions_x": "Versées par la coopérative à l'ONSS sur votre budget.",
    "line_exit_holiday_pay": "Pécule de vacances de sortie",
    "line_exit_holiday_pay_x": "Employés : pécule de vacances payé à la fin du contrat.",
    "line_holiday_contribution": "Cotisation vacances annuelles (ONVA)",
    "line_holiday_contribution_x": (
        "Artistes : votre pécule de vacances est payé par l'ONVA, financé par cette cotisation."
    ),
    "line_other_employer_charges": "Autres charges patronales",
    "line_other_employer_charges_x": "Charges légales de l'employeur (assurances).",
    "line_gross_salary": "Salaire brut",
    "line_gross_salary_x": "Le brut écrit dans le contrat.",
    "line_employee_contributions": "Cotisations personnelles (ONSS)",
    "line_employee_contributions_x": "Votre sécurité sociale (pension, soins de santé, chômage).",
    "line_work_bonus": "Bonus à l'emploi social",
    "line_work_bonus_x": "Réduit les cotisations personnelles des bas salaires.",
    "line_special_contribution": "Cotisation spéciale de sécurité sociale",
    "line_special_contribution_x": "Retenue mensuelle (CSSS), régularisée par l'impôt.",
    "line_taxable_pay": "Rémunération imposable",
    "line_taxable_pay_x": "Brut (et pécule) moins les cotisations personnelles après bonus.",
    "line_withholding_tax_formula": "Précompte selon la formule-clé",
    "line_withholding_tax_formula_x": (
        "Annexe III AR/CIR 92, sur la rémunération imposable du mois, avant bonus fiscal."
    ),
    "line_fiscal_work_bonus": "Bonus à l'emploi fiscal",
    "line_fiscal_work_bonus_x": "Réduit le précompte professionnel.",
    "line_withheld_earlier_this_month": "Précompte déjà retenu ce mois",
    "line_withheld_earlier_this_month_x": "Retenu sur vos paiements précédents du même mois.",
    "line_withholding_tax": "Précompte professionnel retenu",
    "line_withholding_tax_x": "Avance sur l'impôt, retenue sur ce paiement.",
    "line_net_salary": "Salaire net",
    "line_net_salary_x": "Ce que vous recevez comme salaire.",
    "line_net_paid": "Versé sur votre compte",
    "line_net_paid_x": "Salaire net et frais remboursés.",
    "computation": "{base} × {rate} = {amount}",
    "rule": "Règle : {rule}",
    "rule_since": "Règle : {rule}, en vigueur depuis le {date}",
    "source": "Source : {source}",
    # payslip
    "payslip": "Fiche de paie",
    "psl_intro": (
        "Votre salaire pour la mission « {title} » du {start} au {end}, payé le {date}. Chaque "
        "ligne indique son calcul et la règle appliquée."
    ),
    "psl_month": (
        "Mois de paie {month} : rémunération imposable déjà payée ce mois {taxable}, précompte "
        "déjà retenu {withheld}."
    ),
    "psl_artistic_rate": (
        "Contrat artistique : précompte professionnel au taux forfaitaire de {rate}, le taux "
        "légal ou un taux plus élevé choisi dans votre profil."
    ),
    "psl_diff_h": "Différences avec l'estimation",
    "psl_diff_intro": "Estimation du {date} comparée à cette fiche de paie, ligne par ligne :",
    "psl_diff_none": "Aucune différence : chaque montant est celui de l'estimation.",
    "psl_no_estimate": "Aucune estimation signée n'est enregistrée pour cette mission.",
    "estimated": "Estimé",
    "final": "Définitif",
    "difference": "Écart",
    "why": "Pourquoi",
    "psl_final_note": (
        "Fiche de paie définitive de ce paiement. Une correction ultérieure (déclaration "
        "trimestrielle à l'ONSS, DmfA) fait l'objet d'un document distinct, jamais d'une "
        "modification de celui-ci."
    ),
    "diff_same_month": "autre rémunération payée le même mois : {amount} de précompte déjà retenu",
    "diff_month_taxable": (
        "calculé sur la rémunération imposable cumulée du mois, dont {amount} déjà payés"
    ),
    "diff_amendment": "avenant écrit du {date} : brut de {old} à {new} ({reason})",
    "diff_invoiced": "montant de la facture : frais déclarés et notes de crédit éventuelles",
    "diff_expenses": "frais déclarés dans votre rapport de travail",
    "diff_new_line": "ligne qui ne figurait pas dans l'estimation",
    "diff_dropped_line": "ligne de l'estimation qui ne s'applique pas à ce paiement",
    "diff_rule_changed": "règle modifiée le {date} ({rule})",
    "diff_rate": "taux de {old} à {new}",
    "diff_base": "base de calcul de {old} à {new}",
    "diff_follows": "découle des lignes précédentes",
    # contract amendment
    "contract_amendment": "Avenant au contrat de travail",
    "am_intro": (
        "Avenant n° {n} au contrat de travail {contract} conclu pour la mission « {title} » du "
        "{start} au {end}."
    ),
    "am_pay": "La rémunération brute pour l'ensemble de la prestation passe de {old} à {new}.",
    "am_reason": "Motif : {reason}",
    "am_rest": (
        "Les autres dispositions du contrat restent inchangées. Le salaire n'est jamais recalculé "
        "sans avenant écrit."
    ),
    # yearly summary
    "tax_summary": "Récapitulatif annuel des rémunérations",
    "ts_intro": (
        "Rémunérations payées en {year} par {coop} à {name} : les montants de la fiche fiscale "
        "281.10, paiement par paiement."
    ),
    "ts_paid_on": "Payé le",
    "ts_mission": "Mission",
    "ts_total": "Total {year}",
    "ts_correction": "Correction du {date}",
    "ts_none": "Aucune rémunération payée cette année.",
    "ts_note": (
        "Récapitulatif informatif : la fiche 281.10 officielle est transmise par l'employeur au "
        "SPF Finances (Belcotax-on-web) et vous est remise séparément."
    ),
    "contract_type_clause_ordinary": (
        "Le travailleur est engagé comme employé. À la fin du contrat, il reçoit son pécule de "
        "vacances de sortie."
    ),
    "contract_type_clause_artistic": (
        "Contrat de prestations artistiques au sens de l'article 1bis de la loi du 27 juin 1969 : "
        "les cotisations sociales sont calculées sur 108 % du brut et le pécule de vacances est "
        "payé par l'ONVA."
    ),
}

_NL: dict[str, str] = {
    "line_price_excl_vat": "Gefactureerde prijs excl. btw",
    "line_price_excl_vat_x": "Aan de klant gefactureerd voor dit werk, excl. btw (werk en kosten).",
    "line_fee": "Bijdrage aan de coöperatie",
    "line_fee_x": "Werkingskosten van de coöperatie; een deel gaat naar het waarborgfonds.",
    "line_expenses": "Beroepskosten",
    "line_expenses_x": (
        "Tot op de cent terugbetaald, naast het loon: geen loon en geen belastbaar inkomen."
    ),
    "line_employment_budget": "Tewerkstellingsbudget",
    "line_employment_budget_x": (
        "Prijs min de bijdrage en de kosten: het betaalt de kost van uw tewerkstelling."
    ),
    "line_employer_contributions": "Werkgeversbijdragen (RSZ)",
    "line_employer_contributions_x": "Door de coöperatie aan de RSZ betaald uit uw budget.",
    "line_exit_holiday_pay": "Vertrekvakantiegeld",
    "line_exit_holiday_pay_x": "Bedienden: vakantiegeld betaald bij het einde van de overeenkomst.",
    "line_holiday_contribution": "Bijdrage jaarlijkse vakantie (RJV)",
    "line_holiday_contribution_x": (
        "Kunstenaars: uw vakantiegeld wordt door de RJV betaald, gefinancierd met deze bijdrage."
    ),
    "line_other_employer_charges": "Andere werkgeverslasten",
    "line_other_employer_charges_x": "Wettelijke lasten van de werkgever (verzekeringen).",
    "line_gross_salary": "Brutoloon",
    "line_gross_salary_x": "Het brutoloon uit de overeenkomst.",
    "line_employee_contributions": "Persoonlijke bijdragen (RSZ)",
    "line_employee_contributions_x": (
        "Uw sociale zekerheid (pensioen, gezondheidszorg, werkloosheid)."
    ),
    "line_work_bonus": "Sociale werkbonus",
    "line_work_bonus_x": "Vermindert de persoonlijke bijdragen op lage lonen.",
    "line_special_contribution": "Bijzondere bijdrage sociale zekerheid",
    "line_special_contribution_x": "Maandelijkse inhouding (BBSZ), verrekend via de belasting.",
    "line_taxable_pay": "Belastbaar loon",
    "line_taxable_pay_x": "Bruto (en vakantiegeld) min de persoonlijke bijdragen na bonus.",
    "line_withholding_tax_formula": "Voorheffing volgens de sleutelformule",
    "line_withholding_tax_formula_x": (
        "Bijlage III KB/WIB 92, op het belastbaar loon van de maand, vóór de fiscale bonus."
    ),
    "line_fiscal_work_bonus": "Fiscale werkbonus",
    "line_fiscal_work_bonus_x": "Vermindert de bedrijfsvoorheffing.",
    "line_withheld_earlier_this_month": "Deze maand al ingehouden voorheffing",
    "line_withheld_earlier_this_month_x": "Ingehouden op uw vorige betalingen van dezelfde maand.",
    "line_withholding_tax": "Ingehouden bedrijfsvoorheffing",
    "line_withholding_tax_x": "Voorschot op de belasting, ingehouden op deze betaling.",
    "line_net_salary": "Nettoloon",
    "line_net_salary_x": "Wat u als loon ontvangt.",
    "line_net_paid": "Gestort op uw rekening",
    "line_net_paid_x": "Nettoloon en terugbetaalde kosten.",
    "computation": "{base} × {rate} = {amount}",
    "rule": "Regel: {rule}",
    "rule_since": "Regel: {rule}, van kracht sinds {date}",
    "source": "Bron: {source}",
    "payslip": "Loonbrief",
    "psl_intro": (
        "Uw loon voor de opdracht „{title}” van {start} tot {end}, betaald op {date}. Elke lijn "
        "toont haar berekening en de toegepaste regel."
    ),
    "psl_month": (
        "Loonmaand {month}: deze maand al betaald belastbaar loon {taxable}, al ingehouden "
        "voorheffing {withheld}."
    ),
    "psl_artistic_rate": (
        "Artistieke overeenkomst: bedrijfsvoorheffing tegen het forfaitaire tarief van {rate}, "
        "het wettelijke tarief of een hoger tarief dat u in uw profiel koos."
    ),
    "psl_diff_h": "Verschillen met de raming",
    "psl_diff_intro": "Raming van {date} vergeleken met deze loonbrief, lijn per lijn:",
    "psl_diff_none": "Geen verschil: elk bedrag is dat van de raming.",
    "psl_no_estimate": "Voor deze opdracht is geen ondertekende raming bewaard.",
    "estimated": "Geraamd",
    "final": "Definitief",
    "difference": "Verschil",
    "why": "Waarom",
    "psl_final_note": (
        "Definitieve loonbrief van deze betaling. Een latere correctie (driemaandelijkse "
        "RSZ-aangifte, DmfA) komt in een apart document, nooit in een wijziging van dit document."
    ),
    "diff_same_month": "ander loon betaald in dezelfde maand: {amount} voorheffing al ingehouden",
    "diff_month_taxable": (
        "berekend op het samengetelde belastbare loon van de maand, waarvan {amount} al betaald"
    ),
    "diff_amendment": "schriftelijke wijziging van {date}: bruto van {old} naar {new} ({reason})",
    "diff_invoiced": "bedrag van de factuur: aangegeven kosten en eventuele creditnota's",
    "diff_expenses": "kosten aangegeven in uw werkrapport",
    "diff_new_line": "lijn die niet in de raming stond",
    "diff_dropped_line": "lijn van de raming die op deze betaling niet van toepassing is",
    "diff_rule_changed": "regel gewijzigd op {date} ({rule})",
    "diff_rate": "tarief van {old} naar {new}",
    "diff_base": "berekeningsbasis van {old} naar {new}",
    "diff_follows": "volgt uit de lijnen erboven",
    "contract_amendment": "Wijziging van de arbeidsovereenkomst",
    "am_intro": (
        "Wijziging nr. {n} van de arbeidsovereenkomst {contract} voor de opdracht „{title}” van "
        "{start} tot {end}."
    ),
    "am_pay": "Het brutoloon voor de hele opdracht wordt gewijzigd van {old} naar {new}.",
    "am_reason": "Reden: {reason}",
    "am_rest": (
        "De overige bepalingen van de overeenkomst blijven ongewijzigd. Het loon wordt nooit "
        "herberekend zonder schriftelijke wijziging."
    ),
    "tax_summary": "Jaaroverzicht van de lonen",
    "ts_intro": (
        "Lonen betaald in {year} door {coop} aan {name}: de bedragen van de fiscale fiche "
        "281.10, betaling per betaling."
    ),
    "ts_paid_on": "Betaald op",
    "ts_mission": "Opdracht",
    "ts_total": "Totaal {year}",
    "ts_correction": "Correctie van {date}",
    "ts_none": "Dit jaar werd geen loon betaald.",
    "ts_note": (
        "Informatief overzicht: de officiële fiche 281.10 wordt door de werkgever aan de FOD "
        "Financiën bezorgd (Belcotax-on-web) en u afzonderlijk overhandigd."
    ),
    "contract_type_clause_ordinary": (
        "De werknemer wordt als bediende tewerkgesteld. Bij het einde van de overeenkomst "
        "ontvangt hij zijn vertrekvakantiegeld."
    ),
    "contract_type_clause_artistic": (
        "Overeenkomst voor artistieke prestaties in de zin van artikel 1bis van de wet van "
        "27 juni 1969: de sociale bijdragen worden berekend op 108 % van het brutoloon en het "
        "vakantiegeld wordt door de RJV betaald."
    ),
}

_EN: dict[str, str] = {
    "line_price_excl_vat": "Price invoiced excl. VAT",
    "line_price_excl_vat_x": "Invoiced to the client for this work, excl. VAT (work and expenses).",
    "line_fee": "Contribution to the cooperative",
    "line_fee_x": "The cooperative's running costs; part of it goes to the guarantee fund.",
    "line_expenses": "Professional expenses",
    "line_expenses_x": "Reimbursed at cost, outside the salary: neither salary nor taxable income.",
    "line_employment_budget": "Employment budget",
    "line_employment_budget_x": (
        "Price less the contribution and expenses: it pays for employing you."
    ),
    "line_employer_contributions": "Employer's social security contributions (ONSS)",
    "line_employer_contributions_x": "Paid by the cooperative to the ONSS out of your budget.",
    "line_exit_holiday_pay": "Exit holiday pay",
    "line_exit_holiday_pay_x": "White-collar employees: holiday pay paid when the contract ends.",
    "line_holiday_contribution": "Annual holiday contribution (ONVA)",
    "line_holiday_contribution_x": (
        "Artists: your holiday pay is paid by the ONVA, funded by this contribution."
    ),
    "line_other_employer_charges": "Other employer charges",
    "line_other_employer_charges_x": "The employer's legal charges (insurance).",
    "line_gross_salary": "Gross salary",
    "line_gross_salary_x": "The gross written in the contract.",
    "line_employee_contributions": "Employee's social security contributions (ONSS)",
    "line_employee_contributions_x": "Your social security (pension, health care, unemployment).",
    "line_work_bonus": "Social work bonus",
    "line_work_bonus_x": "Reduces the employee's contributions on low pay.",
    "line_special_contribution": "Special social security contribution",
    "line_special_contribution_x": "Monthly deduction (CSSS), settled through income tax.",
    "line_taxable_pay": "Taxable pay",
    "line_taxable_pay_x": (
        "Gross (and holiday pay) less the employee's contributions after the bonus."
    ),
    "line_withholding_tax_formula": "Withholding tax by the key formula",
    "line_withholding_tax_formula_x": (
        "Annex III RD/ITC 92, on the month's taxable pay, before the fiscal bonus."
    ),
    "line_fiscal_work_bonus": "Fiscal work bonus",
    "line_fiscal_work_bonus_x": "Reduces the withholding tax.",
    "line_withheld_earlier_this_month": "Withholding tax already withheld this month",
    "line_withheld_earlier_this_month_x": "Withheld from your earlier payments in the same month.",
    "line_withholding_tax": "Withholding tax withheld",
    "line_withholding_tax_x": "Advance on income tax, withheld from this payment.",
    "line_net_salary": "Net salary",
    "line_net_salary_x": "What you receive as salary.",
    "line_net_paid": "Paid into your account",
    "line_net_paid_x": "Net salary and reimbursed expenses.",
    "computation": "{base} × {rate} = {amount}",
    "rule": "Rule: {rule}",
    "rule_since": "Rule: {rule}, in force since {date}",
    "source": "Source: {source}",
    "payslip": "Payslip",
    "psl_intro": (
        "Your pay for the assignment “{title}” from {start} to {end}, paid on {date}. Each line "
        "shows its computation and the rule applied."
    ),
    "psl_month": (
        "Pay month {month}: taxable pay already paid this month {taxable}, withholding tax "
        "already withheld {withheld}."
    ),
    "psl_artistic_rate": (
        "Artistic contract: withholding tax at the flat rate of {rate}, the legal rate or a "
        "higher rate you chose in your profile."
    ),
    "psl_diff_h": "Differences from the estimate",
    "psl_diff_intro": "Estimate of {date} compared with this payslip, line by line:",
    "psl_diff_none": "No difference: every amount is the estimate's.",
    "psl_no_estimate": "No signed estimate is on record for this assignment.",
    "estimated": "Estimated",
    "final": "Final",
    "difference": "Difference",
    "why": "Why",
    "psl_final_note": (
        "Final payslip of this payment. A later correction (the quarterly ONSS return, DmfA) "
        "comes as a separate document, never as a change to this one."
    ),
    "diff_same_month": "other pay in the same month: {amount} of withholding tax already withheld",
    "diff_month_taxable": (
        "computed on the month's cumulated taxable pay, {amount} of it already paid"
    ),
    "diff_amendment": "written amendment of {date}: gross from {old} to {new} ({reason})",
    "diff_invoiced": "the invoice's amount: expenses reported and any credit notes",
    "diff_expenses": "expenses reported in your work report",
    "diff_new_line": "a line that was not in the estimate",
    "diff_dropped_line": "an estimate line that does not apply to this payment",
    "diff_rule_changed": "rule changed on {date} ({rule})",
    "diff_rate": "rate from {old} to {new}",
    "diff_base": "computed on {new} instead of {old}",
    "diff_follows": "follows from the lines above",
    "contract_amendment": "Amendment to the employment contract",
    "am_intro": (
        "Amendment no. {n} to employment contract {contract} for the assignment “{title}” from "
        "{start} to {end}."
    ),
    "am_pay": "The gross pay for the whole assignment changes from {old} to {new}.",
    "am_reason": "Reason: {reason}",
    "am_rest": (
        "The other terms of the contract are unchanged. The salary is never recalculated without "
        "a written amendment."
    ),
    "tax_summary": "Yearly pay summary",
    "ts_intro": (
        "Pay paid in {year} by {coop} to {name}: the figures of the 281.10 tax form, payment by "
        "payment."
    ),
    "ts_paid_on": "Paid on",
    "ts_mission": "Assignment",
    "ts_total": "Total {year}",
    "ts_correction": "Correction of {date}",
    "ts_none": "No pay was paid this year.",
    "ts_note": (
        "For information: the official 281.10 form is filed by the employer with the FPS "
        "Finance (Belcotax-on-web) and given to you separately."
    ),
    "contract_type_clause_ordinary": (
        "The employee is hired as a white-collar employee. When the contract ends, they receive "
        "their exit holiday pay."
    ),
    "contract_type_clause_artistic": (
        "Contract for artistic work within the meaning of article 1bis of the law of "
        "27 June 1969: social security contributions are computed on 108 % of gross and the "
        "holiday pay is paid by the ONVA."
    ),
}

PAYSLIP_TEXTS: dict[str, dict[str, str]] = {"fr": _FR, "nl": _NL, "en": _EN}
