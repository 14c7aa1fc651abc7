"""Which client certificates may call a region's gRPC API (mutual TLS).

Every region's certificates come from the same federation CA (or from PKIoverheid), so "signed by
the CA" says nothing about *whose* certificate it is: arnhem's node certificate passes the TLS
handshake at wvv just as well as wvv's own. The handshake is therefore followed by this check, on
every call, before any token is looked at:

1. The certificate is meant for a gRPC *client*: a user (``OU=ZVH gebruiker``) or application
   (``OU=ZVH toepassing``) certificate, with extendedKeyUsage clientAuth and *not* serverAuth.
   Node, leaf and hub certificates are server certificates (serverAuth) of some region; none of
   them, not even our own node's, is a caller identity. Both marks are required: the EKU is what
   TLS stacks themselves enforce (a client certificate cannot serve as a server, so a stolen one
   cannot impersonate a node), the OU says what kind of caller it is and keeps a clientAuth-only
   certificate issued for another purpose (a NATS client, a VPN) from becoming a gRPC identity.
2. It belongs to this region: its subject serialNumber is this region's OIN from the federation
   registry (as PKIoverheid certificates name their organisation). When the registry gives the
   region no OIN (development without OINs), the subject CN must end in ``.<regio>``
   (``pgax.wvv``), the scheme ``zvhctl certs`` uses.

A refused call gets PERMISSION_DENIED with a Dutch message, is counted
(``zvh_grpc_client_certificate_refused_total{reden}``) and logged without the certificate's names.
``[tls] clientcertificaten = "ca"`` switches the check off (any certificate of ``client_ca``, the
behaviour before this module); only for a migration, never in production.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from gedeeld.federatie import laad
from gedeeld.fouten import PermissionDeniedError

if TYPE_CHECKING:
    from gedeeld.config import NodeConfig

log = logging.getLogger("zvh.grpc")


class Soort(StrEnum):
    """What a client certificate is for; the value is its subject OU."""

    GEBRUIKER = "ZVH gebruiker"
    TOEPASSING = "ZVH toepassing"


@dataclass(frozen=True)
class Clientcertificaat:
    """What the check needs of a peer certificate."""

    cn: str
    oins: tuple[str, ...]  # subject serialNumber values
    soort: Soort | None  # None: not a user or application certificate


class CertificaatGeweigerd(PermissionDeniedError):
    """The client certificate is not one of this region's users or applications.

    ``reden`` is a fixed word for the metric label: ``soort`` (a node/leaf/server certificate, or
    not marked as user or application), ``regio`` (another organisation), ``onleesbaar``."""

    def __init__(self, reden: str, message: str) -> None:
        super().__init__(message)
        self.reden = reden


@functools.lru_cache(maxsize=256)
def lees(pem: bytes) -> Clientcertificaat:
    """The peer certificate as gRPC hands it over (``x509_pem_cert``). Cached: a client sends the
    same certificate on every call of its connection. Raises ValueError when it is not PEM."""
    cert = x509.load_pem_x509_certificate(pem)
    cns = [str(a.value) for a in cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)]
    oins = tuple(str(a.value) for a in cert.subject.get_attributes_for_oid(NameOID.SERIAL_NUMBER))
    ous = {str(a.value) for a in cert.subject.get_attributes_for_oid(NameOID.ORGANIZATIONAL_UNIT_NAME)}
    try:
        eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
        alleen_client = ExtendedKeyUsageOID.CLIENT_AUTH in eku and ExtendedKeyUsageOID.SERVER_AUTH not in eku
    except x509.ExtensionNotFound:
        alleen_client = False  # no EKU: usable for anything, so also as a server
    soort = None
    if alleen_client:
        soorten = [s for s in Soort if s.value in ous]
        soort = soorten[0] if len(soorten) == 1 else None
    return Clientcertificaat(cns[0] if cns else "", oins, soort)


def peer(auth_context: Mapping[str, Iterable[bytes]] | None) -> Clientcertificaat | None:
    """The caller's certificate, or None when it sent none (plain or server-only TLS).

    Raises CertificaatGeweigerd when gRPC hands over something that is not a certificate."""
    pems = list((auth_context or {}).get("x509_pem_cert", ()))
    if not pems:
        return None
    try:
        return lees(bytes(pems[0]))
    except (ValueError, x509.DuplicateExtension):
        raise CertificaatGeweigerd("onleesbaar", "het clientcertificaat is onleesbaar") from None


@dataclass(frozen=True)
class Clientbeleid:
    """Which client certificates this region's gRPC server lets call."""

    regio: str
    oin: str = ""  # this region's OIN from the registry; "" when it has none
    actief: bool = True  # False: ``clientcertificaten = "ca"``, the check is off

    def controleer(self, auth_context: Mapping[str, Iterable[bytes]] | None) -> Clientcertificaat | None:
        """The caller's certificate when it may call, None when it sent none; else
        CertificaatGeweigerd."""
        cert = peer(auth_context)
        if cert is None or not self.actief:
            return cert
        if cert.soort is None:
            raise CertificaatGeweigerd(
                "soort",
                "dit certificaat geeft geen toegang tot de API: gebruik een gebruikers- of "
                f"toepassingscertificaat van regio {self.regio} (een node-, leaf- of "
                "servercertificaat is geen clientidentiteit)",
            )
        eigen = self.oin in cert.oins if self.oin else cert.cn.endswith(f".{self.regio}")
        if not eigen:
            raise CertificaatGeweigerd("regio", f"dit clientcertificaat hoort niet bij regio {self.regio}")
        return cert


def clientbeleid(cfg: NodeConfig) -> Clientbeleid | None:
    """The policy for the node's gRPC server: None without mutual TLS. The OIN comes from the
    verified federation registry (none without ``[federatie]``)."""
    if cfg.tls is None or cfg.tls.client_ca is None:
        return None
    oin = ""
    if cfg.federatie is not None:
        oin = laad(cfg.federatie.register, cfg.federatie.beheerder_sleutel).regio(cfg.regio).oin
    actief = cfg.tls.clientcertificaten == "regio"
    if not actief:
        log.warning(
            "tls.clientcertificaten = ca: any certificate of the CA may call the gRPC API, also other "
            "regions' node certificates; use only while migrating clients"
        )
    return Clientbeleid(cfg.regio, oin, actief=actief)
