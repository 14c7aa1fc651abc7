"""``make demo``: a local federation of three regions on the embedded defaults, end to end.

One nats-server (JetStream) and three regional nodes (wvv, arnhem, haaglanden),
each with its own SQLite database, keys and gRPC port, after a fresh key
ceremony (threshold 2 of 3). Then, through the gRPC APIs as the regions' own
users would: a person registered in wvv and later in arnhem gives a match in
both (with the time from registration to match), a person without BSN spelt
differently gives a probable match, an informatiecoördinator asks the
federation a hit/no-hit question, and closing a case closes the match in the
other region. A spy on every federation subject shows that no identifier
crossed a region's boundary. Everything lives in ./demo-data and is removed.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import sys
import time
from pathlib import Path

import grpc
from sqlalchemy import select

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from gedeeld.auth import Rol, nieuw_token, token_hash  # noqa: E402
from gedeeld.nats import verbind  # noqa: E402
from gedeeld.natsserver import NatsServer  # noqa: E402
from gedeeld.zvh.v1 import casus_pb2 as S  # noqa: E402
from gedeeld.zvh.v1 import casus_pb2_grpc, common_pb2, vraag_pb2_grpc  # noqa: E402
from gedeeld.zvh.v1 import vraag_pb2 as V  # noqa: E402
from services import lokaal  # noqa: E402
from services.cli.zvh import toon_vraag  # noqa: E402
from services.lokaal import LokaleFederatie  # noqa: E402
from services.signalering.store import MatchRij  # noqa: E402

DATA = ROOT / "demo-data"
REGIOS = ["wvv", "arnhem", "haaglanden"]


def kop(tekst: str) -> None:
    print(f"\n=== {tekst} ===", flush=True)


def persoon(
    bsn: str, voornamen: str, voorvoegsels: str, achternaam: str, geboren: tuple[int, int, int]
) -> S.Betrokkene:
    return S.Betrokkene(
        bsn=bsn,
        voornamen=voornamen,
        voorvoegsels=voorvoegsels,
        achternaam=achternaam,
        geboortedatum=common_pb2.Datum(jaar=geboren[0], maand=geboren[1], dag=geboren[2]),
    )


def aanmelding(request_id: str, *personen: S.Betrokkene) -> S.AanmeldenRequest:
    c = S.Criterium
    return S.AanmeldenRequest(
        request_id=request_id,
        aanmelder=S.Aanmelder(type=S.AANMELDER_TYPE_POLITIE),
        thema=S.THEMA_VERWARD_GEDRAG,
        orientatie=S.ORIENTATIE_PERSOONSGERICHT,
        wgs_criteria=S.WgsCriteria(
            a_meervoudige_problematiek=c(voldaan=True, toelichting="schulden, GGZ, overlast"),
            b_regulier_onvoldoende=c(voldaan=True, toelichting="wijkteam loopt vast"),
            c_gezamenlijke_aanpak=c(voldaan=True, toelichting="zorg en justitie samen nodig"),
            d_verwerking_noodzakelijk=c(voldaan=True, toelichting="voor het casusoverleg"),
        ),
        betrokkenen=list(personen),
    )


class Demo:
    def __init__(self, fed: LokaleFederatie, tokens: dict[str, str]) -> None:
        self.fed = fed
        self.tokens = tokens

    def kanaal(self, regio: str) -> grpc.aio.Channel:
        k = self.fed.regios[regio].kanaal
        assert k is not None
        return k

    def md(self, gebruiker: str) -> tuple[tuple[str, str]]:
        return (("authorization", f"Bearer {self.tokens[gebruiker]}"),)

    async def aanmelden(self, regio: str, req: S.AanmeldenRequest) -> S.Casus:
        stub = casus_pb2_grpc.CasusServiceStub(self.kanaal(regio))
        casus = (await stub.Aanmelden(req, metadata=self.md(f"ic-{regio}"))).casus
        await stub.Toewijzen(
            S.ToewijzenRequest(casus_id=casus.casus_id, procesregisseur=f"pr-{regio}"),
            metadata=self.md(f"ic-{regio}"),
        )
        return casus

    async def matches(self, regio: str) -> list[MatchRij]:
        node = self.fed.regios[regio].node
        assert node is not None
        async with node.db.lezen() as s:
            return list((await s.execute(select(MatchRij).order_by(MatchRij.aangemaakt_op))).scalars())

    async def toon_matches(self, regio: str) -> None:
        print(f"  procesregisseur pr-{regio} ziet:")
        rijen = await self.matches(regio)
        if not rijen:
            print("    (geen matches)")
        for m in rijen:
            zeker = {1: "ZEKER", 2: "WAARSCHIJNLIJK"}.get(m.zekerheid, "?")
            print(
                f"    casus {m.eigen_casus_id[:8]}  ↔ regio {m.andere_regio:<11} {zeker:<15} "
                f"sleutels {m.sleutel_types:<40} {m.status:<8} contact {m.contact}"
            )


async def main() -> None:
    logging.basicConfig(level=logging.ERROR)  # the demo prints what matters itself
    shutil.rmtree(DATA, ignore_errors=True)
    DATA.mkdir()
    gebruikers = {f"ic-{r}": Rol.INFORMATIECOORDINATOR for r in REGIOS} | {
        f"pr-{r}": Rol.PROCESREGISSEUR for r in REGIOS
    }
    tokens = {g: nieuw_token() for g in gebruikers}
    (DATA / "tokens.toml").write_text(
        "".join(
            f'[[gebruiker]]\nid = "{g}"\nrol = "{rol}"\ntoken_sha256 = "{token_hash(tokens[g])}"\n'
            for g, rol in gebruikers.items()
        )
    )
    nats = NatsServer(DATA / "nats")
    url = await nats.start()
    fed = await lokaal.maak(DATA, url, DATA / "tokens.toml", codes=REGIOS, drempel=2)
    spion = await verbind(url, "demo-spion")
    verkeer: list[bytes] = []

    async def vang(msg: object) -> None:
        verkeer.append(msg.subject.encode() + b" " + msg.data)  # type: ignore[attr-defined]

    await spion.subscribe("zvh.>", cb=vang)
    try:
        for r in REGIOS:
            await fed.start(r)
        kop(f"Federatie: 3 regio's, sleutelceremonie epoch 1, drempel {fed.drempel} van 3, NATS {url}")
        for r in REGIOS:
            node = fed.regios[r].node
            assert node is not None and node.casusregister is not None
            print(f"  {r:<11} gRPC 127.0.0.1:{node.casusregister.grpc.port}  (CasusService, VraagService)")
        demo = Demo(fed, tokens)

        kop("1. wvv meldt Jan Pieter van der Berg aan (met BSN)")
        jan = persoon("111222333", "Jan Pieter", "van der", "Berg", (1984, 3, 5))
        wvv_casus = await demo.aanmelden("wvv", aanmelding("pgax-wvv-0001", jan))
        print(f"  casus {wvv_casus.casus_id} → procesregisseur pr-wvv")
        await fed.rustig()
        print("  signaal gepubliceerd; geen andere regio kent hem: geen match")

        kop("2. arnhem meldt 'Jan v.d. Berg' aan, zelfde BSN, andere schrijfwijze")
        jan_arnhem = persoon("111222333", "Jan", "", "Berg, van der", (1984, 3, 5))
        begin = time.perf_counter()
        arnhem_casus = await demo.aanmelden("arnhem", aanmelding("gcos-arn-0001", jan_arnhem))
        # Polled at 2 ms: the match lands in two other nodes' databases, no local event to await.
        while not (await demo.matches("wvv") and await demo.matches("arnhem")):  # noqa: ASYNC110
            await asyncio.sleep(0.002)
        duur = (time.perf_counter() - begin) * 1000
        print(f"  casus {arnhem_casus.casus_id} → match in beide regio's na {duur:.0f} ms")
        await demo.toon_matches("wvv")
        await demo.toon_matches("arnhem")

        kop("3. Zonder BSN, anders gespeld: Karin Janssen (haaglanden) en Karin Jansen (wvv)")
        await demo.aanmelden(
            "haaglanden", aanmelding("hgl-0001", persoon("", "Karin", "", "Janssen", (1988, 11, 30)))
        )
        karin = await demo.aanmelden(
            "wvv", aanmelding("pgax-wvv-0002", persoon("", "Karin", "", "Jansen", (1988, 11, 30)))
        )
        await fed.rustig()
        await demo.toon_matches("haaglanden")
        print("  (WAARSCHIJNLIJK: alleen naam- en datumsleutels kwamen overeen; een mens kijkt mee)")

        kop("4. Hit/no-hit-vraag: informatiecoördinator wvv vraagt alle regio's naar de persoon van casus 3")
        stub = vraag_pb2_grpc.VraagServiceStub(demo.kanaal("wvv"))
        antwoord = await stub.Vragen(
            V.VragenRequest(casus_id=karin.casus_id, deadline_ms=5000), metadata=demo.md("ic-wvv")
        )
        print(toon_vraag(antwoord))
        try:
            await stub.Vragen(V.VragenRequest(casus_id=karin.casus_id), metadata=demo.md("pr-wvv"))
        except grpc.aio.AioRpcError as exc:
            print(f"  een procesregisseur mag dat niet: {exc.code().name}")

        kop("5. wvv sluit de casus van Jan Pieter af: de match sluit ook in arnhem")
        await casus_pb2_grpc.CasusServiceStub(demo.kanaal("wvv")).Afsluiten(
            S.AfsluitenRequest(casus_id=wvv_casus.casus_id, reden=S.AFSLUIT_REDEN_DOELEN_BEREIKT),
            metadata=demo.md("pr-wvv"),
        )
        await fed.rustig()
        await demo.toon_matches("arnhem")

        kop("6. Wat ging er over de grens? Alles op zvh.> afgeluisterd")
        gezocht = [b"111222333", b"Berg", b"Jan", b"Karin", b"Jans", b"1984", b"1988"]
        lekken = [w.decode() for w in gezocht if any(w in m for m in verkeer)]
        print(
            f"  {len(verkeer)} berichten (signalen, treffers, OPRF, vragen) doorzocht op BSN, namen, datums"
        )
        print(
            "  gevonden:",
            ", ".join(lekken) if lekken else "niets — alleen tokens, handtekeningen en versleutelde treffers",
        )
    finally:
        await spion.close()
        for r in REGIOS:
            await fed.stop(r)
        await nats.stop()
        shutil.rmtree(DATA, ignore_errors=True)


if __name__ == "__main__":
    asyncio.run(main())
