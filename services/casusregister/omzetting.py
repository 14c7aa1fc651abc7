"""Conversion between table rows and protobuf messages."""

from __future__ import annotations

import json
from datetime import date, datetime

from google.protobuf.timestamp_pb2 import Timestamp

from gedeeld.zvh.v1 import casus_pb2, common_pb2
from services.casusregister.store import BetrokkeneRij, CasusRij
from services.casusregister.validatie import CRITERIA


def ts(moment: datetime | None) -> Timestamp | None:
    if moment is None:
        return None
    t = Timestamp()
    t.FromDatetime(moment)
    return t


def datum(d: date) -> common_pb2.Datum:
    return common_pb2.Datum(jaar=d.year, maand=d.month, dag=d.day)


def criteria_json(c: casus_pb2.WgsCriteria) -> str:
    return json.dumps(
        {veld: [getattr(c, veld).voldaan, getattr(c, veld).toelichting] for veld, _ in CRITERIA}
    )


def betrokkene(b: BetrokkeneRij) -> casus_pb2.Betrokkene:
    return casus_pb2.Betrokkene(
        betrokkene_id=b.betrokkene_id,
        bsn=b.bsn or "",
        voornamen=b.voornamen,
        voorvoegsels=b.voorvoegsels,
        achternaam=b.achternaam,
        geboortedatum=datum(b.geboortedatum),
        geslacht=b.geslacht,  # type: ignore[arg-type]
    )


def casus(rij: CasusRij) -> casus_pb2.Casus:
    criteria = json.loads(rij.criteria)
    return casus_pb2.Casus(
        casus_id=rij.casus_id,
        regio=rij.regio,
        status=rij.status,  # type: ignore[arg-type]
        thema=rij.thema,  # type: ignore[arg-type]
        orientatie=rij.orientatie,  # type: ignore[arg-type]
        aanmelder=casus_pb2.Aanmelder(
            type=rij.aanmelder_type,  # type: ignore[arg-type]
            organisatie=rij.aanmelder_organisatie,
        ),
        wgs_criteria=casus_pb2.WgsCriteria(
            **{
                veld: casus_pb2.Criterium(voldaan=waarde[0], toelichting=waarde[1])
                for veld, waarde in criteria.items()
            }
        ),
        betrokkenen=[betrokkene(b) for b in rij.betrokkenen],
        procesregisseur=rij.procesregisseur,
        topx=rij.topx,
        aangemeld_op=ts(rij.aangemeld_op),
        gewijzigd_op=ts(rij.gewijzigd_op),
        afgesloten_op=ts(rij.afgesloten_op),
        afsluit_reden=rij.afsluit_reden,  # type: ignore[arg-type]
        status_toelichting=rij.status_toelichting,
        versie=rij.versie,
    )


def samenvatting(rij: CasusRij, aantal: int) -> casus_pb2.CasusSamenvatting:
    return casus_pb2.CasusSamenvatting(
        casus_id=rij.casus_id,
        status=rij.status,  # type: ignore[arg-type]
        thema=rij.thema,  # type: ignore[arg-type]
        orientatie=rij.orientatie,  # type: ignore[arg-type]
        procesregisseur=rij.procesregisseur,
        topx=rij.topx,
        aantal_betrokkenen=aantal,
        aangemeld_op=ts(rij.aangemeld_op),
        versie=rij.versie,
    )
