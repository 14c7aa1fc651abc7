"""Wiring of signalering: three durable consumers and the renewal of signals."""

from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import timedelta

from google.protobuf.message import DecodeError
from nats.aio.client import Client
from nats.aio.msg import Msg
from sqlalchemy import select, update

from gedeeld.beheer.tracing import TraceContext, from_headers
from gedeeld.config import NodeConfig
from gedeeld.db import Database
from gedeeld.federatie import Federatie, laad
from gedeeld.federatie.onboarding import OnboardingFout, lees_onboarding
from gedeeld.federatie.pseudonimiseerder import Pseudonimiseerder
from gedeeld.federatie.sleutels import RegioSleutels
from gedeeld.federatie.snelheidslimiet import Limiet
from gedeeld.fouten import ConfigError
from gedeeld.klok import Klok
from gedeeld.nats.jetstream import Uitkomst
from gedeeld.taken import stop_taken
from gedeeld.zvh.v1 import gebeurtenis_pb2
from services.signalering.context import Activiteiten, Context, zorg_voor_federatiestromen
from services.signalering.inkomend import Inkomend
from services.signalering.store import EigenSignaalRij, meld_oude_referenties
from services.signalering.uitgaand import Uitgaand
from services.signalering.vraag import Beantwoorder, Vrager

log = logging.getLogger("zvh.signalering")

VERNIEUW_VOOR = timedelta(days=30)


class Signalering:
    def __init__(self, ctx: Context, nc: Client, vraag_limiet: Limiet) -> None:
        self.ctx = ctx
        self.uitgaand = Uitgaand(ctx)
        self.inkomend = Inkomend(ctx)
        self.vrager = Vrager(ctx, nc)
        self.beantwoorder = Beantwoorder(ctx, nc, vraag_limiet)
        self.lezers = [
            # A backlog (onboarding, bursts) shares OPRF requests and transactions.
            ctx.regiolezer("casus", "signalering", batch_handler=self._gebeurtenissen),
            # A backlog of other regions' signals is looked up and recorded in one transaction.
            ctx.federatielezer("signaal", batch_handler=self.inkomend.bij_signalen),
            ctx.federatielezer("treffer", self.inkomend.bij_treffer),
        ]
        self._taken: list[asyncio.Task[None]] = []

    async def _gebeurtenissen(self, berichten: list[Msg]) -> list[Uitkomst]:
        leesbaar: list[tuple[gebeurtenis_pb2.CasusGebeurtenis, TraceContext]] = []
        onleesbaar: set[int] = set()
        for i, msg in enumerate(berichten):
            try:
                leesbaar.append(
                    (gebeurtenis_pb2.CasusGebeurtenis.FromString(msg.data), from_headers(msg.headers))
                )
            except DecodeError:
                onleesbaar.add(i)
        uitkomsten = iter(await self.uitgaand.bij_gebeurtenissen(leesbaar))
        return [Uitkomst.WEIGER if i in onleesbaar else next(uitkomsten) for i in range(len(berichten))]

    async def vernieuw(self) -> int:
        """Give still-active signals that expire within 30 days a new id and expiry, and publish them."""
        ctx = self.ctx
        nu = ctx.klok.nu()
        async with ctx.db.transaction() as s:
            rijen = list(
                (
                    await s.execute(
                        select(EigenSignaalRij).where(
                            EigenSignaalRij.ingetrokken.is_(False),
                            EigenSignaalRij.verloopt_op < nu + VERNIEUW_VOOR,
                        )
                    )
                ).scalars()
            )
            for r in rijen:
                await s.execute(
                    update(EigenSignaalRij)
                    .where(EigenSignaalRij.referentie == r.referentie)
                    .values(signaal_id=str(uuid.uuid4()), verloopt_op=nu + ctx.geldigheid, gepubliceerd=False)
                )
        await self.uitgaand.publiceer_open()
        return len(rijen)

    async def _periodiek(self) -> None:
        while True:
            try:
                await self.uitgaand.publiceer_open()
                await self.vernieuw()
                if self.ctx.vorige is not None:  # the operators' cue to end the old epoch
                    log.info(
                        "key epochs served",
                        extra={
                            "epochs": sorted(self.ctx.pseudonimiseerders),
                            "zonder_nieuwste_epoch": await self.uitgaand.ruim_epochs_op(),
                        },
                    )
            except Exception as exc:
                log.warning("signal upkeep failed", extra={"error": type(exc).__name__})
            await asyncio.sleep(3600)

    @property
    def draait(self) -> bool:
        """Started, and none of its background tasks has ended."""
        return bool(self._taken) and not any(t.done() for t in self._taken)

    async def start(self) -> None:
        open_ = await self.uitgaand.ruim_epochs_op()
        log.info(
            "key epochs served",
            extra={"epochs": sorted(self.ctx.pseudonimiseerders), "zonder_nieuwste_epoch": open_},
        )
        await zorg_voor_federatiestromen(self.ctx)
        gemeld = await meld_oude_referenties(self.ctx)
        if gemeld:
            log.info("references from before SignaalReferentie announced", extra={"referenties": gemeld})
        await self.beantwoorder.start()
        self._taken = [asyncio.create_task(lezer.draai()) for lezer in self.lezers]
        self._taken.append(asyncio.create_task(self._periodiek()))
        self._taken.append(asyncio.create_task(self.ctx.outbox.draai(), name="signalering-outbox"))

    async def stop(self) -> None:
        await self.beantwoorder.stop()
        await stop_taken(self._taken)
        # No last drain of the outbox: samenwerking (in this process) stops next, and an event
        # delivered to its consumer as it stops would wait out the ack wait (30 s); pending
        # events are published at the next start.


def _onboarding(cfg: NodeConfig, federatie: Federatie) -> bytes | None:
    """This region's signed onboarding window, checked now so a wrong file stops the node with its name."""
    if cfg.federatie is None or cfg.federatie.onboarding is None:
        return None
    data = cfg.federatie.onboarding.read_bytes()
    try:
        venster = lees_onboarding(data, federatie.beheerder_sleutel)
    except OnboardingFout as exc:
        raise ConfigError("federatie.onboarding", exc.message) from None
    if venster.regio != cfg.regio:
        raise ConfigError(
            "federatie.onboarding", f"the window is for region {venster.regio}, not {cfg.regio}"
        )
    log.info(
        "onboarding window attached to OPRF requests",
        extra={"extra": venster.extra, "van": venster.van.isoformat(), "tot": venster.tot.isoformat()},
    )
    return data


def bouw_signalering(cfg: NodeConfig, db: Database, nc: Client, klok: Klok | None = None) -> Signalering:
    """Build (not start): the node adds the VraagService to its gRPC server before it serves."""
    if cfg.federatie is None:
        raise ConfigError("federatie", "signalering needs the [federatie] section")
    sleutels = RegioSleutels.lees(cfg.federatie.sleutels)
    federatie = laad(cfg.federatie.register, cfg.federatie.beheerder_sleutel)
    onboarding = _onboarding(cfg, federatie)
    ctx = Context.uit_config(
        cfg,
        db,
        nc,
        klok,
        federatie=federatie,
        sleutels=sleutels,
        pseudonimiseerder=Pseudonimiseerder(
            nc,
            cfg.regio,
            federatie,
            sleutels.ondertekening,
            # The beheerder's signed onboarding window, read at start; holders check it.
            onboarding=onboarding,
        ),
        activiteiten=Activiteiten.standaard(cfg.regio),
        contact=federatie.regio(cfg.regio).contact,
    )
    if cfg.federatie.vorig_register is not None:  # two epochs side by side while keys switch
        oud = laad(cfg.federatie.vorig_register, cfg.federatie.beheerder_sleutel)
        ctx.vorige = (
            oud,
            Pseudonimiseerder(nc, cfg.regio, oud, sleutels.ondertekening, onboarding=onboarding),
        )
    limiet = Limiet(cfg.federatie.vraag_per_minuut / 60, cfg.federatie.vraag_burst)
    return Signalering(ctx, nc, limiet)
