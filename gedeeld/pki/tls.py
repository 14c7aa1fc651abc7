"""TLS for the node's NATS connection, and start-up checks of certificate files.

A certificate that is not PEM, has expired or is not yet valid, or a key that does not belong to
its certificate, stops the node at start-up with one line naming the setting (``ConfigError``),
instead of a TLS handshake failing later with an error that names neither.
"""

from __future__ import annotations

import ssl
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import NameOID

from gedeeld.fouten import ConfigError

if TYPE_CHECKING:
    from gedeeld.config import NatsTlsConfig


def nats_tls_context(tls: NatsTlsConfig) -> ssl.SSLContext:
    """The client context for the node's NATS connection (``nats.connect(..., tls=...)``).

    The server's certificate must be signed by ``tls.ca`` and name the host in the URL; with
    ``tls.cert``/``tls.key`` the node presents its client certificate (the leaf node asks for it).
    """
    try:
        ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=str(tls.ca))
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError("nats.ca", f"cannot load {tls.ca} as CA certificates: {_reden(exc)}") from None
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    if tls.cert is not None and tls.key is not None:
        try:
            ctx.load_cert_chain(str(tls.cert), str(tls.key))
        except (OSError, ssl.SSLError) as exc:
            raise ConfigError("nats.cert", f"cannot load {tls.cert} with {tls.key}: {_reden(exc)}") from None
    return ctx


def _reden(exc: OSError | ssl.SSLError) -> str:
    if isinstance(exc, ssl.SSLError):
        return str(exc.reason or exc)
    return exc.strerror or type(exc).__name__


def _tijd(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _lees_certificaten(pad: Path, setting: str) -> list[x509.Certificate]:
    try:
        data = pad.read_bytes()
    except OSError as exc:
        raise ConfigError(setting, f"cannot read {pad}: {exc.strerror}") from None
    try:
        return x509.load_pem_x509_certificates(data)
    except ValueError:
        raise ConfigError(setting, f"{pad} is not a PEM certificate") from None


def controleer_certificaat(pad: Path, setting: str, *, nu: datetime | None = None) -> None:
    """Every certificate in ``pad`` (the certificate and any chain after it) is valid now.

    Raises ``ConfigError(setting, ...)``: "… is not a PEM certificate", "… expired on
    2026-01-02 12:00 UTC" or "… is not valid before …".
    """
    moment = nu or datetime.now(UTC)
    for cert in _lees_certificaten(pad, setting):
        wie = f"{pad}" if cert.subject == cert.issuer else f"{pad} ({cert.subject.rfc4514_string()})"
        if moment > cert.not_valid_after_utc:
            raise ConfigError(setting, f"certificate {wie} expired on {_tijd(cert.not_valid_after_utc)}")
        if moment < cert.not_valid_before_utc:
            raise ConfigError(
                setting, f"certificate {wie} is not valid before {_tijd(cert.not_valid_before_utc)}"
            )


def controleer_ca(pad: Path, setting: str, *, nu: datetime | None = None) -> None:
    """``pad`` holds PEM certificates of which at least one is valid now (a bundle may keep an
    expired old root beside its successor)."""
    moment = nu or datetime.now(UTC)
    certs = _lees_certificaten(pad, setting)
    if any(c.not_valid_before_utc <= moment <= c.not_valid_after_utc for c in certs):
        return
    laatste = max(c.not_valid_after_utc for c in certs)
    if laatste < moment:
        raise ConfigError(setting, f"CA certificate {pad} expired on {_tijd(laatste)}")
    eerste = min(c.not_valid_before_utc for c in certs)
    raise ConfigError(setting, f"CA certificate {pad} is not valid before {_tijd(eerste)}")


def controleer_sleutel(cert: Path, key: Path, setting: str) -> None:
    """``key`` is an unencrypted PEM private key belonging to the (first) certificate in ``cert``."""
    try:
        data = key.read_bytes()
    except OSError as exc:
        raise ConfigError(setting, f"cannot read {key}: {exc.strerror}") from None
    try:
        sleutel = serialization.load_pem_private_key(data, password=None)
    except TypeError:  # encrypted: nothing at start-up could ask for its passphrase
        raise ConfigError(setting, f"{key} is encrypted; the node needs an unencrypted key") from None
    except (ValueError, UnsupportedAlgorithm):
        raise ConfigError(setting, f"{key} is not a PEM private key") from None
    certificaat = _lees_certificaten(cert, setting)[0]
    if sleutel.public_key() != certificaat.public_key():
        raise ConfigError(setting, f"{key} does not belong to the certificate {cert}")


def controleer_oin(pad: Path, setting: str, regio: str, oin: str) -> None:
    """The node's own certificate names its own organisation: when the federation registry gives
    the region an OIN and the certificate carries a serialNumber (as PKIoverheid certificates
    do), they must be the same; a certificate of another region's organisation is refused."""
    cert = _lees_certificaten(pad, setting)[0]
    nummers = [str(a.value) for a in cert.subject.get_attributes_for_oid(NameOID.SERIAL_NUMBER)]
    if oin and nummers and oin not in nummers:
        raise ConfigError(
            setting,
            f"certificate {pad} names OIN {nummers[0]}, but the federation registry gives region "
            f"{regio} OIN {oin}",
        )


def controleer_tls(tls: NatsTlsConfig, ca: str, cert: str, key: str) -> None:
    """Every file of ``tls`` exists, the CA is valid, and so are the certificate and its key; each
    failure names its setting or option (``ca``, ``cert``, ``key``)."""
    for pad, naam in ((tls.ca, ca), (tls.cert, cert), (tls.key, key)):
        if pad is not None and not pad.exists():
            raise ConfigError(naam, f"file {pad} does not exist")
    controleer_ca(tls.ca, ca)
    if tls.cert is not None and tls.key is not None:
        controleer_certificaat(tls.cert, cert)
        controleer_sleutel(tls.cert, tls.key, key)
