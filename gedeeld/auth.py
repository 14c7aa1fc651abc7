"""Who is calling: bearer tokens for people, mTLS client certificates for services.

Token file (TOML), tokens stored as SHA-256 only::

    [[gebruiker]]
    id = "pr-anna"
    rol = "procesregisseur"
    token_sha256 = "9f86d0..."

    [[dienst]]                 # a service that authenticates with its certificate
    certificaat = "pgax.wvv"   # subject CN (or serialNumber/OIN) of its client certificate
    id = "pgax"
    rol = "informatiecoordinator"
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from gedeeld.errors import ConfigError, PermissionDeniedError, UnauthenticatedError


class Rol(StrEnum):
    PROCESREGISSEUR = "procesregisseur"
    INFORMATIECOORDINATOR = "informatiecoordinator"
    NETWERKMANAGER = "netwerkmanager"
    FG = "fg"


# The purpose recorded with each action (doelbinding), by role.
DOEL: Mapping[Rol, str] = {
    Rol.PROCESREGISSEUR: "procesregie",
    Rol.INFORMATIECOORDINATOR: "informatievoorziening casusoverleg",
    Rol.NETWERKMANAGER: "beheer netwerk",
    Rol.FG: "toezicht gegevensbescherming",
}


@dataclass(frozen=True)
class Identiteit:
    gebruiker: str
    rol: Rol
    via: str  # "token" | "certificaat"

    @property
    def doel(self) -> str:
        return DOEL[self.rol]


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def nieuw_token() -> str:
    return secrets.token_urlsafe(32)


class Authenticator:
    def __init__(self, tokens: Mapping[str, Identiteit], certificaten: Mapping[str, Identiteit]) -> None:
        self._tokens = dict(tokens)
        self._certificaten = dict(certificaten)

    @classmethod
    def uit_bestand(cls, path: Path) -> Authenticator:
        try:
            doc = tomllib.loads(path.read_text())
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError("auth.tokens", f"cannot read {path}: {exc}") from exc
        tokens: dict[str, Identiteit] = {}
        certs: dict[str, Identiteit] = {}
        try:
            for g in doc.get("gebruiker", []):
                tokens[str(g["token_sha256"]).lower()] = Identiteit(str(g["id"]), Rol(g["rol"]), "token")
            for d in doc.get("dienst", []):
                certs[str(d["certificaat"])] = Identiteit(str(d["id"]), Rol(d["rol"]), "certificaat")
        except (KeyError, ValueError) as exc:
            raise ConfigError("auth.tokens", f"{path}: invalid entry ({exc})") from exc
        return cls(tokens, certs)

    def authenticeer(
        self,
        metadata: Iterable[tuple[str, str | bytes]] | None,
        auth_context: Mapping[str, Iterable[bytes]] | None,
    ) -> Identiteit:
        for key, value in metadata or ():
            if key.lower() == "authorization" and isinstance(value, str):
                scheme, _, token = value.partition(" ")
                if scheme.lower() != "bearer" or not token:
                    raise UnauthenticatedError("gebruik 'authorization: Bearer <token>'")
                digest = token_hash(token.strip())
                for known, ident in self._tokens.items():
                    if hmac.compare_digest(known, digest):
                        return ident
                raise UnauthenticatedError("onbekend of ingetrokken token")
        for key in ("x509_common_name", "x509_subject_serial_number"):
            for name in (auth_context or {}).get(key, ()):
                dienst = self._certificaten.get(name.decode(errors="replace"))
                if dienst is not None:
                    return dienst
        if auth_context and auth_context.get("x509_common_name"):
            raise UnauthenticatedError("clientcertificaat is niet geregistreerd bij deze node")
        raise UnauthenticatedError("geen token of clientcertificaat meegestuurd")


def autoriseer(identiteit: Identiteit, rpc: str, regels: Mapping[str, frozenset[Rol]]) -> None:
    toegestaan = regels.get(rpc, frozenset())
    if identiteit.rol not in toegestaan:
        rollen = ", ".join(sorted(toegestaan)) or "niemand"
        raise PermissionDeniedError(f"{rpc} is niet toegestaan voor rol {identiteit.rol} (wel: {rollen})")
