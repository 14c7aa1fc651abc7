"""Inzage (AVG art. 15): everything this node holds on one person, for the FG.

Finds the person by BSN, or by surname and date of birth, and renders the
casussen, the stored personal data and every processing-log record about them
as one Markdown document in Dutch. The inzage itself is logged too.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from sqlalchemy import Row, select

from gedeeld.fouten import FieldViolation, ValidationError
from gedeeld.grpc.rpc import Aanroep
from gedeeld.identiteit.bsn import is_geldig_bsn, normaliseer_bsn
from gedeeld.identiteit.naam import normaliseer_achternaam
from gedeeld.tekst import tekstfout
from gedeeld.verwerkingslog import Handeling
from gedeeld.verwerkingslog.model import AuditRecord, Verwerking
from gedeeld.zvh.v1 import casus_pb2
from services.casusregister import levenscyclus, validatie
from services.casusregister.casussen import Register
from services.casusregister.store import BetrokkeneRij, CasusRij


def _kern(achternaam: str) -> str:
    """The surname's core ("van der Berg" -> "berg"); "" when it has no letters."""
    try:
        return normaliseer_achternaam(achternaam).kernnaam
    except ValidationError:
        return ""


class Inzage:
    def __init__(self, register: Register) -> None:
        self._r = register

    async def uitvoeren(self, req: casus_pb2.InzageRequest, aanroep: Aanroep) -> casus_pb2.InzageResponse:
        zoek_bsn, zoek_naam, zoek_datum = self._valideer(req)
        async with self._r.db.transaction() as s:
            if zoek_bsn:
                stmt = select(BetrokkeneRij).where(BetrokkeneRij.bsn == zoek_bsn)
                personen = list((await s.execute(stmt)).scalars())
            else:
                stmt = select(BetrokkeneRij).where(BetrokkeneRij.geboortedatum == zoek_datum)
                personen = [
                    p
                    for p in (await s.execute(stmt)).scalars()
                    if _kern(f"{p.voorvoegsels} {p.achternaam}") == zoek_naam
                ]
            casus_ids = sorted({p.casus_id for p in personen})
            casussen = {
                c.casus_id: c
                for c in (await s.execute(select(CasusRij).where(CasusRij.casus_id.in_(casus_ids)))).scalars()
            }
            pseudoniemen = [self._r.log.pseudoniem(p.betrokkene_id) for p in personen]
            verwerkingen = (
                await s.execute(
                    select(Verwerking, AuditRecord)
                    .join(AuditRecord, AuditRecord.seq == Verwerking.audit_seq)
                    .where(Verwerking.data_subject_id.in_(pseudoniemen))
                    .order_by(Verwerking.seq)
                )
            ).all()
            document = self._document(req.verzoek_referentie, personen, casussen, verwerkingen)
            await self._r.log.vastleggen(
                s,
                trace=aanroep.trace,
                handeling=Handeling(
                    "inzage", self._r.activiteiten.inzage, "inzageverzoek", req.verzoek_referentie[:64]
                ),
                actor=aanroep.actor,
                betrokkene_ids=[p.betrokkene_id for p in personen],
                details={"casussen": len(casus_ids), "verwerkingen": len(verwerkingen)},
            )
        return casus_pb2.InzageResponse(
            document=document, aantal_casussen=len(casus_ids), aantal_verwerkingen=len(verwerkingen)
        )

    def _valideer(self, req: casus_pb2.InzageRequest) -> tuple[str, str, date | None]:
        fouten: list[FieldViolation] = []
        if not req.verzoek_referentie.strip():
            fouten.append(FieldViolation("verzoek_referentie", "is verplicht (maximaal 128 tekens)"))
        elif (fout := tekstfout(req.verzoek_referentie, maximum=128)) is not None:
            fouten.append(FieldViolation("verzoek_referentie", fout.reden))
        if req.bsn:
            try:
                bsn = normaliseer_bsn(req.bsn)
            except ValidationError:
                bsn = ""
            if not is_geldig_bsn(bsn):
                fouten.append(FieldViolation("bsn", "is geen geldig BSN (9 cijfers, 11-proef)"))
            if fouten:
                raise ValidationError(fouten)
            return bsn, "", None
        v = validatie._Verzamelaar()
        v.fouten.extend(fouten)
        v.tekst("achternaam", req.achternaam, validatie.MAX_NAAM, verplicht=True)
        geboren = validatie.datum("geboortedatum", req.geboortedatum, v, self._r.klok.nu().date())
        v.klaar()
        return "", _kern(req.achternaam), geboren

    def _document(
        self,
        referentie: str,
        personen: list[BetrokkeneRij],
        casussen: dict[str, CasusRij],
        verwerkingen: Sequence[Row[Verwerking, AuditRecord]],
    ) -> str:
        regels = [
            f"# Inzage in persoonsgegevens — verzoek {referentie}",
            "",
            f"Zorg- en Veiligheidshuis regio **{self._r.regio}**, opgesteld op "
            f"{self._r.klok.nu().strftime('%d-%m-%Y %H:%M')} UTC.",
            "",
            "## Vastgelegde persoonsgegevens",
            "",
        ]
        if not personen:
            regels.append("Er zijn geen persoonsgegevens van deze persoon vastgelegd.")
        for p in personen:
            naam = " ".join(x for x in (p.voornamen, p.voorvoegsels, p.achternaam) if x)
            regels.append(
                f"- {naam}, geboren {p.geboortedatum.strftime('%d-%m-%Y')}, "
                f"BSN {p.bsn or 'niet vastgelegd'}, in casus `{p.casus_id}`"
            )
        regels += ["", "## Casussen", ""]
        for c in casussen.values():
            regels.append(
                f"- casus `{c.casus_id}`: status {levenscyclus.NAMEN.get(c.status, '?')}, "
                f"thema {casus_pb2.Thema.Name(c.thema).removeprefix('THEMA_').lower()}, "  # type: ignore[arg-type]
                f"aangemeld op {c.aangemeld_op.strftime('%d-%m-%Y')}"
                + (f", afgesloten op {c.afgesloten_op.strftime('%d-%m-%Y')}" if c.afgesloten_op else "")
            )
        regels += ["", "## Verwerkingen (verwerkingslog)", ""]
        regels += ["| tijdstip | handeling | verwerkingsactiviteit | rol | doel |", "|---|---|---|---|---|"]
        for v, a in verwerkingen:
            regels.append(
                f"| {v.eind.strftime('%d-%m-%Y %H:%M')} | {v.naam} | {v.processing_activity_id} | "
                f"{a.rol} | {a.doel} |"
            )
        return "\n".join(regels) + "\n"
