"""A node's state on one page, for ``zvhctl status`` (served as JSON on ``/status``).

Every check has a colour: ``green`` (fine), ``amber`` (working, but something to watch: a
backlog draining, a share holder down with enough others) or ``red`` (the region is cut off
or cannot pseudonymise). The node's colour is its worst check's. Each check is bounded in
time, so a hung dependency turns a check red instead of hanging the page.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from gedeeld.nats import onderwerpen
from services.signalering.store import EigenSignaalRij

if TYPE_CHECKING:
    from services.node.opstart import Node
    from services.samenwerking.server import Samenwerking
    from services.signalering.server import Signalering

GROEN, ORANJE, ROOD = "green", "amber", "red"
_ERNST = {GROEN: 0, ORANJE: 1, ROOD: 2}
REGISTER_WAARSCHUWING = timedelta(days=30)
# Holders are pinged (no evaluation) at most this often, however often /status is asked.
DEELHOUDERS_CACHE_S = 5.0


@dataclass(frozen=True)
class Controle:
    name: str
    status: str
    detail: str


def slechtste(kleuren: list[str]) -> str:
    return max(kleuren, key=_ERNST.__getitem__, default=GROEN)


async def _begrensd(werk: Awaitable[Any], seconden: float) -> Any:
    async with asyncio.timeout(seconden):
        return await werk


class StatusVerzamelaar:
    """Builds the status document of a running ``Node``."""

    def __init__(
        self, node: Node, *, per_controle: float = 2.0, recente_fouten: Callable[[], list[Any]] | None = None
    ) -> None:
        self.node = node
        self.per_controle = per_controle
        self.gestart = time.monotonic()
        self._recente_fouten = recente_fouten or list
        self._deelhouders_cache: tuple[float, dict[str, str]] | None = None
        self.deelhouders_cache_s = DEELHOUDERS_CACHE_S

    async def verzamel(self) -> dict[str, Any]:
        node = self.node
        cfg = node.cfg
        controles: list[Controle] = [self._diensten()]
        verbonden = node.nc is not None and node.nc.is_connected
        controles.append(
            Controle("nats", GROEN, f"connected to {zonder_wachtwoord(node.nats_url)}")
            if verbonden
            else Controle("nats", ROOD, f"not connected to {zonder_wachtwoord(node.nats_url)} (reconnecting)")
        )
        stromen: list[dict[str, Any]] = []
        deelhouders: dict[str, str] = {}
        achterstand = await self._achterstand()
        if verbonden:
            stromen = await self._stromen()
            controles.append(self._stroom_controle(stromen))
        if node.signalering is not None:
            if verbonden:
                controles.append(await self._hub(node.signalering))
                deelhouders = await self._deelhouders(node.signalering)
                controles.append(self._deelhouder_controle(node.signalering, deelhouders))
            controles.append(self._register(node.signalering))
        controles.append(self._achterstand_controle(achterstand))
        federatie_achterstand = await self._federatie_achterstand(controles)
        doc: dict[str, Any] = {
            "regio": cfg.regio,
            "status": slechtste([c.status for c in controles]),
            "uptime_s": round(time.monotonic() - self.gestart, 1),
            "checks": [asdict(c) for c in controles],
            "streams": stromen,
            "outbox": achterstand,
            "federation_backlog": federatie_achterstand,
            "key_shares": deelhouders,
            "recent_errors": self._recente_fouten(),
        }
        if node.signalering is not None:
            f = node.signalering.ctx.federatie
            doc["registry"] = {
                "epoch": f.epoch,
                "valid_until": f.geldig_tot.isoformat(),
                "threshold": f.drempel,
                "regions": len(f.regios),
            }
        return doc

    def _diensten(self) -> Controle:
        node = self.node
        dood = [naam for naam, draait in node.diensten().items() if not draait]
        if dood:
            return Controle("services", ROOD, "not running: " + ", ".join(dood))
        return Controle("services", GROEN, "running: " + ", ".join(node.diensten()))

    async def _achterstand(self) -> dict[str, int | None]:
        node = self.node
        uit: dict[str, int | None] = {}

        async def tel(naam: str, werk: Awaitable[int]) -> None:
            try:
                uit[naam] = await _begrensd(werk, self.per_controle)
            except Exception:
                uit[naam] = None

        taken = []  # uit is filled in this order, whatever order the counts finish in
        for naam, dienst in (
            ("casusregister", node.casusregister),
            ("signalering", node.signalering),
            ("samenwerking", node.samenwerking),
        ):
            if dienst is not None:
                uit[naam] = None
        if node.casusregister is not None:
            taken.append(tel("casusregister", node.casusregister.relay.achterstand()))
        if node.signalering is not None:
            taken.append(tel("signalering", self._open_signalen()))
        if node.samenwerking is not None:
            taken.append(tel("samenwerking", self._open_overleg(node.samenwerking)))
        await asyncio.gather(*taken)
        return uit

    async def _federatie_achterstand(self, controles: list[Controle]) -> dict[str, int | None]:
        """The region's own unprocessed changes (outbox + signalering's pending case events) against
        the bound past which Aanmelden is refused; a check of its own when over the bound."""
        if self.node.casusregister is None:
            return {}
        meter = self.node.casusregister.achterstand
        try:
            n: int | None = await _begrensd(meter.meet(), self.per_controle)
        except Exception:
            n = None
        if n is not None and meter.grens and n > meter.grens:
            controles.append(
                Controle(
                    "backlog",
                    ORANJE,
                    f"{n} own changes wait for the federation (bound {meter.grens}): Aanmelden is refused",
                )
            )
        return {"pending": n, "bound": meter.grens}

    async def _open_signalen(self) -> int:
        async with self.node.db.lezen() as s:
            stmt = (
                select(func.count())
                .select_from(EigenSignaalRij)
                .where(EigenSignaalRij.gepubliceerd.is_(False))
            )
            signalen = int((await s.execute(stmt)).scalar_one())
        # Plus its region-local events (matches for samenwerking) not yet published.
        sg = self.node.signalering
        return signalen + (await sg.ctx.outbox.achterstand() if sg is not None else 0)

    async def _open_overleg(self, samenwerking: Samenwerking) -> int:
        return await samenwerking.outbox.achterstand()

    def _achterstand_controle(self, achterstand: dict[str, int | None]) -> Controle:
        onbekend = [k for k, v in achterstand.items() if v is None]
        if onbekend:
            return Controle("outbox", ROOD, "cannot read the backlog of " + ", ".join(onbekend))
        open_ = {k: v for k, v in achterstand.items() if v}
        if open_:
            return Controle("outbox", ORANJE, "not yet published: " + _opsomming(open_))
        return Controle("outbox", GROEN, "everything published")

    async def _stromen(self) -> list[dict[str, Any]]:
        uit = []
        for stroom, durable, js in self.node.consumenten():
            regel: dict[str, Any] = {"stream": stroom, "consumer": durable}
            try:
                info = await _begrensd(js.consumer_info(stroom, durable), self.per_controle)
                regel["pending"] = int(info.num_pending or 0)
                regel["ack_pending"] = int(info.num_ack_pending or 0)
            except Exception as exc:
                regel["error"] = type(exc).__name__
            uit.append(regel)
        return uit

    def _stroom_controle(self, stromen: list[dict[str, Any]]) -> Controle:
        fout = [f"{s['stream']}/{s['consumer']}" for s in stromen if "error" in s]
        if fout:
            return Controle("streams", ROOD, "consumer info unavailable: " + ", ".join(fout))
        lag = {f"{s['stream']}/{s['consumer']}": s["pending"] + s["ack_pending"] for s in stromen}
        open_ = {k: v for k, v in lag.items() if v}
        if open_:
            return Controle("streams", ORANJE, "lag: " + _opsomming(open_))
        return Controle("streams", GROEN, f"{len(stromen)} consumers, no lag")

    async def _hub(self, signalering: Signalering) -> Controle:
        ctx = signalering.ctx
        waar = f"JetStream domain {ctx.hub_domein!r}" if ctx.hub_domein else "the NATS server"
        try:
            await _begrensd(ctx.js.stream_info(onderwerpen.SIGNALEN), self.per_controle)
        except Exception as exc:
            return Controle("hub", ROOD, f"federation streams on {waar} unreachable ({type(exc).__name__})")
        return Controle("hub", GROEN, f"federation streams on {waar} reachable")

    async def _deelhouders(self, signalering: Signalering) -> dict[str, str]:
        """Each holder's liveness (a signed ping, no evaluation), cached for a few seconds: /status is
        unauthenticated, and asking it must cost the holders nothing that counts."""
        nu = time.monotonic()
        if self._deelhouders_cache is not None and nu - self._deelhouders_cache[0] < self.deelhouders_cache_s:
            return dict(self._deelhouders_cache[1])
        try:
            uit = dict(await _begrensd(signalering.ctx.pseudonimiseerder.peil(), self.per_controle + 1))
        except TimeoutError:
            uit = {}
        self._deelhouders_cache = (time.monotonic(), uit)
        return dict(uit)

    def _deelhouder_controle(self, signalering: Signalering, deelhouders: dict[str, str]) -> Controle:
        f = signalering.ctx.federatie
        ok = [c for c, v in deelhouders.items() if v == "ok"]
        niet = {c: v for c, v in deelhouders.items() if v != "ok"}
        detail = f"{len(ok)} of {len(f.regios)} answer (threshold {f.drempel})"
        if niet:
            detail += "; failing: " + ", ".join(f"{c} ({v})" for c, v in sorted(niet.items()))
        if len(ok) < f.drempel:
            return Controle("key_shares", ROOD, detail + ": pseudonymisation is impossible")
        return Controle("key_shares", ORANJE if niet else GROEN, detail)

    def _register(self, signalering: Signalering) -> Controle:
        f = signalering.ctx.federatie
        nu = datetime.now(UTC)
        tot = f"epoch {f.epoch}, valid until {f.geldig_tot:%Y-%m-%d}"
        if f.geldig_tot <= nu:
            return Controle("registry", ROOD, tot + ": expired, a new key ceremony is due")
        if f.geldig_tot - nu < REGISTER_WAARSCHUWING:
            return Controle("registry", ORANJE, tot + ": expires within 30 days")
        return Controle("registry", GROEN, tot)


def _opsomming(telling: dict[str, int]) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted(telling.items()))


def zonder_wachtwoord(url: str) -> str:
    schema, _, rest = url.rpartition("://")
    return f"{schema}://{rest.rpartition('@')[2]}" if schema else rest.rpartition("@")[2]
