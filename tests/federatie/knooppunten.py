"""A federation you can run in tests: one nats-server and N regional nodes on loopback."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path

import grpc
from nats.aio.client import Client
from sqlalchemy import select

from gedeeld import config as configuratie
from gedeeld.crypto.handtekening import Ondertekensleutel
from gedeeld.federatie import ceremonie
from gedeeld.federatie.sleutels import RegioSleutels
from gedeeld.verwerkingslog.model import AuditRecord
from gedeeld.zvh.v1 import casus_pb2 as S
from gedeeld.zvh.v1 import casus_pb2_grpc, vraag_pb2_grpc
from gedeeld.zvh.v1 import vraag_pb2 as V
from services.node import Node
from services.signalering.context import SIGNALEN
from services.signalering.store import MatchRij
from tests.conftest import migreer, schrijf_tokens, token_van
from tests.federatie.opzet import CODES, deelnemer

IC = "ic-carla"


@dataclass
class Regio:
    code: str
    cfg_pad: Path
    node: Node | None = None
    kanaal: grpc.aio.Channel | None = None

    @property
    def stub(self) -> casus_pb2_grpc.CasusServiceStub:
        assert self.kanaal is not None, f"region {self.code} is not running"
        return casus_pb2_grpc.CasusServiceStub(self.kanaal)

    async def aanmelden(self, req: S.AanmeldenRequest) -> S.Casus:
        return (
            await self.stub.Aanmelden(req, metadata=(("authorization", f"Bearer {token_van(IC)}"),))
        ).casus

    async def afsluiten(self, casus_id: str) -> None:
        await self.stub.Afsluiten(
            S.AfsluitenRequest(casus_id=casus_id, reden=S.AFSLUIT_REDEN_NIET_OPGEPAKT),
            metadata=(("authorization", f"Bearer {token_van('nm-dirk')}"),),
        )

    async def vragen(self, req: V.VragenRequest, gebruiker: str = IC) -> V.VragenResponse:
        assert self.kanaal is not None, f"region {self.code} is not running"
        stub = vraag_pb2_grpc.VraagServiceStub(self.kanaal)
        return await stub.Vragen(req, metadata=(("authorization", f"Bearer {token_van(gebruiker)}"),))

    async def audit(self, handeling: str) -> list[AuditRecord]:
        assert self.node is not None
        async with self.node.db.lezen() as s:
            q = select(AuditRecord).where(AuditRecord.handeling == handeling).order_by(AuditRecord.seq)
            return list((await s.execute(q)).scalars())

    async def matches(self) -> list[MatchRij]:
        assert self.node is not None
        async with self.node.db.lezen() as s:
            return list((await s.execute(select(MatchRij).order_by(MatchRij.aangemaakt_op))).scalars())


@dataclass
class Federatie:
    regios: dict[str, Regio]
    url: str
    beheerder: str
    spion: Client | None = None
    verkeer: list[tuple[str, bytes, dict[str, str]]] = field(default_factory=list)

    def __getitem__(self, code: str) -> Regio:
        return self.regios[code]

    async def start(self, code: str) -> None:
        r = self.regios[code]
        node = Node(configuratie.laad(r.cfg_pad, env={}))
        await node.start()
        r.node = node
        assert node.casusregister is not None
        r.kanaal = grpc.aio.insecure_channel(f"127.0.0.1:{node.casusregister.grpc.port}")

    async def stop(self, code: str) -> None:
        r = self.regios[code]
        if r.kanaal is not None:
            await r.kanaal.close()
        if r.node is not None:
            await r.node.stop(grace=1)
        r.node, r.kanaal = None, None

    async def wacht(self, voorwaarde: Callable[[], object], timeout: float = 20) -> None:
        """Wait for an eventually consistent condition across regions (bounded)."""
        async with asyncio.timeout(timeout):
            # Polling is the point: the condition spans processes and NATS, no local event exists.
            while not await voorwaarde():  # type: ignore[misc]  # noqa: ASYNC110
                await asyncio.sleep(0.05)

    async def rustig(self, timeout: float = 20) -> None:
        """Wait until every running region has processed every signal and treffer published so far."""

        async def klaar() -> bool:
            for r in self.regios.values():
                if r.node is None:
                    continue
                js = r.node.nc.jetstream()
                assert r.node.casusregister is not None
                if await r.node.casusregister.relay.achterstand():
                    return False
                for stroom, durable in (
                    (SIGNALEN, r.code),
                    (f"TREFFER_{r.code.upper()}", r.code),
                    (f"REGIO_{r.code.upper()}", "signalering"),
                ):
                    try:
                        info = await js.consumer_info(stroom, durable)
                    except Exception:
                        return False
                    if info.num_pending or info.num_ack_pending:
                        return False
            return True

        await self.wacht(klaar, timeout)


async def maak(tmp: Path, nats_url: str, n: int = 3, t: int = 2, federatie_extra: str = "") -> Federatie:
    """``federatie_extra``: more ``[federatie]`` settings (TOML lines) for every region."""
    codes = CODES[:n]
    sleutels = {c: RegioSleutels.nieuw() for c in codes}
    beheerder = Ondertekensleutel.nieuw()
    (tmp / "federatie.reg").write_bytes(ceremonie([deelnemer(c, sleutels[c]) for c in codes], t, beheerder))
    schrijf_tokens(tmp / "tokens.toml")
    regios = {}
    for c in codes:
        sleutels[c].schrijf(tmp / "sleutels" / c)
        pad = tmp / f"{c}.toml"
        pad.write_text(
            f'regio = "{c}"\ndata_dir = "data/{c}"\n[nats]\nurl = "{nats_url}"\n'
            '[auth]\ntokens = "tokens.toml"\n'
            f'[casusregister]\nlisten = "127.0.0.1:0"\n[federatie]\nregister = "federatie.reg"\n'
            f'beheerder_sleutel = "{beheerder.publiek.hex()}"\nsleutels = "sleutels/{c}"\n{federatie_extra}'
        )
        cfg = configuratie.laad(pad, env={})
        cfg.data_dir.mkdir(parents=True)
        node = Node(cfg)
        await migreer(node.db)
        await node.db.close()
        regios[c] = Regio(c, pad)
    return Federatie(regios, nats_url, beheerder.publiek.hex())


@contextlib.asynccontextmanager
async def draaiend(fed: Federatie) -> AsyncIterator[Federatie]:
    """Every region started; stopped again (bounded) however the test ends."""
    from tests.conftest import begrensd

    try:
        for code in fed.regios:
            await fed.start(code)
        yield fed
    finally:
        for code in fed.regios:
            await begrensd(f"stop {code}", fed.stop(code))
