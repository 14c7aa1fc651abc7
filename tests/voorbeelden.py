"""Builders for valid requests; tests change one thing and expect one outcome."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from gedeeld.zvh.v1 import casus_pb2, common_pb2
from gedeeld.zvh.v1 import federatie_pb2 as F

S = casus_pb2

# Valid by the 11-proef; test data only.
BSN_A = "111222333"
BSN_B = "123456782"


def criterium(voldaan: bool = True) -> S.Criterium:
    return S.Criterium(voldaan=voldaan, toelichting="toelichting" if voldaan else "")


def betrokkene(
    *,
    bsn: str = BSN_A,
    voornamen: str = "Jan Pieter",
    voorvoegsels: str = "van der",
    achternaam: str = "Berg",
    geboren: tuple[int, int, int] = (1984, 3, 5),
) -> S.Betrokkene:
    return S.Betrokkene(
        bsn=bsn,
        voornamen=voornamen,
        voorvoegsels=voorvoegsels,
        achternaam=achternaam,
        geboortedatum=common_pb2.Datum(jaar=geboren[0], maand=geboren[1], dag=geboren[2]),
        geslacht=S.GESLACHT_MAN,
    )


def aanmelding(
    *betrokkenen: S.Betrokkene,
    request_id: str | None = None,
    thema: S.Thema.ValueType = S.THEMA_VERWARD_GEDRAG,
) -> S.AanmeldenRequest:
    return S.AanmeldenRequest(
        request_id=request_id or str(uuid.uuid4()),
        aanmelder=S.Aanmelder(type=S.AANMELDER_TYPE_POLITIE),
        thema=thema,
        orientatie=S.ORIENTATIE_PERSOONSGERICHT,
        wgs_criteria=S.WgsCriteria(
            a_meervoudige_problematiek=criterium(),
            b_regulier_onvoldoende=criterium(),
            c_gezamenlijke_aanpak=criterium(),
            d_verwerking_noodzakelijk=criterium(),
        ),
        betrokkenen=list(betrokkenen) or [betrokkene()],
    )


def signaal(
    tokens: Sequence[F.SignaalToken],
    referentie: str,
    soort: F.SignaalSoort.ValueType = F.SIGNAAL_SOORT_ACTIEF,
    *,
    regio: str = "arnhem",
    epoch: int = 1,
    tijdstip: datetime | None = None,
) -> bytes:
    """A serialised Signaal of ``regio`` (sign it with ``onderteken``), valid for 30 days, with a
    fresh signaal_id; ``tijdstip`` unset unless given."""
    s = F.Signaal(
        signaal_id=str(uuid.uuid4()),
        regio=regio,
        epoch=epoch,
        referentie=referentie,
        tokens=tokens,
        soort=soort,
    )
    s.verloopt_op.FromDatetime(datetime.now(UTC) + timedelta(days=30))
    if tijdstip is not None:
        s.tijdstip.FromDatetime(tijdstip)
    return s.SerializeToString()
