"""``zvhctl``: operator commands for a region's node.

zvhctl db upgrade            apply migrations (explicit, never at start-up)
zvhctl audit verify          check the hash chains of the processing log
zvhctl bewaartermijn         remove personal data past the retention term now
zvhctl token nieuw ID ROL    add a user to the token file; prints the token once
zvhctl certs --uit DIR …     a development CA and certificates (needs no --config)
zvhctl portaal gebruiker …   the web portal's users and roles (no restart needed)
zvhctl trends publiceren --periode 2026-11   release a month's protected trend counts
zvhctl trends budget         the privacy ledger: epsilon spent per year
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import timedelta
from pathlib import Path

from gedeeld import config as configuratie
from gedeeld import migraties
from gedeeld.config import NodeConfig
from gedeeld.db import Database
from gedeeld.fouten import ConfigError
from gedeeld.grpc.authenticatie import Rol, nieuw_token, token_hash
from gedeeld.klok import SysteemKlok
from gedeeld.verwerkingslog import Verwerkingslog, verifieer
from gedeeld.verwerkingslog.keten import KETENS
from services.casusregister import bewaartermijn
from services.casusregister.casussen import Register
from services.casusregister.server import activiteiten
from services.cli import certs, federatie, portaal, status, trends
from services.node.opstart import COMPONENTEN


async def db_upgrade(cfg: NodeConfig) -> int:
    cfg.data_dir.mkdir(parents=True, exist_ok=True)
    db = Database(cfg.database_url)
    try:
        for component in COMPONENTEN:
            await migraties.upgrade(db, component)
            print(f"{component}: at {await migraties.huidige_revisie(db, component)}")
    finally:
        await db.close()
    return 0


async def audit_verify(cfg: NodeConfig) -> int:
    db = Database(cfg.database_url)
    fouten = 0
    try:
        async with db.lezen() as s:
            for keten in KETENS:
                breuk = await verifieer(s, keten)
                if breuk is None:
                    print(f"{keten}: intact")
                else:
                    fouten += 1
                    print(f"{keten}: BROKEN at row {breuk.seq}: {breuk.reden}")
    finally:
        await db.close()
    return 1 if fouten else 0


async def bewaartermijn_nu(cfg: NodeConfig) -> int:
    db = Database(cfg.database_url)
    klok = SysteemKlok()
    try:
        register = Register(
            db,
            cfg.regio,
            Verwerkingslog.uit_sleutelbestand(cfg.verwerkingslog_sleutel, klok),
            klok,
            activiteiten(cfg),
        )
        r = await bewaartermijn.uitvoeren(register, timedelta(days=cfg.casusregister.bewaartermijn_dagen))
        print(
            f"removed personal data of {r.casussen} casussen ({r.betrokkenen} betrokkenen); "
            f"{r.outbox_opgeschoond} published events purged"
        )
    finally:
        await db.close()
    return 0


def token_nieuw(cfg: NodeConfig, gebruiker: str, rol: str) -> int:
    try:
        Rol(rol)
    except ValueError:
        raise ConfigError("rol", f"must be one of {', '.join(r.value for r in Rol)}") from None
    token = nieuw_token()
    cfg.tokens.parent.mkdir(parents=True, exist_ok=True)
    with cfg.tokens.open("a") as f:
        f.write(f'\n[[gebruiker]]\nid = "{gebruiker}"\nrol = "{rol}"\ntoken_sha256 = "{token_hash(token)}"\n')
    print(token)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="zvhctl", description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, help="the region's TOML configuration")
    sub = parser.add_subparsers(dest="cmd", required=True)
    db = sub.add_parser("db").add_subparsers(dest="sub", required=True)
    db.add_parser("upgrade", help="apply all migrations")
    audit = sub.add_parser("audit").add_subparsers(dest="sub", required=True)
    audit.add_parser("verify", help="check the processing log's hash chains")
    sub.add_parser("bewaartermijn", help="apply the retention term now")
    token = sub.add_parser("token").add_subparsers(dest="sub", required=True)
    nieuw = token.add_parser("nieuw", help="add a user with a new bearer token")
    nieuw.add_argument("gebruiker")
    nieuw.add_argument("rol", choices=[r.value for r in Rol if r != Rol.PORTAAL])
    federatie.voeg_toe(sub)
    certs.voeg_toe(sub)
    status.voeg_toe(sub)
    portaal.voeg_toe(sub)
    trends.voeg_toe(sub)
    ns = parser.parse_args(argv)
    try:
        if ns.cmd == "federatie":
            return federatie.uitvoeren(ns)
        if ns.cmd == "certs":
            return certs.uitvoeren(ns)
        cfg = configuratie.laad(ns.config)
        if ns.cmd == "db":
            return asyncio.run(db_upgrade(cfg))
        if ns.cmd == "audit":
            return asyncio.run(audit_verify(cfg))
        if ns.cmd == "bewaartermijn":
            return asyncio.run(bewaartermijn_nu(cfg))
        if ns.cmd == "status":
            return status.uitvoeren(cfg, ns)
        if ns.cmd == "portaal":
            return portaal.uitvoeren(cfg, ns)
        if ns.cmd == "trends":
            return trends.uitvoeren(cfg, ns)
        return token_nieuw(cfg, ns.gebruiker, ns.rol)
    except ConfigError as exc:
        print(f"zvhctl: {exc.message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
