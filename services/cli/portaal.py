"""``zvhctl portaal gebruiker …``: the portal's accounts and roles.

Changes go to the portal's user file (``[portaal] gebruikers``) and count at once
in the running node and portal (both reload the file when it changes): a new
user can log in, a blocked or removed one is logged out at their next click.
A new account gets a random password and a TOTP secret, printed once.
"""

from __future__ import annotations

import argparse
import dataclasses
import secrets
import sys

from gedeeld.config import NodeConfig
from gedeeld.fouten import ConfigError
from gedeeld.grpc.authenticatie import Rol
from services.portaal import gebruikers as G

ROLLEN = [r.value for r in Rol if r != Rol.PORTAAL]


def voeg_toe(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    portaal = sub.add_parser("portaal", help="the web portal's users").add_subparsers(
        dest="sub", required=True
    )
    g = portaal.add_parser("gebruiker", help="add, change, block or remove a portal user")
    acties = g.add_subparsers(dest="actie", required=True)
    toe = acties.add_parser("toevoegen", help="a new user; prints the password and TOTP secret once")
    toe.add_argument("id")
    toe.add_argument("rol", choices=ROLLEN)
    toe.add_argument("--naam", default="")
    toe.add_argument("--email", default="", help="for notifications of new matches")
    toe.add_argument("--oidc-sub", default="", help="subject at the region's identity provider")
    toe.add_argument("--alleen-oidc", action="store_true", help="no local password (OIDC login only)")
    acties.add_parser("lijst", help="users, roles and whether they are blocked")
    rol = acties.add_parser("rol", help="change a user's role")
    rol.add_argument("id")
    rol.add_argument("rol", choices=ROLLEN)
    for naam, uitleg in (
        ("blokkeer", "block a user (logged out at once)"),
        ("deblokkeer", "lift a block"),
        ("verwijder", "remove a user"),
        ("wachtwoord", "a new random password and TOTP secret, printed once"),
    ):
        acties.add_parser(naam, help=uitleg).add_argument("id")


def uitvoeren(cfg: NodeConfig, ns: argparse.Namespace) -> int:
    if cfg.portaal is None:
        raise ConfigError("portaal", "this node has no [portaal] section")
    pad = cfg.portaal.gebruikers
    alle = G.lees(pad)
    if ns.actie == "lijst":
        for u in alle.values():
            status = " (geblokkeerd)" if u.geblokkeerd else ""
            inlog = ", ".join(
                x for x in ("wachtwoord+totp" if u.wachtwoord else "", "oidc" if u.oidc_sub else "") if x
            )
            print(f"{u.id}\t{u.rol.value}\t{u.naam}\t{u.email or '-'}\t{inlog or 'geen'}{status}")
        return 0
    bestaand = alle.get(ns.id)
    if ns.actie == "toevoegen":
        if bestaand is not None:
            print(f"zvhctl: gebruiker {ns.id} bestaat al", file=sys.stderr)
            return 1
        nieuw = G.Gebruiker(
            id=ns.id, naam=ns.naam or ns.id, rol=Rol(ns.rol), email=ns.email, oidc_sub=ns.oidc_sub
        )
        if not ns.alleen_oidc:
            nieuw, wachtwoord = _nieuwe_inlog(nieuw)
            _toon(nieuw, wachtwoord, cfg.regio)
        alle[ns.id] = nieuw
        G.schrijf(pad, alle)
        return 0
    if bestaand is None:
        print(f"zvhctl: gebruiker {ns.id} bestaat niet", file=sys.stderr)
        return 1
    if ns.actie == "verwijder":
        del alle[ns.id]
    elif ns.actie == "rol":
        alle[ns.id] = dataclasses.replace(bestaand, rol=Rol(ns.rol))
    elif ns.actie in ("blokkeer", "deblokkeer"):
        alle[ns.id] = dataclasses.replace(bestaand, geblokkeerd=ns.actie == "blokkeer")
    elif ns.actie == "wachtwoord":
        alle[ns.id], wachtwoord = _nieuwe_inlog(bestaand)
        _toon(alle[ns.id], wachtwoord, cfg.regio)
    G.schrijf(pad, alle)
    return 0


def _nieuwe_inlog(g: G.Gebruiker) -> tuple[G.Gebruiker, str]:
    wachtwoord = secrets.token_urlsafe(15)
    return dataclasses.replace(
        g, wachtwoord=G.hash_wachtwoord(wachtwoord), totp=G.nieuw_totp_geheim()
    ), wachtwoord


def _toon(g: G.Gebruiker, wachtwoord: str, regio: str) -> None:
    print(f"gebruiker:  {g.id}")
    print(f"wachtwoord: {wachtwoord}")
    print(f"totp:       {g.totp}")
    print(f"totp-uri:   {G.totp_uri(g, regio)}")
