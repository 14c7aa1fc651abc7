"""Two regions with their portals running, and the portal users of each."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pyotp

from gedeeld.grpc.authenticatie import Rol
from services.portaal import gebruikers as G
from services.portaal.server import Portaal
from services.trendradar.publiceren import Publiceerder, publiceer
from services.trendradar.tellen import Periode
from tests.federatie import knooppunten
from tests.federatie.knooppunten import Federatie

WACHTWOORD = "correct paard batterij niet"


@dataclass(frozen=True)
class Account:
    id: str
    rol: Rol
    naam: str
    totp: str
    email: str = ""
    oidc_sub: str = ""

    def code(self) -> str:
        return pyotp.TOTP(self.totp).now()


# Per region: the portal's users (ids as the casussen name them; pr-anna in wvv, pr-bram in arnhem).
ACCOUNTS = {
    "wvv": [
        Account("pr-anna", Rol.PROCESREGISSEUR, "Anna de Vries", pyotp.random_base32(), "anna@wvv.invalid"),
        Account("ic-carla", Rol.INFORMATIECOORDINATOR, "Carla Bakker", pyotp.random_base32()),
        Account("fg-eva", Rol.FG, "Eva Mulder", pyotp.random_base32()),
    ],
    "arnhem": [
        Account("pr-bram", Rol.PROCESREGISSEUR, "Bram Jansen", pyotp.random_base32(), "bram@arnhem.invalid"),
        Account("ic-carla", Rol.INFORMATIECOORDINATOR, "Carla Smit", pyotp.random_base32()),
    ],
}
_HASH = G.hash_wachtwoord(WACHTWOORD)


def account(regio: str, gebruiker: str) -> Account:
    return next(a for a in ACCOUNTS[regio] if a.id == gebruiker)


def schrijf_gebruikers(pad: Path, regio: str) -> None:
    G.schrijf(
        pad,
        {a.id: G.Gebruiker(a.id, a.naam, a.rol, a.email, _HASH, a.totp, a.oidc_sub) for a in ACCOUNTS[regio]},
    )


def portaal(fed: Federatie, regio: str) -> Portaal:
    node = fed[regio].node
    assert node is not None and node.portaal is not None
    return node.portaal


@contextlib.asynccontextmanager
async def met_portalen(
    tmp: Path, nats_url: str, *, cookie_secure: bool = False, extra: dict[str, str] | None = None
) -> AsyncIterator[Federatie]:
    """wvv and arnhem (t = 2), each with ``[portaal]`` on a free port; ``extra``: more
    ``[portaal]`` lines per region."""
    fed = await knooppunten.maak(tmp, nats_url, n=2, t=2)
    for code, regio in fed.regios.items():
        gebruikers = tmp / "data" / code / "portaal-gebruikers.toml"
        schrijf_gebruikers(gebruikers, code)
        with regio.cfg_pad.open("a") as f:
            f.write(
                f'\n[portaal]\nlisten = "127.0.0.1:0"\ngebruikers = "{gebruikers}"\n'
                f"cookie_secure = {'true' if cookie_secure else 'false'}\n" + (extra or {}).get(code, "")
            )
    async with knooppunten.draaiend(fed):
        yield fed


async def geef_trends_vrij(fed: Federatie, regio: str, periode: str = "2026-10") -> None:
    """``regio`` releases a past month's protected counts, as `zvhctl trends publiceren` does."""
    node = fed[regio].node
    assert node is not None and node.trendradar is not None
    ctx = node.trendradar.ctx
    maand = Periode.lees(periode)
    na_afloop = datetime(maand.jaar + maand.maand // 12, maand.maand % 12 + 1, 15, tzinfo=UTC)
    publicatie = await Publiceerder(ctx.db, regio, ctx.sleutels.ondertekening, node.cfg.trends).maak(
        maand, na_afloop
    )
    assert await publiceer(ctx.js, publicatie)
