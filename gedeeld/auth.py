"""Who is calling: bearer tokens for people, mTLS client certificates for services.

With mutual TLS the gRPC server first checks that the certificate is one of this region's user or
application certificates (gedeeld/clientcertificaat.py, in gedeeld/grpc_server.py). A token names
the person; without a token, an application certificate (``OU=ZVH toepassing``) names a
``[[dienst]]`` by its subject CN. A user certificate never stands for a service, nor does a node's.

Token file (TOML), tokens stored as SHA-256 only::

    [[gebruiker]]
    id = "pr-anna"
    rol = "procesregisseur"
    token_sha256 = "9f86d0..."

    [[dienst]]                 # an application that authenticates with its certificate
    certificaat = "pgax.wvv"   # subject CN of its application certificate (zvhctl certs --toepassing)
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

from gedeeld import clientcertificaat
from gedeeld.clientcertificaat import Soort
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
        cert = clientcertificaat.peer(auth_context)
        if cert is not None and cert.soort is Soort.TOEPASSING:
            # Only an application certificate stands for a [[dienst]]: a user's certificate only
            # opens the connection, the person is named by their token.
            dienst = self._certificaten.get(cert.cn)
            if dienst is not None:
                return dienst
            raise UnauthenticatedError("toepassingscertificaat is niet geregistreerd bij deze node")
        if cert is not None:
            raise UnauthenticatedError("geen token meegestuurd; dit certificaat alleen geeft geen toegang")
        raise UnauthenticatedError("geen token of clientcertificaat meegestuurd")


def autoriseer(identiteit: Identiteit, rpc: str, regels: Mapping[str, frozenset[Rol]]) -> None:
    toegestaan = regels.get(rpc, frozenset())
    if identiteit.rol not in toegestaan:
        rollen = ", ".join(sorted(toegestaan)) or "niemand"
        raise PermissionDeniedError(f"{rpc} is niet toegestaan voor rol {identiteit.rol} (wel: {rollen})")
