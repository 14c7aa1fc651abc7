"""A federation on one machine: one nats-server, N regional nodes, a fresh key ceremony.

For ``make demo``, for trying the system out, and for the end-to-end tests. All
nodes run in this process on SQLite; each is a complete ``Node`` with its own
configuration file, keys, database and gRPC port, exactly as ``zvh-node`` runs it.
The nats-server here is open (no per-region users): the operator setup with TLS,
credentials and leaf nodes is in docs/ and deploy/.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import grpc

from gedeeld import config as configuratie
from gedeeld import migraties
from gedeeld.crypto.handtekening import Ondertekensleutel
from gedeeld.federatie import Deelnemer, ceremonie
from gedeeld.federatie.sleutels import RegioSleutels
from gedeeld.fouten import ConfigError
from services.node.opstart import COMPONENTEN, Node

REGIOS = ["wvv", "arnhem", "haaglanden", "ijsselland", "zeeland", "fryslan", "drenthe"]


def contact(code: str) -> str:
    return f"procesregie@{code}.zvh.invalid"


@dataclass
class LokaleRegio:
    code: str
    cfg_pad: Path
    node: Node | None = None
    kanaal: grpc.aio.Channel | None = None

    @property
    def draait(self) -> bool:
        return self.node is not None


@dataclass
class LokaleFederatie:
    regios: dict[str, LokaleRegio]
    url: str
    beheerder: str  # hex of the registry beheerder's public key
    drempel: int
    extra: dict[str, object] = field(default_factory=dict)

    async def start(self, code: str) -> None:
        r = self.regios[code]
        node = Node(configuratie.laad(r.cfg_pad, env={}))
        await node.start()
        r.node = node
        if node.casusregister is None:
            raise ConfigError("diensten", f"region {code} of the local federation runs no casusregister")
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
                if r.node.samenwerking is not None and await r.node.samenwerking.outbox.achterstand():
                    return False
                if r.node.signalering is not None and await r.node.signalering.ctx.outbox.achterstand():
                    return False
                # A region without casusregister has no outbox, so no backlog to wait for.
                if r.node.casusregister is not None and await r.node.casusregister.relay.achterstand():
                    return False
                for stroom, durable, js in r.node.consumenten():
                    try:
                        info = await js.consumer_info(stroom, durable)
                    except Exception:
                        return False
                    if info.num_pending or info.num_ack_pending:
                        return False
            return True

        await self.wacht(klaar, timeout)


# [federatie] lines that switch the holders' daily cap and ratio check off: for benchmarks, which
# pseudonymise far more in minutes than a region does in a month (docs/crypto.md).
ZONDER_PLAFOND = "oprf_dagplafond = 0\noprf_verhouding = 0\n"


def schrijf(
    map_: Path, nats_url: str, tokens: Path, codes: Sequence[str], drempel: int, federatie_extra: str = ""
) -> tuple[dict[str, Path], str]:
    """Keys per region, a ceremony, and a configuration file per region; returns them and the beheerder."""
    sleutels = {c: RegioSleutels.nieuw() for c in codes}
    beheerder = Ondertekensleutel.nieuw()
    deelnemers = [
        Deelnemer(c, f"Zorg- en Veiligheidshuis {c}", s.ondertekening.publiek, s.hpke.publiek, contact(c))
        for c, s in sleutels.items()
    ]
    (map_ / "federatie.reg").write_bytes(ceremonie(deelnemers, drempel, beheerder))
    paden = {}
    for c in codes:
        sleutels[c].schrijf(map_ / "sleutels" / c)
        paden[c] = pad = map_ / f"{c}.toml"
        pad.write_text(
            f'regio = "{c}"\ndata_dir = "data/{c}"\n'
            f'[nats]\nurl = "{nats_url}"\n'
            f'[auth]\ntokens = "{os.path.relpath(tokens, map_)}"\n'
            '[casusregister]\nlisten = "127.0.0.1:0"\n'
            '[federatie]\nregister = "federatie.reg"\n'
            f'beheerder_sleutel = "{beheerder.publiek.hex()}"\nsleutels = "sleutels/{c}"\n'
            f"{federatie_extra}"
        )
        (map_ / "data" / c).mkdir(parents=True)
    return paden, beheerder.publiek.hex()


async def maak(
    map_: Path,
    nats_url: str,
    tokens: Path,
    *,
    codes: Sequence[str] = REGIOS[:3],
    drempel: int = 2,
    federatie_extra: str = "",
) -> LokaleFederatie:
    """A federation written by ``schrijf`` with migrated databases (not started).

    ``tokens`` is the users' token file all regions share here; ``federatie_extra``
    adds ``[federatie]`` settings (TOML lines) to every region.
    """
    paden, beheerder = await asyncio.to_thread(
        schrijf, map_, nats_url, tokens, codes, drempel, federatie_extra
    )
    for pad in paden.values():
        node = Node(configuratie.laad(pad, env={}))
        for component in COMPONENTEN:
            await migraties.upgrade(node.db, component)
        await node.db.close()
    return LokaleFederatie({c: LokaleRegio(c, p) for c, p in paden.items()}, nats_url, beheerder, drempel)
