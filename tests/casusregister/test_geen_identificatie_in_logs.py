"""No BSN, name or date of birth in any log line or error text, whatever the input."""

from __future__ import annotations

import logging

import grpc
import pytest

from gedeeld.beheer.logregels import JsonFormatter, demp_bibliotheken
from gedeeld.zvh.v1 import casus_pb2 as S
from gedeeld.zvh.v1 import common_pb2
from tests.conftest import RegisterOpLoopback
from tests.voorbeelden import aanmelding, betrokkene

IC, PR, FG = "ic-carla", "pr-anna", "fg-eva"
BSN = "123456782"
ONGELDIG_BSN = "987654320"
NAMEN = ("Zwanenburg", "Quirijn", "Xenia")
DATUM = (1977, 11, 29)


def vormen() -> list[str]:
    jaar, maand, dag = DATUM
    return [
        BSN,
        ONGELDIG_BSN,
        *NAMEN,
        *(n.lower() for n in NAMEN),
        f"{jaar}-{maand}-{dag}",
        f"{dag}-{maand}-{jaar}",
        f"{dag:02d}-{maand:02d}-{jaar}",
        f"{jaar}-{maand:02d}-{dag:02d}",
    ]


async def test_no_identifier_in_logs_or_errors(
    register: RegisterOpLoopback, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    demp_bibliotheken()  # what zvh-node's logging setup does
    persoon = betrokkene(
        bsn=BSN, voornamen="Quirijn Xenia", voorvoegsels="", achternaam="Zwanenburg", geboren=DATUM
    )
    fouten: list[str] = []

    c = (await register.stub.Aanmelden(aanmelding(persoon), metadata=register.als(IC))).casus
    await register.stub.Ophalen(S.OphalenRequest(casus_id=c.casus_id), metadata=register.als(IC))
    await register.stub.Inzage(S.InzageRequest(bsn=BSN, verzoek_referentie="r"), metadata=register.als(FG))
    slechte = [
        aanmelding(betrokkene(bsn=ONGELDIG_BSN, achternaam="Zwanenburg", geboren=DATUM)),
        aanmelding(betrokkene(bsn=BSN, achternaam="Zwanenburg" * 30)),
        aanmelding(betrokkene(bsn=BSN, voornamen="Quirijn", geboren=(1977, 2, 30))),
    ]
    for req in slechte:
        with pytest.raises(grpc.aio.AioRpcError) as e:
            await register.stub.Aanmelden(req, metadata=register.als(IC))
        fouten.append(str(e.value.details()) + repr(e.value.trailing_metadata()))
    for md in (register.als(PR), register.als("onbekend"), ()):
        with pytest.raises(grpc.aio.AioRpcError) as e:
            await register.stub.Inzage(
                S.InzageRequest(
                    achternaam="Zwanenburg",
                    verzoek_referentie="x",
                    geboortedatum=common_pb2.Datum(jaar=1977, maand=11, dag=29),
                ),
                metadata=md,
            )
        fouten.append(str(e.value.details()))
    await register.service.relay.publiceer_batch()

    formatter = JsonFormatter()
    logtekst = "\n".join(formatter.format(r) for r in caplog.records)
    assert caplog.records, "expected the rejected calls to be logged"
    for vorm in vormen():
        assert vorm not in logtekst, f"identifier form {vorm!r} in a log line"
        assert all(vorm not in f for f in fouten), f"identifier form {vorm!r} in an error"
