"""``zvhctl federatie …``: keys, the key ceremony and the registry.

zvhctl federatie beheerder --map DIR            the beheerder's signing key; prints its public key
zvhctl federatie sleutels --map DIR             a region's key pairs; prints the public keys
zvhctl federatie init --regios regios.toml --drempel 3 --beheerder DIR/beheerder.key --uit federatie.reg
zvhctl federatie verify --register federatie.reg [--beheerder HEX]
zvhctl federatie hub-wacht --log HUBLOG [--log …] --listen ADDR   what the hub refused, per region
"""

from __future__ import annotations

import argparse
import tomllib
from datetime import timedelta
from pathlib import Path

from gedeeld.crypto.handtekening import Ondertekensleutel
from gedeeld.errors import ConfigError
from gedeeld.federatie import Deelnemer, RegisterFout, ceremonie, laad
from gedeeld.federatie.sleutels import RegioSleutels
from services.cli import hubwacht, natsconfig_cli


def voeg_toe(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    fed = sub.add_parser("federatie", help="keys, key ceremony and registry").add_subparsers(
        dest="sub", required=True
    )
    b = fed.add_parser("beheerder", help="create the beheerder's registry signing key")
    b.add_argument("--map", type=Path, required=True)
    s = fed.add_parser("sleutels", help="create a region's signing and HPKE key pairs")
    s.add_argument("--map", type=Path, required=True)
    i = fed.add_parser("init", help="run the key ceremony and write the signed registry")
    i.add_argument("--regios", type=Path, required=True, help="TOML with [[regio]] entries")
    i.add_argument("--drempel", type=int, default=3, help="threshold t (default 3)")
    i.add_argument("--beheerder", type=Path, required=True, help="the beheerder's key file")
    i.add_argument("--uit", type=Path, required=True, help="where to write federatie.reg")
    i.add_argument("--epoch", type=int, default=1)
    i.add_argument("--vorige-epoch", type=int, default=0)
    i.add_argument("--geldig-dagen", type=int, default=730)
    v = fed.add_parser("verify", help="check a registry's signature and consistency")
    v.add_argument("--register", type=Path, required=True)
    v.add_argument("--beheerder", help="expected beheerder public key (hex)")
    natsconfig_cli.voeg_toe(fed)  # nats, nats-stromen: the hub cluster and leaf nodes (docs/nats.md)
    hubwacht.voeg_toe(fed)  # hub-wacht: what the hub refused, counted per region


def _deelnemers(pad: Path) -> list[Deelnemer]:
    try:
        doc = tomllib.loads(pad.read_text())
        return [
            Deelnemer(
                code=str(r["code"]),
                naam=str(r["naam"]),
                ondertekensleutel=bytes.fromhex(r["ondertekensleutel"]),
                hpke_sleutel=bytes.fromhex(r["hpke_sleutel"]),
                contact=str(r.get("contact", "")),
                oin=str(r.get("oin", "")),
            )
            for r in doc["regio"]
        ]
    except (OSError, tomllib.TOMLDecodeError, KeyError, ValueError, TypeError) as exc:
        raise ConfigError("--regios", f"{pad}: {type(exc).__name__}: {exc}") from None


def uitvoeren(ns: argparse.Namespace) -> int:
    if ns.sub in ("nats", "nats-stromen"):
        return natsconfig_cli.uitvoeren(ns)
    if ns.sub == "hub-wacht":
        return hubwacht.uitvoeren(ns)
    if ns.sub == "beheerder":
        sleutel = Ondertekensleutel.nieuw()
        ns.map.mkdir(parents=True, exist_ok=True)
        pad = ns.map / "beheerder.key"
        if pad.exists():
            raise ConfigError("--map", f"{pad} exists; refusing to overwrite a key")
        pad.touch(mode=0o600)
        pad.write_bytes(sleutel.als_bytes())
        print(sleutel.publiek.hex())
        return 0
    if ns.sub == "sleutels":
        sleutels = RegioSleutels.nieuw()
        sleutels.schrijf(ns.map)
        print(f'ondertekensleutel = "{sleutels.ondertekening.publiek.hex()}"')
        print(f'hpke_sleutel = "{sleutels.hpke.publiek.hex()}"')
        return 0
    if ns.sub == "init":
        try:
            beheerder = Ondertekensleutel.lees(ns.beheerder.read_bytes())
        except (OSError, ValueError) as exc:
            raise ConfigError("--beheerder", f"cannot read the beheerder key: {exc}") from None
        data = ceremonie(
            _deelnemers(ns.regios),
            ns.drempel,
            beheerder,
            epoch=ns.epoch,
            vorige_epoch=ns.vorige_epoch,
            geldig=timedelta(days=ns.geldig_dagen),
        )
        ns.uit.write_bytes(data)
        print(f"wrote {ns.uit}: epoch {ns.epoch}, threshold {ns.drempel}; the key itself was not kept")
        return 0
    verwacht = bytes.fromhex(ns.beheerder) if ns.beheerder else None
    try:
        fed = laad(ns.register, verwacht)
    except RegisterFout as exc:
        print(f"INVALID: {exc.message}")
        return 1
    print(
        f"valid registry: epoch {fed.epoch}, threshold {fed.drempel} of {len(fed.regios)}, "
        f"valid until {fed.geldig_tot:%Y-%m-%d}, beheerder {fed.beheerder_sleutel.hex()}"
    )
    for r in sorted(fed.regios.values(), key=lambda r: r.index):
        print(f"  {r.index:>2} {r.code:<12} {r.naam}  <{r.contact}>")
    return 0
