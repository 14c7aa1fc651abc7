"""OPRF throughput, measured side by side in one run (``make bench``).

Figures: the bare cost of one ristretto255 scalar multiplication (libsodium via
rbcl), single-key RFC 9497 OPRF tokens/s (blind + evaluate + finalize), threshold
tokens/s in-process (t of n holders evaluate with a batched DLEQ proof; the client
verifies every proof, combines with Lagrange coefficients, unblinds, finalizes),
and threshold tokens/s through real share holders over a local nats-server.
Each token's cost is also given in scalar multiplications.

Side by side: the current path and the previous one (``ZVH_OPRF_PAD=vorig``: the client checks
the proof of every answer it gets, also the spare's, and unblinds separately; holders recompute
their commitment; crypto on the event loop). The exact count of scalar multiplications of one
5-key registration (t=3 of n=5, t+1 holders asked), client and holders, is counted, not timed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import platform
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import rbcl

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from gedeeld.crypto.drempel import Verzoek, evalueer_deel
from gedeeld.crypto.groep import TELLER, Scalar
from gedeeld.crypto.oprf import evalueer, verblind, voltooi
from gedeeld.crypto.shamir import splits

T, N, BATCH = 3, 5, 64
SLEUTELS = 5  # match keys of a typical registration (one person with BSN, name and birth date)


def per_seconde(fn: Callable[[int], object], n: int, minimum: float = 1.0) -> float:
    """Run ``fn(n)`` until at least ``minimum`` seconds passed; operations per second."""
    totaal, tijd = 0, 0.0
    while tijd < minimum:
        start = time.perf_counter()
        fn(n)
        tijd += time.perf_counter() - start
        totaal += n
    return totaal / tijd


def scalar_mult(n: int) -> None:
    k, p = rbcl.crypto_core_ristretto255_scalar_random(), rbcl.crypto_core_ristretto255_random()
    for _ in range(n):
        p = rbcl.crypto_scalarmult_ristretto255(k, p)


def enkelvoudig(n: int) -> None:
    k = Scalar.willekeurig()
    for i in range(n):
        x = i.to_bytes(8, "big")
        b = verblind(x)
        voltooi(x, b.blind, evalueer(k, b.geblindeerd))


DELEN = splits(Scalar.willekeurig(), T, N)


COMMITMENTS = {d.index: d.commitment for d in DELEN}


def token_batch(invoer: list[bytes], vorig: bool, teller: dict[str, int] | None = None) -> list[bytes]:
    """One batch as the federation does it: t+1 holders asked; the client checks t proofs (now) or
    every answer's (previous path) and combines. ``teller`` gets the exact operation counts."""

    def tel(wie: str, voor: tuple[int, int, int]) -> None:
        if teller is not None:
            na = TELLER.stand()
            teller[wie + "_mult"] = teller.get(wie + "_mult", 0) + (na[0] - voor[0]) + (na[1] - voor[1])
            teller[wie + "_inv"] = teller.get(wie + "_inv", 0) + (na[2] - voor[2])

    voor = TELLER.stand()
    verzoek = Verzoek.maak(invoer)
    tel("client", voor)
    gevraagd = DELEN[: T + 1]
    voor = TELLER.stand()
    antwoorden = {
        d.index: evalueer_deel(d, verzoek.geblindeerd, None if vorig else COMMITMENTS[d.index])
        for d in gevraagd
    }
    tel("houders", voor)
    voor = TELLER.stand()
    for d in gevraagd if vorig else gevraagd[:T]:
        verzoek.controleer(antwoorden[d.index], COMMITMENTS[d.index])
    tokens = verzoek.combineer({i: antwoorden[i] for i in sorted(antwoorden)[:T]}, T, gevouwen=not vorig)
    tel("client", voor)
    return tokens


def kosten(vorig: bool) -> dict[str, int]:
    """Exact operation counts of one registration with SLEUTELS match keys."""
    teller: dict[str, int] = {}
    token_batch([b"sleutel-%d" % i for i in range(SLEUTELS)], vorig, teller)
    return teller


def drempel(n: int, vorig: bool = False) -> None:
    for start in range(0, n, BATCH):
        token_batch([i.to_bytes(8, "big") for i in range(start, min(n, start + BATCH))], vorig)


def drempel_vorig(n: int) -> None:
    drempel(n, vorig=True)


async def over_nats(n: int, vorig: bool = False) -> float:
    import os

    # Read when the holders and the client are made, below.
    os.environ["ZVH_OPRF_PAD"] = "vorig" if vorig else ""
    from gedeeld.federatie.pseudonimiseerder import Pseudonimiseerder
    from gedeeld.federatie.snelheidslimiet import Limiet
    from gedeeld.nats.server import NatsServer
    from gedeeld.nats.verbinding import verbind
    from services.sleuteldeel.server import SleuteldeelServer
    from services.sleuteldeel.service import Bescherming, Sleuteldeelhouder
    from tests.federatie.opzet import boekhouding, maak_federatie

    tf = maak_federatie(N, T)
    with tempfile.TemporaryDirectory() as tmp:
        server = NatsServer(Path(tmp))
        await server.start()
        verbindingen, servers, databases = [], [], []
        try:
            for code in tf.regios:
                nc = await verbind(server.url, code)
                verbindingen.append(nc)
                boek, db = await boekhouding(Path(tmp) / f"{code}.db")
                databases.append(db)
                houder = Sleuteldeelhouder(
                    code,
                    tf.federatie,
                    tf.deel(code),
                    tf.regios[code].ondertekening,
                    Limiet(1e9, 1e9),
                    boekhouding=boek,
                    bescherming=Bescherming(dagplafond=0, verhouding=0),  # throughput, not the caps
                )
                servers.append(SleuteldeelServer(nc, houder))
                await servers[-1].start()
            nc = await verbind(server.url, "client")
            verbindingen.append(nc)
            client = Pseudonimiseerder(
                nc, "wvv", tf.federatie, tf.regios["wvv"].ondertekening, deadline=60, per_houder=30
            )
            await client.tokens([b"warm-up"])
            start = time.perf_counter()
            await client.tokens([i.to_bytes(8, "big") for i in range(n)])
            return n / (time.perf_counter() - start)
        finally:
            for s in servers:
                await s.stop()
            for c in verbindingen:
                await c.close()
            for db in databases:
                await db.close()
            await server.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, help="merge the figures into this JSON file")
    ns = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)  # connection notices at shutdown are expected
    mult = per_seconde(scalar_mult, 2000)
    een = per_seconde(enkelvoudig, 500)
    drie = per_seconde(drempel, 256)
    drie_vorig = per_seconde(drempel_vorig, 256)
    nats = asyncio.run(over_nats(2048))
    nats_vorig = asyncio.run(over_nats(2048, vorig=True))
    rijen = [
        ("ristretto255 scalar multiplication", mult),
        ("single-key OPRF token (blind+evaluate+finalize)", een),
        (f"threshold token, in-process (t={T} of n={N}, t+1 asked, batch {BATCH})", drie),
        ("  the same, previous path", drie_vorig),
        (f"threshold token over NATS ({N} holders, t+1 asked, batch 256)", nats),
        ("  the same, previous path", nats_vorig),
    ]
    print(f"machine: {platform.processor() or platform.machine()}, Python {platform.python_version()}")
    print(f"{'figure':<66} {'per second':>12} {'cost in scalar mults':>22}")
    for naam, waarde in rijen:
        print(f"{naam:<66} {waarde:>12,.0f} {mult / waarde:>22.1f}")
    nu, vorig = kosten(False), kosten(True)
    print(
        f"\nexact count, one registration of {SLEUTELS} keys (t={T}, n={N}, t+1 asked):"
        f"\n{'':<34} {'now':>8} {'previous':>9}"
    )
    for sleutel, naam in (
        ("client_mult", "client scalar multiplications"),
        ("client_inv", "client scalar inversions (libsodium)"),
        ("houders_mult", f"holders' scalar mults (all {T + 1})"),
    ):
        print(f"{naam:<34} {nu.get(sleutel, 0):>8} {vorig.get(sleutel, 0):>9}")
    if ns.json:
        doc = json.loads(ns.json.read_text()) if ns.json.exists() else {}
        doc["oprf"] = {
            naam.strip(): {"per_second": round(w, 1), "scalar_mults": round(mult / w, 2)}
            for naam, w in rijen
            if not naam.startswith(" ")
        }
        doc["oprf"]["vorig_pad"] = {
            "in_process_per_second": round(drie_vorig, 1),
            "over_nats_per_second": round(nats_vorig, 1),
        }
        doc["oprf"]["per_registratie"] = {"sleutels": SLEUTELS, "nu": nu, "vorig": vorig}
        ns.json.write_text(json.dumps(doc, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
