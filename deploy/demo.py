"""``make demo``: a local federation of three regions on the embedded defaults, end to end.

One nats-server (JetStream) and three regional nodes (wvv, arnhem, haaglanden),
each with its own SQLite database, keys and gRPC port, after a fresh key
ceremony (threshold 2 of 3). Then, through the gRPC APIs as the regions' own
users would: a person registered in wvv and later in arnhem gives a match in
both (with the time from registration to match), a person without BSN spelt
differently gives a probable match, an informatiecoördinator asks the
federation a hit/no-hit question, and closing a case closes the match in the
other region. The demo ends with the two regions agreeing on joint handling,
shown as each procesregisseur sees it. A spy on every federation subject shows that no identifier
crossed a region's boundary. Each region also runs its web portal: the demo prints the
addresses, users, password and TOTP secrets (``make demo BLIJF=1`` keeps everything running
until Ctrl-C, to log in with a browser). Everything lives in ./demo-data and is removed.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import signal
import sys
import time
from pathlib import Path

import grpc
import httpx
import pyotp
from nats.aio.msg import Msg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from deploy import lokaal  # noqa: E402
from deploy.lokaal import LokaleFederatie  # noqa: E402
from gedeeld.fouten import PreconditionError, UnavailableError  # noqa: E402
from gedeeld.grpc.authenticatie import Rol, nieuw_token, token_hash  # noqa: E402
from gedeeld.nats.server import NatsServer  # noqa: E402
from gedeeld.nats.verbinding import verbind  # noqa: E402
from gedeeld.zvh.v1 import casus_pb2 as S  # noqa: E402
from gedeeld.zvh.v1 import casus_pb2_grpc, common_pb2, samenwerking_pb2_grpc, vraag_pb2_grpc  # noqa: E402
from gedeeld.zvh.v1 import samenwerking_pb2 as M  # noqa: E402
from gedeeld.zvh.v1 import vraag_pb2 as V  # noqa: E402
from services.cli.matches import regel, toon_lijst, toon_match, toon_wijziging  # noqa: E402
from services.cli.zvh import toon_vraag  # noqa: E402
from services.portaal import gebruikers as portaalgebruikers  # noqa: E402

DATA = ROOT / "demo-data"
REGIOS = ["wvv", "arnhem", "haaglanden"]
# The portal's demo accounts: one password for all, a TOTP secret each (printed).
PORTAAL_WACHTWOORD = "demo-wachtwoord-zvh"
PORTAAL_ROLLEN = {"pr": Rol.PROCESREGISSEUR, "ic": Rol.INFORMATIECOORDINATOR, "fg": Rol.FG}


def portaal_inrichten(fed: LokaleFederatie) -> dict[str, dict[str, str]]:
    """A [portaal] section and demo users per region; returns the TOTP secret per region and user."""
    geheimen: dict[str, dict[str, str]] = {}
    wachtwoord = portaalgebruikers.hash_wachtwoord(PORTAAL_WACHTWOORD)
    for code, regio in fed.regios.items():
        pad = DATA / "data" / code / "portaal-gebruikers.toml"
        geheimen[code] = {f"{k}-{code}": pyotp.random_base32() for k in PORTAAL_ROLLEN}
        portaalgebruikers.schrijf(
            pad,
            {
                g: portaalgebruikers.Gebruiker(g, g, PORTAAL_ROLLEN[g.split("-")[0]], "", wachtwoord, totp)
                for g, totp in geheimen[code].items()
            },
        )
        with regio.cfg_pad.open("a") as f:
            # Plain HTTP on loopback for the demo; production keeps cookie_secure = true behind TLS.
            f.write(f'\n[portaal]\nlisten = "127.0.0.1:0"\ngebruikers = "{pad}"\ncookie_secure = false\n')
    return geheimen


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
        if k is None:
            raise PreconditionError(f"region {regio} of the demo is not running")
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

    def matchstub(self, regio: str) -> samenwerking_pb2_grpc.MatchServiceAsyncStub:
        return samenwerking_pb2_grpc.MatchServiceStub(self.kanaal(regio))

    async def inbox(self, regio: str) -> M.LijstResponse:
        return await self.matchstub(regio).Lijst(M.LijstRequest(), metadata=self.md(f"pr-{regio}"))

    async def toon_inbox(self, regio: str) -> None:
        print(f"  zvh matches lijst — zoals pr-{regio} het ziet:")
        print("    " + toon_lijst(await self.inbox(regio)).replace("\n", "\n    "))

    async def toon_match(self, regio: str, match_id: str) -> None:
        m = await self.matchstub(regio).Ophalen(
            M.MatchOphalenRequest(match_id=match_id), metadata=self.md(f"pr-{regio}")
        )
        print(f"  zvh matches bekijk — zoals pr-{regio} het ziet:")
        print("    " + toon_match(m).replace("\n", "\n    "))


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
    totp = await asyncio.to_thread(portaal_inrichten, fed)
    spion = await verbind(url, "demo-spion")
    verkeer: list[bytes] = []

    async def vang(msg: Msg) -> None:
        verkeer.append(msg.subject.encode() + b" " + msg.data)

    await spion.subscribe("zvh.>", cb=vang)
    try:
        for r in REGIOS:
            await fed.start(r)
        kop(f"Federatie: 3 regio's, sleutelceremonie epoch 1, drempel {fed.drempel} van 3, NATS {url}")
        for r in REGIOS:
            node = fed.regios[r].node
            if node is None or node.casusregister is None:
                raise PreconditionError(f"region {r} of the demo runs no casusregister")
            print(
                f"  {r:<11} gRPC 127.0.0.1:{node.casusregister.grpc.port}"
                "  (CasusService, VraagService, MatchService)"
            )
        demo = Demo(fed, tokens)

        kop("1. wvv meldt Jan Pieter van der Berg aan (met BSN)")
        jan = persoon("111222333", "Jan Pieter", "van der", "Berg", (1984, 3, 5))
        wvv_casus = await demo.aanmelden("wvv", aanmelding("pgax-wvv-0001", jan))
        print(f"  casus {wvv_casus.casus_id} → procesregisseur pr-wvv")
        await fed.rustig()
        print("  signaal gepubliceerd; geen andere regio kent hem: geen match")

        kop("2. arnhem meldt 'Jan v.d. Berg' aan, zelfde BSN, andere schrijfwijze")
        # pr-wvv watches its inbox live (MatchService.Volgen), as `zvh matches volg` does.
        volg = demo.matchstub("wvv").Volgen(M.VolgenRequest(), metadata=demo.md("pr-wvv"))
        jan_arnhem = persoon("111222333", "Jan", "", "Berg, van der", (1984, 3, 5))
        begin = time.perf_counter()
        arnhem_casus = await demo.aanmelden("arnhem", aanmelding("gcos-arn-0001", jan_arnhem))
        eerste = await asyncio.wait_for(volg.read(), 30)
        duur = (time.perf_counter() - begin) * 1000
        volg.cancel()
        if not isinstance(eerste, M.MatchWijziging):
            raise UnavailableError("MatchService.Volgen ended before the first match")
        print(f"  casus {arnhem_casus.casus_id}")
        print(f"  pr-wvv ziet de match live binnenkomen {duur:.0f} ms na de aanmelding in arnhem:")
        print(f"    {toon_wijziging(eerste)}")
        await fed.rustig()
        await demo.toon_inbox("wvv")
        await demo.toon_inbox("arnhem")

        kop("3. Zonder BSN, anders gespeld: Karin Janssen (haaglanden) en Karin Jansen (wvv)")
        await demo.aanmelden(
            "haaglanden", aanmelding("hgl-0001", persoon("", "Karin", "", "Janssen", (1988, 11, 30)))
        )
        karin = await demo.aanmelden(
            "wvv", aanmelding("pgax-wvv-0002", persoon("", "Karin", "", "Jansen", (1988, 11, 30)))
        )
        await fed.rustig()
        await demo.toon_inbox("haaglanden")

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

        kop("5. haaglanden sluit de casus van Karin af: de match sluit ook in wvv")
        [karin_match] = [m for m in (await demo.inbox("haaglanden")).matches]
        await casus_pb2_grpc.CasusServiceStub(demo.kanaal("haaglanden")).Afsluiten(
            S.AfsluitenRequest(casus_id=karin_match.casus_id, reden=S.AFSLUIT_REDEN_VERHUISD),
            metadata=demo.md("pr-haaglanden"),
        )
        await fed.rustig()
        [bij_wvv] = [m for m in (await demo.inbox("wvv")).matches if m.andere_regio == "haaglanden"]
        print(f"    {regel(bij_wvv)}")

        kop("6. Samenwerking: wvv stelt voor dat arnhem de regie voert, arnhem gaat akkoord")
        [jan_wvv] = [m for m in (await demo.inbox("wvv")).matches if m.andere_regio == "arnhem"]
        [jan_arn] = [m for m in (await demo.inbox("arnhem")).matches if m.andere_regio == "wvv"]
        await demo.matchstub("wvv").Voorstellen(
            M.VoorstellenRequest(
                match_id=jan_wvv.match_id,
                regievoerende_regio="arnhem",
                contactgegevens="Anna de Vries, 088-555 0101",
            ),
            metadata=demo.md("pr-wvv"),
        )
        await fed.rustig()
        print("  zvh matches voorstel … --regie arnhem  (pr-wvv)")
        await demo.toon_match("arnhem", jan_arn.match_id)
        await demo.matchstub("arnhem").Akkoord(
            M.AkkoordRequest(match_id=jan_arn.match_id, contactgegevens="Bram Jansen, 026-555 0202"),
            metadata=demo.md("pr-arnhem"),
        )
        await demo.matchstub("arnhem").Bericht(
            M.BerichtRequest(
                match_id=jan_arn.match_id, tekst="Ik plan een casusoverleg op dinsdag, schuif je aan?"
            ),
            metadata=demo.md("pr-arnhem"),
        )
        await fed.rustig()
        print("  zvh matches akkoord …  (pr-arnhem) — nu wisselen de regio's contactgegevens uit")
        await demo.toon_match("wvv", jan_wvv.match_id)
        await demo.toon_match("arnhem", jan_arn.match_id)

        kop("7. Wat ging er over de grens? Alles op zvh.> afgeluisterd")
        gezocht = [b"111222333", b"Berg", b"Jan", b"Karin", b"Jans", b"1984", b"1988"]
        lekken = [w.decode() for w in gezocht if any(w in m for m in verkeer)]
        print(
            f"  {len(verkeer)} berichten (signalen, treffers, OPRF, vragen, overleg) "
            "doorzocht op BSN, namen, datums"
        )
        print(
            "  gevonden:",
            ", ".join(lekken) if lekken else "niets — alleen tokens, handtekeningen en versleutelde treffers",
        )

        await toon_portalen(fed, totp)
        if os.environ.get("BLIJF"):
            stop = asyncio.Event()
            for sig in (signal.SIGINT, signal.SIGTERM):
                asyncio.get_running_loop().add_signal_handler(sig, stop.set)
            print("\n  De federatie blijft draaien (BLIJF=1); Ctrl-C stopt en ruimt op.", flush=True)
            await stop.wait()
    finally:
        await spion.close()
        for r in REGIOS:
            await fed.stop(r)
        await nats.stop()
        shutil.rmtree(DATA, ignore_errors=True)


async def toon_portalen(fed: LokaleFederatie, totp: dict[str, dict[str, str]]) -> None:
    kop("8. Het webportaal van elke regio")
    print(f"  wachtwoord voor elke demogebruiker: {PORTAAL_WACHTWOORD}")
    print("  tweede factor: de TOTP-code uit een authenticator-app met het geheim hieronder, of")
    print("    .venv/bin/python -c 'import pyotp,sys; print(pyotp.TOTP(sys.argv[1]).now())' GEHEIM")
    async with httpx.AsyncClient(timeout=10) as web:
        for code in REGIOS:
            node = fed.regios[code].node
            if node is None or node.portaal is None:
                raise PreconditionError(f"region {code} of the demo runs no portal")
            url = node.portaal.url
            status = (await web.get(f"{url}/inloggen")).status_code
            print(f"  {code:<11} {url}  (inlogpagina: HTTP {status})")
            for gebruiker, geheim in totp[code].items():
                print(f"    {gebruiker:<16} TOTP-geheim {geheim}")
    if not os.environ.get("BLIJF"):
        print("  make demo BLIJF=1 laat alles draaien om met een browser in te loggen.")


if __name__ == "__main__":
    asyncio.run(main())
