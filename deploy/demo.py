"""``make demo``: a region's node on the embedded defaults, end to end.

Starts region ``wvv`` (SQLite, its own nats-server), registers a casus through
the gRPC API as an informatiecoördinator, assigns it, finds it with Zoeken,
and shows the case event that the outbox relay put on the region's JetStream.
Everything lives in ./demo-data and is removed at the end.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import sys
from pathlib import Path

import grpc

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from gedeeld import config as configuratie  # noqa: E402
from gedeeld import migraties  # noqa: E402
from gedeeld.auth import Rol, nieuw_token, token_hash  # noqa: E402
from gedeeld.zvh.v1 import casus_pb2 as S  # noqa: E402
from gedeeld.zvh.v1 import casus_pb2_grpc, gebeurtenis_pb2  # noqa: E402
from services.casusregister.events import stroomnaam  # noqa: E402
from services.cli.zvh import toon_casus, toon_lijst  # noqa: E402
from services.node import COMPONENTEN, Node  # noqa: E402
from tests.voorbeelden import aanmelding, betrokkene  # noqa: E402

DATA = ROOT / "demo-data"


def kop(tekst: str) -> None:
    print(f"\n=== {tekst} ===")


async def main() -> None:
    logging.basicConfig(level=logging.ERROR)  # the demo prints what matters itself
    shutil.rmtree(DATA, ignore_errors=True)
    DATA.mkdir()
    tokens = {naam: nieuw_token() for naam in ("ic-carla", "pr-anna")}
    (DATA / "tokens.toml").write_text(
        f'[[gebruiker]]\nid = "ic-carla"\nrol = "{Rol.INFORMATIECOORDINATOR}"\n'
        f'token_sha256 = "{token_hash(tokens["ic-carla"])}"\n'
        f'[[gebruiker]]\nid = "pr-anna"\nrol = "{Rol.PROCESREGISSEUR}"\n'
        f'token_sha256 = "{token_hash(tokens["pr-anna"])}"\n'
    )
    (DATA / "wvv.toml").write_text(
        'regio = "wvv"\ndata_dir = "wvv"\n[auth]\ntokens = "tokens.toml"\n'
        '[casusregister]\nlisten = "127.0.0.1:0"\n'
    )
    cfg = configuratie.laad(DATA / "wvv.toml", env={})
    cfg.data_dir.mkdir(parents=True)
    node = Node(cfg)
    for component in COMPONENTEN:
        await migraties.upgrade(node.db, component)
    await node.start()
    assert node.casusregister is not None
    port = node.casusregister.grpc.port
    kop(f"Regio wvv draait: casusregister op 127.0.0.1:{port}, NATS {node.nats_url}")
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as kanaal:
            stub = casus_pb2_grpc.CasusServiceStub(kanaal)
            ic = (("authorization", f"Bearer {tokens['ic-carla']}"),)
            req = aanmelding(
                betrokkene(voornamen="Jan Pieter", voorvoegsels="van der", achternaam="Berg"),
                betrokkene(bsn="", voornamen="Els", voorvoegsels="", achternaam="Berg", geboren=(2012, 9, 2)),
                request_id="pgax-2026-000123",
            )
            kop("Aanmelden (informatiecoördinator)")
            casus = (await stub.Aanmelden(req, metadata=ic)).casus
            print(toon_casus(casus))
            kop("Nogmaals hetzelfde request_id: idempotent")
            print("herhaald:", (await stub.Aanmelden(req, metadata=ic)).herhaald)
            kop("Toewijzen aan procesregisseur pr-anna")
            casus = await stub.Toewijzen(
                S.ToewijzenRequest(casus_id=casus.casus_id, procesregisseur="pr-anna"), metadata=ic
            )
            print(f"versie {casus.versie}, procesregisseur {casus.procesregisseur}")
            kop("Zoeken (samenvattingen, geen persoonsgegevens)")
            print(toon_lijst(await stub.Zoeken(S.ZoekenRequest(), metadata=ic)))
            kop("Een ongeldige aanmelding: duidelijke fout per veld")
            fout = aanmelding(betrokkene(bsn="123456789"))
            try:
                await stub.Aanmelden(fout, metadata=ic)
            except grpc.aio.AioRpcError as exc:
                from services.cli.zvh import foutmelding

                print(foutmelding(exc))
        await node.casusregister.relay.publiceer_batch()
        kop(f"Gebeurtenissen op de regionale stream {stroomnaam('wvv')} (blijven binnen de regio)")
        js = node.nc.jetstream()
        sub = await js.pull_subscribe("regio.wvv.>", stream=stroomnaam("wvv"))
        for m in await sub.fetch(10, timeout=2):
            g = gebeurtenis_pb2.CasusGebeurtenis.FromString(m.data)
            msg_id = (m.headers or {}).get("Nats-Msg-Id", "-")
            print(f"  #{g.volgnummer} {m.subject}  (Nats-Msg-Id {msg_id})")
        print("\nDe federatie (signalen en treffers tussen regio's) volgt in issue 4.")
    finally:
        await node.stop()
        shutil.rmtree(DATA, ignore_errors=True)


if __name__ == "__main__":
    asyncio.run(main())
