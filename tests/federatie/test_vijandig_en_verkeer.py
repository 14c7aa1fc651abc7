"""Forged, replayed, truncated, oversized and garbage signals; and what crosses the wire."""

from __future__ import annotations

import base64
import uuid

import pytest
from nats.aio.msg import Msg
from nats.js.errors import APIError
from prometheus_client import REGISTRY

from gedeeld.crypto.handtekening import Ondertekensleutel
from gedeeld.federatie.bericht import onderteken
from gedeeld.federatie.sleutels import RegioSleutels
from gedeeld.nats.verbinding import bevestig, verbind
from gedeeld.zvh.v1 import federatie_pb2 as F
from tests import voorbeelden
from tests.federatie.knooppunten import Federatie
from tests.voorbeelden import aanmelding, betrokkene


def geweigerd(reden: str) -> float:
    return REGISTRY.get_sample_value("zvh_signals_rejected_total", {"reden": reden}) or 0.0


def signaal(epoch: int = 1) -> bytes:
    tokens = [F.SignaalToken(sleutel_type="bsn", token=bytes(64))]
    return voorbeelden.signaal(tokens, uuid.uuid4().hex, epoch=epoch)


async def test_bad_signals_are_rejected_by_reason_and_valid_ones_still_match(
    federatie: Federatie, tmp_path: object
) -> None:
    arnhem = RegioSleutels.lees(federatie["arnhem"].cfg_pad.parent / "sleutels" / "arnhem")
    geldig = onderteken(arnhem.ondertekening, "arnhem", "signaal", signaal())
    slecht = {
        "ongeldige_handtekening": onderteken(Ondertekensleutel.nieuw(), "arnhem", "signaal", signaal()),
        "verkeerde_epoch": onderteken(arnhem.ondertekening, "arnhem", "signaal", signaal(epoch=0)),
        "onleesbaar": b"\x00\xffgarbage\x13\x37",
        "onbekende_regio": onderteken(Ondertekensleutel.nieuw(), "atlantis", "signaal", signaal()),
    }
    voor = {r: geweigerd(r) for r in [*slecht, "onleesbaar"]}
    nc = await verbind(federatie.url, "aanvaller")
    js = nc.jetstream()
    await federatie["wvv"].aanmelden(aanmelding(betrokkene()))
    for data in slecht.values():
        await js.publish("zvh.signaal.arnhem", data)
    await js.publish("zvh.signaal.arnhem", geldig[: len(geldig) // 2])  # truncated
    with pytest.raises(APIError):
        await js.publish("zvh.signaal.arnhem", b"x" * (70 * 1024))  # oversized: the stream refuses it
    await nc.close()

    await federatie["arnhem"].aanmelden(aanmelding(betrokkene()))  # the next valid signal
    await federatie.rustig()

    for reden in ("ongeldige_handtekening", "verkeerde_epoch", "onbekende_regio"):
        assert geweigerd(reden) - voor[reden] == 2, reden  # wvv and haaglanden each rejected it
    assert geweigerd("onleesbaar") - voor["onleesbaar"] >= 2 * 2  # garbage and the truncated one
    assert [m.andere_regio for m in await federatie["wvv"].matches()] == ["arnhem"]


async def test_no_identifier_crosses_the_region_boundary(federatie: Federatie) -> None:
    spion = await verbind(federatie.url, "spion")
    gezien: list[bytes] = []

    async def vang(msg: Msg) -> None:
        subject, reply = msg.subject, msg.reply or ""
        # Region-local traffic (raw case events) stays on the region's leaf node in production.
        if subject.startswith("regio.") or reply.startswith("$JS.ACK.REGIO_"):
            return
        gezien.append(subject.encode() + b"\n" + repr(msg.headers).encode() + b"\n" + msg.data)

    await spion.subscribe(">", cb=vang)
    await bevestig(spion)
    personen = [
        betrokkene(
            bsn="123456782",
            voornamen="Wilhelmina",
            voorvoegsels="van",
            achternaam="Oldenbarnevelt",
            geboren=(1961, 8, 17),
        ),
        betrokkene(
            bsn="", voornamen="Quinten", voorvoegsels="", achternaam="Zuiderduin", geboren=(2004, 12, 3)
        ),
    ]
    ca = await federatie["wvv"].aanmelden(aanmelding(*personen))
    await federatie["arnhem"].aanmelden(aanmelding(*personen))
    await federatie.rustig()
    await federatie["wvv"].afsluiten(ca.casus_id)
    await federatie.rustig()
    await spion.close()

    assert len(await federatie["arnhem"].matches()) == 2
    assert len(gezien) > 10, "expected signals, treffers and OPRF traffic to be captured"
    verkeer = b"\n".join(gezien)
    vormen: list[str] = []
    for p in personen:
        g = p.geboortedatum
        vormen += [
            p.voornamen,
            p.achternaam,
            f"{g.jaar}-{g.maand:02d}-{g.dag:02d}",
            f"{g.dag:02d}-{g.maand:02d}-{g.jaar}",
            f"{g.jaar}{g.maand:02d}{g.dag:02d}",
            f"{g.dag:02d}{g.maand:02d}{g.jaar}",
        ]
        if p.bsn:
            vormen.append(p.bsn)
    for vorm in vormen:
        for variant in (vorm, vorm.lower(), vorm.upper()):
            raw = variant.encode()
            for gecodeerd in (
                raw,
                raw.hex().encode(),
                raw.hex().upper().encode(),
                base64.b64encode(raw),
                base64.urlsafe_b64encode(raw),
            ):
                assert gecodeerd not in verkeer, f"an identifier ({len(vorm)} chars) crossed the boundary"
