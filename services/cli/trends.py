"""The trend radar on the command line.

Operators (``zvhctl``, English):

    zvhctl trends publiceren --periode 2026-11 [--vervang]   release a month (or re-publish it)
    zvhctl trends budget [--jaar 2026]                        the privacy ledger

Users (``zvh``, Dutch): ``zvh trends [--van 2026-01] [--tot 2026-11] [--regio R] [--maat M --per thema]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from collections import defaultdict
from datetime import UTC, datetime

import nats
import nats.errors
from nats.aio.client import Client
from nats.js.errors import NoStreamResponseError

from gedeeld.config import NodeConfig
from gedeeld.db import Database
from gedeeld.federatie.sleutels import RegioSleutels
from gedeeld.fouten import ConfigError, ZvhError
from gedeeld.nats.hubconfig import inbox_prefix
from gedeeld.pki.tls import nats_tls_context
from gedeeld.zvh.v1 import casus_pb2 as S
from gedeeld.zvh.v1 import trend_pb2 as T
from services.trendradar.tellen import Periode

# -- zvhctl -------------------------------------------------------------------------------------


def voeg_toe(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    t = sub.add_parser("trends", help="the trend radar: release a month, show the privacy ledger")
    tsub = t.add_subparsers(dest="sub", required=True)
    p = tsub.add_parser("publiceren", help="release a month's protected counts on zvh.trend.<regio>")
    p.add_argument("--periode", required=True, help="the month, e.g. 2026-11 (must be over)")
    p.add_argument(
        "--vervang",
        action="store_true",
        help="draw a new version on the current data (spends epsilon again); default: re-publish",
    )
    p.add_argument("--nats", help="NATS URL (default: nats.url, or the running embedded server)")
    b = tsub.add_parser("budget", help="epsilon spent per year, and every release in the ledger")
    b.add_argument("--jaar", type=int, help="only this year")


def nats_url(cfg: NodeConfig, gegeven: str | None) -> str:
    if gegeven:
        return gegeven
    if cfg.nats.url:
        return cfg.nats.url
    # The embedded server reports its port in a ports file while the node runs.
    for f in sorted((cfg.data_dir / "nats" / "ports").glob("*.ports")):
        try:
            return str(json.loads(f.read_text())["nats"][0])
        except (OSError, ValueError, KeyError, IndexError):
            continue
    raise ConfigError("nats.url", "is empty and no embedded nats-server is running: start the node first")


async def _verbind(cfg: NodeConfig, url: str) -> Client:
    extra: dict[str, object] = {}
    if cfg.nats.gebruiker:
        extra = {"user": cfg.nats.gebruiker, "password": cfg.nats.wachtwoord}
    if cfg.nats.tls is not None:
        extra["tls"] = nats_tls_context(cfg.nats.tls)
    # A one-shot command: fail fast instead of reconnecting for ever as the node does.
    return await nats.connect(
        url,
        name=f"zvhctl-trends-{cfg.regio}",
        connect_timeout=5,
        allow_reconnect=False,
        inbox_prefix=inbox_prefix(cfg.regio),
        **extra,
    )


async def publiceren(cfg: NodeConfig, periode_tekst: str, vervang: bool, url: str | None) -> int:
    if cfg.federatie is None:
        raise ConfigError(
            "federatie.register", "trend releases are signed with the region's key: needs [federatie]"
        )
    # Imported here: OpenDP's native library has no business slowing down every other zvhctl command.
    from services.trendradar.publiceren import Publiceerder, publiceer

    periode = Periode.lees(periode_tekst)
    sleutel = RegioSleutels.lees(cfg.federatie.sleutels).ondertekening
    db = Database(cfg.database_url)
    try:
        publicatie = await Publiceerder(db, cfg.regio, sleutel, cfg.trends).maak(
            periode, datetime.now(UTC), vervang=vervang
        )
    except ZvhError as exc:
        print(f"zvhctl: {exc.message}")
        return 1
    finally:
        await db.close()
    r = publicatie.release
    onderdrukt = sum(1 for c in r.cellen if c.onderdrukt)
    if publicatie.herhaald:
        print(f"{r.release_id} version {r.versie} was released before: re-publishing it (no budget spent)")
    else:
        print(
            f"{r.release_id} version {r.versie} recorded: epsilon {r.epsilon:g} spent, "
            f"{r.epsilon_jaar_besteed:g} of {r.epsilon_jaarbudget:g} for {periode.jaar}; "
            f"{len(r.cellen)} cells, {onderdrukt} withheld, 95% margin ±{r.foutmarge_95:g} per cell"
        )
    try:
        nc = await _verbind(cfg, nats_url(cfg, url))
        try:
            nieuw = await publiceer(nc.jetstream(domain=cfg.nats.hub_domein or None), publicatie)
        finally:
            await nc.close()
    except (OSError, nats.errors.Error, NoStreamResponseError) as exc:
        print(
            f"zvhctl: recorded but not published ({type(exc).__name__}); run the same command again "
            "to publish it (that spends no budget)"
        )
        return 1
    print(f"published on zvh.trend.{cfg.regio}" + ("" if nieuw else " (JetStream already had it)"))
    return 0


async def budget(cfg: NodeConfig, jaar: int | None) -> int:
    from services.trendradar.publiceren import grootboek

    db = Database(cfg.database_url)
    try:
        rijen = await grootboek(db, cfg.regio)
    finally:
        await db.close()
    per_jaar: dict[int, float] = defaultdict(float)
    for r in rijen:
        per_jaar[r.jaar] += r.epsilon
    jaren = sorted({jaar} if jaar is not None else set(per_jaar))
    if not jaren:
        print(f"no trend releases yet; yearly budget {cfg.trends.epsilon_per_jaar:g} epsilon")
    for j in jaren:
        print(f"{j}: {per_jaar[j]:g} of {cfg.trends.epsilon_per_jaar:g} epsilon spent")
        for r in rijen:
            if r.jaar == j:
                print(
                    f"  {r.periode} version {r.versie}  epsilon {r.epsilon:g}  "
                    f"{r.aangemaakt_op:%Y-%m-%d %H:%M} UTC"
                )
    return 0


def uitvoeren(cfg: NodeConfig, ns: argparse.Namespace) -> int:
    if ns.sub == "publiceren":
        return asyncio.run(publiceren(cfg, ns.periode, ns.vervang, ns.nats))
    return asyncio.run(budget(cfg, ns.jaar))


# -- zvh ----------------------------------------------------------------------------------------

MATEN = {
    "nieuw": T.TREND_MAAT_NIEUW,
    "afgesloten": T.TREND_MAAT_AFGESLOTEN,
    "match_zeker": T.TREND_MAAT_MATCH_ZEKER,
    "match_waarschijnlijk": T.TREND_MAAT_MATCH_WAARSCHIJNLIJK,
    "samenwerking": T.TREND_MAAT_SAMENWERKING,
}
KOPPEN = {
    T.TREND_MAAT_NIEUW: "nieuw",
    T.TREND_MAAT_AFGESLOTEN: "afgesloten",
    T.TREND_MAAT_MATCH_ZEKER: "match zeker",
    T.TREND_MAAT_MATCH_WAARSCHIJNLIJK: "match waarsch.",
    T.TREND_MAAT_SAMENWERKING: "samenwerking",
}


def zvh_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    t = sub.add_parser("trends", help="trends over de regio's (beschermde aantallen per maand)")
    t.add_argument("--van", help="eerste maand, bv. 2026-01 (standaard: 12 maanden terug)")
    t.add_argument("--tot", help="laatste maand (standaard: de laatst gepubliceerde)")
    t.add_argument("--regio", help="één regio in plaats van het landelijk beeld")
    t.add_argument("--maat", choices=list(MATEN), help="één maat, uitgesplitst (met --per)")
    t.add_argument("--per", choices=["thema", "orientatie"], default="thema")


def _cel(p: T.TrendPunt) -> str:
    if p.regio and p.onderdrukt:
        return "<drempel"
    ster = "*" if p.onderdrukt else ""
    return f"{p.waarde:.0f}±{p.foutmarge:.0f}{ster}"


def _tabel(koppen: list[str], rijen: list[list[str]]) -> str:
    breedte = [max(len(k), *(len(r[i]) for r in rijen)) for i, k in enumerate(koppen)]
    regels = ["  ".join(k.ljust(b) for k, b in zip(koppen, breedte, strict=True))]
    regels += ["  ".join(c.ljust(b) for c, b in zip(r, breedte, strict=True)) for r in rijen]
    return "\n".join(regels)


def toon_overzicht(
    resp: T.OverzichtResponse, regio: str = "", maat: str | None = None, per: str = "thema"
) -> str:
    if not resp.punten:
        return "Nog geen trends gepubliceerd."
    punten = [p for p in resp.punten if p.regio == regio]
    if not punten:
        return f"Geen trends van regio {regio}."
    maanden = sorted({p.periode for p in punten})
    index: dict[tuple[str, int, int, int, int], T.TrendPunt] = {
        (p.periode, int(p.maat), int(p.thema), int(p.orientatie), p.duur_klasse): p for p in punten
    }
    regios: dict[str, set[str]] = defaultdict(set)
    for b in resp.bronnen:
        regios[b.periode].add(b.regio)
    kop = f"Regio {regio}" if regio else "Landelijk"
    uitleg = "waarde ± 95%-marge (ruis van differential privacy)"
    if not regio:
        uitleg += "; * = in een of meer regio's onder de drempel (als 0 geteld, marge verruimd)"
    else:
        uitleg += "; <drempel = te klein om te tonen"
    if maat is None:
        koppen = ["maand", *KOPPEN.values(), "mediaan dagen tot samenwerking"]
        if not regio:
            koppen.insert(1, "regio's")
        medianen = {(m.periode, m.regio): m for m in resp.medianen}
        rijen = []
        for maand in maanden:
            rij = [maand]
            if not regio:
                rij.append(str(len(regios[maand])))
            rij += [_cel(index[(maand, m, 0, 0, 0)]) if (maand, m, 0, 0, 0) in index else "-" for m in KOPPEN]
            md = medianen.get((maand, regio))
            rij.append(f"{md.dagen:.0f}" if md is not None and md.bekend else "-")
            rijen.append(rij)
        return f"{kop}: {uitleg}\n" + _tabel(koppen, rijen)
    m = int(MATEN[maat])
    sleutel: list[tuple[int, int, int, int]]
    if per == "thema":
        themas = [int(v) for v in S.Thema.values() if v]
        namen = [S.Thema.Name(v).removeprefix("THEMA_").lower() for v in S.Thema.values() if v]
        sleutel = [(m, v, 0, 0) for v in themas]
    else:
        orientaties = [int(v) for v in S.Orientatie.values() if v]
        namen = [S.Orientatie.Name(v).removeprefix("ORIENTATIE_").lower() for v in S.Orientatie.values() if v]
        sleutel = [(m, 0, v, 0) for v in orientaties]
    rijen = [
        [maand, *(_cel(index[(maand, *s)]) if (maand, *s) in index else "-" for s in sleutel)]
        for maand in maanden
    ]
    return f"{kop}, {maat} per {per}: {uitleg}\n" + _tabel(["maand", *namen], rijen)


def overzicht_verzoek(ns: argparse.Namespace) -> T.OverzichtRequest:
    return T.OverzichtRequest(periode_van=ns.van or "", periode_tot=ns.tot or "")
