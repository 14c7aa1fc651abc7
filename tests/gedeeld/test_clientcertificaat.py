"""Which certificates may call a region's gRPC API (gedeeld/grpc/clientcertificaat.py), and
``zvhctl certs --toepassing/--gebruiker`` that issues them."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from gedeeld.grpc.clientcertificaat import CertificaatGeweigerd, Clientbeleid, Soort, lees
from gedeeld.pki.ca import Sleutelpaar, lees_sleutelpaar, maak_ca, maak_certificaat, maak_clientcertificaat
from tests.federatie.test_nats_tls import OIN, certs, registry_met_oins

WVV, ARNHEM = OIN["wvv"], OIN["arnhem"]
CA = maak_ca()


def context(paar: Sleutelpaar) -> dict[str, list[bytes]]:
    """What grpc.aio's ``auth_context()`` holds for a peer that presented ``paar``."""
    return {"x509_pem_cert": [paar.cert_pem()], "transport_security_type": [b"ssl"]}


def test_client_certificates_are_client_auth_only_with_their_kind_in_the_ou() -> None:
    for soort in Soort:
        cert = maak_clientcertificaat(CA, "pgax.wvv", soort, oin=WVV).certificaat
        eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
        assert list(eku) == [ExtendedKeyUsageOID.CLIENT_AUTH]
        assert [a.value for a in cert.subject.get_attributes_for_oid(NameOID.ORGANIZATIONAL_UNIT_NAME)] == [
            soort.value
        ]
        assert lees(maak_clientcertificaat(CA, "pgax.wvv", soort, oin=WVV).cert_pem()).soort is soort
    # A node's certificate (serverAuth and clientAuth) is no client of any kind.
    assert lees(maak_certificaat(CA, "wvv", oin=WVV).cert_pem()).soort is None


@pytest.mark.parametrize(
    ("paar", "reden"),
    [
        (maak_certificaat(CA, "wvv", oin=WVV), "soort"),  # our own node (or leaf)
        (maak_certificaat(CA, "arnhem", oin=ARNHEM), "soort"),
        (maak_clientcertificaat(CA, "pr-anna.arnhem", Soort.GEBRUIKER, oin=ARNHEM), "regio"),
        (maak_clientcertificaat(CA, "pgax.arnhem", Soort.TOEPASSING, oin=ARNHEM), "regio"),
        # The CN says wvv, the OIN says arnhem: the OIN decides when the registry has one.
        (maak_clientcertificaat(CA, "pgax.wvv", Soort.TOEPASSING, oin=ARNHEM), "regio"),
        (maak_clientcertificaat(CA, "pgax.wvv", Soort.TOEPASSING), "regio"),  # no OIN at all
    ],
)
def test_with_an_oin_only_this_regions_user_and_application_certificates_pass(
    paar: Sleutelpaar, reden: str
) -> None:
    beleid = Clientbeleid("wvv", WVV)
    with pytest.raises(CertificaatGeweigerd) as info:
        beleid.controleer(context(paar))
    assert info.value.reden == reden
    assert "regio wvv" in info.value.message
    # Switched off, the same certificate passes (the check is what refuses it).
    assert Clientbeleid("wvv", WVV, actief=False).controleer(context(paar)) is not None


def test_this_regions_certificates_pass_and_no_certificate_is_left_to_the_token() -> None:
    beleid = Clientbeleid("wvv", WVV)
    for soort in Soort:
        # With an OIN, the CN is free (a PKIoverheid certificate names the application its way).
        cert = beleid.controleer(context(maak_clientcertificaat(CA, "Casussysteem", soort, oin=WVV)))
        assert cert is not None and cert.soort is soort
    assert beleid.controleer({}) is None and beleid.controleer(None) is None


def test_without_an_oin_in_the_registry_the_cn_names_the_region() -> None:
    beleid = Clientbeleid("wvv", "")
    assert beleid.controleer(context(maak_clientcertificaat(CA, "pr-anna.wvv", Soort.GEBRUIKER)))
    for cn in ("pr-anna.arnhem", "pr-anna", "pr-anna.wvv.arnhem", "wvv"):
        with pytest.raises(CertificaatGeweigerd):
            beleid.controleer(context(maak_clientcertificaat(CA, cn, Soort.GEBRUIKER)))


def test_an_unreadable_peer_certificate_is_refused() -> None:
    with pytest.raises(CertificaatGeweigerd) as info:
        Clientbeleid("wvv", WVV).controleer({"x509_pem_cert": [b"geen certificaat"]})
    assert info.value.reden == "onleesbaar"


def test_certs_issues_client_certificates_for_a_region_with_its_oin(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    reg, beheerder = registry_met_oins(tmp_path)
    uit = tmp_path / "certs"
    register = ("--register", str(reg), "--beheerder", beheerder)
    assert certs("--uit", str(uit), *register) == 0
    node = (uit / "wvv" / "node.crt").read_bytes()
    assert (
        certs(
            "--uit", str(uit), *register, "--regio", "wvv", "--toepassing", "pgax", "--gebruiker", "pr-anna"
        )
        == 0
    )
    assert "issued: wvv/toepassing-pgax, wvv/gebruiker-pr-anna" in capsys.readouterr().out
    # Only the client certificates: the node's is untouched, arnhem got none.
    assert (uit / "wvv" / "node.crt").read_bytes() == node
    assert not list((uit / "arnhem").glob("toepassing-*")) and not list((uit / "arnhem").glob("gebruiker-*"))
    beleid = Clientbeleid("wvv", WVV)
    for naam, soort, cn in (
        ("toepassing-pgax", Soort.TOEPASSING, "pgax.wvv"),
        ("gebruiker-pr-anna", Soort.GEBRUIKER, "pr-anna.wvv"),
    ):
        assert (uit / "wvv" / f"{naam}.key").stat().st_mode & 0o777 == 0o600
        paar = lees_sleutelpaar(uit / "wvv" / f"{naam}.crt", uit / "wvv" / f"{naam}.key")
        paar.certificaat.verify_directly_issued_by(
            lees_sleutelpaar(uit / "ca.crt", uit / "ca.key").certificaat
        )
        cert = beleid.controleer(context(paar))
        assert cert is not None and cert.soort is soort and cert.cn == cn and cert.oins == (WVV,)
        with pytest.raises(CertificaatGeweigerd):
            Clientbeleid("arnhem", ARNHEM).controleer(context(paar))
    # A rerun keeps them; names and regions are checked.
    assert certs("--uit", str(uit), *register, "--regio", "wvv", "--toepassing", "pgax") == 0
    assert "kept (still valid; --vernieuw reissues): wvv/toepassing-pgax" in capsys.readouterr().out
    assert certs("--uit", str(uit), *register, "--toepassing", "pgax") == 2
    assert "--regio" in capsys.readouterr().err
    assert certs("--uit", str(uit), *register, "--regio", "utrecht", "--toepassing", "pgax") == 2
    assert "not in the registry: utrecht" in capsys.readouterr().err
    assert certs("--uit", str(uit), "--regio", "wvv", "--gebruiker", "Anna/../x") == 2
    assert "invalid name" in capsys.readouterr().err
