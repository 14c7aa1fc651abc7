"""A development PKI: a CA and certificates for nodes and services (``zvhctl certs``).

Production takes certificates from the operator (PKIoverheid); as there, the
organisation is named by its OIN in the subject serialNumber.

Two kinds: ``maak_certificaat`` makes a server certificate (hub, leaf, node; also its client
certificate towards NATS), ``maak_clientcertificaat`` a certificate for a user or application of
a region's gRPC API (extendedKeyUsage clientAuth only, ``OU=ZVH gebruiker|toepassing``), the only
kind the gRPC server accepts as caller (gedeeld/grpc/clientcertificaat.py).
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from gedeeld.grpc.clientcertificaat import Soort


@dataclass(frozen=True)
class Sleutelpaar:
    certificaat: x509.Certificate
    sleutel: ec.EllipticCurvePrivateKey

    def cert_pem(self) -> bytes:
        return self.certificaat.public_bytes(serialization.Encoding.PEM)

    def key_pem(self) -> bytes:
        return self.sleutel.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )

    def schrijf(self, map_: Path, naam: str) -> tuple[Path, Path]:
        """``<naam>.crt`` and ``<naam>.key`` in ``map_``; the key is created with mode 0600 (never
        readable by others, not even briefly) and each file replaces an old one in one step."""
        map_.mkdir(mode=0o700, parents=True, exist_ok=True)
        cert, key = map_ / f"{naam}.crt", map_ / f"{naam}.key"
        _schrijf_atomair(key, self.key_pem(), 0o600)
        _schrijf_atomair(cert, self.cert_pem(), 0o644)
        return cert, key


def _schrijf_atomair(pad: Path, data: bytes, modus: int) -> None:
    tijdelijk = pad.with_name(pad.name + ".nieuw")
    fd = os.open(tijdelijk, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        os.fchmod(f.fileno(), modus)
        f.write(data)
    os.replace(tijdelijk, pad)


def lees_sleutelpaar(cert: Path, key: Path) -> Sleutelpaar:
    """A certificate and its (unencrypted, EC) key as ``schrijf`` wrote them.

    Raises ValueError when a file is not PEM, the key is not an EC key or does not belong to
    the certificate (OSError when a file cannot be read)."""
    certificaat = x509.load_pem_x509_certificate(cert.read_bytes())
    sleutel = serialization.load_pem_private_key(key.read_bytes(), password=None)
    if not isinstance(sleutel, ec.EllipticCurvePrivateKey):
        raise ValueError(f"{key} is not an EC private key")
    if sleutel.public_key() != certificaat.public_key():
        raise ValueError(f"{key} does not belong to {cert}")
    return Sleutelpaar(certificaat, sleutel)


def _naam(cn: str, oin: str | None, ou: str | None = None) -> x509.Name:
    attrs = [x509.NameAttribute(NameOID.COMMON_NAME, cn)]
    if ou:
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, ou))
    if oin:
        attrs.append(x509.NameAttribute(NameOID.SERIAL_NUMBER, oin))
    return x509.Name(attrs)


def maak_ca(cn: str = "ZVH ontwikkel-CA", geldig: timedelta = timedelta(days=3650)) -> Sleutelpaar:
    sleutel = ec.generate_private_key(ec.SECP256R1())
    nu = datetime.now(UTC)
    naam = _naam(cn, None)
    cert = (
        x509.CertificateBuilder()
        .subject_name(naam)
        .issuer_name(naam)
        .public_key(sleutel.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(nu - timedelta(minutes=5))
        .not_valid_after(nu + geldig)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(sleutel.public_key()), critical=False)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(sleutel, hashes.SHA256())
    )
    return Sleutelpaar(cert, sleutel)


def _uitgeven(
    ca: Sleutelpaar,
    subject: x509.Name,
    gebruik: list[x509.ObjectIdentifier],
    sans: list[x509.GeneralName],
    geldig_vanaf: datetime | None,
    geldig: timedelta,
) -> Sleutelpaar:
    """An end-entity certificate signed by ``ca`` with a new EC key, for the ``gebruik`` (EKU)."""
    sleutel = ec.generate_private_key(ec.SECP256R1())
    vanaf = geldig_vanaf or datetime.now(UTC) - timedelta(minutes=5)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(ca.certificaat.subject)
        .public_key(sleutel.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(vanaf)
        .not_valid_after(vanaf + geldig)
    )
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    cert = (
        builder.add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(sleutel.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.sleutel.public_key()), critical=False
        )
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_encipherment=False,
                key_cert_sign=False,
                crl_sign=False,
                content_commitment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage(gebruik), critical=False)
        .sign(ca.sleutel, hashes.SHA256())
    )
    return Sleutelpaar(cert, sleutel)


def maak_certificaat(
    ca: Sleutelpaar,
    cn: str,
    *,
    oin: str | None = None,
    hosts: tuple[str, ...] = ("localhost", "127.0.0.1"),
    geldig_vanaf: datetime | None = None,
    geldig: timedelta = timedelta(days=365),
) -> Sleutelpaar:
    """A certificate usable both as TLS server and client certificate."""
    sans: list[x509.GeneralName] = []
    for h in hosts:
        try:
            sans.append(x509.IPAddress(ipaddress.ip_address(h)))
        except ValueError:
            sans.append(x509.DNSName(h))
    gebruik = [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
    return _uitgeven(ca, _naam(cn, oin), gebruik, sans, geldig_vanaf, geldig)


def maak_clientcertificaat(
    ca: Sleutelpaar,
    cn: str,
    soort: Soort,
    *,
    oin: str | None = None,
    geldig_vanaf: datetime | None = None,
    geldig: timedelta = timedelta(days=365),
) -> Sleutelpaar:
    """A certificate for a user or application of a region's gRPC API: clientAuth only (it cannot
    serve as a TLS server), its kind in the subject OU, the region's OIN in serialNumber."""
    subject = _naam(cn, oin, soort.value)
    return _uitgeven(ca, subject, [ExtendedKeyUsageOID.CLIENT_AUTH], [], geldig_vanaf, geldig)
