"""Who is calling: bearer tokens for people, mTLS client certificates for services.

With mutual TLS the gRPC server first checks that the certificate is one of this region's user or
application certificates (gedeeld/grpc/clientcertificaat.py, in gedeeld/grpc/server.py). A token names
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

The file is read again when it changes (mtime/size), so a token made with
``zvhctl token nieuw`` or a revoked one counts without a restart.

The web portal (services/portaal) calls the node as an application: its own
bearer token (``Portaaltoegang.token_sha256``) plus ``x-zvh-namens: <user id>``.
The node then acts as that person: the role comes from the portal's user file
(read by the node itself, again reloaded on change), never from the portal's
word, and the verwerkingslog's actor is the person.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets
import threading
import time
import tomllib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Generic, TypeVar

from gedeeld.fouten import ConfigError, PermissionDeniedError, UnauthenticatedError
from gedeeld.grpc import clientcertificaat
from gedeeld.grpc.clientcertificaat import Soort

log = logging.getLogger("zvh.auth")

NAMENS = "x-zvh-namens"


class Rol(StrEnum):
    PROCESREGISSEUR = "procesregisseur"
    INFORMATIECOORDINATOR = "informatiecoordinator"
    NETWERKMANAGER = "netwerkmanager"
    FG = "fg"
    # The portal itself, with no person behind it: it may only follow the match feed
    # to send e-mail notifications (MatchService.Volgen).
    PORTAAL = "portaal"


# The purpose recorded with each action (doelbinding), by role.
DOEL: Mapping[Rol, str] = {
    Rol.PROCESREGISSEUR: "procesregie",
    Rol.INFORMATIECOORDINATOR: "informatievoorziening casusoverleg",
    Rol.NETWERKMANAGER: "beheer netwerk",
    Rol.FG: "toezicht gegevensbescherming",
    Rol.PORTAAL: "melding van nieuwe matches aan procesregisseurs",
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


def _lees_tokens(path: Path) -> tuple[dict[str, Identiteit], dict[str, Identiteit]]:
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
    return tokens, certs


def _lees_portaalrollen(path: Path) -> dict[str, Rol]:
    """User id → role from the portal's user file (services/portaal/gebruikers.py writes it)."""
    try:
        doc = tomllib.loads(path.read_text())
    except FileNotFoundError:
        return {}
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError("portaal.gebruikers", f"cannot read {path}: {exc}") from exc
    try:
        return {str(g["id"]): Rol(g["rol"]) for g in doc.get("gebruiker", []) if not g.get("geblokkeerd")}
    except (KeyError, ValueError) as exc:
        raise ConfigError("portaal.gebruikers", f"{path}: invalid entry ({exc})") from exc


T = TypeVar("T")


class HerlaadBestand(Generic[T]):
    """A file parsed again when its mtime or size changed (checked at most every ``interval``
    seconds). A file that became unreadable keeps the last good content and logs a warning:
    a half-written edit must not lock everybody out."""

    def __init__(self, path: Path, lees: Callable[[Path], T], interval: float = 0.5) -> None:
        self.path, self._lees, self._interval = path, lees, interval
        self._lock = threading.Lock()
        self._stempel = self._stat()
        self._inhoud = lees(path)  # at start-up a bad file is a ConfigError
        self._gecontroleerd = time.monotonic()

    def _stat(self) -> tuple[int, int] | None:
        try:
            st = os.stat(self.path)
        except OSError:
            return None
        return (st.st_mtime_ns, st.st_size)

    def inhoud(self) -> T:
        nu = time.monotonic()
        if nu - self._gecontroleerd < self._interval:
            return self._inhoud
        with self._lock:
            self._gecontroleerd = nu
            stempel = self._stat()
            if stempel != self._stempel:
                try:
                    self._inhoud = self._lees(self.path)
                    self._stempel = stempel
                    log.info("reloaded", extra={"path": str(self.path)})
                except ConfigError as exc:
                    log.warning("reload failed, keeping the previous content", extra={"error": exc.message})
        return self._inhoud


@dataclass(frozen=True)
class Portaaltoegang:
    """The portal's application token (its SHA-256) and the portal's user file."""

    token_sha256: str
    gebruikers: Path


def lees_of_maak_portaalgeheim(path: Path) -> str:
    """The portal's application token (created once, 0600); the node keeps only its hash."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(nieuw_token())
    geheim = path.read_text().strip()
    if len(geheim) < 32:
        raise ConfigError("portaal.geheim", f"{path} holds no usable token (at least 32 characters)")
    return geheim


def portaaltoegang(geheim: Path | None, gebruikers: Path | None) -> Portaaltoegang | None:
    """From ``[portaal]``: what the node needs to accept the portal acting for a person."""
    if geheim is None or gebruikers is None:
        return None
    return Portaaltoegang(token_hash(lees_of_maak_portaalgeheim(geheim)), gebruikers)


class Authenticator:
    def __init__(
        self,
        tokens: Mapping[str, Identiteit],
        certificaten: Mapping[str, Identiteit],
        portaal: Portaaltoegang | None = None,
    ) -> None:
        self._vast = (dict(tokens), dict(certificaten))
        self._bestand: HerlaadBestand[tuple[dict[str, Identiteit], dict[str, Identiteit]]] | None = None
        self._portaal = portaal
        self._portaalrollen = (
            HerlaadBestand(portaal.gebruikers, _lees_portaalrollen) if portaal is not None else None
        )

    @classmethod
    def uit_bestand(
        cls, path: Path, portaal: Portaaltoegang | None = None, interval: float = 0.5
    ) -> Authenticator:
        """Tokens from ``path``, read again when the file changes (no restart needed)."""
        auth = cls({}, {}, portaal)
        auth._bestand = HerlaadBestand(path, _lees_tokens, interval)
        return auth

    def _tabellen(self) -> tuple[dict[str, Identiteit], dict[str, Identiteit]]:
        return self._bestand.inhoud() if self._bestand is not None else self._vast

    def _namens(self, digest: str, metadata: Iterable[tuple[str, str | bytes]]) -> Identiteit | None:
        """The portal acting for a person: its token and the person's id in ``x-zvh-namens``."""
        if self._portaal is None or self._portaalrollen is None:
            return None
        if not hmac.compare_digest(self._portaal.token_sha256, digest):
            return None
        namens = [v for k, v in metadata if k.lower() == NAMENS and isinstance(v, str)]
        if not namens:
            return Identiteit("portaal", Rol.PORTAAL, "portaal")
        rol = self._portaalrollen.inhoud().get(namens[0])
        if rol is None:
            raise UnauthenticatedError("onbekende of geblokkeerde portaalgebruiker")
        return Identiteit(namens[0], rol, "portaal")

    def authenticeer(
        self,
        metadata: Iterable[tuple[str, str | bytes]] | None,
        auth_context: Mapping[str, Iterable[bytes]] | None,
    ) -> Identiteit:
        metadata = list(metadata or ())
        tokens, certificaten = self._tabellen()
        for key, value in metadata:
            if key.lower() == "authorization" and isinstance(value, str):
                scheme, _, token = value.partition(" ")
                if scheme.lower() != "bearer" or not token:
                    raise UnauthenticatedError("gebruik 'authorization: Bearer <token>'")
                digest = token_hash(token.strip())
                portaal = self._namens(digest, metadata)
                if portaal is not None:
                    return portaal
                for known, ident in tokens.items():
                    if hmac.compare_digest(known, digest):
                        return ident
                raise UnauthenticatedError("onbekend of ingetrokken token")
        cert = clientcertificaat.peer(auth_context)
        if cert is not None and cert.soort is Soort.TOEPASSING:
            # Only an application certificate stands for a [[dienst]]: a user's certificate only
            # opens the connection, the person is named by their token.
            dienst = certificaten.get(cert.cn)
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
