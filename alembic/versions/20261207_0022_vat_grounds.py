"""The legal grounds for invoicing at 0 % VAT, and what the invoice keeps of them

A mission may be invoiced at 0 % VAT only under a ground chosen from this dated list
(`vat.exemption_grounds`); each ground names its legal reference, the mention the invoice prints
in FR/NL/EN, its EN 16931 VAT category and VATEX exemption reason code, and which clients it fits.
A new or corrected ground later is a new row with its own valid_from, never an edit of this one.

Columns: `missions.vat_exemption` (the ground's code, NULL when VAT is charged); on `invoices` the
ground as issued, its VATEX code, and the VAT number check made at issue time (VIES, or
"not_checked" by the embedded default).

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-07
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0022"
down_revision: str | Sequence[str] | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KEY = "vat.exemption_grounds"
VALID_FROM = dt.date(2026, 1, 1)

# Sources (cited on every ground):
_DIRECTIVE = (
    "Directive 2006/112/EC arts. 44, 138, 146, 196, 226 (11a): "
    "https://eur-lex.europa.eu/eli/dir/2006/112/oj"
)
_DOMAIN = "domain.md §2.1 item 9 and §2.2 [L18][L21][L41]"
_VATEX = (
    "CEF VATEX code list (EN 16931 / Peppol BIS 3.0): VATEX-EU-AE, -IC, -G, -O "
    "(https://docs.gobl.org/catalogues/cef; Peppol subset: "
    "https://developer.vertexinc.com/einvoicing/docs/peppol-standard-values)"
)

# `client` says which clients a ground fits (domain.invoice.CLIENT_RULES):
#   eu_business      a business established in another EU member state, with its VAT number
#   non_eu_business  a business established outside the EU
#   non_eu           any client established outside the EU
#   be_business      a Belgian business (it has its enterprise / VAT number)
# `vies_check`: the client's VAT number is checked (VIES) when the invoice is issued.
GROUNDS = [
    {
        "code": "eu_reverse_charge",
        "category": "AE",
        "vatex": "VATEX-EU-AE",
        "client": "eu_business",
        "vies_check": True,
        "reference": "art. 21 § 2 Code TVA / Btw-wetboek; arts. 44 and 196 Directive 2006/112/EC",
        "label": {
            "fr": "Autoliquidation : services à une entreprise d'un autre pays de l'UE",
            "nl": "Verlegging van heffing: diensten aan een onderneming in een ander EU-land",
            "en": "Reverse charge: services to a business in another EU country",
        },
        "mention": {
            "fr": "Autoliquidation – TVA due par le preneur (art. 21, § 2 du Code de la TVA ; "
            "art. 196 de la directive 2006/112/CE).",
            "nl": "Verlegging van heffing – btw verschuldigd door de afnemer (art. 21, § 2 "
            "Btw-wetboek; art. 196 Richtlijn 2006/112/EG).",
            "en": "Reverse charge – VAT due by the customer (art. 21 § 2 Belgian VAT Code; "
            "art. 196 Directive 2006/112/EC).",
        },
        "source": f"{_DOMAIN}; {_DIRECTIVE}; {_VATEX}",
        "confidence": "high",
    },
    {
        "code": "outside_eu_business",
        "category": "O",
        "vatex": "VATEX-EU-O",
        "client": "non_eu_business",
        "vies_check": False,
        "reference": "art. 21 § 2 Code TVA / Btw-wetboek; art. 44 Directive 2006/112/EC",
        "label": {
            "fr": "Hors champ : services à une entreprise établie hors de l'UE",
            "nl": "Buiten het toepassingsgebied: diensten aan een onderneming buiten de EU",
            "en": "Outside the scope: services to a business established outside the EU",
        },
        "mention": {
            "fr": "Non soumis à la TVA belge : prestation de services dont le lieu est situé hors "
            "de l'UE (art. 21, § 2 du Code de la TVA).",
            "nl": "Niet onderworpen aan Belgische btw: dienst met plaats van dienst buiten de EU "
            "(art. 21, § 2 Btw-wetboek).",
            "en": "Not subject to Belgian VAT: services supplied outside the EU "
            "(art. 21 § 2 Belgian VAT Code).",
        },
        "source": f"{_DOMAIN} ('B2B client outside the EU: outside the scope of BE VAT; "
        f"mention the article'); {_DIRECTIVE}; {_VATEX}",
        "confidence": "high",
    },
    {
        "code": "art44_performer",
        "category": "E",
        # No VATEX code fits: Belgium keeps this exemption under the transitional derogation
        # of art. 371 and Annex X part B (2) of the Directive, not under art. 132, and the CEF
        # list has no code for it; EN 16931 BR-E-10 accepts the reason as text alone.
        "vatex": None,
        "client": "be_business",
        "vies_check": False,
        "reference": "art. 44 § 2 8° Code TVA / Btw-wetboek",
        "label": {
            "fr": "Exemption (art. 44, § 2, 8°) : prestation d'artiste pour un organisateur de "
            "spectacles ou de concerts, un éditeur de disques ou un producteur de films",
            "nl": "Vrijstelling (art. 44, § 2, 8°): prestatie van een artiest voor een "
            "organisator van voorstellingen of concerten, een platenuitgever of een filmproducent",
            "en": "Exempt (art. 44 § 2 8°): a performer's services to an organiser of shows or "
            "concerts, a record publisher or a film producer",
        },
        "mention": {
            "fr": "Exemption de la TVA – art. 44, § 2, 8° du Code de la TVA.",
            "nl": "Vrijstelling van btw – art. 44, § 2, 8° Btw-wetboek.",
            "en": "VAT exempt – art. 44 § 2 8° of the Belgian VAT Code.",
        },
        "source": f"{_DOMAIN} (art. 44, paragraph to verify); the paragraph: "
        "https://nft.lauwers-law.be/statut-fiscal/impots-indirects/tva/"
        "non-application-des-exemptions-article-44-ctva (exemption of performers' services "
        "to organisers of shows and concerts, record publishers and film producers, "
        "whatever the legal form: decision E.T. 108.828 of 30.09.2005); "
        "parliamentary question n° 828 of 07.11.2001 (lex.be)",
        "confidence": "medium: the 2005 decision extending it to any legal form was "
        "provisionally not enforced (communication of 18.07.2006); whether it covers a "
        "cooperative supplying its employed performer must be confirmed by the coop's VAT adviser",
    },
    {
        "code": "be_reverse_charge_works",
        "category": "AE",
        "vatex": "VATEX-EU-AE",
        "client": "be_business",
        "vies_check": True,
        "reference": "art. 51 § 2, al. 1er, 5° Code TVA / Btw-wetboek; art. 20 AR/KB n° 1",
        "label": {
            "fr": "Autoliquidation belge : travaux immobiliers pour un entrepreneur enregistré "
            "qui dépose des déclarations TVA périodiques",
            "nl": "Binnenlandse verlegging: werk in onroerende staat voor een geregistreerde "
            "aannemer die periodieke btw-aangiften indient",
            "en": "Belgian reverse charge: works on immovable property for a contractor who files "
            "periodic VAT returns",
        },
        "mention": {
            "fr": "Autoliquidation – art. 51, § 2, alinéa 1er, 5° du Code de la TVA.",
            "nl": "Verlegging van heffing – art. 51, § 2, eerste lid, 5° Btw-wetboek.",
            "en": "Reverse charge – art. 51 § 2, first paragraph, 5° of the Belgian VAT Code.",
        },
        "source": f"{_DOMAIN} (item 9: literal 'Autoliquidation'); {_VATEX}; the article from "
        "memory",
        "confidence": "medium: the client's status (files periodic returns) cannot be checked "
        "here; the member must know the work is a work on immovable property",
    },
    {
        "code": "intra_eu_goods",
        "category": "K",
        "vatex": "VATEX-EU-IC",
        "client": "eu_business",
        "vies_check": True,
        "reference": "art. 39bis, al. 1er, 1° Code TVA / Btw-wetboek; art. 138 Directive "
        "2006/112/EC",
        "label": {
            "fr": "Livraison intracommunautaire de biens (œuvre expédiée à une entreprise d'un "
            "autre pays de l'UE)",
            "nl": "Intracommunautaire levering van goederen (werk verzonden naar een onderneming "
            "in een ander EU-land)",
            "en": "Intra-community supply of goods (a work shipped to a business in another EU "
            "country)",
        },
        "mention": {
            "fr": "Livraison intracommunautaire exemptée – art. 39bis du Code de la TVA ; "
            "art. 138 de la directive 2006/112/CE.",
            "nl": "Vrijgestelde intracommunautaire levering – art. 39bis Btw-wetboek; art. 138 "
            "Richtlijn 2006/112/EG.",
            "en": "Exempt intra-community supply – art. 39bis Belgian VAT Code; art. 138 "
            "Directive 2006/112/EC.",
        },
        "source": f"{_DIRECTIVE}; {_VATEX}",
        "confidence": "medium: goods only, and the coop must keep the proof of transport",
    },
    {
        "code": "export_goods",
        "category": "G",
        "vatex": "VATEX-EU-G",
        "client": "non_eu",
        "vies_check": False,
        "reference": "art. 39 § 1 Code TVA / Btw-wetboek; art. 146 Directive 2006/112/EC",
        "label": {
            "fr": "Exportation de biens hors de l'UE",
            "nl": "Uitvoer van goederen buiten de EU",
            "en": "Export of goods outside the EU",
        },
        "mention": {
            "fr": "Exportation exemptée – art. 39 du Code de la TVA ; art. 146 de la directive "
            "2006/112/CE.",
            "nl": "Vrijgestelde uitvoer – art. 39 Btw-wetboek; art. 146 Richtlijn 2006/112/EG.",
            "en": "Exempt export – art. 39 Belgian VAT Code; art. 146 Directive 2006/112/EC.",
        },
        "source": f"{_DIRECTIVE}; {_VATEX}",
        "confidence": "medium: goods only, and the coop must keep the customs export proof",
    },
]

VALUE = {
    "grounds": GROUNDS,
    # The small-enterprise franchise (art. 56bis, ≤ 25,000 EUR, domain.md §2.2) is not a ground:
    # the cooperative is far above it. Nor is a B2C supply abroad: consumers pay Belgian VAT.
    "source": f"{_DOMAIN}; {_DIRECTIVE}; {_VATEX}",
    "confidence": "per ground",
}

parameters = sa.table(
    "parameters",
    sa.column("key", sa.String),
    sa.column("valid_from", sa.Date),
    sa.column("valid_to", sa.Date),
    sa.column("value", sa.JSON),
    sa.column("source", sa.Text),
)


def upgrade() -> None:
    with op.batch_alter_table("missions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("vat_exemption", sa.String(length=32), nullable=True))
    with op.batch_alter_table("invoices", schema=None) as batch_op:
        batch_op.add_column(sa.Column("vat_exemption", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("vat_exemption_code", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("vat_check_status", sa.String(length=16), nullable=True))
        batch_op.add_column(
            sa.Column("vat_checked_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("vat_check_reference", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("vat_check_detail", sa.JSON(), nullable=True))
    op.bulk_insert(
        parameters,
        [
            {
                "key": KEY,
                "valid_from": VALID_FROM,
                "valid_to": None,
                "value": VALUE,
                "source": "domain.md §2.1-2.2; Belgian VAT Code arts. 21, 39, 39bis, 44, 51; "
                "Directive 2006/112/EC; CEF VATEX list (each ground cites its own)",
            }
        ],
    )


def downgrade() -> None:
    op.execute(
        parameters.delete().where(parameters.c.key == KEY, parameters.c.valid_from == VALID_FROM)
    )
    with op.batch_alter_table("invoices", schema=None) as batch_op:
        batch_op.drop_column("vat_check_detail")
        batch_op.drop_column("vat_check_reference")
        batch_op.drop_column("vat_checked_at")
        batch_op.drop_column("vat_check_status")
        batch_op.drop_column("vat_exemption_code")
        batch_op.drop_column("vat_exemption")
    with op.batch_alter_table("missions", schema=None) as batch_op:
        batch_op.drop_column("vat_exemption")
