"""Validation of incoming requests. Collects every violation, so the caller can
fix them all at once; never quotes the rejected value (it may be a BSN). Every free-text
field goes through gedeeld/tekst.py: too long, a control character (NUL, …) or a
bidirectional override is refused with a field violation, never cut or cleaned."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date

from gedeeld.fouten import FieldViolation, PreconditionError, ValidationError
from gedeeld.identiteit.bsn import is_geldig_bsn, normaliseer_bsn
from gedeeld.tekst import tekstfout
from gedeeld.zvh.v1 import casus_pb2, common_pb2

MAX_NAAM = 200
MAX_VOORVOEGSELS = 50
MAX_TOELICHTING = 500
MAX_ORGANISATIE = 200
MAX_BETROKKENEN = 20
MAX_GEBRUIKER = 128
EERSTE_GEBOORTEDATUM = date(1900, 1, 1)
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")

CRITERIA: Sequence[tuple[str, str]] = (
    ("a_meervoudige_problematiek", "a (meervoudige problematiek)"),
    ("b_regulier_onvoldoende", "b (reguliere aanpak onvoldoende)"),
    ("c_gezamenlijke_aanpak", "c (gezamenlijke aanpak nodig)"),
    ("d_verwerking_noodzakelijk", "d (verwerking noodzakelijk)"),
)


class _Verzamelaar:
    def __init__(self) -> None:
        self.fouten: list[FieldViolation] = []

    def fout(self, veld: str, tekst: str) -> None:
        self.fouten.append(FieldViolation(veld, tekst))

    def tekst(
        self, veld: str, waarde: str, maximum: int, *, verplicht: bool, meerdere_regels: bool = False
    ) -> None:
        """Free text from a user: gedeeld/tekst.py's one rule (length, control and bidi characters)."""
        if verplicht and not waarde.strip():
            self.fout(veld, "is verplicht")
            return
        fout = tekstfout(waarde, maximum=maximum, meerdere_regels=meerdere_regels)
        if fout is not None:
            self.fout(veld, fout.reden)

    def klaar(self) -> None:
        if self.fouten:
            raise ValidationError(self.fouten)


def datum(veld: str, d: common_pb2.Datum, v: _Verzamelaar, vandaag: date) -> date | None:
    if d.jaar == 0 and d.maand == 0 and d.dag == 0:
        v.fout(veld, "is verplicht")
        return None
    try:
        waarde = date(d.jaar, d.maand, d.dag)
    except ValueError:
        v.fout(veld, "is geen bestaande datum")
        return None
    if not EERSTE_GEBOORTEDATUM <= waarde <= vandaag:
        v.fout(veld, f"moet tussen {EERSTE_GEBOORTEDATUM.isoformat()} en vandaag liggen")
        return None
    return waarde


def _bsn(veld: str, raw: str, v: _Verzamelaar) -> None:
    try:
        bsn = normaliseer_bsn(raw)
    except ValidationError:
        v.fout(veld, "moet uit 9 cijfers bestaan")
        return
    if not is_geldig_bsn(bsn):
        v.fout(veld, "voldoet niet aan de 11-proef")


def betrokkene(pad: str, b: casus_pb2.Betrokkene, v: _Verzamelaar, vandaag: date) -> None:
    if b.betrokkene_id:
        v.fout(f"{pad}.betrokkene_id", "wordt door de server toegekend; laat leeg")
    if b.bsn:
        _bsn(f"{pad}.bsn", b.bsn, v)
    v.tekst(f"{pad}.voornamen", b.voornamen, MAX_NAAM, verplicht=True)
    v.tekst(f"{pad}.voorvoegsels", b.voorvoegsels, MAX_VOORVOEGSELS, verplicht=False)
    v.tekst(f"{pad}.achternaam", b.achternaam, MAX_NAAM, verplicht=True)
    datum(f"{pad}.geboortedatum", b.geboortedatum, v, vandaag)
    if b.geslacht not in casus_pb2.Geslacht.values():
        v.fout(f"{pad}.geslacht", "onbekende waarde")


def _enum(v: _Verzamelaar, veld: str, waarde: int, enum: type, *, verplicht: bool = True) -> None:
    if waarde not in enum.values():  # type: ignore[attr-defined]
        v.fout(veld, "onbekende waarde")
    elif verplicht and waarde == 0:
        v.fout(veld, "is verplicht")


def aanmelden(req: casus_pb2.AanmeldenRequest, vandaag: date) -> None:
    """Raise ValidationError for malformed input, then PreconditionError for unmet criteria."""
    v = _Verzamelaar()
    if not _REQUEST_ID.match(req.request_id):
        v.fout("request_id", "is verplicht: 1-64 tekens uit A-Z a-z 0-9 . _ : -")
    _enum(v, "aanmelder.type", req.aanmelder.type, casus_pb2.AanmelderType)
    v.tekst(
        "aanmelder.organisatie",
        req.aanmelder.organisatie,
        MAX_ORGANISATIE,
        verplicht=req.aanmelder.type == casus_pb2.AANMELDER_TYPE_INCIDENTEEL,
    )
    _enum(v, "thema", req.thema, casus_pb2.Thema)
    _enum(v, "orientatie", req.orientatie, casus_pb2.Orientatie)
    for veld, _ in CRITERIA:
        c: casus_pb2.Criterium = getattr(req.wgs_criteria, veld)
        v.tekst(
            f"wgs_criteria.{veld}.toelichting",
            c.toelichting,
            MAX_TOELICHTING,
            verplicht=c.voldaan,
            meerdere_regels=True,
        )
    if not req.betrokkenen:
        v.fout("betrokkenen", "minstens één betrokkene is verplicht")
    elif len(req.betrokkenen) > MAX_BETROKKENEN:
        v.fout("betrokkenen", f"maximaal {MAX_BETROKKENEN} betrokkenen per casus")
    else:
        for i, b in enumerate(req.betrokkenen):
            betrokkene(f"betrokkenen[{i}]", b, v, vandaag)
    v.klaar()
    niet = [label for veld, label in CRITERIA if not getattr(req.wgs_criteria, veld).voldaan]
    if niet:
        raise PreconditionError(
            "niet aangemeld: de WGS-criteria (BGS art. 2.20 lid 1) gelden cumulatief; "
            f"niet voldaan aan criterium {', '.join(niet)}"
        )


def gebruiker(veld: str, waarde: str, *, verplicht: bool = True) -> None:
    v = _Verzamelaar()
    v.tekst(veld, waarde, MAX_GEBRUIKER, verplicht=verplicht)
    v.klaar()


def toelichting(waarde: str, *, verplicht: bool, reden: str = "") -> None:
    v = _Verzamelaar()
    v.tekst("toelichting", waarde, MAX_TOELICHTING, verplicht=False, meerdere_regels=True)
    if verplicht and not waarde.strip():
        v.fout("toelichting", f"is verplicht {reden}".strip())
    v.klaar()


def paginagrootte(n: int) -> int:
    if n == 0:
        return 50
    if not 1 <= n <= 200:
        raise ValidationError(FieldViolation("page_size", "moet tussen 1 en 200 liggen"))
    return n
