"""The words of every document other than the invoice, in French, Dutch and English.

Short labels are used as they are; sentences with `{placeholders}` are filled by `tr()` in the
templates with values already formatted by babel, then autoescaped like any other text.
Legal references: domain.md §2 (invoice and credit-note mentions) and §3 (late payment).
"""

from __future__ import annotations

from documents.payslip_texts import PAYSLIP_TEXTS
from documents.pdf import LABELS as INVOICE_LABELS

_FR: dict[str, str] = {
    "page": "Page",
    "reference": "Référence",
    "date": "Date",
    "subject": "Concerne :",
    "dear_client": "Madame, Monsieur,",
    "dear_member": "Bonjour {name},",
    "regards_client": (
        "Nous vous prions d'agréer, Madame, Monsieur, l'expression de nos salutations distinguées."
    ),
    "regards_member": "Bien cordialement,",
    "place_date": "{city}, le {date}",
    "creditor": "Créancier : {name}, numéro d'entreprise {number}",
    "email": "E-mail",
    # order form
    "order_form": "Bon de commande",
    "of_intro": (
        "{seller} (le prestataire) fournit au client la prestation décrite ci-dessous, réalisée "
        "par {member}, membre salarié de la coopérative."
    ),
    "service": "Prestation",
    "period": "Période",
    "period_range": "du {start} au {end}",
    "payment_terms": "Conditions de paiement",
    "of_payment": (
        "La facture est émise à la fin de la prestation et est payable dans les {days} jours de "
        "sa date, par virement avec la communication structurée indiquée sur la facture."
    ),
    "of_late_b2b": (
        "En cas de retard de paiement, un intérêt de retard au taux prévu par la loi du "
        "2 août 2002 concernant la lutte contre le retard de paiement dans les transactions "
        "commerciales ({rate} par an à ce jour) et une indemnité forfaitaire de {comp} sont dus "
        "de plein droit et sans mise en demeure."
    ),
    "of_late_b2c": (
        "En cas de retard de paiement, vous recevrez d'abord un rappel gratuit. Si le montant dû "
        "n'est pas payé dans les {days} jours qui suivent ce rappel, nous pourrons réclamer, "
        "conformément au livre XIX du Code de droit économique : une indemnité forfaitaire "
        "plafonnée par la loi ({penalty} pour le montant de ce bon de commande), des intérêts de "
        "retard au taux de la loi du 2 août 2002 ({rate} par an à ce jour) et au maximum {fee} "
        "par rappel ultérieur."
    ),
    "of_late_b2c_legal": (
        "En cas de retard de paiement, vous recevrez d'abord un rappel gratuit. Si le montant dû "
        "n'est pas payé dans les {days} jours qui suivent ce rappel, nous pourrons réclamer, "
        "conformément au livre XIX du Code de droit économique, des intérêts de retard au taux "
        "légal de la loi du 5 mai 1865 ({rate} par an à ce jour) et au maximum {fee} par rappel "
        "ultérieur."
    ),
    "of_reciprocal_clause": (
        "Clause réciproque ({version}) : l'intérêt de retard au taux de la loi du 2 août 2002 et "
        "l'indemnité forfaitaire ci-dessus valent dans les deux sens. Si la coopérative ne vous "
        "paie pas à l'échéance une somme qu'elle vous doit (remboursement, note de crédit, "
        "montant payé en trop) ou n'exécute pas la prestation commandée, elle vous doit, aux "
        "mêmes conditions, des intérêts de retard au même taux et une indemnité forfaitaire du "
        "même montant."
    ),
    "acceptance": "Acceptation du client",
    "confirmed": "Commande confirmée le {date} ({method}).",
    "to_confirm": "Bon pour accord — date et signature du client :",
    # contract
    "contract": "Contrat de travail à durée déterminée",
    "employer": "L'employeur",
    "worker": "Le travailleur",
    "national_number": "N° de registre national",
    "between": "Entre les soussignés :",
    "art_function_h": "Article 1 – Fonction",
    "art_function": (
        "L'employeur engage le travailleur pour la fonction suivante : {job}, prestation "
        "réalisée pour le client {client}."
    ),
    "contract_type": "Type de contrat",
    "type_ordinary": "ordinaire (employé)",
    "type_artistic": "artistique (art. 1bis, cotisations sur 108 % du brut)",
    "art_duration_h": "Article 2 – Durée",
    "art_duration": (
        "Le contrat est conclu pour une durée déterminée, du {start} au {end} inclus. Il prend "
        "fin de plein droit à cette date."
    ),
    "art_place_h": "Article 3 – Lieu de travail",
    "art_pay_h": "Article 4 – Rémunération",
    "art_pay": (
        "La rémunération brute pour l'ensemble de la prestation s'élève à {gross}. Elle est "
        "payée au plus tard le {pay_date} sur le compte {iban}, après retenue des cotisations "
        "sociales personnelles et du précompte professionnel."
    ),
    "art_law_h": "Article 5 – Dispositions applicables",
    "art_law": (
        "Le présent contrat est régi par la loi du 3 juillet 1978 relative aux contrats de "
        "travail et par le règlement de travail de l'employeur, dont le travailleur reconnaît "
        "avoir reçu un exemplaire."
    ),
    "signatures": "Signatures",
    "made_in": "Fait à {city}, le {date}, en deux exemplaires.",
    "for_employer": "Pour l'employeur",
    "signed_on": "Signé électroniquement par le travailleur le {date}.",
    "signature": "Signature",
    # credit note
    "credit_note": "Note de crédit",
    "cn_number": "Numéro de la note de crédit",
    "cn_date": "Date de la note de crédit",
    "cn_invoice": "Facture créditée",
    "cn_invoice_ref": "{number} du {date}",
    "cn_reason": "Motif",
    "cn_full": "Annulation totale de la facture",
    "cn_partial": "Annulation partielle de la facture",
    "cn_total": "Total crédité TVAC",
    "cn_vat_repay": ("TVA à reverser à l'État dans la mesure où elle a été initialement déduite."),
    "cn_settlement": (
        "Ce montant est déduit du solde de la facture {number} ; il ne doit pas être payé."
    ),
    # dunning letters
    "reminder_1": "Rappel de paiement",
    "reminder_2": "Second rappel",
    "formal_notice": "Mise en demeure",
    "intro_reminder_1": (
        "Sauf erreur de notre part, notre facture {number} du {issue} relative à « {title} », "
        "échue le {due}, n'est pas encore payée."
    ),
    "intro_reminder_2": (
        "Malgré notre rappel, notre facture {number} du {issue} relative à « {title} », échue "
        "le {due}, reste impayée."
    ),
    "intro_formal_notice": (
        "Malgré nos rappels, notre facture {number} du {issue} relative à « {title} », échue "
        "le {due}, reste impayée."
    ),
    "statement": "Décompte au {date}",
    "invoice_amount": "Montant de la facture TVAC",
    "credited": "Notes de crédit",
    "paid": "Paiements reçus",
    "principal_open": "Principal restant dû",
    "interest": "Intérêts de retard",
    "fixed_compensation": "Indemnité forfaitaire (loi du 2 août 2002)",
    "penalty": "Indemnité forfaitaire (livre XIX CDE)",
    "reminder_fee": "Frais de rappel",
    "amount_due": "Montant à payer",
    "pay_request": (
        "Nous vous prions de verser {amount} au plus tard le {date} sur le compte {iban} avec la "
        "communication structurée {ogm}."
    ),
    "ignore_if_paid": (
        "Si vous avez payé entre-temps, nous vous en remercions et vous prions de ne pas tenir "
        "compte de ce courrier."
    ),
    "b2b_law": (
        "Conformément à la loi du 2 août 2002 concernant la lutte contre le retard de paiement "
        "dans les transactions commerciales, un intérêt de retard au taux de {rate} par an est "
        "dû de plein droit et sans mise en demeure à partir du lendemain de l'échéance, ainsi "
        "qu'une indemnité forfaitaire pour frais de recouvrement de {comp}."
    ),
    "b2b_charged": (
        "Le décompte ci-dessus comprend les intérêts et l'indemnité portés en compte à la date "
        "de ce courrier ; les intérêts continuent à courir jusqu'au paiement."
    ),
    "rate_estimate": "(taux estimé, pas encore publié)",
    "b2c_first": (
        "Ce premier rappel est gratuit. Vous disposez d'un délai de {days} jours, du {start} au "
        "{end} inclus, pour payer le montant de {amount} sans frais. Si ce montant n'est pas "
        "payé au terme de ce délai, nous vous réclamerons, conformément au livre XIX du Code de "
        "droit économique : {penalty}des intérêts de retard au taux de {rate} par an à partir du "
        "{costs_from}, et au maximum {fee} par rappel ultérieur."
    ),
    "b2c_pending": (
        "Le délai de {days} jours qui a suivi notre premier rappel court jusqu'au {end} inclus. "
        "Si le montant de {amount} n'est pas payé à cette date, nous vous réclamerons, "
        "conformément au livre XIX du Code de droit économique : {penalty}des intérêts de retard "
        "au taux de {rate} par an à partir du {costs_from}, et au maximum {fee} par rappel "
        "ultérieur."
    ),
    "b2c_charged": (
        "Le délai de {days} jours qui a suivi notre premier rappel a pris fin le {end} sans "
        "paiement. Conformément au livre XIX du Code de droit économique, le décompte ci-dessus "
        "comprend {penalty}les frais de rappel (au maximum {fee} par rappel) et les intérêts de "
        "retard au taux de {rate} par an à partir du {costs_from}."
    ),
    "b2c_penalty_part": "une indemnité forfaitaire de {penalty}, ",
    "b2c_penalty_charged": "l'indemnité forfaitaire, ",
    "formal_demand": (
        "Par la présente, nous vous mettons en demeure de payer la somme de {amount} au plus "
        "tard le {date}. À défaut de paiement dans ce délai, nous pourrons, sans autre avis, "
        "engager une procédure de recouvrement judiciaire."
    ),
    # payslip estimate
    "payslip_estimate": "Estimation de fiche de paie",
    "ps_intro": "Estimation de votre salaire pour la mission « {title} » du {start} au {end}.",
    "item": "Élément",
    "explanation": "Explication",
    "amount": "Montant",
    "ps_invoiced": "Montant facturé HTVA",
    "ps_invoiced_x": "Prix payé par le client, hors TVA, frais compris.",
    "ps_fee": "Contribution à la coopérative",
    "ps_fee_x": (
        "{rate} du montant facturé HTVA, dont {fund} ({share}) alimente le fonds de garantie."
    ),
    "ps_expenses": "Frais professionnels",
    "ps_expenses_x": (
        "Remboursés à l'euro près, en plus du salaire ; ce n'est ni un salaire ni un revenu "
        "imposable."
    ),
    "ps_budget": "Budget d'emploi",
    "ps_budget_x": (
        "Montant facturé moins la contribution et les frais : il finance le coût de votre emploi."
    ),
    "ps_employer": "Cotisations patronales (ONSS)",
    "ps_employer_x": (
        "{rate} sur {base} du salaire brut, versées par la coopérative à l'ONSS sur votre budget."
    ),
    "ps_gross": "Salaire brut",
    "ps_gross_x": "Budget d'emploi moins les cotisations patronales.",
    "ps_employee": "Cotisations personnelles (ONSS)",
    "ps_employee_x": (
        "{rate} sur {base} du salaire brut : votre sécurité sociale (pension, soins de santé, "
        "chômage)."
    ),
    "ps_tax": "Précompte professionnel",
    "ps_tax_x": (
        "Avance sur l'impôt, calculée sur {taxable} (brut moins cotisations personnelles) ; "
        "barème simplifié, pas les barèmes officiels."
    ),
    "ps_net": "Salaire net",
    "ps_net_x": "Brut moins cotisations personnelles et précompte professionnel.",
    "ps_total": "Versé sur votre compte",
    "ps_total_x": "Salaire net et frais remboursés.",
    "ps_payday": (
        "Date de paiement : {date}. Votre salaire est payé par le fonds de garantie le "
        "{days}e jour ouvrable après la fin de la mission, même si le client paie en retard, "
        "pour autant que le client ait confirmé la commande et soit établi dans l'Union "
        "européenne."
    ),
    "ps_paid_fund": "Payé le {date} par le fonds de garantie.",
    "ps_paid_client": "Payé le {date} grâce au paiement du client.",
    "ps_estimate_note": (
        "Ceci est une estimation : les montants définitifs résultent de la déclaration "
        "trimestrielle à l'ONSS (DmfA) ; toute différence est régularisée ultérieurement."
    ),
    # write-off notice
    "write_off_notice": "Avis d'abandon de créance",
    "wo_unpaid": (
        "Le client {client} n'a pas payé notre facture {number} du {date} relative à votre "
        "mission « {title} »."
    ),
    "wo_cause": "Motif : {cause}.",
    "wo_written_off": (
        "Le {date}, la coopérative a abandonné cette créance de {amount} : le fonds de garantie "
        "mutualisé supporte cette perte."
    ),
    "wo_keep": (
        "Vous conservez votre salaire : rien ne sera retenu sur votre salaire ni sur votre "
        "budget d'activité."
    ),
    "wo_salary_paid": "Votre salaire net de {net}, versé le {date}, vous reste acquis.",
    "wo_recovery": "Si le client paie plus tard, ce montant reviendra au fonds de garantie.",
    "cause_dunning_exhausted": "nos rappels et notre mise en demeure sont restés sans effet",
    "cause_bankruptcy": "faillite du client",
    "cause_judicial_reorganisation": "plan de réorganisation judiciaire homologué",
    "cause_proven_irrecoverable": "créance irrécouvrable, tous les recours étant épuisés",
}

_NL: dict[str, str] = {
    "page": "Pagina",
    "reference": "Referentie",
    "date": "Datum",
    "subject": "Betreft:",
    "dear_client": "Geachte mevrouw, geachte heer,",
    "dear_member": "Beste {name},",
    "regards_client": "Met vriendelijke groeten,",
    "regards_member": "Met vriendelijke groeten,",
    "place_date": "{city}, {date}",
    "creditor": "Schuldeiser: {name}, ondernemingsnummer {number}",
    "email": "E-mail",
    "order_form": "Bestelbon",
    "of_intro": (
        "{seller} (de dienstverlener) levert de klant de hieronder beschreven dienst, "
        "uitgevoerd door {member}, werknemer-lid van de coöperatie."
    ),
    "service": "Dienst",
    "period": "Periode",
    "period_range": "van {start} tot {end}",
    "payment_terms": "Betalingsvoorwaarden",
    "of_payment": (
        "De factuur wordt aan het einde van de opdracht opgemaakt en is betaalbaar binnen "
        "{days} dagen na de factuurdatum, per overschrijving met de gestructureerde mededeling "
        "die op de factuur staat."
    ),
    "of_late_b2b": (
        "Bij laattijdige betaling zijn van rechtswege en zonder ingebrekestelling een "
        "verwijlintrest tegen de rentevoet van de wet van 2 augustus 2002 betreffende de "
        "bestrijding van de betalingsachterstand bij handelstransacties ({rate} per jaar op "
        "vandaag) en een forfaitaire schadevergoeding van {comp} verschuldigd."
    ),
    "of_late_b2c": (
        "Bij laattijdige betaling ontvangt u eerst een kosteloze herinnering. Als het "
        "verschuldigde bedrag niet betaald is binnen {days} dagen na die herinnering, kunnen wij "
        "overeenkomstig boek XIX van het Wetboek van economisch recht aanrekenen: een wettelijk "
        "begrensde forfaitaire schadevergoeding ({penalty} voor het bedrag van deze bestelbon), "
        "verwijlintresten tegen de rentevoet van de wet van 2 augustus 2002 ({rate} per jaar op "
        "vandaag) en maximaal {fee} per volgende herinnering."
    ),
    "of_late_b2c_legal": (
        "Bij laattijdige betaling ontvangt u eerst een kosteloze herinnering. Als het "
        "verschuldigde bedrag niet betaald is binnen {days} dagen na die herinnering, kunnen wij "
        "overeenkomstig boek XIX van het Wetboek van economisch recht verwijlintresten tegen de "
        "wettelijke rentevoet van de wet van 5 mei 1865 ({rate} per jaar op vandaag) en maximaal "
        "{fee} per volgende herinnering aanrekenen."
    ),
    "of_reciprocal_clause": (
        "Wederkerig beding ({version}): de verwijlintrest tegen de rentevoet van de wet van "
        "2 augustus 2002 en de forfaitaire schadevergoeding hierboven gelden in beide richtingen. "
        "Als de coöperatie een bedrag dat zij u verschuldigd is (terugbetaling, creditnota, te "
        "veel betaald bedrag) niet op de vervaldag betaalt of de bestelde dienst niet uitvoert, "
        "is zij u onder dezelfde voorwaarden verwijlintresten tegen dezelfde rentevoet en een "
        "forfaitaire schadevergoeding van hetzelfde bedrag verschuldigd."
    ),
    "acceptance": "Akkoord van de klant",
    "confirmed": "Bestelling bevestigd op {date} ({method}).",
    "to_confirm": "Voor akkoord — datum en handtekening van de klant:",
    "contract": "Arbeidsovereenkomst voor een bepaalde tijd",
    "employer": "De werkgever",
    "worker": "De werknemer",
    "national_number": "Rijksregisternummer",
    "between": "Tussen de ondergetekenden:",
    "art_function_h": "Artikel 1 – Functie",
    "art_function": (
        "De werkgever neemt de werknemer in dienst voor de volgende functie: {job}, uitgevoerd "
        "voor de klant {client}."
    ),
    "contract_type": "Soort overeenkomst",
    "type_ordinary": "gewoon (bediende)",
    "type_artistic": "artistiek (art. 1bis, bijdragen op 108 % van het brutoloon)",
    "art_duration_h": "Artikel 2 – Duur",
    "art_duration": (
        "De overeenkomst wordt gesloten voor een bepaalde tijd, van {start} tot en met {end}. "
        "Zij eindigt van rechtswege op die datum."
    ),
    "art_place_h": "Artikel 3 – Plaats van tewerkstelling",
    "art_pay_h": "Artikel 4 – Loon",
    "art_pay": (
        "Het brutoloon voor de volledige opdracht bedraagt {gross}. Het wordt uiterlijk op "
        "{pay_date} betaald op rekening {iban}, na inhouding van de persoonlijke "
        "socialezekerheidsbijdragen en de bedrijfsvoorheffing."
    ),
    "art_law_h": "Artikel 5 – Toepasselijke bepalingen",
    "art_law": (
        "Deze overeenkomst wordt beheerst door de wet van 3 juli 1978 betreffende de "
        "arbeidsovereenkomsten en door het arbeidsreglement van de werkgever, waarvan de "
        "werknemer erkent een exemplaar te hebben ontvangen."
    ),
    "signatures": "Handtekeningen",
    "made_in": "Opgemaakt te {city} op {date}, in twee exemplaren.",
    "for_employer": "Voor de werkgever",
    "signed_on": "Elektronisch ondertekend door de werknemer op {date}.",
    "signature": "Handtekening",
    "credit_note": "Creditnota",
    "cn_number": "Nummer van de creditnota",
    "cn_date": "Datum van de creditnota",
    "cn_invoice": "Gecrediteerde factuur",
    "cn_invoice_ref": "{number} van {date}",
    "cn_reason": "Reden",
    "cn_full": "Volledige creditering van de factuur",
    "cn_partial": "Gedeeltelijke creditering van de factuur",
    "cn_total": "Gecrediteerd totaal incl. btw",
    "cn_vat_repay": (
        "Btw terug te storten aan de Staat in de mate waarin ze oorspronkelijk in aftrek werd "
        "gebracht."
    ),
    "cn_settlement": (
        "Dit bedrag wordt in mindering gebracht op het saldo van factuur {number}; het moet "
        "niet betaald worden."
    ),
    "reminder_1": "Betalingsherinnering",
    "reminder_2": "Tweede herinnering",
    "formal_notice": "Ingebrekestelling",
    "intro_reminder_1": (
        "Behoudens vergissing onzerzijds is onze factuur {number} van {issue} voor „{title}”, "
        "vervallen op {due}, nog niet betaald."
    ),
    "intro_reminder_2": (
        "Ondanks onze herinnering blijft onze factuur {number} van {issue} voor „{title}”, "
        "vervallen op {due}, onbetaald."
    ),
    "intro_formal_notice": (
        "Ondanks onze herinneringen blijft onze factuur {number} van {issue} voor „{title}”, "
        "vervallen op {due}, onbetaald."
    ),
    "statement": "Afrekening op {date}",
    "invoice_amount": "Factuurbedrag incl. btw",
    "credited": "Creditnota's",
    "paid": "Ontvangen betalingen",
    "principal_open": "Openstaande hoofdsom",
    "interest": "Verwijlintresten",
    "fixed_compensation": "Forfaitaire schadevergoeding (wet van 2 augustus 2002)",
    "penalty": "Forfaitaire schadevergoeding (boek XIX WER)",
    "reminder_fee": "Herinneringskosten",
    "amount_due": "Te betalen bedrag",
    "pay_request": (
        "Gelieve {amount} uiterlijk op {date} over te schrijven op rekening {iban} met de "
        "gestructureerde mededeling {ogm}."
    ),
    "ignore_if_paid": (
        "Indien u intussen betaald hebt, danken wij u en mag u deze brief als onbestaande "
        "beschouwen."
    ),
    "b2b_law": (
        "Overeenkomstig de wet van 2 augustus 2002 betreffende de bestrijding van de "
        "betalingsachterstand bij handelstransacties is van rechtswege en zonder "
        "ingebrekestelling een verwijlintrest van {rate} per jaar verschuldigd vanaf de dag na "
        "de vervaldag, evenals een forfaitaire vergoeding voor invorderingskosten van {comp}."
    ),
    "b2b_charged": (
        "De bovenstaande afrekening omvat de intresten en de vergoeding die op de datum van deze "
        "brief zijn aangerekend; de intresten blijven lopen tot de betaling."
    ),
    "rate_estimate": "(geraamde rentevoet, nog niet bekendgemaakt)",
    "b2c_first": (
        "Deze eerste herinnering is kosteloos. U beschikt over een termijn van {days} dagen, "
        "van {start} tot en met {end}, om het bedrag van {amount} zonder kosten te betalen. Als "
        "dit bedrag na afloop van die termijn niet betaald is, zullen wij overeenkomstig boek "
        "XIX van het Wetboek van economisch recht aanrekenen: {penalty}verwijlintresten tegen "
        "{rate} per jaar vanaf {costs_from}, en maximaal {fee} per volgende herinnering."
    ),
    "b2c_pending": (
        "De termijn van {days} dagen na onze eerste herinnering loopt tot en met {end}. Als het "
        "bedrag van {amount} op die datum niet betaald is, zullen wij overeenkomstig boek XIX "
        "van het Wetboek van economisch recht aanrekenen: {penalty}verwijlintresten tegen {rate} "
        "per jaar vanaf {costs_from}, en maximaal {fee} per volgende herinnering."
    ),
    "b2c_charged": (
        "De termijn van {days} dagen na onze eerste herinnering is op {end} verstreken zonder "
        "betaling. Overeenkomstig boek XIX van het Wetboek van economisch recht omvat de "
        "bovenstaande afrekening {penalty}de herinneringskosten (maximaal {fee} per "
        "herinnering) en de verwijlintresten tegen {rate} per jaar vanaf {costs_from}."
    ),
    "b2c_penalty_part": "een forfaitaire schadevergoeding van {penalty}, ",
    "b2c_penalty_charged": "de forfaitaire schadevergoeding, ",
    "formal_demand": (
        "Hierbij stellen wij u in gebreke om het bedrag van {amount} uiterlijk op {date} te "
        "betalen. Bij gebrek aan betaling binnen die termijn kunnen wij zonder verdere "
        "verwittiging een gerechtelijke invorderingsprocedure instellen."
    ),
    "payslip_estimate": "Raming van de loonfiche",
    "ps_intro": "Raming van uw loon voor de opdracht „{title}” van {start} tot {end}.",
    "item": "Onderdeel",
    "explanation": "Uitleg",
    "amount": "Bedrag",
    "ps_invoiced": "Gefactureerd bedrag excl. btw",
    "ps_invoiced_x": "Prijs die de klant betaalt, excl. btw, kosten inbegrepen.",
    "ps_fee": "Bijdrage aan de coöperatie",
    "ps_fee_x": (
        "{rate} van het gefactureerde bedrag excl. btw, waarvan {fund} ({share}) naar het "
        "waarborgfonds gaat."
    ),
    "ps_expenses": "Beroepskosten",
    "ps_expenses_x": (
        "Tot op de cent terugbetaald, bovenop het loon; geen loon en geen belastbaar inkomen."
    ),
    "ps_budget": "Tewerkstellingsbudget",
    "ps_budget_x": (
        "Gefactureerd bedrag min de bijdrage en de kosten: het betaalt de kost van uw "
        "tewerkstelling."
    ),
    "ps_employer": "Werkgeversbijdragen (RSZ)",
    "ps_employer_x": (
        "{rate} op {base} van het brutoloon, door de coöperatie aan de RSZ betaald uit uw budget."
    ),
    "ps_gross": "Brutoloon",
    "ps_gross_x": "Tewerkstellingsbudget min de werkgeversbijdragen.",
    "ps_employee": "Persoonlijke bijdragen (RSZ)",
    "ps_employee_x": (
        "{rate} op {base} van het brutoloon: uw sociale zekerheid (pensioen, gezondheidszorg, "
        "werkloosheid)."
    ),
    "ps_tax": "Bedrijfsvoorheffing",
    "ps_tax_x": (
        "Voorschot op de belasting, berekend op {taxable} (bruto min persoonlijke bijdragen); "
        "vereenvoudigde schaal, niet de officiële schalen."
    ),
    "ps_net": "Nettoloon",
    "ps_net_x": "Bruto min persoonlijke bijdragen en bedrijfsvoorheffing.",
    "ps_total": "Gestort op uw rekening",
    "ps_total_x": "Nettoloon en terugbetaalde kosten.",
    "ps_payday": (
        "Betaaldatum: {date}. Uw loon wordt op de {days}de werkdag na het einde van de opdracht "
        "door het waarborgfonds betaald, ook als de klant laattijdig betaalt, op voorwaarde dat "
        "de klant de bestelling heeft bevestigd en in de Europese Unie gevestigd is."
    ),
    "ps_paid_fund": "Betaald op {date} door het waarborgfonds.",
    "ps_paid_client": "Betaald op {date} met de betaling van de klant.",
    "ps_estimate_note": (
        "Dit is een raming: de definitieve bedragen volgen uit de driemaandelijkse RSZ-aangifte "
        "(DmfA); elk verschil wordt later geregulariseerd."
    ),
    "write_off_notice": "Kennisgeving van afboeking van een schuldvordering",
    "wo_unpaid": (
        "De klant {client} heeft onze factuur {number} van {date} voor uw opdracht „{title}” "
        "niet betaald."
    ),
    "wo_cause": "Reden: {cause}.",
    "wo_written_off": (
        "Op {date} heeft de coöperatie deze schuldvordering van {amount} afgeboekt: het "
        "gemeenschappelijke waarborgfonds draagt dit verlies."
    ),
    "wo_keep": (
        "U behoudt uw loon: er wordt niets ingehouden op uw loon of op uw activiteitenbudget."
    ),
    "wo_salary_paid": "Uw nettoloon van {net}, betaald op {date}, blijft u verworven.",
    "wo_recovery": "Als de klant later toch betaalt, gaat dat bedrag naar het waarborgfonds.",
    "cause_dunning_exhausted": "onze herinneringen en ingebrekestelling bleven zonder gevolg",
    "cause_bankruptcy": "faillissement van de klant",
    "cause_judicial_reorganisation": "gehomologeerd plan van gerechtelijke reorganisatie",
    "cause_proven_irrecoverable": "oninbare schuldvordering, alle rechtsmiddelen zijn uitgeput",
}

_EN: dict[str, str] = {
    "page": "Page",
    "reference": "Reference",
    "date": "Date",
    "subject": "Subject:",
    "dear_client": "Dear Sir or Madam,",
    "dear_member": "Dear {name},",
    "regards_client": "Yours faithfully,",
    "regards_member": "Kind regards,",
    "place_date": "{city}, {date}",
    "creditor": "Creditor: {name}, enterprise number {number}",
    "email": "Email",
    "order_form": "Order form",
    "of_intro": (
        "{seller} (the supplier) supplies the customer with the service described below, "
        "carried out by {member}, a salaried member of the cooperative."
    ),
    "service": "Service",
    "period": "Period",
    "period_range": "from {start} to {end}",
    "payment_terms": "Payment terms",
    "of_payment": (
        "The invoice is issued when the service ends and is payable within {days} days of its "
        "date, by bank transfer with the structured communication shown on it."
    ),
    "of_late_b2b": (
        "If payment is late, interest at the rate set by the Belgian law of 2 August 2002 on "
        "combating late payment in commercial transactions ({rate} per year today) and a flat "
        "compensation of {comp} are due automatically, without notice."
    ),
    "of_late_b2c": (
        "If payment is late, you will first receive a free reminder. If the amount due is not "
        "paid within {days} days of that reminder, we may claim, under Book XIX of the Belgian "
        "Code of Economic Law: a flat-rate penalty capped by law ({penalty} for the amount of "
        "this order form), late-payment interest at the rate of the law of 2 August 2002 ({rate} "
        "per year today) and at most {fee} per further reminder."
    ),
    "of_late_b2c_legal": (
        "If payment is late, you will first receive a free reminder. If the amount due is not "
        "paid within {days} days of that reminder, we may claim, under Book XIX of the Belgian "
        "Code of Economic Law, late-payment interest at the legal rate of the law of 5 May 1865 "
        "({rate} per year today) and at most {fee} per further reminder."
    ),
    "of_reciprocal_clause": (
        "Reciprocal clause ({version}): the late-payment interest at the rate of the law of "
        "2 August 2002 and the flat-rate penalty above apply both ways. If the cooperative does "
        "not pay you a sum it owes you (a refund, a credit note, an overpayment) when due, or "
        "does not perform the service ordered, it owes you, on the same terms, late-payment "
        "interest at the same rate and a flat-rate penalty of the same amount."
    ),
    "acceptance": "Customer's acceptance",
    "confirmed": "Order confirmed on {date} ({method}).",
    "to_confirm": "Agreed — customer's date and signature:",
    "contract": "Fixed-term employment contract",
    "employer": "The employer",
    "worker": "The employee",
    "national_number": "National register no.",
    "between": "Between the undersigned:",
    "art_function_h": "Article 1 – Position",
    "art_function": (
        "The employer hires the employee for the following position: {job}, performed for the "
        "client {client}."
    ),
    "contract_type": "Contract type",
    "type_ordinary": "ordinary (white-collar employee)",
    "type_artistic": "artistic (art. 1bis, contributions on 108 % of gross)",
    "art_duration_h": "Article 2 – Term",
    "art_duration": (
        "The contract is concluded for a fixed term, from {start} to {end} inclusive. It ends "
        "automatically on that date."
    ),
    "art_place_h": "Article 3 – Place of work",
    "art_pay_h": "Article 4 – Pay",
    "art_pay": (
        "The gross pay for the whole assignment is {gross}. It is paid on {pay_date} at the "
        "latest, to account {iban}, after deduction of the employee's social security "
        "contributions and withholding tax."
    ),
    "art_law_h": "Article 5 – Applicable law",
    "art_law": (
        "This contract is governed by the Belgian law of 3 July 1978 on employment contracts "
        "and by the employer's work rules, a copy of which the employee acknowledges having "
        "received."
    ),
    "signatures": "Signatures",
    "made_in": "Done at {city} on {date}, in two copies.",
    "for_employer": "For the employer",
    "signed_on": "Signed electronically by the employee on {date}.",
    "signature": "Signature",
    "credit_note": "Credit note",
    "cn_number": "Credit note number",
    "cn_date": "Credit note date",
    "cn_invoice": "Credited invoice",
    "cn_invoice_ref": "{number} of {date}",
    "cn_reason": "Reason",
    "cn_full": "Full cancellation of the invoice",
    "cn_partial": "Partial cancellation of the invoice",
    "cn_total": "Total credited incl. VAT",
    "cn_vat_repay": "VAT to be repaid to the State insofar as it was initially deducted.",
    "cn_settlement": (
        "This amount is deducted from the balance of invoice {number}; it is not to be paid."
    ),
    "reminder_1": "Payment reminder",
    "reminder_2": "Second reminder",
    "formal_notice": "Formal notice",
    "intro_reminder_1": (
        "Unless we are mistaken, our invoice {number} of {issue} for “{title}”, due on {due}, "
        "has not been paid yet."
    ),
    "intro_reminder_2": (
        "Despite our reminder, our invoice {number} of {issue} for “{title}”, due on {due}, "
        "remains unpaid."
    ),
    "intro_formal_notice": (
        "Despite our reminders, our invoice {number} of {issue} for “{title}”, due on {due}, "
        "remains unpaid."
    ),
    "statement": "Statement on {date}",
    "invoice_amount": "Invoice amount incl. VAT",
    "credited": "Credit notes",
    "paid": "Payments received",
    "principal_open": "Outstanding principal",
    "interest": "Late-payment interest",
    "fixed_compensation": "Flat compensation (law of 2 August 2002)",
    "penalty": "Flat-rate penalty (Book XIX CEL)",
    "reminder_fee": "Reminder fee",
    "amount_due": "Amount to pay",
    "pay_request": (
        "Please pay {amount} by {date} at the latest to account {iban} with the structured "
        "communication {ogm}."
    ),
    "ignore_if_paid": "If you have paid in the meantime, thank you; please disregard this letter.",
    "b2b_law": (
        "Under the Belgian law of 2 August 2002 on combating late payment in commercial "
        "transactions, late-payment interest at the statutory rate of {rate} per year is due "
        "automatically, without notice, from the day after the due date, together with a flat "
        "compensation for recovery costs of {comp}."
    ),
    "b2b_charged": (
        "The statement above includes the interest and compensation charged up to the date of "
        "this letter; interest keeps running until payment."
    ),
    "rate_estimate": "(estimated rate, not yet published)",
    "b2c_first": (
        "This first reminder is free of charge. You have a period of {days} days, from {start} "
        "to {end} inclusive, to pay the amount of {amount} at no extra cost. If this amount is "
        "not paid by the end of that period, we will claim, under Book XIX of the Belgian Code "
        "of Economic Law: {penalty}late-payment interest at {rate} per year from {costs_from}, "
        "and at most {fee} per further reminder."
    ),
    "b2c_pending": (
        "The period of {days} days that followed our first reminder runs until {end} inclusive. "
        "If "
        "the amount of {amount} is not paid by then, we will claim, under Book XIX of the "
        "Belgian Code of Economic Law: {penalty}late-payment interest at {rate} per year from "
        "{costs_from}, and at most {fee} per further reminder."
    ),
    "b2c_charged": (
        "The period of {days} days that followed our first reminder ended on {end} without "
        "payment. "
        "Under Book XIX of the Belgian Code of Economic Law, the statement above includes "
        "{penalty}the reminder fees (at most {fee} per reminder) and late-payment interest at "
        "{rate} per year from {costs_from}."
    ),
    "b2c_penalty_part": "a flat-rate penalty of {penalty}, ",
    "b2c_penalty_charged": "the flat-rate penalty, ",
    "formal_demand": (
        "We hereby give you formal notice to pay the sum of {amount} by {date} at the latest. "
        "Failing payment within that period, we may start legal recovery proceedings without "
        "further notice."
    ),
    "payslip_estimate": "Payslip estimate",
    "ps_intro": "Estimate of your pay for the assignment “{title}” from {start} to {end}.",
    "item": "Item",
    "explanation": "Explanation",
    "amount": "Amount",
    "ps_invoiced": "Amount invoiced excl. VAT",
    "ps_invoiced_x": "Price paid by the client, excl. VAT, expenses included.",
    "ps_fee": "Contribution to the cooperative",
    "ps_fee_x": (
        "{rate} of the amount invoiced excl. VAT, of which {fund} ({share}) goes to the "
        "guarantee fund."
    ),
    "ps_expenses": "Professional expenses",
    "ps_expenses_x": (
        "Reimbursed at cost on top of the salary; neither salary nor taxable income."
    ),
    "ps_budget": "Employment budget",
    "ps_budget_x": (
        "Amount invoiced less the contribution and expenses: it pays for the cost of employing you."
    ),
    "ps_employer": "Employer's social security contributions (ONSS)",
    "ps_employer_x": (
        "{rate} on {base} of the gross salary, paid by the cooperative to the ONSS out of your "
        "budget."
    ),
    "ps_gross": "Gross salary",
    "ps_gross_x": "Employment budget less the employer's contributions.",
    "ps_employee": "Employee's social security contributions (ONSS)",
    "ps_employee_x": (
        "{rate} on {base} of the gross salary: your social security (pension, health care, "
        "unemployment)."
    ),
    "ps_tax": "Withholding tax",
    "ps_tax_x": (
        "Advance on income tax, on {taxable} (gross less employee contributions); simplified "
        "scale, not the official tables."
    ),
    "ps_net": "Net salary",
    "ps_net_x": "Gross less employee contributions and withholding tax.",
    "ps_total": "Paid into your account",
    "ps_total_x": "Net salary and reimbursed expenses.",
    "ps_payday": (
        "Pay date: {date}. Your salary is paid by the guarantee fund on working day {days} after "
        "the assignment ends, even if the client pays late, provided the client confirmed the "
        "order and is established in the European Union."
    ),
    "ps_paid_fund": "Paid on {date} by the guarantee fund.",
    "ps_paid_client": "Paid on {date} from the client's payment.",
    "ps_estimate_note": (
        "This is an estimate: the final amounts come from the quarterly social security return "
        "(DmfA); any difference is settled later."
    ),
    "write_off_notice": "Notice of debt write-off",
    "wo_unpaid": (
        "The client {client} did not pay our invoice {number} of {date} for your assignment "
        "“{title}”."
    ),
    "wo_cause": "Reason: {cause}.",
    "wo_written_off": (
        "On {date}, the cooperative wrote off this debt of {amount}: the pooled guarantee fund "
        "bears the loss."
    ),
    "wo_keep": (
        "You keep your salary: nothing will be deducted from your salary or your activity budget."
    ),
    "wo_salary_paid": "Your net salary of {net}, paid on {date}, remains yours.",
    "wo_recovery": "If the client pays later, that money goes back to the guarantee fund.",
    "cause_dunning_exhausted": "our reminders and formal notice went unanswered",
    "cause_bankruptcy": "the client's bankruptcy",
    "cause_judicial_reorganisation": "a homologated judicial reorganisation plan",
    "cause_proven_irrecoverable": "irrecoverable debt, all remedies exhausted",
}

TEXTS: dict[str, dict[str, str]] = {
    language: {**INVOICE_LABELS[language], **own, **PAYSLIP_TEXTS[language]}
    for language, own in (("fr", _FR), ("nl", _NL), ("en", _EN))
}
