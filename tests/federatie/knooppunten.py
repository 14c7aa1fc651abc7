"""A federation you can run in tests: one nats-server and N regional nodes on loopback."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

from nats.aio.client import Client
from sqlalchemy import select

from deploy.lokaal import REGIOS, LokaleFederatie, LokaleRegio
from deploy.lokaal import maak as maak_lokaal
from gedeeld.verwerkingslog.model import AuditRecord
from gedeeld.zvh.v1 import casus_pb2 as S
from gedeeld.zvh.v1 import casus_pb2_grpc, samenwerking_pb2_grpc, vraag_pb2_grpc
from gedeeld.zvh.v1 import samenwerking_pb2 as M
from gedeeld.zvh.v1 import vraag_pb2 as V
from services.signalering.store import MatchRij
from tests.conftest import schrijf_tokens, token_van

IC = "ic-carla"
PR = "pr-anna"


def als(gebruiker: str) -> tuple[tuple[str, str]]:
    return (("authorization", f"Bearer {token_van(gebruiker)}"),)


@dataclass
class Regio(LokaleRegio):
    """A running region with the calls tests make on it."""

    @property
    def stub(self) -> casus_pb2_grpc.CasusServiceAsyncStub:
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

    def matchstub(self) -> samenwerking_pb2_grpc.MatchServiceAsyncStub:
        assert self.kanaal is not None, f"region {self.code} is not running"
        return samenwerking_pb2_grpc.MatchServiceStub(self.kanaal)

    async def casus_voor(self, req: S.AanmeldenRequest, procesregisseur: str = PR) -> S.Casus:
        """Register a casus and assign it to a procesregisseur."""
        casus = await self.aanmelden(req)
        await self.stub.Toewijzen(
            S.ToewijzenRequest(casus_id=casus.casus_id, procesregisseur=procesregisseur),
            metadata=(("authorization", f"Bearer {token_van(IC)}"),),
        )
        return casus

    async def inbox(self, gebruiker: str = PR) -> list[M.Match]:
        resp = await self.matchstub().Lijst(M.LijstRequest(), metadata=als(gebruiker))
        return list(resp.matches)

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
class Federatie(LokaleFederatie):
    spion: Client | None = None
    verkeer: list[tuple[str, bytes, dict[str, str]]] = field(default_factory=list)

    def __getitem__(self, code: str) -> Regio:
        regio = self.regios[code]
        assert isinstance(regio, Regio)
        return regio


async def maak(tmp: Path, nats_url: str, n: int = 3, t: int = 2, federatie_extra: str = "") -> Federatie:
    """``federatie_extra``: more ``[federatie]`` settings (TOML lines) for every region."""
    schrijf_tokens(tmp / "tokens.toml")
    lokaal = await maak_lokaal(
        tmp, nats_url, tmp / "tokens.toml", codes=REGIOS[:n], drempel=t, federatie_extra=federatie_extra
    )
    regios: dict[str, LokaleRegio] = {c: Regio(c, r.cfg_pad) for c, r in lokaal.regios.items()}
    return Federatie(regios, nats_url, lokaal.beheerder, t)


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
