"""The portal's accounts: one TOML file per region, managed with ``zvhctl portaal gebruiker``.

::

    [[gebruiker]]
    id = "pr-anna"                      # the user id the node knows (casus procesregisseur)
    naam = "Anna de Vries"
    rol = "procesregisseur"
    email = "anna@wvv.example"          # for notifications of new matches (optional)
    wachtwoord = "$argon2id$v=19$..."   # argon2id hash; empty: no local login (OIDC only)
    totp = "JBSWY3DPEHPK3PXP"           # base32 TOTP secret; required with a password
    oidc_sub = ""                        # subject at the region's identity provider
    geblokkeerd = false

The file is read again when it changes (mtime), by the portal and by the node's
authenticator, so a new user, a role change or a block counts without a restart.
Failed logins are counted in memory per account: after ``max_pogingen`` the
account is locked for ``vergrendeling_minuten`` (a restart clears the counters;
a block in the file is permanent).
"""

from __future__ import annotations

import json
import os
import tempfile
import time
import tomllib
from dataclasses import dataclass, replace
from pathlib import Path

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from gedeeld.fouten import ConfigError
from gedeeld.grpc.authenticatie import HerlaadBestand, Rol

_HASHER = PasswordHasher()  # argon2id with the library's (RFC 9106 low-memory) defaults
# A hash to verify against when the user does not exist, so both paths cost the same.
_DUMMY = _HASHER.hash("zvh-portaal-geen-gebruiker")


@dataclass(frozen=True)
class Gebruiker:
    id: str
    naam: str
    rol: Rol
    email: str = ""
    wachtwoord: str = ""
    totp: str = ""
    oidc_sub: str = ""
    geblokkeerd: bool = False


def hash_wachtwoord(wachtwoord: str) -> str:
    return _HASHER.hash(wachtwoord)


def nieuw_totp_geheim() -> str:
    return pyotp.random_base32()


def totp_uri(g: Gebruiker, regio: str) -> str:
    return pyotp.TOTP(g.totp).provisioning_uri(name=g.id, issuer_name=f"ZVH {regio}")


def lees(path: Path) -> dict[str, Gebruiker]:
    try:
        doc = tomllib.loads(path.read_text())
    except FileNotFoundError:
        return {}
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError("portaal.gebruikers", f"cannot read {path}: {exc}") from None
    uit: dict[str, Gebruiker] = {}
    try:
        for g in doc.get("gebruiker", []):
            gebruiker = Gebruiker(
                id=str(g["id"]),
                naam=str(g.get("naam", g["id"])),
                rol=Rol(g["rol"]),
                email=str(g.get("email", "")),
                wachtwoord=str(g.get("wachtwoord", "")),
                totp=str(g.get("totp", "")),
                oidc_sub=str(g.get("oidc_sub", "")),
                geblokkeerd=bool(g.get("geblokkeerd", False)),
            )
            uit[gebruiker.id] = gebruiker
    except (KeyError, ValueError) as exc:
        raise ConfigError("portaal.gebruikers", f"{path}: invalid entry ({exc})") from None
    return uit


def schrijf(path: Path, gebruikers: dict[str, Gebruiker]) -> None:
    """Atomically (temp file + rename), mode 0600: the file holds TOTP secrets."""
    regels = []
    for g in gebruikers.values():
        regels.append("[[gebruiker]]")
        for veld in ("id", "naam", "rol", "email", "wachtwoord", "totp", "oidc_sub"):
            # JSON string escapes are valid TOML basic-string escapes.
            regels.append(f"{veld} = {json.dumps(str(getattr(g, veld)), ensure_ascii=False)}")
        regels.append(f"geblokkeerd = {'true' if g.geblokkeerd else 'false'}")
        regels.append("")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".portaal-gebruikers-")
    try:
        with os.fdopen(fd, "w") as f:
            f.write("\n".join(regels))
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def wijzig(path: Path, gebruiker: Gebruiker) -> None:
    alle = lees(path)
    alle[gebruiker.id] = gebruiker
    schrijf(path, alle)


class Aanmeldfout(Exception):
    """Login refused; ``melding`` is what the person sees (never which part was wrong)."""

    def __init__(self, melding: str) -> None:
        super().__init__(melding)
        self.melding = melding


ONJUIST = "Onjuiste combinatie van gebruikersnaam, wachtwoord en code."


class Gebruikers:
    """The user file, reloaded on change, with the in-memory lock-out counters."""

    def __init__(self, path: Path, max_pogingen: int = 5, vergrendeling_s: float = 900) -> None:
        self._bestand = HerlaadBestand(path, lees)
        self._max = max_pogingen
        self._vergrendeling = vergrendeling_s
        self._mislukt: dict[str, list[float]] = {}
        self._gebruikte_codes: dict[str, str] = {}  # user → last accepted TOTP code (no replay)

    def alle(self) -> dict[str, Gebruiker]:
        return self._bestand.inhoud()

    def get(self, gebruiker_id: str) -> Gebruiker | None:
        g = self.alle().get(gebruiker_id)
        return None if g is None or g.geblokkeerd else g

    def via_oidc(self, sub: str) -> Gebruiker | None:
        for g in self.alle().values():
            if g.oidc_sub and g.oidc_sub == sub and not g.geblokkeerd:
                return g
        return None

    def vergrendeld(self, gebruiker_id: str) -> bool:
        nu = time.monotonic()
        recent = [t for t in self._mislukt.get(gebruiker_id, []) if nu - t < self._vergrendeling]
        self._mislukt[gebruiker_id] = recent
        return len(recent) >= self._max

    def controleer(self, gebruiker_id: str, wachtwoord: str, code: str) -> Gebruiker:
        """Password and TOTP code together; raises Aanmeldfout. Blocking (argon2): run in a thread."""
        if self.vergrendeld(gebruiker_id):
            raise Aanmeldfout(
                "Dit account is tijdelijk vergrendeld na te veel mislukte pogingen. "
                "Probeer het later opnieuw."
            )
        g = self.alle().get(gebruiker_id)
        try:
            _HASHER.verify(g.wachtwoord if g and g.wachtwoord else _DUMMY, wachtwoord)
            wachtwoord_goed = g is not None and bool(g.wachtwoord)
        except (VerificationError, InvalidHashError):
            wachtwoord_goed = False
        code = code.strip().replace(" ", "")
        code_goed = (
            g is not None
            and bool(g.totp)
            and pyotp.TOTP(g.totp).verify(code, valid_window=1)
            and self._gebruikte_codes.get(g.id) != code
        )
        if g is None or g.geblokkeerd or not wachtwoord_goed or not code_goed:
            if len(self._mislukt) > 10_000:
                # Counters of made-up user ids must not grow without bound: keep the recent ones.
                nu = time.monotonic()
                self._mislukt = {
                    k: v for k, v in self._mislukt.items() if v and nu - v[-1] < self._vergrendeling
                }
            self._mislukt.setdefault(gebruiker_id, []).append(time.monotonic())
            raise Aanmeldfout(ONJUIST)
        self._mislukt.pop(gebruiker_id, None)
        self._gebruikte_codes[g.id] = code
        return g


def met_wachtwoord(g: Gebruiker, wachtwoord: str) -> Gebruiker:
    return replace(g, wachtwoord=hash_wachtwoord(wachtwoord))
